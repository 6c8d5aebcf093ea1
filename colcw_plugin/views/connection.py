"""Admin → Integration → ConnectWise: synced items, the connection, Test Connection, the options,
Live updates (callbacks, public URL, customer master, the mass-delete alert), the settings links and
Reset (user guide §5.1)."""

from __future__ import annotations

import logging

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from redis.exceptions import RedisError
from sqlalchemy import select

from host_stub.extensions import db
from host_stub.models import CustomField
from host_stub.views import admin_required, current_actor

from ..errors import FieldErrors, QueueBusy
from ..models import CUSTOMER_MASTERS, CW_MASTER, HOST_MASTER, ConfigChange
from ..setup import reset as reset_service
from ..setup import synced_items
from ..setup.connection import (
    CHECK_READ_TIMEOUT,
    ascii_site_url,
    check_saved,
    connected_to,
    get_settings,
    is_configured,
    is_the_saved_connection,
    read_settings,
    remember_check,
    run_check,
    save_connection,
    typed_client_settings,
    unicode_host,
)
from ..setup.live_updates import LiveInput, get_live, read_live
from ..setup.opportunity_defaults import KINDS, NewOpportunityValues, shown
from ..setup.options import save_options
from ..setup.secrets import SecretError
from ..sync.inbound import RECONCILE_KIND
from ..sync.inbound.reconcile import dismiss_held
from ..sync.inbound.safety_net import apply_anyway
from ..sync.inbound.status import forced_pass, live_panel
from ..sync.inbound.switch import (
    apply_live,
    ensure_schedules,
    recheck_callbacks,
    remove_callbacks,
    safety_net_gaps,
    safety_net_mode,
)
from ..sync.jobs import recovery
from ..text import plural
from . import admin_bp
from .forms import ConnectionForm, OptionsForm
from .jobs import flash_submitted
from .support import actor_name, paginate, queue_busy, queue_unreachable, runtime
from .zone import LEGACY_COOKIE, LEGACY_COOKIE_PATH, display_zone, forget_choices, when

log = logging.getLogger(__name__)
PAGE_SIZE = 50


def _http_allowed() -> bool:
    return runtime().config.allow_http


def _render(conn: ConnectionForm | None = None, options: OptionsForm | None = None, status: int = 200,
            report: dict | None = None, live_errors: dict | None = None):
    settings = read_settings(db.session)
    fields = db.session.execute(select(CustomField).order_by(CustomField.position, CustomField.name)).scalars().all()
    changes = db.session.execute(select(ConfigChange).order_by(ConfigChange.at.desc(), ConfigChange.id.desc())
                                 .limit(10)).scalars().all()
    jobs_url = url_for("colcw_admin.jobs") if "colcw_admin.jobs" in current_app.view_functions else None
    live = live_panel(db.session)
    conn = conn or ConnectionForm.of_settings(settings)
    return render_template("colcw/connection/index.html", settings=settings, configured=is_configured(settings),
                           form=conn, site_url_used=_site_url_used(conn.site_url.data or ""),
                           options=options or OptionsForm.of_settings(settings, fields), http_allowed=_http_allowed(),
                           has_secret=bool(settings.secret_encrypted), fields=fields, changes=changes, report=report,
                           counts=synced_items.exported_counts(db.session), entities=synced_items.ENTITIES,
                           jobs_url=jobs_url, live=live, errors=live_errors or {}, when=when, zone=display_zone(),
                           applied=apply_anyway(db.session),
                           connected_to=connected_to,
                           safety_gaps=safety_net_gaps(live.schedules) if live.live.enabled else [],
                           new_opportunity=_new_opportunity_summary(settings)), status


def _site_url_used(url: str) -> tuple[str, str] | None:
    """(the URL requests use, its host as typed) when the site URL's host is internationalised (the page says what
    colcw connects to); None otherwise, or for an address that is not one (its error says so)."""
    host = unicode_host(url)
    return None if host is None else (ascii_site_url(url).rstrip("/"), host)


def _new_opportunity_summary(settings) -> list[tuple[str, str]]:
    """What new opportunities get, as saved (the section's form loads after the page: it reads ConnectWise)."""
    values = NewOpportunityValues.of(settings)
    return [(kind.label, shown(values, kind)) for kind in KINDS]


@admin_bp.route("/")
@admin_required
def connection():
    return _render()


@admin_bp.route("/connection", methods=["POST"])
@admin_required
def save_connection_view():
    form = ConnectionForm()
    try:
        save_connection(db.session, runtime().box, form.to_input(), actor_name(), _http_allowed())
    except FieldErrors as e:
        db.session.rollback()
        form.show_errors(e.errors)
        flash("Nothing was saved: correct the fields marked below.", "error")
        return _render(form, status=400)
    db.session.commit()
    rt = runtime()
    # Saved whatever ConnectWise says (an admin may enter the keys before it can be reached), then checked as Test
    # Connection checks it: the card keeps what the check found.
    report = check_saved(db.session, rt.box, rt.codebases, backoff_base=rt.config.cw_backoff_seconds)
    settings = get_settings(db.session)
    db.session.commit()
    log.info("Connection saved for %s, company %s; its check: %s", settings.site_url, settings.company_id,
             "ok" if report.ok else ", ".join(s.problem or "failed" for s in report.failed_steps))
    if report.ok:
        flash(f"Connection saved. ConnectWise accepted it: {connected_to(settings)}.", "success")
    else:
        flash(f"Connection saved, but {settings.check_message}", "warning")
    # The callbacks belong to the tenant the connection names: registered again (Live updates on).
    done = recheck_callbacks(db.session, rt.box, rt.interactive_client, queue=rt.queue, kinds=rt.kinds)
    for category, text in done.messages:
        if not (done.connection_fails and not report.ok):  # (the check said already that it does not work)
            flash(text, category)
    return redirect(url_for(".connection"))


@admin_bp.route("/live-updates", methods=["POST"])
@admin_required
def save_live_updates():
    """The Live updates section: the switch, the public URL, the master for customer data."""
    f = request.form
    data = LiveInput(enabled=f.get("live_enabled") == "on", public_base_url=f.get("public_base_url", ""),
                     customer_master=f.get("customer_master", HOST_MASTER))
    rt = runtime()
    master_before = read_live(db.session).customer_master
    try:
        # With the queue, a change of master has ConnectWise's values read again at once, not at the next pass.
        messages = apply_live(db.session, rt.box, rt.interactive_client, data, actor_name(), queue=rt.queue,
                              kinds=rt.kinds)
    except FieldErrors as e:
        db.session.rollback()
        flash("Live updates were not saved: correct the fields marked below.", "error")
        return _render(status=400, live_errors=e.errors)
    flash("Live updates are on." if data.enabled else "Live updates are off.", "success")
    master = read_live(db.session).customer_master
    if master != master_before:
        flash(_master_changed(master_before, master, live_on=data.enabled), "success")
    for category, text in messages:
        flash(text, category)
    return redirect(url_for(".connection") + "#live-updates")


def _master_changed(before: str, master: str, *, live_on: bool) -> str:
    """What a change of the master for customer data changed, and what it means from now on."""
    said = (f"The master for customer data is now {CUSTOMER_MASTERS[master]} (it was "
            f"{CUSTOMER_MASTERS.get(before, before)}). ")
    if master == CW_MASTER:
        said += ("From now on, edits to linked companies and contacts in ConnectWise are taken into the customers "
                 "here, and ConnectWise's value wins a field changed on both sides.")
        if not live_on:
            said += " Live updates are off: nothing is taken from ConnectWise until you switch them on."
        return said
    return said + ("From now on, edits made in ConnectWise to linked companies and contacts are not taken into the "
                   "customers here: each is shown on its customer's page as not taken, for a rep to keep "
                   "ChannelOnline's value or dismiss it, and imports never blank a field here.")


@admin_bp.route("/live-updates/safety-net", methods=["POST"])
@admin_required
def restore_safety_net():
    """Make again (or enable) the safety net's schedules deleted or disabled on the jobs page, while Live updates
    are on (what saving Live updates does too)."""
    back = redirect(url_for(".connection") + "#live-updates")
    if not read_live(db.session).enabled:
        flash("Live updates are off: the safety net runs while they are on, and switching them on makes it again.",
              "info")
        return back
    gaps = safety_net_gaps(live_panel(db.session).schedules)
    if not gaps:
        flash("The safety net is running already: nothing to restore.", "info")
        return back
    actor = actor_name()
    schedules = ensure_schedules(db.session, actor, enabled=True)
    done = "; ".join(f"{'made' if g.state == 'deleted' else 'enabled'} {g.name}" for g in gaps)
    db.session.add(ConfigChange(actor=actor, area="live updates", summary=f"Restored the safety net: {done}"))
    db.session.commit()
    restored = {g.mode for g in gaps}
    nexts = ", ".join(f"{s.name} next {when(s.next_run_at)}" for s in schedules if safety_net_mode(s) in restored)
    flash(f"Safety net restored ({nexts}).", "success")
    return back


@admin_bp.route("/live-updates/alert", methods=["POST"])
@admin_required
def live_updates_alert():
    """The mass-delete guard's alert: run the stopped pass anyway, or dismiss the deletions it holds back."""
    live = get_live(db.session)
    if request.form.get("action") == "apply":
        # The alert stays: the run takes it down once it has marked the held deletions (a run that fails, or never
        # runs, leaves it up, saying so: safety_net.apply_anyway).
        earlier = apply_anyway(db.session)
        if earlier is not None and earlier.active:
            flash(f"Apply anyway was already asked for: run #{earlier.run.id} marks the held deletions as deleted "
                  "(no second run queued).", "info")
            return redirect(url_for(".job_run", run_id=earlier.run.id))
        params = forced_pass(db.session, live.alert_run_id)
        try:
            submitted = runtime().submit(db.session, RECONCILE_KIND, params, trigger="manual", actor=current_actor())
        except QueueBusy:  # (another click or tab is queueing the same pass: nothing queued, the alert stays)
            db.session.rollback()
            flash(queue_busy("another Apply anyway of the held deletions"), "error")
            return redirect(url_for(".connection") + "#live-updates")
        except RedisError:
            db.session.rollback()
            flash(queue_unreachable("The pass that marks the held deletions",
                                    "The alert stays: use Apply anyway again once Redis answers (check REDIS_URL and "
                                    "that Redis is running)."), "error")
            return redirect(url_for(".connection") + "#live-updates")
        run = submitted.run
        what = "applies ConnectWise's changes and marks" if params["mode"] == "changes" else "marks"
        queued = (f"Run #{run.id} {what} the deleted records as deleted, past the mass-delete guard. The alert on the "
                  "Connection page stays until it has marked them.")
        flash_submitted(submitted, queued, f"Apply anyway was already asked for: run #{run.id} marks the held "
                        "deletions as deleted (no second run queued).")
        return redirect(url_for(".job_run", run_id=run.id))
    count = dismiss_held(db.session, actor_name())  # (clears the alert too)
    db.session.commit()
    flash(f"Dismissed {plural(count, 'deletion')} the mass-delete guard held back: their records stay linked as they "
          "are, and no later pass holds them back or raises the alert for them again unless the record comes back in "
          "ConnectWise and is deleted once more." if count else "Alert dismissed: no deletion was waiting.", "success")
    return redirect(url_for(".connection") + "#live-updates")


def _wants_page() -> bool:
    """A browser without JavaScript posted the form (Test Connection is then a page, not a fragment)."""
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


@admin_bp.route("/test", methods=["POST"])
@admin_required
def test_connection():
    """Run the handshake with the connection typed on the page (saved or not).

    htmx gets the result's HTML for the page; a browser without JavaScript the whole page with it;
    other callers JSON (``ok``, ``steps``, ``version``, ``member`` or ``errors``).
    """
    form = ConnectionForm()
    rt = runtime()
    saved = False
    try:
        cs = typed_client_settings(db.session, rt.box, form.to_input(), _http_allowed(),
                                   read_timeout=CHECK_READ_TIMEOUT, backoff_base=rt.config.cw_backoff_seconds)
    except (FieldErrors, SecretError) as e:
        db.session.rollback()
        errors = e.errors if isinstance(e, FieldErrors) else {"secret": str(e)}
        result = {"ok": False, "errors": errors}
    else:
        # (A check that finds the codebase remembers it for every client: it is read fresh here.)
        report = run_check(cs, rt.codebases)
        db.session.rollback()
        log.info("Test Connection to %s for company %s: %s", cs.site_root, cs.company_id, "ok" if report.ok else
                 ", ".join(s.problem or "failed" for s in report.failed_steps))
        result = report.as_dict()
        # The saved connection, tested: the Connection card says what it found from now on (updated in place).
        saved = is_the_saved_connection(db.session, rt.box, form.to_input())
        if saved:
            remember_check(get_settings(db.session), report)
            db.session.commit()
    if request.headers.get("HX-Request"):
        return render_template("colcw/connection/_test_result.html", report=result,
                               state_oob=saved, settings=read_settings(db.session), configured=saved,
                               connected_to=connected_to, when=when, zone=display_zone())
    if _wants_page():
        if result.get("errors"):
            form.show_errors(result["errors"])
        return _render(form, report=result, status=400 if result.get("errors") else 200)
    return jsonify(result), 400 if result.get("errors") else 200


@admin_bp.route("/options", methods=["POST"])
@admin_required
def save_options_view():
    fields = db.session.execute(select(CustomField).order_by(CustomField.position, CustomField.name)).scalars().all()
    form = OptionsForm().set_fields(fields)
    data = form.to_input()
    if data is None:
        abort(400)
    try:
        save_options(db.session, data, actor_name())
    except FieldErrors as e:
        db.session.rollback()
        form.show_errors(e.errors)
        flash(" ".join(e.errors.values()), "error")
        return _render(options=form, status=400)
    db.session.commit()
    flash("Options saved.", "success")
    return redirect(url_for(".connection") + "#options")


@admin_bp.route("/synced/<entity>")
@admin_required
def synced_list(entity: str):
    if entity not in synced_items.ENTITIES:
        abort(404)
    all_results = request.args.get("all") == "1"
    page = paginate(synced_items.items_query(entity, all_results=all_results), PAGE_SIZE)
    records = synced_items.exported_counts(db.session)[entity]
    return render_template("colcw/connection/synced_items.html", entity=entity, title=synced_items.ENTITIES[entity],
                           page=page, all_results=all_results, records=records, when=when, zone=display_zone())


@admin_bp.route("/reset", methods=["GET", "POST"])
@admin_required
def reset():
    error = None
    if request.method == "POST":
        if request.form.get("confirm", "").strip() != "RESET":
            error = "Type RESET in capitals to confirm."
        else:
            force = request.form.get("force") == "on"
            queue = runtime().queue
            # Reset anyway: the active runs are stopped first (cancelled, or asked to stop and waited for a few
            # seconds); nothing is deleted while one is still running, on whichever machine.
            still = recovery.stop_all(db.session, queue, actor=current_actor(), kinds=runtime().kinds) if force else []
            if not still and (force or not reset_service.active_runs(db.session)):
                # Before the settings go: colcw's callbacks must not keep pointing at this host.
                removed = remove_callbacks(db.session, runtime().interactive_client)
                if removed:
                    flash(removed, "warning" if get_live(db.session).last_error else "info")
            try:
                if still:
                    raise reset_service.ResetRefused(reset_service.still_running_message(still))
                choosers = reset_service.time_zone_choosers(db.session)
                lost = reset_service.reset_all(db.session, actor_name(), force=force, host=runtime().host, jobs=queue)
            except reset_service.ResetRefused as e:
                db.session.rollback()
                error = str(e)
            else:
                db.session.commit()
                forget_choices(choosers)  # their copies in sessions and Redis: pages show the default zone again
                statuses = next(c.rows for c in lost if c.table == reset_service.EXTERNAL_STATUSES)
                purged = queue.purge()  # after the commit: a job left now would find no run and do nothing
                flash("The ConnectWise integration was reset: its history, links and settings are gone, "
                      f"{plural(statuses, 'ConnectWise status', 'ConnectWise statuses')} removed from quotes and sales "
                      + ("orders" if purged is None else f"orders and {plural(purged, 'job')} from the job queue")
                      + ". Host customers and documents and everything in ConnectWise are otherwise unchanged.",
                      "success")
                if purged is None:
                    flash("The job queue (Redis) did not answer: its jobs of the deleted runs are still there. Delete "
                          "them on the queue dashboard.", "warning")
                resp = redirect(url_for(".connection"))
                resp.delete_cookie(LEGACY_COOKIE, path=LEGACY_COOKIE_PATH)  # an admin's zone from before, too
                return resp
    return render_template("colcw/connection/reset.html",
                           lost=reset_service.what_will_be_lost(db.session, runtime().queue),
                           active_runs=reset_service.active_runs(db.session), error=error), 400 if error else 200
