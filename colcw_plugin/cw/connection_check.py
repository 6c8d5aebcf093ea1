"""The admin "Test Connection" check: the real handshake, one step at a time.

Each step says what was tried, whether it worked and, when not, what to do. Steps stop
at the first failure that makes later ones meaningless (no host, no company, no login);
permission probes all run so one report lists every missing permission.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import conditions as C
from . import places
from .errors import AuthenticationFailed, ConnectWiseError, DiscoveryError, NotFound, PermissionDenied

if TYPE_CHECKING:
    from .client import ConnectWiseClient

# (label, path) for every collection colcw reads; probed with ?pageSize=1&fields=id.
PERMISSION_PROBES: tuple[tuple[str, str], ...] = (
    ("companies", "company/companies"),
    ("contacts", "company/contacts"),
    ("states", "company/states"),
    ("opportunities", "sales/opportunities"),
    ("product catalog", "procurement/catalog"),
    ("opportunity products", "procurement/products"),
    ("manufacturers", "procurement/manufacturers"),
    ("product categories", "procurement/categories"),
    ("product types", "procurement/types"),
    ("members", "system/members"),
    ("locations", "system/locations"),
    ("departments", "system/departments"),
)


@dataclass(frozen=True)
class CheckStep:
    """One step of the check. ``problem`` is a stable key for the UI and tests:
    unreachable, tls, bad_response, unknown_company, bad_credentials, permission, error."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None
    problem: str | None = None
    resource: str | None = None


@dataclass
class ConnectionReport:
    """The outcome of `check_connection`."""

    ok: bool = False
    steps: list[CheckStep] = field(default_factory=list)
    version: str | None = None
    member: str | None = None
    codebase: str | None = None

    @property
    def failed_steps(self) -> list[CheckStep]:
        """The steps that did not pass."""
        return [s for s in self.steps if not s.ok]

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form for the admin page."""
        return {
            "ok": self.ok,
            "version": self.version,
            "member": self.member,
            "codebase": self.codebase,
            "steps": [s.__dict__.copy() for s in self.steps],
        }


def _discovery_step(client: ConnectWiseClient, report: ConnectionReport) -> bool:
    site = client.settings.site_root
    company = client.settings.company_id
    try:
        info = client.discover(retry=False)
    except DiscoveryError as exc:
        if exc.kind == "unknown_company":
            report.steps.append(CheckStep(f"Reach {site}", True, "The server answered the company lookup."))
            report.steps.append(
                CheckStep(f"Find company {company!r}", False, exc.message, exc.hint, "unknown_company")
            )
        else:
            report.steps.append(CheckStep(f"Reach {site}", False, exc.message, exc.hint, exc.kind))
        return False
    report.codebase = info.codebase
    report.steps.append(CheckStep(f"Reach {site}", True, "The server answered the company lookup."))
    name = f" ({info.company_name})" if info.company_name else ""
    report.steps.append(
        CheckStep(
            f"Find company {company!r}",
            True,
            f"Found{name}; codebase {info.codebase}, API at {client.base_url}",
        )
    )
    return True


def _sign_in_step(client: ConnectWiseClient, report: ConnectionReport) -> bool:
    s = client.settings
    how = "API keys" if s.auth_mode == "api_key" else f"integrator login {s.username!r}"
    name = f"Sign in with {how}"
    try:
        info = client.request("GET", "system/info", retry=False).json()
    except AuthenticationFailed:
        # ConnectWise's own text speaks of keys whatever the login was; say what was refused.
        if s.auth_mode == "integrator":
            detail = (f"ConnectWise refused the integrator login {s.username!r}: the username or password is wrong, "
                      f"or the login is not enabled for company {s.company_id!r}.")
            fix = (f"Check the integrator username and password (ConnectWise: {places.INTEGRATOR_LOGIN}) and the "
                   "company ID, then test again")
        else:
            detail = (f"ConnectWise refused the API keys: the public or private key is wrong, revoked, or belongs to "
                      f"another company than {s.company_id!r}.")
            fix = (f"Check the API member's public and private keys (ConnectWise: {places.API_KEYS}) and the company "
                   "ID, then test again")
        report.steps.append(CheckStep(name, False, detail, fix, "bad_credentials"))
        return False
    except PermissionDenied as exc:
        # Signed in, but the role may not read system/info: carry on without a version.
        report.steps.append(CheckStep(name, True, "Signed in."))
        report.steps.append(
            CheckStep(
                "Read the ConnectWise version", False, exc.message, exc.hint, "permission", "system/info"
            )
        )
        return True
    except NotFound as exc:
        fix = (
            "On ConnectWise cloud a 404 here usually means wrong keys or company id; check them, "
            "then the site URL"
        )
        report.steps.append(CheckStep(name, False, exc.message, fix, "bad_credentials"))
        return False
    except ConnectWiseError as exc:
        report.steps.append(CheckStep(name, False, str(exc), exc.hint, _problem(exc)))
        return False
    version = info.get("version") if isinstance(info, dict) else None
    report.version = str(version) if version is not None else None
    report.steps.append(
        CheckStep(name, True, f"Signed in; ConnectWise version {report.version or 'unknown'}.")
    )
    return True


def _permission_steps(client: ConnectWiseClient, report: ConnectionReport) -> None:
    for label, path in PERMISSION_PROBES:
        name = f"Read {label}"
        try:
            client.request("GET", path, params={"pageSize": 1, "fields": "id"}, retry=False)
        except PermissionDenied:
            fix = (
                f"In ConnectWise, give the API member's security role Inquire access to {label} "
                f"({path}) ({places.SECURITY_ROLES})"
            )
            report.steps.append(
                CheckStep(name, False, f"ConnectWise denied access to {path} (403).", fix, "permission", path)
            )
        except ConnectWiseError as exc:
            report.steps.append(CheckStep(name, False, str(exc), exc.hint, _problem(exc), path))
        else:
            report.steps.append(CheckStep(name, True, f"{path} is readable.", resource=path))


def _member_step(client: ConnectWiseClient, report: ConnectionReport) -> None:
    s = client.settings
    if s.auth_mode == "integrator":
        # Integrator logins are not members; name the login itself.
        report.member = f"integrator login {s.username}"
        report.steps.append(CheckStep("Identify the API user", True, f"Using {report.member}."))
        return
    # The API index we target has no "who am I" call (system/myAccount is absent), so
    # look for API members and name the one when it is unambiguous.
    try:
        rows = client.members.list(
            conditions=C.and_(C.eq("licenseClass", "A"), C.eq("inactiveFlag", False)),
            fields=["id", "identifier", "firstName", "lastName"],
            page_size=2,
        )
    except ConnectWiseError as exc:
        report.steps.append(
            CheckStep("Identify the API member", True, f"Could not list API members: {exc.message}")
        )
        return
    if len(rows) == 1:
        # An inference, said as such: keys may also belong to a full member.
        report.member = str(rows[0].get("identifier"))
        detail = f"{report.member} is the only active API member, so these keys are taken to be theirs."
    else:
        detail = f"Signed in with API key {s.public_key}; ConnectWise does not say which member owns it."
    report.steps.append(CheckStep("Identify the API member", True, detail))


def _problem(exc: ConnectWiseError) -> str:
    if isinstance(exc, AuthenticationFailed):
        return "bad_credentials"
    if isinstance(exc, PermissionDenied):
        return "permission"
    return "error"


def check_connection(client: ConnectWiseClient) -> ConnectionReport:
    """Run discovery, sign-in, permission probes and identify the member.

    Never raises for ConnectWise problems: they become failed steps. No retries, so a
    dead host fails fast for the person waiting on the button.
    """
    report = ConnectionReport()
    if _discovery_step(client, report) and _sign_in_step(client, report):
        _permission_steps(client, report)
        _member_step(client, report)
        _clock_step(client, report)
    report.ok = all(step.ok for step in report.steps)
    return report


# A difference worth an admin's look: more than the stamps' second and a round trip, and a sign that one of the two
# clocks is not set from a time server.
CLOCKS_APART_SECONDS = 60


def _clock_step(client: ConnectWiseClient, report: ConnectionReport) -> None:
    """ConnectWise's clock against this server's, as the check's answers told it (:mod:`.server_clock`). Never a
    failure: colcw compares ConnectWise's stamps with its own times by ConnectWise's clock. A difference of a minute
    or more is said with the advice for this server's clock, which may be the one that is wrong (ConnectWise's cloud
    keeps its own to a time server)."""
    bounds = client.server_clock.bounds
    if bounds is None:  # (no answer carried a Date)
        report.steps.append(CheckStep("Compare clocks", True, "ConnectWise's answers did not say its time."))
        return
    if client.server_clock.agrees():
        report.steps.append(CheckStep("Compare clocks", True,
                                      "ConnectWise's clock and this server's agree to within a second."))
        return
    middle = (bounds[0] + bounds[1]) / 2
    detail = f"ConnectWise's clock is {_span(middle)} {'ahead of' if middle > 0 else 'behind'} this server's."
    if abs(middle) >= CLOCKS_APART_SECONDS:
        detail += (" colcw compares ConnectWise's times with its own by ConnectWise's clock, so no change is missed; "
                   "but if this server's clock is the wrong one, set it from a time server (NTP): schedules fire by "
                   "it, and the times colcw shows are told by it.")
    report.steps.append(CheckStep("Compare clocks", True, detail))


def _span(seconds: float) -> str:
    """``-600.4`` → "10 min", ``75`` → "1 min 15 s", ``3.2`` → "3 s" (whole seconds)."""
    total = int(abs(seconds))
    minutes, secs = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} h"] * bool(hours) + [f"{minutes} min"] * bool(minutes) + [f"{secs} s"] * bool(secs)
    return " ".join(parts) or "less than a second"
