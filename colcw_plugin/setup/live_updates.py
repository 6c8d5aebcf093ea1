"""Live updates: what an admin sets on the Connection page, and the callback URL it implies.

* **The public base URL**: the host's address as ConnectWise's servers reach it. Callbacks go to
  ``<base>/colcw/cw-callback/<secret>``; the secret is random per connection, kept encrypted like
  the credentials, and is a second check beside ConnectWise's signature (an unknown one gets 404).
  It must be an absolute http(s) URL with a valid host name or IP address and a port from 1 to 65535 if
  any (:func:`normalize_base_url`, for the page and the command line alike: nothing is registered with
  another); plain http or an address this server cannot reach itself is saved with a warning
  (ConnectWise needs https and a public address).
* **The switch**: on, colcw registers its callbacks and runs the safety net; off, it removes them.
* **The customer master**: with ConnectWise as the master for customer data (the user guide
  advises one master), changes to linked companies and contacts flow into the host; with
  ChannelOnline as the master they are reported as drift, and a blank ConnectWise field never
  erases a host value on import.
* **The mass-delete limit**: a pass that would break more links than this (a percentage of the
  linked records of a kind, or a number; those broken in the last ten minutes count too, but a pass breaking
  a single link is never held: :func:`over_limit`) holds those deletions back and alerts instead.

No Flask here; the reachability check is given as a function so pages and tests choose it.
"""

from __future__ import annotations

import ipaddress
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import FieldErrors
from ..models import CUSTOMER_MASTERS, CW_MASTER, HOST_MASTER, ConfigChange, LiveSettings, the_row
from .secrets import SecretBox

CALLBACK_PATH = "/colcw/cw-callback/"  # the callback view's route (views/callbacks.py)
PING_ANSWER = {"colcw": "live-updates"}  # what a GET of the callback URL answers (the reachability check)
DEFAULT_LIMIT = "10%"
_LIMIT_RE = re.compile(r"^\s*(\d{1,6})\s*(%?)\s*$")


def get_live(session: Session, *, for_update: bool = False) -> LiveSettings:
    """The live-updates settings row, created (switched off) on first use, once across processes. ``for_update``:
    locked until commit (a save that may make the URL's secret: see :func:`save_live`)."""
    return the_row(session, LiveSettings, for_update=for_update)


def read_live(session: Session) -> LiveSettings:
    """The settings row for reading (pages on GET): an unsaved default when there is none yet."""
    row = session.execute(select(LiveSettings).order_by(LiveSettings.id).limit(1)).scalar_one_or_none()
    return row if row is not None else LiveSettings(enabled=False, public_base_url="", url_secret_encrypted="",
                                                    url_check="", customer_master=HOST_MASTER,
                                                    mass_delete_limit=DEFAULT_LIMIT, own_member="", alert="",
                                                    last_error="")


def cw_is_master(session: Session) -> bool:
    """Whether ConnectWise is the chosen master for customer data."""
    row = session.execute(select(LiveSettings.customer_master).limit(1)).scalar()
    return row == CW_MASTER


@dataclass(frozen=True)
class LiveInput:
    enabled: bool
    public_base_url: str
    customer_master: str


_HOST_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_PORT = re.compile(r"^[0-9]{1,5}$")
_PATH = re.compile(r"^[A-Za-z0-9\-._~%!$&'()*+,;=:@/]*$")  # RFC 3986's path characters: no spaces, no markup


def _valid_host(host: str) -> bool:
    """An IP address, or a host name: labels of letters, digits and hyphens (neither first nor last, at most 63),
    none empty, split by dots; all-digit dotted names must be IPv4 addresses."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.split(".")
    return (host.isascii() and len(host) <= 253 and all(_HOST_LABEL.match(label) for label in labels)
            and not labels[-1].isdigit())


def _valid_address(url: str) -> bool:
    """Whether ``url`` is an http(s) address ConnectWise can call: a valid host name or IP address, a port from 1 to
    65535 if given, and a path without spaces or markup. The one rule for the page and ``colcw live-updates``."""
    if any(c.isspace() or not c.isprintable() for c in url):  # urlsplit would drop tabs and newlines silently
        return False
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed "[" (IPv6), or a name that normalises to a character such as "/"
        return False
    if parts.scheme not in ("http", "https") or not _PATH.match(parts.path):
        return False
    hostport = parts.netloc.rpartition("@")[2]
    if hostport.startswith("["):  # an IPv6 address, [::1] or [::1]:8443
        host, bracket, port = hostport[1:].partition("]")
        if not bracket or (port and not port.startswith(":")):
            return False
        port = port[1:] if port else None
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
    else:
        host, colon, port = hostport.partition(":")
        port = port if colon else None
        if not _valid_host(host.lower()):
            return False
    return port is None or (bool(_PORT.match(port)) and 1 <= int(port) <= 65535)


def normalize_base_url(raw: str) -> str:
    """The base URL without a trailing slash (:class:`FieldErrors` when it is not one: see :func:`_valid_address`)."""
    url = (raw or "").strip().rstrip("/")
    if not url or not _valid_address(url):
        raise FieldErrors({"public_base_url": "Enter the address ConnectWise reaches this server at, e.g. "
                                              "https://quotes.example.com: http or https, a host name (letters, "
                                              "digits, hyphens and dots) or IP address, and a port from 1 to 65535 "
                                              "if any."})
    parts = urlsplit(url)
    if parts.username or parts.password or parts.query or parts.fragment:
        raise FieldErrors({"public_base_url": "Enter only the scheme, host and path (no user name, query or #)."})
    if len(url) > 200:
        raise FieldErrors({"public_base_url": "The address must be at most 200 characters."})
    return url


def url_warnings(url: str) -> list[str]:
    """What is wrong with a base URL for ConnectWise's servers, though it can be saved."""
    out = []
    if urlsplit(url).scheme != "https":
        out.append("The public URL is not https: ConnectWise sends callbacks only to https addresses, so this "
                   "works with the local sandbox only. Use the https address of this server.")
    return out


def parse_limit(raw: str) -> tuple[int, bool]:
    """(number, is a percentage) of a mass-delete limit such as ``10%`` or ``50``."""
    m = _LIMIT_RE.match(raw or "")
    # 0 (or 0 %) would read as "hold back any deletion", which a pass never does (one deletion is never held back).
    if not m or not 0 < int(m.group(1)) <= (100 if m.group(2) else 999_999):
        raise FieldErrors({"mass_delete_limit": "Enter a percentage of the linked records from 1% to 100% (e.g. 10%) "
                                                "or a number of links of at least 1 (e.g. 50)."})
    return int(m.group(1)), bool(m.group(2))


def allowed_breaks(limit: str, linked: int) -> int:
    """How many links of a kind with ``linked`` links may be broken within the guard's window (the pass's own and
    those broken in the last ten minutes) before the guard holds a pass's deletions back; at least one."""
    number, percent = parse_limit(limit or DEFAULT_LIMIT)
    return max(1, math.floor(linked * number / 100) if percent else number)


def over_limit(limit: str, own: int, recent: int, linked: int) -> bool:
    """Whether the mass-delete guard holds back a pass that would break ``own`` links of a kind, ``recent`` more of
    which were broken in the last ten minutes, of ``linked`` (the rule the jobs page states).

    A pass that itself breaks a single link is never held back, whatever the window held before it: one deletion
    is never a mass delete (contact 64 deleted, then contact 2 eight minutes later, both come through). A pass that
    breaks more is held back when its own and the recent ones together exceed :func:`allowed_breaks`: a mass delete
    arriving as a stream of callbacks comes in passes of several records (those that came while a run read the
    first), and the window counts the first with them."""
    return own > 1 and own + recent > allowed_breaks(limit, linked)


def save_limit(session: Session, raw: str, actor: str) -> LiveSettings:
    """Store the mass-delete limit (validated; audited)."""
    number, percent = parse_limit(raw)
    text = f"{number}%" if percent else str(number)
    row = get_live(session)
    if row.mass_delete_limit != text:
        session.add(ConfigChange(actor=actor, area="live updates", summary=f"Mass-delete limit: {text}"))
    row.mass_delete_limit = text
    session.flush()
    return row


# --- the secret and the callback URL --------------------------------------------------------------


def url_secret(row: LiveSettings, box: SecretBox) -> str:
    """The callback URL's secret, made on first use (flushed by the caller)."""
    if not row.url_secret_encrypted:
        row.url_secret_encrypted = box.encrypt(secrets.token_urlsafe(24))
    return box.decrypt(row.url_secret_encrypted)


def callback_url(row: LiveSettings, box: SecretBox) -> str:
    return f"{row.public_base_url}{CALLBACK_PATH}{url_secret(row, box)}"


def shown_url(row: LiveSettings) -> str:
    """The callback URL as pages show it: the secret masked."""
    return f"{row.public_base_url}{CALLBACK_PATH}••••••" if row.public_base_url else ""


def secret_matches(row: LiveSettings | None, box: SecretBox, given: str) -> bool:
    """Whether ``given`` is this connection's URL secret (constant time); never when switched off."""
    if row is None or not row.enabled or not row.url_secret_encrypted:
        return False
    return secrets.compare_digest(box.decrypt(row.url_secret_encrypted).encode(), (given or "").encode())


def reachable(url: str, timeout: float = 3.0) -> str:
    """"" when a GET of the callback URL from this server answers as colcw does; else why not."""
    try:
        resp = requests.get(url, timeout=timeout, allow_redirects=False)
    except requests.RequestException as e:
        return f"this server could not reach it itself ({type(e).__name__})"
    try:
        ok = resp.status_code == 200 and resp.json() == PING_ANSWER
    except ValueError:
        ok = False
    return "" if ok else f"it answered HTTP {resp.status_code}, not colcw's callback endpoint"


def save_live(session: Session, box: SecretBox, data: LiveInput, actor: str) -> tuple[LiveSettings, list[str]]:
    """Validate and store the Live updates section; returns the row and the warnings to show.

    The callbacks themselves are registered or removed by the caller (it has a client), and the
    URL checked once this is committed (:func:`check_url`). Flushes.
    """
    errors: dict[str, str] = {}
    url = ""
    if data.public_base_url.strip() or data.enabled:
        try:
            url = normalize_base_url(data.public_base_url)
        except FieldErrors as e:
            errors.update(e.errors)
    if data.customer_master not in CUSTOMER_MASTERS:
        errors["customer_master"] = "Choose which system is the master for customer data."
    if errors:
        raise FieldErrors(errors)
    # Locked: two saves at once (two processes switching on) would each make a URL secret of their own, the later
    # commit's kept, and the other's callbacks registered for a URL whose secret is refused.
    row = get_live(session, for_update=True)
    changes = []
    if row.public_base_url != url:
        changes.append(f"public URL: {url or 'none'}")
    if row.enabled != data.enabled:
        changes.append(f"live updates: {'on' if data.enabled else 'off'}")
    if row.customer_master != data.customer_master:
        changes.append(f"master for customer data: {CUSTOMER_MASTERS[data.customer_master]}")
    row.public_base_url, row.enabled, row.customer_master = url, data.enabled, data.customer_master
    warnings = url_warnings(url) if url else []
    row.url_check = ""
    if url and data.enabled:
        url_secret(row, box)
    if changes:
        row.updated_by = actor
        session.add(ConfigChange(actor=actor, area="live updates", summary="Changed " + "; ".join(changes)))
    session.flush()
    return row, warnings


def check_url(row: LiveSettings, box: SecretBox, check: Callable[[str], str] = reachable) -> str:
    """Check the callback URL from this server (after the settings were committed: the check is a
    request to ourselves); the warning, also kept on the row, or "". Flushes."""
    problem = check(callback_url(row, box)) if row.enabled and row.public_base_url else ""
    row.url_check = (f"ConnectWise must reach {shown_url(row)}, but {problem}. Check the public URL and the proxy "
                     "or firewall in front of this server." if problem else "")
    return row.url_check
