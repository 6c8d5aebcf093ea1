"""The time zone colcw's pages show times in: each signed-in person's own choice ("Show times in"), on every colcw
page they see — the jobs pages and a run's page for admins, a run's log and the lists' run panel for reps, the
customer and document panels for both — whichever browser they sign in from.

The choice is a row per person (:class:`~colcw_plugin.models.TimeZoneChoice`); those who did not choose see UTC.
Each page says the zone of its times (every time carries its abbreviation, "EDT", "UTC"), and pages showing times to
reps link to :func:`time_zone` to change it; admins also change it on the jobs page.

Reading it costs the panels no SQL statement: the choice is read once at sign-in and kept in the person's session
(checked against who is signed in), and saving it updates the session too. A choice made in another browser
applies here from the next sign-in. Admins' choices from before (a cookie of the admin pages' path) still apply on
the admin pages until they choose again.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from flask import flash, has_request_context, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, user_logged_in
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from werkzeug.wrappers import Response

from host_stub.extensions import db
from host_stub.views import referrer_path, safe_target

from ..models import TimeZoneChoice
from ..sync.jobs.schedules import is_timezone, timezones
from . import rep_bp

log = logging.getLogger(__name__)

LEGACY_COOKIE = "colcw_tz"  # an admin's choice before colcw_0005, sent on the admin pages only
LEGACY_COOKIE_PATH = "/admin/integration/connectwise"
_SESSION_KEY = "colcw_zone"  # [user id, zone or ""]: the signed-in person's choice, read at sign-in
_REQUEST_KEY = "colcw.zone"  # the zone of the request's page, once worked out
TIME_FORMAT = "%Y-%m-%d %H:%M %Z"


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


def _remember(user_id: int, zone: str) -> None:
    session[_SESSION_KEY] = [user_id, zone]
    request.environ.pop(_REQUEST_KEY, None)


def _chosen() -> str:
    """The signed-in person's choice ("" when none, or no one is signed in)."""
    if not current_user.is_authenticated:
        return ""
    kept = session.get(_SESSION_KEY)
    if isinstance(kept, list) and len(kept) == 2 and kept[0] == current_user.id:
        return kept[1] if isinstance(kept[1], str) else ""
    zone = _read_choice(current_user.id)  # signed in before colcw kept it, or by another route than the form
    session[_SESSION_KEY] = [current_user.id, zone]
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


def when(value: dt.datetime | None, fmt: str = TIME_FORMAT) -> str:
    """A naive-UTC time in the page's zone, saying which ("2026-07-01 14:00 EDT"); "—" for none."""
    if value is None:
        return "—"
    return value.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(display_zone())).strftime(fmt)


def choose(zone: str, back: str) -> Response:
    """Save ``zone`` as the signed-in person's choice (or say it is none) and go ``back``."""
    resp = redirect(back)
    if not is_timezone(zone):
        flash(f"{zone!r} is not a time zone name; choose one from the list (e.g. America/Chicago).", "error")
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
    _remember(current_user.id, zone)
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
    return render_template("colcw/time_zone.html", zone=display_zone(), zones=timezones(),
                           back=back if back != request.path else "")


def _at_sign_in(app, user, **_extra) -> None:
    """Read the person's choice as they sign in, so the pages after it read it from their session."""
    _remember(user.id, _read_choice(user.id))


@rep_bp.record_once
def _listen_to_sign_ins(state) -> None:
    user_logged_in.connect(_at_sign_in, sender=state.app)
