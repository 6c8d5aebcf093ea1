"""The time zone colcw's pages show times in: each signed-in person's own choice ("Show times in"), on every colcw
page they see — the jobs pages and a run's page for admins, a run's log and the lists' run panel for reps, the
customer and document panels for both — whichever browser they sign in from.

The choice is a row per person (:class:`~colcw_plugin.models.TimeZoneChoice`); those who did not choose see UTC.
Each page says the zone of its times (every time carries its abbreviation, "EDT", "UTC"), and pages showing times to
reps link to :func:`time_zone` to change it; admins also change it on the jobs page.

Reading it costs the panels no SQL statement: the choice is read once at sign-in and kept in the person's session
(checked against who is signed in, with when it was read), and saving it updates the session too. A choice made in
another browser applies here at the next page: saving it also leaves it in Redis with when it was made (a key a
person), which each page reads (one GET, no SQL) and takes when it is newer than what the session holds. Without
Redis (down, or the key gone) the session's choice stands, and the other browser's applies from the next sign-in.
Admins' choices from before (a cookie of the admin pages' path) still apply on the admin pages until they choose
again.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import (
    current_app,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, user_logged_in
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from werkzeug.wrappers import Response

from host_stub.extensions import db
from host_stub.models import utcnow
from host_stub.views import referrer_path, safe_target

from ..models import TimeZoneChoice
from ..models.runs import in_zone
from ..sync.jobs.schedules import (
    canonical_zone,
    did_you_mean,
    is_timezone,
    legacy_zone_note,
    timezones,
    zone_refusal,
)
from . import rep_bp
from .support import page_redis

log = logging.getLogger(__name__)

LEGACY_COOKIE = "colcw_tz"  # an admin's choice before colcw_0005, sent on the admin pages only
LEGACY_COOKIE_PATH = "/admin/integration/connectwise"
_SESSION_KEY = "colcw_zone"  # [user id, zone or "", stamp]: the signed-in person's choice, read at sign-in
_LATEST_KEY = "colcw:zone:{user_id}"  # "<stamp> <zone>" in Redis: the person's latest choice, for their other browsers
_REDIS_TIMEOUT = 0.25  # seconds a page waits for Redis to say whether a newer choice was made elsewhere
_REQUEST_KEY = "colcw.zone"  # the zone of the request's page, once worked out
TIME_FORMAT = "%Y-%m-%d %H:%M %Z"
# A run's own page (its started and finished times, each record of its log): to the second, as the command line and
# the workers' logs say them, which ops match them against; lists and panels keep the minute (TIME_FORMAT).
SECONDS_FORMAT = "%Y-%m-%d %H:%M:%S %Z"


def _read_choice(user_id: int) -> str:
    """The zone ``user_id`` chose ("" when none). Never fails the page it is read for: without colcw's table (its
    migrations not run yet) the person sees UTC."""
    try:
        row = db.session.get(TimeZoneChoice, user_id)
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("colcw: the time zone of user %s could not be read; showing UTC", user_id, exc_info=True)
        return ""
    return row.zone if row is not None else ""


def _stamp() -> str:
    """Now, as the session and Redis say when a choice was read or made (ordered as text)."""
    return utcnow().strftime("%Y-%m-%dT%H:%M:%S.%f")


def _remember(user_id: int, zone: str, stamp: str) -> None:
    session[_SESSION_KEY] = [user_id, zone, stamp]
    request.environ.pop(_REQUEST_KEY, None)


def _redis() -> Redis:
    """colcw's Redis, with short timeouts: a page never waits long to learn of a choice made elsewhere."""
    return page_redis(_REDIS_TIMEOUT)


def _publish(user_id: int, zone: str, stamp: str) -> None:
    """Leave ``zone`` as the person's latest choice for their other browsers (their next page takes it)."""
    try:
        _redis().set(_LATEST_KEY.format(user_id=user_id), f"{stamp} {zone}")
    except RedisError:
        log.warning("colcw: Redis did not answer: user %s's time zone applies in their other browsers from their next "
                    "sign-in", user_id, exc_info=True)


def forget_choices(user_ids: list[int]) -> None:
    """Reset deleted these people's choices (committed): their pages show the default zone again, in every browser.
    The choice's copies go too: Redis says "no choice", made now (an empty zone newer than any session's), so each
    of their browsers takes it at its next page, as it takes a choice made elsewhere; the signed-in person's own
    session forgets it at once. (Without Redis, their other browsers drop it at their next sign-in.)"""
    stamp = _stamp()
    if has_request_context() and current_user.is_authenticated:
        _remember(current_user.id, "", stamp)
    if not user_ids:
        return
    try:
        pipe = _redis().pipeline(transaction=False)
        for user_id in user_ids:
            # Kept as long as a session can be (a person who chooses again overwrites it, as any choice).
            pipe.set(_LATEST_KEY.format(user_id=user_id), f"{stamp} ", ex=current_app.permanent_session_lifetime)
        pipe.execute()
    except RedisError:
        log.warning("colcw: Redis did not answer: the time zones Reset deleted still apply in their people's other "
                    "browsers until their next sign-in", exc_info=True)


def _latest(user_id: int, than: str) -> tuple[str, str] | None:
    """(zone, stamp) of the person's choice made in another browser after ``than`` (a stamp), if any."""
    try:
        raw = _redis().get(_LATEST_KEY.format(user_id=user_id))
    except RedisError:
        log.debug("colcw: Redis did not answer; the time zone kept in the session applies", exc_info=True)
        return None
    stamp, _, zone = (raw or b"").decode(errors="replace").partition(" ")
    return (zone, stamp) if raw and stamp > than else None


def _chosen() -> str:
    """The signed-in person's choice ("" when none, or no one is signed in): the one kept in the session, unless
    they chose again since in another browser."""
    if not current_user.is_authenticated:
        return ""
    kept = session.get(_SESSION_KEY)
    if not (isinstance(kept, list) and len(kept) in (2, 3) and kept[0] == current_user.id):
        # Signed in before colcw kept it, or by another route than the form: read it.
        _remember(current_user.id, _read_choice(current_user.id), _stamp())
        kept = session[_SESSION_KEY]
    zone = kept[1] if isinstance(kept[1], str) else ""
    stamp = kept[2] if len(kept) == 3 and isinstance(kept[2], str) else ""  # kept before the stamp: any is newer
    newer = _latest(current_user.id, stamp)
    if newer is not None:
        zone, stamp = newer
        session[_SESSION_KEY] = [current_user.id, zone, stamp]
    return zone


def display_zone() -> str:
    """The zone the page shows its times in: the signed-in person's choice; else, on an admin page, an admin's
    earlier cookie; else UTC. Read once a request (not kept in ``g``, which requests can share: tests hold an app
    context)."""
    if not has_request_context():
        return "UTC"
    zone = request.environ.get(_REQUEST_KEY)
    if zone is None:
        zone = next((z for z in (_chosen(), request.cookies.get(LEGACY_COOKIE, "")) if is_timezone(z)), "UTC")
        request.environ[_REQUEST_KEY] = zone
    return zone


def when(value: dt.datetime | None, fmt: str = TIME_FORMAT, *, seconds: bool = False) -> str:
    """A naive-UTC time in the page's zone, saying which ("2026-07-01 14:00 EDT"; with ``seconds``, "2026-07-01
    14:00:05 EDT": :data:`SECONDS_FORMAT`); "—" for none."""
    if value is None:
        return "—"
    return in_zone(value, display_zone(), SECONDS_FORMAT if seconds else fmt)


def zone_note() -> str:
    """What the page says of the signed-in person's zone when it is one chosen before legacy names were refused
    ("EST has no daylight saving: choose America/New_York (Eastern Time) or another city zone."); "" otherwise."""
    note = legacy_zone_note(display_zone())
    return f"Times are shown in {display_zone()}, your choice. {note}" if note else ""


def choose(zone: str, back: str) -> Response:
    """Save ``zone`` as the signed-in person's choice (or say it is none) and go ``back``. A zone's name in any case
    is that zone ("america/new_york": America/New_York, saved so spelled); a name close to zones' is answered with
    them."""
    resp = redirect(back)
    typed, zone = zone, canonical_zone(zone)
    if not is_timezone(zone):
        flash(f"{typed!r} is not a time zone name; choose one from the list (e.g. America/Chicago).{did_you_mean(typed)}",
              "error")
        return resp
    if refused := zone_refusal(zone):  # a legacy name or fixed offset ("EST"): one that ignores daylight saving
        flash(f"Your time zone was not changed (times are still shown in {display_zone()}): {refused}", "error")
        return resp
    for _ in range(2):  # a first choice made twice at once: the second updates the first's row
        row = db.session.get(TimeZoneChoice, current_user.id)
        if row is None:
            db.session.add(TimeZoneChoice(user_id=current_user.id, zone=zone))
        else:
            row.zone = zone
        try:
            db.session.commit()
            break
        except IntegrityError:
            db.session.rollback()
    stamp = _stamp()  # after the commit: a sign-in that read the choice before it is older
    _publish(current_user.id, zone, stamp)
    _remember(current_user.id, zone, stamp)
    resp.delete_cookie(LEGACY_COOKIE, path=LEGACY_COOKIE_PATH)  # the choice is the person's now
    flash(f"Times on the ConnectWise pages and panels are now shown in {zone}.", "success")
    return resp


@rep_bp.route("/time-zone", methods=["GET", "POST"])
@login_required
def time_zone():
    """Where anyone signed in chooses the zone colcw's pages show their times in (the pages showing times link
    here; ``next``: the page to come back to, else the page the link was on)."""
    if request.method == "POST":
        back = safe_target(request.form.get("next"), url_for("colcw.time_zone"))
        return choose(request.form.get("zone", "").strip(), back)
    back = safe_target(request.args.get("next"), referrer_path() or "")
    return render_template("colcw/time_zone.html", zone=display_zone(), zones=timezones(), zone_note=zone_note(),
                           back=back if back != request.path else "")


def _at_sign_in(app, user, **_extra) -> None:
    """Read the person's choice as they sign in, so the pages after it read it from their session."""
    _remember(user.id, _read_choice(user.id), _stamp())  # any choice made before this read is in it


@rep_bp.record_once
def _listen_to_sign_ins(state) -> None:
    user_logged_in.connect(_at_sign_in, sender=state.app)
