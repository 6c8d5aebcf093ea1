"""Rep-facing document export: Export to ConnectWise on the quote / sales order page, its
progress and outcome, Unlock, and the document page's ConnectWise panel.

The export runs on the job queue (``Runtime.submit``): the page shows it queued, then running with
its progress (htmx polls :func:`export_run`), then the outcome rendered from the run's log. Before
it, the page asks ConnectWise where the export goes (:func:`~..sync.quotes.picker.export_target`):
a closed, Won or Lost opportunity, or a name that differs from an existing one only by case, must be
confirmed before Export now goes ahead. Export now asks ConnectWise again only when the page's answer was not all
clear, or no longer stands for the document as it is (:mod:`..sync.quotes.answered`): the export itself asks again.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from flask import abort, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_login import login_required
from markupsafe import Markup
from redis.exceptions import RedisError
from sqlalchemy import select

from host_stub.extensions import db
from host_stub.gateway import ValidationError
from host_stub.models import Document
from host_stub.snapshots import document_snapshot
from host_stub.views import current_actor

from ..cw import ConnectWiseError
from ..errors import QueueBusy
from ..models import SyncItem, SyncRun
from ..setup.connection import NotConfigured
from ..setup.secrets import SecretError
from ..sync.inbound import SOURCE
from ..sync.inbound.status import changes_of
from ..sync.jobs.history import run_status
from ..sync.quotes import KIND
from ..sync.quotes.answered import answer_key, clear_answer, connection_of, remember_clear
from ..sync.quotes.opportunities import shared_setup
from ..sync.quotes.picker import (
    ExportTarget,
    ExportUnderWay,
    export_target,
    export_under_way,
    exports_it_alone,
    line_problems_ahead,
    submit_export_now,
)
from ..sync.quotes.preflight import (
    CHECK_AGAIN,
    CHECKING,
    CONNECTION,
    LINES,
    UNCHECKED,
    Check,
    asks_where,
    confirmations,
    connection_failed,
    long_name_check,
    not_checked,
    preflight,
    with_company,
    with_target,
)
from ..sync.quotes.problems import ExportRefused
from ..sync.quotes.state import panel_state
from ..text import plural
from . import rep_bp
from .parts import fragment_or_page
from .support import (
    ASK_AN_ADMIN,
    already_running,
    not_connected,
    queue_busy,
    queue_unreachable,
    request_settings,
    runtime,
)
from .zone import display_zone, when

log = logging.getLogger(__name__)
CHECK_READ_TIMEOUT = 10.0  # seconds the checklist waits for each of ConnectWise's answers (a rep is waiting)
# Seconds Export now waits for the export it queued to end (while a worker listens), so that the page it leads to
# shows the outcome at once: a one-line quote's export takes a fraction of a second. A longer one shows its progress.
OUTCOME_WAIT_SECONDS = 2
REFRESH_SECONDS = 3  # how often a linked document's panel asks for what came back from ConnectWise
# Where the panel goes on the document's page (htmx swaps it in once the page is shown). The opportunity picker
# opens below it, outside what the panel's refresh replaces.
PANEL_SLOT = Markup('<section class="card colcw-document-panel colcw-panel-slot" id="colcw-document-panel-slot" '
                    'hx-get="{url}" hx-trigger="load" hx-swap="outerHTML"><h2>ConnectWise</h2>'
                    '<p class="hint"><a href="{url}">This document in ConnectWise</a></p></section>'
                    '<div id="colcw-picker"></div><script src="{script}" defer></script>')


def _document(doc_id: int) -> Document:
    doc = db.session.get(Document, doc_id)
    if doc is None:
        abort(404)
    return doc


def _run_of(doc: Document, run_id: int | None) -> SyncRun | None:
    """A run of this document's export (404 for another document's run: ids are guessable)."""
    if run_id is None:
        return None
    run = db.session.get(SyncRun, run_id)
    if run is None or run.kind != KIND or int((run.params or {}).get("document_id") or 0) != doc.id:
        abort(404)
    return run


def _outcome(run: SyncRun) -> dict:
    rows = list(db.session.execute(select(SyncItem).where(SyncItem.run_id == run.id).order_by(SyncItem.id)).scalars())
    document = next((r for r in rows if r.entity == "document"), None)
    return {"document": document, "lines": [r for r in rows if r.entity == "line"]}


EXPORTED_ACTIONS = ("created", "updated", "unchanged")  # the outcomes the page says "Exported." of (_outcome.html)


def _exported_now(run: SyncRun | None, outcome: dict | None) -> bool:
    """Whether the page shows an ended run that exported the document: its checklist's way back then reads "Done",
    not "Cancel" (there is nothing left to cancel; Export again beside it exports it once more)."""
    item = (outcome or {}).get("document")
    return bool(run is not None and run.has_ended and item is not None
                and item.action in EXPORTED_ACTIONS)


@dataclass
class _Asked:
    """What ConnectWise said before an export (see :func:`_ask_connectwise`)."""

    target: ExportTarget | None = None  # where the export goes (None while a check fails)
    lines_checked: bool = False
    lines: ExportRefused | None = None  # the lines the export would refuse
    failed: str | None = None  # why ConnectWise could not be asked (the connection row's ✗)
    # It could not be asked for a moment (unreachable, busy, a server error: the error's own ``transient``), not
    # because of colcw's keys or settings: the connection row offers to check again (nothing for an admin to fix).
    momentary: bool = False


def _ask_connectwise(doc: Document, snapshot: dict, checks: list, store: bool) -> _Asked:
    """Where the export goes and which lines it would refuse, asked of ConnectWise with one client. ``store``:
    keep the reference lists read for the next caller (not on a GET, which writes nothing)."""
    if not _would_ask(doc, checks):
        return _Asked()  # not connected, or a converted quote (the export skips it): nothing to ask
    settings = request_settings()
    asked = _Asked()
    try:
        with runtime().interactive_client(db.session, settings=settings, read_timeout=CHECK_READ_TIMEOUT) as client:
            # The lines are asked about beside where the export goes: one round trip to wait for, not two.
            lines = line_problems_ahead(db.session, client, settings, doc)
            target, failed = None, None
            try:
                if asks_where(checks):
                    setup = shared_setup(client, db.engine, settings, store, session=db.session)
                    target = export_target(db.session, client, setup, settings, doc, snapshot)
            except ConnectWiseError as e:
                failed = e  # the lines' answer first, as when they were asked first
            finally:
                lines.wait()
            asked.lines, asked.lines_checked = lines.result(), bool(doc.lines)
            if failed is not None:
                raise failed
            asked.target = target
    except NotConfigured:
        return _Asked()  # (reset since the checks were read: the next look says so)
    except SecretError:
        asked.failed = connection_failed(None)
    except ConnectWiseError as e:
        log.warning("The export checklist of %s could not ask ConnectWise: %s", doc.number, e)
        asked.failed, asked.momentary = connection_failed(e), e.transient
    return asked


def _with_answers(checks: list[Check], doc: Document, asked: _Asked) -> list[Check]:
    """The checks with what ConnectWise said: where the export goes, and the Lines row. When it could not be asked,
    the connection row fails with why, and what only ConnectWise can tell is shown as not checked, not ticked."""
    if asked.failed is not None:
        why = "ConnectWise could not be asked"
        checks = [dataclasses.replace(c, ok=False, detail=asked.failed, fix=CHECK_AGAIN if asked.momentary else c.fix)
                  if c.label == CONNECTION else
                  not_checked(c, f"{why} where the export goes.") if c.label == "Opportunity" and c.ok else c
                  for c in checks]
        if doc.lines and not asked.lines_checked:
            checks.append(not_checked(Check(False, LINES), f"{why} whether its lines can be exported."))
    else:
        checks = with_target(checks, asked.target.refused if asked.target else None)
        checks = with_company(checks, asked.target.unlinked_company if asked.target else None)
    if asked.lines is not None:
        checks = [*checks, Check(False, LINES, f"{plural(len(asked.lines.lines), 'line')} cannot be exported yet:")]
    elif asked.lines_checked:
        checks = [*checks, Check(True, LINES, "Its line can be exported." if len(doc.lines) == 1 else
                                 f"Each of its {len(doc.lines)} lines can be exported.")]
    return checks


def _would_ask(doc: Document, checks: list[Check]) -> bool:
    """Whether the checklist asks ConnectWise (as :func:`_ask_connectwise` does)."""
    return checks[0].ok and not doc.is_converted_quote and len(checks) >= 2


def _checking(checks: list[Check], doc: Document) -> list[Check]:
    """colcw's own checks, with what ConnectWise is being asked shown as checking (neither ✓ nor ✗)."""
    checks = [Check(False, CONNECTION, "Checking with ConnectWise…", state=CHECKING) if c.label == CONNECTION else
              dataclasses.replace(c, ok=False, state=CHECKING) if c.label == "Opportunity" and c.ok else c
              for c in checks]
    if doc.lines:
        checks.append(Check(False, LINES, "Checking whether its lines can be exported…", state=CHECKING))
    return checks


_LOOK = object()  # (_checklist's under_way: not looked at yet)


def _checklist(doc: Document, snapshot: dict, store: bool, *, checking: bool = False, under_way=_LOOK,
               own: list[Check] | None = None) -> dict:
    """The export checklist as it is now: colcw's own checks, then what ConnectWise says (where the export goes,
    the lines it would refuse), and the document's export run while it is queued or running. ``checking``: without
    asking ConnectWise, its part shown as being checked (the page loads it after: :func:`export_checklist`). ``own``:
    colcw's own checks, when the caller just made them (:func:`~..sync.quotes.preflight.preflight`)."""
    actor = current_actor()
    if own is None:
        own = preflight(db.session, doc, actor, snapshot, request_settings())
    checks = own
    checking = checking and _would_ask(doc, checks)  # (nothing to ask: the page is whole at once)
    if checking:
        checks, asked = _checking(checks, doc), _Asked()
    else:
        asked = _ask_connectwise(doc, snapshot, checks, store)
        checks = _with_answers(checks, doc, asked)
    target, lines = asked.target, asked.lines
    # While its export is under way Export now is off (and a click queues nothing: start_document_export): its own
    # run (``active``) or a run exporting it among other documents (``bulk``).
    if under_way is _LOOK:  # (else the caller's look, just before: Export now's)
        under_way = export_under_way(db.session, doc.id)
    active = under_way if under_way is not None and exports_it_alone(under_way) else None
    failing = [c for c in checks if not c.ok]
    if not checking and not failing and _would_ask(doc, own):
        # ConnectWise answered all clear: Export now clicked on this page, nothing changed since, need not ask it the
        # same again (:func:`_clear_on_its_page`).
        remember_clear(runtime().redis, _answer_key(doc, actor, own, snapshot), _to_confirm(target))
    # What blocks Export now: a check that failed rather than one still being checked, when there is one.
    blocking = next((c for c in failing if c.state != CHECKING), failing[0] if failing else None)
    # Every check to fix (✗), named where Export now is off: not those ConnectWise could not be asked about (–).
    blockers = [c for c in failing if c.state not in (CHECKING, UNCHECKED)]
    # Nothing to fix but ConnectWise not answering for a moment: Export now waits for Check again (the page says so,
    # and a click is refused saying so).
    momentary = blocking is not None and blocking.fix == CHECK_AGAIN and blockers == [blocking]
    return {"checks": checks, "target": target, "checking": checking,
            "line_problems": lines.lines if lines is not None else [],
            "blocking": blocking, "blockers": blockers, "momentary": momentary, "active": active,
            "bulk": under_way if active is None else None}


def _named(checks: list[Check]) -> str:
    """The checks' labels as a sentence names them: “Customer”, “Contact” and “Lines”."""
    labels = [f"“{c.label}”" for c in checks]
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"


def _opened_by_a_browser() -> bool:
    """A browser opening the page (``Sec-Fetch-Dest: document``), whose scripts load ConnectWise's part after it;
    other clients (no script to load it) get the page whole."""
    return request.headers.get("Sec-Fetch-Dest") == "document" and not request.headers.get("HX-Request")


def _export_page(doc: Document, *, checking: bool):
    snapshot = document_snapshot(doc)
    asked_for = _run_of(doc, request.args.get("run", type=int))
    checklist = _checklist(doc, snapshot, store=False, checking=checking)
    run = checklist["active"] or asked_for  # while an export of it runs, that run's progress
    outcome = _outcome(run) if run else None
    return render_template("colcw/documents/export.html", doc=doc, run=run, zone=display_zone(),
                           final=bool(run and run.has_ended),
                           outcome=outcome, exported_now=_exported_now(run, outcome), **checklist,
                           panel=panel_state(db.session, doc, request_settings(), snapshot))


@rep_bp.route("/documents/<int:doc_id>/export", methods=["GET"])
@login_required
def export_document(doc_id: int):
    """The export page: pre-flight checks, where the export goes (asked of ConnectWise), the lines it would refuse,
    and Export now, disabled while a check fails or while the document's export runs; with ``?run=`` (or while its
    export runs) the run's progress / outcome. A browser gets it at once, ConnectWise's part loading after it
    (:func:`export_checklist`): a ConnectWise slow to answer, or not answering, does not hold the page."""
    return _export_page(_document(doc_id), checking=_opened_by_a_browser())


@rep_bp.route("/documents/<int:doc_id>/export/checklist", methods=["GET"])
@login_required
def export_checklist(doc_id: int):
    """The export page's checklist and Export now with ConnectWise's answers: the section htmx loads after the page,
    or, without JavaScript, the whole page with them."""
    doc = _document(doc_id)
    if not request.headers.get("HX-Request"):
        return _export_page(doc, checking=False)
    snapshot = document_snapshot(doc)
    checklist = _checklist(doc, snapshot, store=False)
    panel = panel_state(db.session, doc, request_settings(), snapshot)
    run = _run_of(doc, request.args.get("run", type=int))
    ended = run is not None and run.has_ended and checklist["active"] is None
    outcome = _outcome(run) if ended else None
    html = render_template("colcw/documents/_checklist.html", doc=doc, **checklist, panel=panel,
                           exported_now=_exported_now(run if ended else None, outcome))
    if ended:
        # The outcome shown above the checklist, said again now that the checklist is answered: a check that fails
        # now is the reason said on its row (once), else the run's own reason (htmx swaps it in out of band).
        html += render_template("colcw/documents/_outcome_again.html", doc=doc, run=run, zone=display_zone(),
                                outcome=outcome, **checklist, panel=panel)
    resp = make_response(html)
    resp.vary.add("HX-Request")
    return resp


@rep_bp.route("/documents/<int:doc_id>/export/run", methods=["GET"])
@login_required
def export_run(doc_id: int):
    """The export page's run section: progress while it runs (htmx polls this). Once the run has ended, the whole
    page is shown again (htmx: ``HX-Refresh``), so its checklist, Export now and messages are as they are now."""
    doc = _document(doc_id)
    db.session.expire_all()
    run = _run_of(doc, request.args.get("run", type=int)) or abort(404)
    final = run.has_ended
    resp = make_response(render_template(
        "colcw/documents/_run.html", doc=doc, run=run, final=final, outcome=_outcome(run) if final else None, fragment=True,
        zone=display_zone(),
        panel=panel_state(db.session, doc, request_settings(), document_snapshot(doc))))
    if final and request.headers.get("HX-Request"):
        resp.headers["HX-Refresh"] = "true"
    return resp


def _converted_refusal(doc: Document, order: tuple[int, str] | None) -> Markup:
    """What a POST of Export now for a quote converted since its page was shown says: nothing to fix, the order's
    export carries its lines now (linked to that order's export)."""
    if order is None:
        return Markup("Not exported: {number} was converted to a sales order, which carries its lines to ConnectWise "
                      "now; export that sales order instead.").format(number=doc.number)
    return Markup("Not exported: {number} became sales order {order}, which carries its lines to ConnectWise now. "
                  'There is nothing to fix: <a href="{url}" id="colcw-export-order">export {order}</a> instead.'
                  ).format(number=doc.number, order=order[1], url=url_for("colcw.export_document", doc_id=order[0]))


@rep_bp.route("/documents/<int:doc_id>/export", methods=["POST"])
@login_required
def start_document_export(doc_id: int):
    doc = _document(doc_id)
    back = url_for("colcw.export_document", doc_id=doc.id)
    unconnected = not_connected()
    if unconnected is not None:
        flash(unconnected, "error")
        return redirect(back)
    # (A stale page, a second click): Export now is off while the document's export is under way, said before
    # ConnectWise is asked anything (twenty clicks at once asked it twenty checklists).
    under_way = export_under_way(db.session, doc.id)
    if under_way is not None and not doc.is_converted_quote:
        return _under_way(doc, under_way)
    snapshot = document_snapshot(doc)
    actor = current_actor()
    own = preflight(db.session, doc, actor, snapshot, request_settings())
    confirmed = _clear_on_its_page(doc, actor, own, snapshot)
    checks = own
    if confirmed is None:  # ConnectWise asked again: no clear answer for the document as it is now
        checklist = _checklist(doc, snapshot, store=True, under_way=under_way, own=own)
        failing, target, checks = checklist["blocking"], checklist["target"], checklist["checks"]
        if failing is not None and failing.fix == "converted":  # (a stale page): nothing to fix, its order exports now
            flash(_converted_refusal(doc, failing.order), "info")
            return redirect(back)
        if checklist["momentary"]:  # (a stale page, or ConnectWise went away since): nothing to fix
            flash("Not exported: ConnectWise cannot be reached right now, so nothing was checked or sent to it. Check "
                  "again in a moment.", "error")
            return redirect(back)
        if failing is not None:  # (each row on the checklist says why and what to do: said once, there)
            flash(f"Not exported: {_named(checklist['blockers'] or [failing])} must be fixed first (see the "
                  "checklist).", "error")
            return redirect(back)
        confirmed = _to_confirm(target) or ""
        if confirmed and request.form.get("confirm") != confirmed:
            flash(f"Not exported yet: confirm it first. {target.confirm}", "error")
            return redirect(back)
    ticked = request.form.getlist("confirm_check")
    unconfirmed = [c for c in confirmations(checks) if c.confirm not in ticked]
    if unconfirmed:  # (a warning shown, or changed since the page was: its box says what is confirmed)
        flash(f"Not exported yet: confirm {_named(unconfirmed)} first (tick the box below the checklist), or "
              "change the document.", "error")
        return redirect(back)
    actor = current_actor()
    # Give the request's database connection back before waiting on the queue's submit lock: clicks that each
    # held one while waiting for the lock's holder, which needs one, would exhaust the pool.
    db.session.commit()
    try:
        params = {"document_id": doc_id} | ({"confirmed": confirmed} if confirmed else {})
        # The warnings (⚠) ticked, as their tokens (hashes of what was shown, no user text): the run's log says who
        # confirmed them (the run's own requester), when what it sends is what they were shown.
        warned = sorted(c.confirm for c in confirmations(checks))
        params |= {"confirmed_checks": warned} if warned else {}
        # Never a second export queued beside (or behind) the one under way, whatever this page posted: looked at
        # again under a lock every web process shares, since another click may have queued one since the look above.
        rt = runtime()
        submitted = submit_export_now(db.session, rt.queue, rt.kinds, params, actor=actor)
    except ExportUnderWay as e:
        return _under_way(doc, e.run)
    except QueueBusy:  # (another click holds the document's lock: Redis answers)
        db.session.rollback()
        flash(queue_busy(f"another export of {doc.number}"), "error")
        return redirect(url_for("colcw.export_document", doc_id=doc_id))
    except RedisError:
        db.session.rollback()
        flash(queue_unreachable("The export", ASK_AN_ADMIN), "error")
        return redirect(url_for("colcw.export_document", doc_id=doc_id))
    if submitted.duplicate:
        flash(already_running(submitted.run, f"{doc.number} is already being exported to ConnectWise"), "info")
    run_id = submitted.run.id
    if submitted.enqueued and not submitted.duplicate:
        job_id = submitted.run.rq_job_id
        db.session.commit()  # (the run read back after the submit's commit): no database connection held while waiting
        _wait_for_outcome(job_id)
    return redirect(url_for("colcw.export_document", doc_id=doc_id, run=run_id))


def _to_confirm(target: ExportTarget | None) -> str | None:
    """The token of where the export goes, when a person must confirm it (the checklist's box), else None."""
    return target.confirm_token if target is not None and target.confirm else None


def _clear_on_its_page(doc: Document, actor: dict | None, own: list[Check], snapshot: dict) -> str | None:
    """When the page Export now was clicked on had ConnectWise's answer, all clear, for the document as it is now
    (``own``: colcw's own checks now, all passing), the target token it asked to confirm ("" for none), which the
    form confirms: the export is queued without asking ConnectWise the same again (:mod:`~..sync.quotes.answered`;
    the export asks again under its locks). None: ConnectWise is asked again, and the click refused with what to fix
    or confirm."""
    if not _would_ask(doc, own) or not all(c.ok for c in own):
        return None
    token = clear_answer(runtime().redis, _answer_key(doc, actor, own, snapshot))
    if token and request.form.get("confirm") != token:
        return None  # (not ticked: asked again, the click says what to confirm)
    return token


def _answer_key(doc: Document, actor: dict | None, own: list[Check], snapshot: dict) -> str:
    """Where the checklist's clear answer for ``doc`` as it is now is remembered (:func:`~..sync.quotes.answered.answer_key`),
    on the connection as it is now."""
    return answer_key(doc.id, actor, own, snapshot, connection_of(request_settings()))


def _under_way(doc: Document, run: SyncRun):
    """Export now refused while the document's export is under way (:func:`~..sync.quotes.picker.export_under_way`, the
    rule that turns the button off): the page names that run, linked for whoever may open it, and shows its progress
    when it is the document's own export."""
    flash(already_running(run, f"{doc.number} is already being exported to ConnectWise"), "info")
    own = exports_it_alone(run)
    return redirect(url_for("colcw.export_document", doc_id=doc.id, **({"run": run.id} if own else {})))


def _wait_for_outcome(job_id: str) -> None:
    """Give the export just queued up to :data:`OUTCOME_WAIT_SECONDS` to end, when a worker listens to run it (else the
    page says at once that none does): the page then opens on its outcome, not on a progress bar that finds it ended
    at its first look."""
    queue = runtime().queue
    try:
        if queue.workers(queue.live):  # (a document's export goes on the live queue: any worker, or a live one)
            queue.ended_within(job_id, OUTCOME_WAIT_SECONDS)
    except RedisError:  # the export is queued: its page follows it as it would have
        log.warning("could not wait for the outcome of job %s", job_id, exc_info=True)


@rep_bp.route("/documents/<int:doc_id>/export/status", methods=["GET"])
@login_required
def export_status(doc_id: int):
    """JSON for the progress bar: the run's status and progress."""
    doc = _document(doc_id)
    run = _run_of(doc, request.args.get("run", type=int))
    if run is None:
        abort(404)
    return jsonify(run_status(db.session, runtime().kinds, run.id))


@rep_bp.route("/documents/<int:doc_id>/unlock", methods=["POST"])
@login_required
def unlock_document(doc_id: int):
    doc = _document(doc_id)
    host = runtime().host(db.session)
    try:
        host.set_locked(doc.id, False)
        host.commit()
    except ValidationError as e:
        host.rollback()
        flash(" ".join(e.errors.values()), "error")
    else:
        flash(_unlocked(doc), "success")
    return redirect(url_for("documents.view_document", doc_id=doc.id))


def _unlocked(doc: Document) -> Markup | str:
    """What Unlock says: export it again after editing; for a quote converted into a sales order, whose order
    carries its lines (it is not exported again), that editing it changes nothing in ConnectWise."""
    if not doc.is_converted_quote:
        return f"{doc.number} unlocked. After editing it, export it again to update ConnectWise."
    order = db.session.execute(select(Document.id, Document.number).where(Document.source_quote_id == doc.id)
                               .order_by(Document.id)).first()
    if order is None:
        return (f"{doc.number} unlocked. It was converted to a sales order, which carries its lines to ConnectWise: "
                f"editing {doc.number} changes nothing there.")
    return Markup('{number} unlocked. It was converted to sales order <a href="{url}" id="colcw-unlocked-order">'
                  "{order}</a>, which carries its lines to ConnectWise: editing {number} changes nothing there; "
                  "edit and export {order} to change them.").format(
        number=doc.number, order=order.number, url=url_for("documents.view_document", doc_id=order.id))


# --- HTML for the hookimpls --------------------------------------------------------------------


def _panel_html(doc: Document, snapshot: dict) -> str:
    settings = request_settings()
    cw_status = next((x for x in doc.external_statuses if x.source == SOURCE), None)
    panel = panel_state(db.session, doc, settings, snapshot)
    # Not exported and linked to no opportunity: a name the export refuses is said as the checklist says it (its row
    # marked in_form), not where the lines would go.
    too_long = long_name_check(panel.name_now)
    return render_template("colcw/documents/_panel.html", doc=doc, cw_status=cw_status, panel=panel, source=SOURCE,
                           when=when, zone=display_zone(), name_refused=too_long.detail if too_long else "",
                           changes=changes_of(panel.drift), refresh_seconds=REFRESH_SECONDS)


def status_panel(document: dict) -> Markup:
    """Where the ConnectWise panel goes on a quote's or sales order's page (exported / locked / changed / link,
    and what came back from ConnectWise): it loads after the page, then refreshes itself while the document is
    linked; without JavaScript the slot links to the panel's own page."""
    url = url_for("colcw.document_panel", doc_id=document["id"])
    return PANEL_SLOT.format(url=url, script=url_for("colcw.static", filename="colcw/refresh.js"))


@rep_bp.route("/documents/<int:doc_id>/panel", methods=["GET"])
@login_required
def document_panel(doc_id: int):
    """The panel alone: the fragment the page loads and refreshes (htmx, refresh.js: a person sees "Won in
    ConnectWise" without reloading), or a page of its own without JavaScript."""
    doc = _document(doc_id)
    return fragment_or_page(_panel_html(doc, document_snapshot(doc)), "colcw/documents/panel.html", doc=doc)
