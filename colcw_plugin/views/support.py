"""What colcw's pages share: the runtime, who is acting, and the ConnectWise lists for a page."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Iterable
from typing import TypeVar

from flask import current_app, has_request_context, request, url_for
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination
from markupsafe import Markup, escape
from redis import Redis
from sqlalchemy import Select, inspect

from host_stub.extensions import db

from .. import text
from ..cw import ConnectWiseClient, ConnectWiseError, places
from ..models import Settings, SyncRun
from ..setup import pages
from ..setup.connection import NotConfigured, is_configured, read_settings
from ..setup.lookups import Lookups, load_lookups
from ..setup.opportunity_defaults import Loaded, load
from ..setup.secrets import SecretError
from ..sync.inbound.switch import CONNECTION_FAILS
from ..sync.quotes.opportunities import OpportunitySetup
from ..sync.runtime import Runtime
from . import rep_bp

log = logging.getLogger(__name__)
T = TypeVar("T")


def runtime() -> Runtime:
    """The app's colcw runtime (built by the composition root)."""
    return Runtime.of(current_app)


_SETTINGS_READ = "colcw.settings"  # (request_settings: where the request keeps them)


def request_settings() -> Settings:
    """colcw's settings as this request reads them (:func:`~..setup.connection.read_settings`): read once, then the
    same row for the rest of the request. Reading it again returned the session's same object, its values as loaded
    (or refreshed after a commit, as the object itself is): one statement for nothing, up to four times in a click of
    Export now. Kept on the request itself (an app context, and its ``g``, can outlive one request: a test's holds
    several); outside a request, read. Defaults (none stored yet) are not kept: a request that stores them reads them
    again."""
    if not has_request_context():
        return read_settings(db.session)
    settings = request.environ.get(_SETTINGS_READ)
    if settings is None:
        settings = read_settings(db.session)
        if inspect(settings).persistent:
            request.environ[_SETTINGS_READ] = settings
    return settings


def colcw_command() -> str:
    """colcw's commands as an admin types them for this app: ``flask --app <the host app> colcw``."""
    return f"flask --app {current_app.import_name} colcw"


def actor_name() -> str:
    """How the audit names the signed-in admin."""
    return f"{current_user.name} <{current_user.email}>"


# The largest page a list opens: far past any list's last page, and its OFFSET fits every database's integer (a larger
# number, typed or mangled in an address, overflowed SQLite's INTEGER and PostgreSQL's bigint: a 500).
MAX_PAGE = 10**9


def requested_page() -> int:
    """The page the request asks for (``page``): 1 for none, a non-number or one below 1; as large as it was typed."""
    return max(request.args.get("page", 1, type=int), 1)


def paginate(stmt: Select, per_page: int) -> Pagination:
    """A page of ``stmt`` as the request asks for it (:func:`requested_page`), for every colcw list with pages: a page
    past the last (an old link, a list that shrank, a number too large for a database) shows the last page, not an
    empty one or an error. A caller tells that it happened by comparing the page shown with :func:`requested_page`."""
    page = db.paginate(stmt, page=min(requested_page(), MAX_PAGE), per_page=per_page, error_out=False)
    if page.pages and page.page > page.pages:
        page = db.paginate(stmt, page=page.pages, per_page=per_page, error_out=False)
    return page


NOT_CONNECTED = Markup("ConnectWise is not connected yet — ask an admin to connect it on {}.")


def not_connected() -> Markup | None:
    """What a rep's action answers at once while ConnectWise is not connected (never set up, or Reset),
    naming the page where an admin connects it (a link for an admin; a rep, who cannot open it, reads its name);
    None when it is connected. Nothing is recorded or queued for an action that cannot reach ConnectWise."""
    if is_configured(request_settings()):
        return None
    if current_user.is_authenticated and current_user.is_admin:
        return NOT_CONNECTED.format(Markup('<a href="{}">{}</a>').format(url_for(pages.CONNECTION.endpoint),
                                                                         pages.CONNECTION.name))
    return NOT_CONNECTED.format(pages.CONNECTION.name)


def may_open_run(run: SyncRun) -> bool:
    """Whether the signed-in user may open ``run``'s page (``/colcw/runs/<id>``, an admin's goes on to the full run
    page): an admin any run, a rep the runs they started. The pages link a run only for them (template global)."""
    return bool(current_user.is_admin or run.requested_by_id == current_user.id)


rep_bp.add_app_template_global(may_open_run, "may_open_run")


def queue_busy(what: str) -> str:
    """What a page says when nothing was queued because another request was queueing the same work at that moment
    (:class:`~..errors.QueueBusy`: a second click, another tab), not because the job queue is unreachable: ``what``
    names the work and its record ("another export of Q-1001")."""
    return f"Not queued: {what} is being queued right now (another click or tab); try again in a moment."


# What a rep is told to do when the job queue does not answer (an admin is told to check Redis and the workers).
ASK_AN_ADMIN = "Try again in a minute; if it persists, ask an admin to check the colcw workers."


def queue_unreachable(what: str, then: str = "") -> str:
    """What a page says when nothing was queued because the job queue (Redis) did not answer (a RedisError, not
    :class:`~..errors.QueueBusy`, which :func:`queue_busy` says): ``what`` names the work ("The export"), ``then``
    what to do ("" for nothing more)."""
    return f"{what} could not be queued: the job queue (Redis) is not reachable." + (f" {then}" if then else "")


def already_running(run: SyncRun | None, what: str) -> Markup:
    """ "<what> is already being exported — here is its progress" (a link to the run, for whoever may follow it)."""
    if run is None:
        return Markup("{} — it has just started; reload this page in a moment to see its result.").format(what)
    if may_open_run(run):
        href = url_for("colcw.run_log", run_id=run.id)
        return Markup('{} — <a href="{}">here is its progress (run #{})</a>.').format(what, href, run.id)
    return Markup("{} by {} (run #{}); its result shows here when it has finished.").format(
        what, run.requested_by_text or "another user", run.id)


def _read_or_error(read: Callable[[ConnectWiseClient], T], what: str) -> tuple[T | None, str | None,
                                                                              Exception | None]:
    """``read(client)`` on a client of the stored connection, or None, a sentence saying why ``what`` (e.g.
    "ConnectWise's lists") could not be read, and the error that stopped it."""
    try:
        client = runtime().interactive_client(db.session)
    except (NotConfigured, SecretError) as e:
        return None, str(e), e
    try:
        with client:
            return read(client), None, None
    except ConnectWiseError as e:
        log.warning("Reading %s failed: %s", what, e)
        return None, f"{what} could not be read: {e}", e


def _read_or_reason(read: Callable[[ConnectWiseClient], T], what: str) -> tuple[T | None, str | None]:
    """``read(client)`` on a client of the stored connection, or None and a sentence saying why ``what`` could not be
    read."""
    value, reason, _error = _read_or_error(read, what)
    return value, reason


def lookups_or_reason(names: Iterable[str]) -> tuple[Lookups | None, str | None]:
    """The named ConnectWise lists, or None and a sentence saying why they could not be read."""
    return _read_or_reason(lambda client: load_lookups(client, names), "ConnectWise")


def opportunity_lists_or_reason() -> tuple[Loaded | None, str | None]:
    """ConnectWise's opportunity types, stages and statuses as it holds them now (not the shared cache's copy), or
    None and a sentence saying why they could not be read."""
    lists, reason, _connection_fails = opportunity_lists_or_failure()
    return lists, reason


def opportunity_lists_or_failure() -> tuple[Loaded | None, str | None, bool]:
    """As :func:`opportunity_lists_or_reason`, and whether they could not be read because the saved connection itself
    does not work (its keys, company, site: what the Connection card says), not for a reason of the lists'."""
    if not is_configured(request_settings()):
        return None, "ConnectWise is not connected yet: enter the connection first.", False
    lists, reason, error = _read_or_error(lambda client: load(OpportunitySetup(client)), "ConnectWise's lists")
    return lists, reason, isinstance(error, CONNECTION_FAILS)


ADMIN_ONLY = "(an admin's page: ask an admin)"
# Each page by the names messages write: its own, and for a page under the connection's, the whole path there too
# ("Admin → Integration → ConnectWise → Sales rep mapping"), so its link or the aside above follows the whole path,
# never its first part alone. Longest first.
_NAMES = tuple(sorted([(str(escape(p.name)), p) for p in pages.ALL]
                      + [(str(escape(f"{pages.CONNECTION.name} → {p.name}")), p) for p in pages.ALL
                         if not p.name.startswith(pages.CONNECTION.name)], key=lambda named: -len(named[0])))


@rep_bp.app_template_filter("page_links")
def page_links(text: str | None) -> Markup:
    """A message with each page it names (:mod:`..setup.pages`) made a link to that page, for those who
    may open it; the rest of the text is escaped."""
    html = str(escape(text or ""))
    admin = current_user.is_authenticated and current_user.is_admin
    closed: list[tuple[str, pages.Page]] = []  # admin pages a rep cannot open, named in the message
    for name, page in _NAMES:
        if name not in html:
            continue
        if not page.admin or admin:
            href = url_for(page.endpoint) + (f"#{page.anchor}" if page.anchor else "")
            # Longer names come first; text already inside a link is left alone.
            html = _link_outside_anchors(html, name, f'<a href="{escape(href)}">{name}</a>')
        else:
            closed.append((name, page))
    if closed and "ask an admin" not in html.lower():
        # A rep cannot open them: each admin page the message names says it is an admin's (ADMIN_ONLY), after its
        # first mention — every one of them, as each would be a link for an admin, so a fix naming two (a line's
        # unmapped category and manufacturer) does not read as if the second were the rep's to open. A name inside a
        # longer one (a page's short name in its whole path, "Product integration mapping" in its "→ Categories") is
        # that longer name's mention, not one of its own.
        found = sorted((at, -len(name), name, page) for name, page in closed
                       for at in _outside_anchors(html, name))
        said: set[tuple[str, str]] = set()
        ends: list[int] = []
        taken_to = -1
        for at, _, name, page in found:
            if at < taken_to:
                continue  # within a longer name already read
            taken_to = at + len(name)
            if (page.endpoint, page.anchor) not in said:
                said.add((page.endpoint, page.anchor))
                ends.append(taken_to)
        for end in reversed(ends):
            html = f"{html[:end]} {ADMIN_ONLY}{html[end:]}"
    return Markup(html)  # noqa: S704 - built from escaped text and our own URLs


def _outside_anchors(html: str, name: str) -> list[int]:
    """Where ``name`` occurs in ``html`` outside an ``<a>...</a>``."""
    out, at = [], 0
    while (found := html.find(name, at)) >= 0:
        opened, closed = html.rfind("<a ", 0, found), html.rfind("</a>", 0, found)
        if opened <= closed:
            out.append(found)
        at = found + 1
    return out


def _link_outside_anchors(html: str, name: str, link: str) -> str:
    """Replace ``name`` with ``link`` except inside an existing ``<a>...</a>``."""
    out, rest = [], html
    while rest:
        start = rest.find("<a ")
        chunk, rest = (rest, "") if start < 0 else (rest[:start], rest[start:])
        out.append(chunk.replace(name, link))
        if rest:
            end = rest.find("</a>") + len("</a>")
            out.append(rest[:end])
            rest = rest[end:]
    return "".join(out)


rep_bp.add_app_template_filter(text.plural, "plural")
rep_bp.add_app_template_filter(text.possessive, "possessive")
rep_bp.add_app_template_filter(text.sentence, "sentence")
rep_bp.add_app_template_global(places.ALL, "cw_places")  # where things are in ConnectWise, as messages name them


# --- Redis for pages: short timeouts, and results kept for the page a POST redirects to ------------------------


_page_redis: dict[tuple[str, float], Redis] = {}


def page_redis(timeout: float) -> Redis:
    """colcw's Redis (``REDIS_URL``) for a page, which waits at most ``timeout`` seconds for it (one pool per address
    and timeout in this process)."""
    key = (runtime().config.redis_url, timeout)
    if key not in _page_redis:
        _page_redis[key] = Redis.from_url(key[0], socket_timeout=timeout, socket_connect_timeout=timeout)
    return _page_redis[key]


_KEPT_KEY = "colcw:{kind}:{token}"
_KEPT_TIMEOUT = 2.0  # seconds


def keep_result(kind: str, payload: dict, seconds: int) -> str:
    """Keep a POST's result for the page it redirects to (Post/Redirect/Get: a reload shows it again, and any web
    process can), for ``seconds``; its token for that page's address. Raises :class:`redis.exceptions.RedisError`
    when Redis does not answer (the caller says what it shows instead)."""
    token = secrets.token_urlsafe(16)
    page_redis(_KEPT_TIMEOUT).set(_KEPT_KEY.format(kind=kind, token=token), json.dumps(payload), ex=seconds)
    return token


def kept_result(kind: str, token: str) -> dict | None:
    """A result :func:`keep_result` kept, or None when it is no longer kept (or never was). Raises
    :class:`redis.exceptions.RedisError` when Redis does not answer."""
    raw = page_redis(_KEPT_TIMEOUT).get(_KEPT_KEY.format(kind=kind, token=token[:64]))
    return None if raw is None else json.loads(raw)
