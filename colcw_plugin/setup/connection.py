"""The stored ConnectWise connection: read, validate and save it, and build a client from it.

No Flask here: callers pass the SQLAlchemy session and the :class:`SecretBox`.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from host_stub.models import utcnow

from ..cw import ClientSettings, ConnectionReport, ConnectWiseClient, check_connection
from ..cw.connections import SharedConnections
from ..cw.discovery import CodebaseMemo
from ..errors import FieldErrors
from ..models import ConfigChange, LiveSettings, Settings, the_row
from ..text import CONNECTWISE_BUSY, sentence
from .secrets import SecretBox, SecretError

CONNECTION_FIELDS = ("site_url", "company_id", "auth_mode", "public_key", "client_id", "allow_http")
SECRET_UNCHANGED = object()


class NotConfigured(RuntimeError):
    """The connection to ConnectWise has not been set up."""

    def __init__(self):
        super().__init__("The ConnectWise connection is not configured. An admin must enter it on "
                         "Admin → Integration → ConnectWise (or run `flask --app host_stub colcw configure`).")


def get_settings(session: Session) -> Settings:
    """The settings row to change, created empty on first use, once across processes (writers only: see
    :func:`read_settings`)."""
    return the_row(session, Settings)


def read_settings(session: Session) -> Settings:
    """The settings to read: the stored row, or the defaults (not added to the session) when none is
    stored yet, so that reading — a page, a run, a hook — never writes to the database."""
    row = session.execute(select(Settings).order_by(Settings.id).limit(1)).scalar_one_or_none()
    return row if row is not None else Settings(**{c.name: c.default.arg for c in Settings.__table__.columns
                                                   if c.default is not None and not callable(c.default.arg)})


def is_configured(settings: Settings) -> bool:
    return bool(settings.site_url and settings.company_id and settings.public_key and settings.secret_encrypted
                and settings.client_id)


@dataclass
class ConnectionInput:
    site_url: str
    company_id: str
    auth_mode: str  # "api_keys" | "integrator"
    user: str  # public key or integrator username
    secret: str | None  # private key or password; None keeps the stored one
    client_id: str
    allow_http: bool = False


SITE_URL_MAX = 255  # the column's length
COMPANY_ID_MAX = 50
_COMPANY_RE = re.compile(rf"^[A-Za-z0-9_.\-]{{1,{COMPANY_ID_MAX}}}$")
_HOST_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def ascii_site_url(url: str) -> str:
    """The site URL as requests use it: an internationalised host name written in punycode with the ``idna`` codec
    (``https://bücher.example`` → ``https://xn--bcher-kva.example``); any other URL unchanged. Raises ValueError for
    a host name that is not one (a label empty, too long, starting or ending with "-", or holding a character that is
    neither a letter, a digit nor "-")."""
    url = url.strip()
    scheme, sep, rest = url.partition("://") if "://" in url else ("", "", url)
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc, tail = rest[:end], rest[end:]
    userinfo, at, hostport = netloc.rpartition("@")
    host, colon, port = hostport.partition(":")
    if host.isascii():
        return url
    labels = host.rstrip(".").split(".")
    if not all(label and label[0] != "-" and label[-1] != "-" and all(c.isalnum() or c == "-" for c in label)
               for label in labels):
        raise ValueError(f"{host} is not a host name")
    try:
        ascii_host = ".".join(label.encode("idna").decode("ascii") for label in labels)
    except UnicodeError as e:
        raise ValueError(f"{host} is not a host name") from e
    return f"{scheme}{sep}{userinfo}{at}{ascii_host}{colon}{port}{tail}"


def unicode_host(url: str) -> str | None:
    """The host name of ``url`` as a person reads it, when it is an internationalised one (typed so, or written in
    punycode, ``xn--…``); None for any other URL or a host the ``idna`` codec cannot read."""
    try:
        url = ascii_site_url(url)
        host = urlsplit(url if "://" in url else f"https://{url}").hostname or ""
        shown = host.encode("ascii").decode("idna")
    except (ValueError, UnicodeError):
        return None
    return shown if shown != host else None


def _is_web_address(parts) -> bool:
    """A host name (dotted labels, or localhost) or an IPv4 address, with an optional port."""
    try:
        host, _port = parts.hostname or "", parts.port  # .port raises ValueError for a bad port
    except ValueError:
        return False
    if not host or any(c.isspace() for c in parts.netloc) or parts.username or parts.password:
        return False
    labels = host.split(".")
    if len(labels) == 4 and all(label.isdigit() for label in labels):
        return all(int(label) < 256 for label in labels)
    return all(_HOST_LABEL_RE.match(label) for label in labels) and (len(labels) > 1 or host == "localhost")


def validate_connection(data: ConnectionInput, has_stored_secret: bool, http_allowed_by_config: bool) -> dict:
    errors: dict[str, str] = {}
    typed = data.site_url.strip()
    try:
        url = ascii_site_url(typed)  # an internationalised host is checked (and used) in punycode
    except ValueError:
        url = ""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if not typed:
        errors["site_url"] = "Enter the ConnectWise site URL, e.g. https://na.myconnectwise.net."
    elif parts.scheme not in ("https", "http"):
        errors["site_url"] = ("The site URL must start with https://"
                              + (" (or http:// for the local sandbox)." if http_allowed_by_config and data.allow_http
                                 else "."))
    elif len(url) > SITE_URL_MAX:
        errors["site_url"] = (f"The site URL must be at most {SITE_URL_MAX} characters ({len(url):,} were entered). "
                              "Enter just the address the browser shows, e.g. https://na.myconnectwise.net.")
    elif not url or not _is_web_address(parts):
        errors["site_url"] = (f"“{typed[:80]}” is not a web address. Enter your ConnectWise site URL as the browser "
                              "shows it, e.g. https://na.myconnectwise.net.")
    elif parts.scheme == "http" and not (data.allow_http and http_allowed_by_config):
        errors["site_url"] = ("The site URL must use https://. Plain http is only allowed for a local sandbox: "
                              + ("tick “Allow http” below." if http_allowed_by_config else
                                 "with the development setting (COLCW_ALLOW_HTTP) and “Allow http” ticked."))
    company = data.company_id.strip()
    if len(company) > COMPANY_ID_MAX:
        errors["company_id"] = (f"The company ID must be at most {COMPANY_ID_MAX} characters ({len(company):,} were "
                                "entered): enter the company ID you type on the ConnectWise login screen.")
    elif not _COMPANY_RE.match(company):
        errors["company_id"] = "Enter the company ID you type on the ConnectWise login screen (letters, digits, - _ .)."
    if data.auth_mode not in ("api_keys", "integrator"):
        errors["auth_mode"] = "Choose API member keys or an integrator login."
    label = "public key" if data.auth_mode == "api_keys" else "username"
    secret_label = "private key" if data.auth_mode == "api_keys" else "password"
    if not data.user.strip():
        errors["user"] = f"Enter the {label}."
    elif len(data.user) > 100 or any(c in data.user for c in ":\n\r"):
        errors["user"] = f"The {label} must be at most 100 characters without ':' or line breaks."
    elif not _sendable(data.user):
        errors["user"] = _not_sendable(label)
    if data.secret is None or data.secret == "":
        if not has_stored_secret:
            errors["secret"] = f"Enter the {secret_label}."
    elif len(data.secret) > 200 or any(c in data.secret for c in "\n\r"):
        errors["secret"] = f"The {secret_label} must be at most 200 characters on one line."
    elif not _sendable(data.secret):
        errors["secret"] = _not_sendable(secret_label)
    if not data.client_id.strip():
        errors["client_id"] = "Enter your clientId (a GUID from developer.connectwise.com)."
    elif len(data.client_id) > 100:
        errors["client_id"] = "The clientId must be at most 100 characters."
    elif not _sendable(data.client_id):
        errors["client_id"] = _not_sendable("clientId")
    return errors


def _sendable(value: str) -> bool:
    """A credential every request can carry in its headers: printable ASCII (ConnectWise's keys, clientIds and logins
    are; an HTTP header cannot carry "ключ", and such a value, saved, made every request fail with a 500)."""
    return all(" " <= c <= "~" for c in value)


def _not_sendable(label: str) -> str:
    return (f"The {label} may hold only letters, digits and the symbols of an English keyboard, as ConnectWise's "
            f"are: look for a character pasted with it, such as “é”, a non-breaking space or a curly quote.")


def _stored_secret_fits(row: Settings, data: ConnectionInput) -> bool:
    """Whether a blank secret may keep the stored one: only for the same site, company, login kind
    and user, so a changed site URL can never receive the stored credentials."""
    def where(url: str) -> str:
        with suppress(ValueError):  # (refused as the site URL already)
            url = ascii_site_url(url)
        parts = urlsplit(url if "://" in url else f"https://{url}")
        return f"{parts.scheme}://{(parts.netloc or '').lower()}"

    return bool(row.secret_encrypted) and (where(row.site_url), row.company_id, row.auth_mode, row.public_key) == (
        where(data.site_url.strip()), data.company_id.strip(), data.auth_mode, data.user.strip())


def _trimmed(data: ConnectionInput) -> ConnectionInput:
    """The input as it is used and stored: an API private key without spaces around it, as every other field (a
    key copied from ConnectWise often brings a space along). An integrator password is kept as typed."""
    if data.auth_mode != "api_keys" or not data.secret:
        return data
    return replace(data, secret=data.secret.strip() or None)


def _validate_against_stored(row: Settings, data: ConnectionInput, http_allowed_by_config: bool) -> dict:
    errors = validate_connection(data, bool(row.secret_encrypted), http_allowed_by_config)
    if not data.secret and "secret" not in errors and not _stored_secret_fits(row, data):
        label = "private key" if data.auth_mode == "api_keys" else "password"
        errors["secret"] = (f"Enter the {label} again: the stored one is only kept while the site URL, company ID "
                            "and login stay the same.")
    return errors


def typed_client_settings(session: Session, box: SecretBox, data: ConnectionInput, http_allowed_by_config: bool,
                          **overrides) -> ClientSettings:
    """Client settings for a connection typed on the page but not saved (Test Connection before Save).

    Same validation as saving (raises :class:`FieldErrors`); a blank secret uses the stored one
    only under the rule of :func:`save_connection`.
    """
    data = _trimmed(data)
    row = get_settings(session)
    errors = _validate_against_stored(row, data, http_allowed_by_config)
    if errors:
        raise FieldErrors(errors)
    secret = data.secret or box.decrypt(row.secret_encrypted)
    creds = ({"public_key": data.user.strip(), "private_key": secret} if data.auth_mode == "api_keys"
             else {"username": data.user.strip(), "password": secret})
    return ClientSettings(site_url=ascii_site_url(data.site_url), company_id=data.company_id.strip(),
                          client_id=data.client_id.strip(), allow_http=bool(data.allow_http), **creds, **overrides)


def save_connection(session: Session, box: SecretBox, data: ConnectionInput, actor: str,
                    http_allowed_by_config: bool) -> Settings:
    """Validate and store the connection; nothing is written when a field is invalid.

    An empty ``secret`` keeps the stored one (the page never sends it back to the browser), but
    only while the site, company ID and login stay the same. The change is recorded without any secret value.
    """
    data = _trimmed(data)
    row = get_settings(session)
    errors = _validate_against_stored(row, data, http_allowed_by_config)
    if errors:
        raise FieldErrors(errors)
    changed = []
    new = {"site_url": ascii_site_url(data.site_url).rstrip("/"), "company_id": data.company_id.strip(),
           "auth_mode": data.auth_mode, "public_key": data.user.strip(), "client_id": data.client_id.strip(),
           "allow_http": bool(data.allow_http)}
    for field, value in new.items():
        if getattr(row, field) != value:
            changed.append(field if field != "public_key" else ("public key" if data.auth_mode == "api_keys" else "username"))
            setattr(row, field, value)
    if data.secret:
        row.secret_encrypted = box.encrypt(data.secret)
        changed.append("private key" if data.auth_mode == "api_keys" else "password")
    row.updated_by = actor
    if set(changed) & {"site_url", "company_id", "auth_mode", "public key", "username"}:
        # Other credentials (or another tenant) may write as another member: colcw's own member is learnt again when
        # its callbacks are registered (setup/callbacks.py); until then its own records decide.
        session.execute(update(LiveSettings).values(own_member=""))
    if changed:
        session.add(ConfigChange(actor=actor, area="connection", summary="Changed " + ", ".join(changed)))
        row.checked_at, row.check_ok, row.check_message = None, None, None  # the last check was of another one
    session.flush()
    return row


# --- the check of a connection (Test Connection's, run on a typed one or the saved one) --------------------------

CHECK_READ_TIMEOUT = 20.0  # seconds: a person waits on the check (Test Connection, Save)


def run_check(cs: ClientSettings, codebases: CodebaseMemo | None = None) -> ConnectionReport:
    """Test Connection's check of the connection ``cs`` (typed on the page, or the saved one): what every caller runs.
    ``cs`` holds the caller's client settings, the configured back-off (``backoff_base``) among them: this layer may
    not read the runtime's. Never raises for ConnectWise's problems: they are the report's failed steps."""
    with ConnectWiseClient(cs, codebases=codebases) as client:
        return check_connection(client)


def check_saved(session: Session, box: SecretBox, codebases: CodebaseMemo | None = None,
                **overrides) -> ConnectionReport:
    """Run the check on the saved connection and remember its result on the settings row (flushed, not committed).
    ``overrides``: client settings over the check's own (``read_timeout``), such as the configured ``backoff_base``
    (COLCW_CW_BACKOFF_SECONDS, which the runtime reads: every caller passes it, as for a typed connection's
    :func:`typed_client_settings`). Raises :class:`NotConfigured` (or :class:`SecretError`) when there is no saved
    connection to check."""
    row = get_settings(session)
    report = run_check(client_settings(row, box, **{"read_timeout": CHECK_READ_TIMEOUT, **overrides}), codebases)
    remember_check(row, report)
    session.flush()
    return report


def remember_check(row: Settings, report: ConnectionReport) -> None:
    """Keep the check's result on ``row``: the Connection card shows it on every visit."""
    row.checked_at, row.check_ok = utcnow(), report.ok
    row.check_message = None if report.ok else check_failure(report)


def check_failure(report: ConnectionReport) -> str:
    """What a failed check found, to follow "Saved, but ": who refused it or what could not be done, the first failed
    step's reason and what to do, and how many more steps failed (Test Connection lists each)."""
    failed = report.failed_steps
    if not failed:
        return ""
    first = failed[0]
    # (ConnectWise busy: the words the callbacks' registration says too, one definition)
    lead = {"unreachable": "ConnectWise could not be reached", **CONNECTWISE_BUSY,
            "tls": "the secure connection to ConnectWise failed"}.get(first.problem or "", "ConnectWise refused it")
    # A reason that names ConnectWise already says who refused ("ConnectWise refused the API keys: …"): no lead.
    said = sentence(first.detail)
    text = (said if said.startswith("ConnectWise ") else f"{lead}: {said}") + (f" {sentence(first.fix[:1].upper() + first.fix[1:])}"
                                                  if first.fix else "")
    more = len(failed) - 1
    if more:
        text += f" {more} more step{'s' if more > 1 else ''} failed: Test Connection lists each."
    return text


def tenant_of(settings: Settings) -> str:
    """Which ConnectWise tenant ``settings`` connect to, as a key: its site and company ("<site>|<company>"). What is
    kept per tenant is kept under it (the shared reference lists, Export now's remembered checklist answer)."""
    return f"{settings.site_url}|{settings.company_id}"


def connected_to(settings: Settings) -> str:
    """ "Connected to <site> as company <id>", as the Connection card and its flash say a passed check."""
    return f"Connected to {settings.site_url} as company {settings.company_id}"


def is_the_saved_connection(session: Session, box: SecretBox, data: ConnectionInput) -> bool:
    """Whether the connection typed on the page is the saved one (a blank secret: the stored one), so that a check of
    it says how the saved connection fares."""
    data = _trimmed(data)
    row = read_settings(session)
    if not is_configured(row) or not _stored_secret_fits(row, data):
        return False
    try:
        typed_url = ascii_site_url(data.site_url).rstrip("/")
    except ValueError:
        return False
    if (row.site_url, row.client_id, row.allow_http) != (typed_url, data.client_id.strip(), bool(data.allow_http)):
        return False
    try:
        return not data.secret or box.decrypt(row.secret_encrypted) == data.secret
    except SecretError:
        return False


def client_settings(settings: Settings, box: SecretBox, **overrides) -> ClientSettings:
    """The client's settings from the stored row (decrypting the secret)."""
    if not is_configured(settings):
        raise NotConfigured()
    secret = box.decrypt(settings.secret_encrypted)
    creds = ({"public_key": settings.public_key, "private_key": secret} if settings.auth_mode == "api_keys"
             else {"username": settings.public_key, "password": secret})
    return ClientSettings(site_url=settings.site_url, company_id=settings.company_id, client_id=settings.client_id,
                          allow_http=settings.allow_http, **creds, **overrides)


def build_client(session: Session, box: SecretBox, *, settings: Settings | None = None, rate_limiter=None,
                 codebases: CodebaseMemo | None = None, connections: SharedConnections | None = None,
                 **overrides) -> ConnectWiseClient:
    """A ConnectWise client for the stored connection (raises :class:`NotConfigured`).

    ``settings``: the stored connection when the caller has read it already (else it is read here).
    ``rate_limiter`` (e.g. :class:`colcw_plugin.sync.ratelimit.RedisRateLimiter`) shares the
    tenant's request budget between processes; without it the client limits itself alone.
    ``codebases`` remembers the tenant's codebase between clients; without it the client discovers it.
    ``connections``: the process's connections the client sends on; without it the client opens its own.
    """
    settings = settings if settings is not None else read_settings(session)
    return ConnectWiseClient(client_settings(settings, box, **overrides), rate_limiter=rate_limiter,
                             codebases=codebases, connections=connections)
