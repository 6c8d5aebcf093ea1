"""Rep-facing customer sync: the Import From ConnectWise popup and the Export to ConnectWise action.

Both run one record synchronously through the sync engine (a run row, per-record results), so
what a rep does here shows on the jobs pages like any other run. Also the customer page's
ConnectWise panel (status, results, clear / re-link) and the popup's markup, which the
hookimpls render.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required
from markupsafe import Markup
from sqlalchemy import select

from host_stub.extensions import db
from host_stub.models import Customer, utcnow
from host_stub.views import current_actor, safe_target

from ..cw import ConnectWiseError
from ..models import CUSTOMER, Link, RunStatus, SyncItem, SyncRun, actor_label, get_link
from ..setup.connection import NotConfigured, read_settings
from ..setup.live_updates import cw_is_master
from ..setup.secrets import SecretError
from ..sync.customers import exclusive, export_reads, lookup
from ..sync.customers import exporter as customer_exporter
from ..sync.customers import links as customer_links
from ..sync.customers import list_status as customer_states
from ..sync.customers.link_batch import NoteKey, dismiss_notes, dismissed_notes
from ..sync.inbound import LIVE_KIND, RECONCILE_KIND
from ..sync.inbound.status import customer_drift
from ..sync.jobs import history
from ..sync.jobs.recorder import RETRYING_REQUEST
from ..sync.jobs.runs import create_run
from ..sync.shared import advice, moved_contact
from ..sync.shared.advice import deleted_company_fix
from ..sync.shared.notes import INACTIVE_FIX
from . import rep_bp
from .parts import constant, filled, fragment_or_page
from .support import already_running, not_connected, page_links, runtime
from .zone import display_zone, when

log = logging.getLogger(__name__)

MAX_IDENT = 100
# Where the ConnectWise panel goes on the customer's page; htmx swaps the panel in once the page is shown.
PANEL_SLOT = ('<section class="card colcw-panel-slot" id="colcw-sync-panel-slot" hx-get="{url}" hx-trigger="load" '
              'hx-swap="outerHTML"><h2 style="margin-top:0">ConnectWise</h2>'
              '<p class="hint"><a href="{url}">This customer in ConnectWise</a></p></section>')
# The Import From ConnectWise dialog on All Customers; its form (_import_form.html) loads when it first opens.
IMPORT_POPUP = ('<dialog id="colcw-import-dialog" data-colcw-dialog="import" aria-labelledby="colcw-import-title" '
                'style="max-width:460px;border:1px solid #b9c2cc;border-radius:6px;padding:1rem 1.2rem">'
                '<h2 id="colcw-import-title" style="margin-top:0">Import From ConnectWise</h2>'
                '<div hx-get="{url}" hx-trigger="colcw-open once" hx-swap="outerHTML" data-colcw-load>'
                '<a href="{url}">Open the import form</a></div></dialog>')


def _execute(kind: str, params: dict) -> SyncRun:
    rt = runtime()
    run = create_run(db.session, rt.kinds, kind, params, trigger="manual", actor=current_actor())
    db.session.commit()
    return rt.execute(db.session, run.id, person_waiting=True)


# How long a rep's Export to ConnectWise holds the page: past it, the export goes on on its own and the page says
# where to follow it (a ConnectWise that hangs on a write held the click for two minutes).
EXPORT_WAIT_SECONDS = 10.0
# What a rep's import or export says when its run was deleted while it ran (Reset anyway stops the runs first, and a
# run whose row is gone stops at its next write: recorder.RunGone).
RESET_MEANWHILE = ("an admin reset the ConnectWise integration while it ran, which stopped it. Try again once the "
                   "connection is set up again.")


def _run_waiting_at_most(run_id: int, seconds: float) -> SyncRun | None:
    """Execute the recorded run ``run_id`` in a thread of its own (its own session) and wait for it at most
    ``seconds``, and no longer than until ConnectWise makes it wait (a server error, a 429 or a dropped connection
    it tries again after a pause; not another export's lock, mostly held a moment): the ended run, or None while it
    still runs. It goes on,
    recorded like any run, as a queued run's attempt does (its passes; a run left waiting has its next attempt queued:
    :meth:`~..sync.runtime.Runtime.execute_handed_over`), so it finishes by itself, as after a slow answer; a click
    held seconds by retries ended "not attempted … Try again in a few minutes", for the rep to click again."""
    app = current_app._get_current_object()
    rt = runtime()
    done = threading.Event()

    def work() -> None:
        with app.app_context():
            try:
                rt.execute_handed_over(db.session, run_id, on_wait=done.set)
            except Exception:  # (execute_run records what it can; nothing else waits on this thread)
                log.exception("customer export run %s crashed", run_id)
            finally:
                db.session.remove()
                done.set()

    thread = threading.Thread(target=work, name=f"colcw-export-{run_id}", daemon=True)
    thread.start()
    done.wait(seconds)
    if thread.is_alive():
        return None
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def said(*parts: str) -> Markup:
    """A result's message and its fix as a flash says them: each colcw page it names a link for those who may open it,
    and for a rep, who cannot open an admin's page, "(an admin's page: ask an admin)" after it (:func:`.support.page_links`,
    as run logs and the customer's panel show a resolution)."""
    return page_links(" ".join(p.strip() for p in parts if p and p.strip()))


def _items(run: SyncRun, entity: str) -> list[SyncItem]:
    return list(db.session.execute(select(SyncItem).where(SyncItem.run_id == run.id, SyncItem.entity == entity)
                                   .order_by(SyncItem.id)).scalars())


def _contact_summary(run: SyncRun) -> tuple[str, list[SyncItem]]:
    """The run's contacts, counted (a new or unchanged company's contacts have no result of their own), and
    those that failed or were skipped."""
    counts = (run.entity_counts or {}).get("contact", {})
    text = ", ".join(f"{n} {a}" for a, n in counts.items() if n)
    problems = [i for i in _items(run, "contact") if i.action in ("failed", "skipped")]
    return (f" Contacts: {text}." if text else ""), problems


@rep_bp.route("/import", methods=["GET", "POST"])
@login_required
def import_company():
    """The popup's form (also a page of its own without JavaScript); a POST imports and opens the customer."""
    error: tuple[str, str] | None = None
    ident = ""
    if request.method == "POST":
        clicked_at = utcnow()  # a second click sent before the first import ended is the same click (REPEAT_SECONDS)
        ident = request.form.get("company", "").strip()
        # After a likely duplicate was shown: "link" or "new"; after the values an import would replace: "replace"
        # or, for a customer it would link, "keep" (link it, import nothing).
        choice = request.form.get("choice", "")
        if not ident:
            error = ("Enter the ConnectWise Company ID (or the name) of the company to import.", "")
        elif len(ident) > MAX_IDENT:
            error = (f"A Company ID has at most {MAX_IDENT} characters.", "")
        elif (unconnected := not_connected()) is not None:
            error = (unconnected, "")
        elif choice == "link":
            return _link_and_import(ident, clicked_at)
        elif choice == "keep":
            return _link_keeping_values(ident)
        else:
            # The company with that Company ID first: the import runs (and is recorded) only for one that has it;
            # a name, or part of a Company ID, lists the companies that contain it and records nothing.
            answer, problem = _for_import(ident)
            if answer is None:
                error = problem
            elif answer.company is None:
                if answer.found is not None and answer.found.choices:
                    return _import_answer(None, ident, found=answer.found)
                error = (f"No ConnectWise company has the Company ID “{ident}”.",
                         "No company's name contains it either. Check the Company ID in ConnectWise (the company's "
                         "Company ID field) and try again.")
            elif answer.overwrite is not None and choice != "replace":
                # It would replace the linked customer's edits not exported yet: the rep chooses first.
                return _import_answer(None, ident, company=answer.company, overwrite=answer.overwrite)
            elif answer.like is not None and choice != "new":
                # It would become a new customer that looks like an existing one: the rep chooses first.
                return _import_answer(None, ident, company=answer.company, like=answer.like)
            else:
                return _import_one(ident, clicked_at)
    return _import_answer(error[0], ident, error[1]) if error else _import_answer(None, ident)


# A second identical import by the same person sent this soon after the first ended (or while it ran) is the same
# click again (a double click, a form sent twice): it answers with the first's result instead of recording a run of
# its own. Counted from when the click arrived, not from when it got the company's lock: on a busy server a click
# sent during the first import may reach the lock more than this after the first ended.
REPEAT_SECONDS = 5.0


def _import_one(ident: str, clicked_at: dt.datetime):
    """Import the company with the Company ID ``ident`` (a run with its result) and open its customer
    (``clicked_at``: when the click arrived)."""
    try:
        with exclusive.importing_company(db.session, ident):
            # Under the lock: of two identical clicks, the second sees the first's run once it has ended.
            earlier = exclusive.just_imported(db.session, ident, (current_actor() or {}).get("id"),
                                              clicked_at - dt.timedelta(seconds=REPEAT_SECONDS))
            run = earlier or _execute("customer_import", {"company": ident})
    except exclusive.AlreadyRunning as e:
        return _import_answer(already_running(e.run, f"{ident} is already being imported from ConnectWise"), ident)
    if run is None:  # its run was deleted while it ran: an admin reset the integration (it stopped there)
        return _import_answer(f"{ident} was not imported: {RESET_MEANWHILE}", ident)
    done = _items(run, "customer")
    item = done[0] if done else None
    if item and item.action in exclusive.IMPORTED and item.host_id:
        contacts, problems = _contact_summary(run)
        if earlier is not None:
            flash(f"{item.label} was imported from ConnectWise a moment ago (run #{run.id}), so it was not imported "
                  "again.", "info")
        else:
            done_text = {"created": f"Imported {item.label} from ConnectWise.",
                         "updated": f"Updated {item.label} from ConnectWise.",
                         "unchanged": f"{item.label} is already up to date with ConnectWise."}[item.action]
            flash(f"{done_text}{contacts}", "success")
            for p in problems:
                flash(said(p.message, p.resolution), "error")
        target = url_for("customers.view_customer", customer_id=item.host_id)
        if request.headers.get("HX-Request"):  # the popup: htmx follows to the customer
            return "", 200, {"HX-Redirect": target}
        return redirect(target)
    if item:
        return _import_answer(item.message, ident, item.resolution)
    return _import_answer(run.message or "The import did not run.", ident)


def _link_shown(ident: str, nothing: str, then_import: bool = False):
    """Link the customer the popup showed (``customer``) to the company (``cw_id``) it showed, as the popup's two
    choices that link do: the customer's id and the message, committed; or the popup's answer (``nothing``: what
    was not done) when it could not."""
    raw_customer, raw_cw = request.form.get("customer", ""), request.form.get("cw_id", "")
    if not (raw_customer.isdigit() and raw_cw.isdigit()):
        abort(400)
    try:
        # One at a time with an export of the customer and an import of the company (customer_links.linking_customer).
        with customer_links.linking_customer(db.session, int(raw_customer)):
            with runtime().interactive_client(db.session) as client:
                message = customer_links.link_for_import(db.session, client, int(raw_customer), ident, int(raw_cw),
                                                         actor=actor_label(current_actor()),
                                                         then_import=then_import)
            db.session.commit()
    except (customer_links.RelinkError, NotConfigured, SecretError, ConnectWiseError) as e:
        db.session.rollback()
        return None, _import_answer(f"{nothing}: {e}", ident)
    except exclusive.AlreadyRunning as e:
        customer = db.session.get(Customer, int(raw_customer))
        busy = _linking_busy(customer, e, "changed") if customer is not None else str(e)
        return None, _import_answer(Markup("{}: {}").format(nothing, busy), ident)
    return int(raw_customer), message


def _link_and_import(ident: str, clicked_at: dt.datetime):
    """Link the company to the existing customer the popup showed (its likely duplicate), then import it into
    that customer as a linked company is imported. Asked again first: a popup opened before the company or the
    customer changed (another company got the customer's account number as its Company ID, the customer was linked
    meanwhile) would link what the popup no longer offers; then nothing is linked and the popup's answer now is
    shown."""
    answer, problem = _for_import(ident)
    if answer is None:
        return _import_answer(problem[0], ident, problem[1])
    like, company = answer.like, answer.company
    if company is None or like is None or like.held_by or like.linked_to or \
            request.form.get("customer") != str(like.customer_id) or request.form.get("cw_id") != str(company.cw_id):
        return _no_longer_offered(ident, answer)
    customer_id, said = _link_shown(ident, "Nothing was imported", then_import=True)
    if customer_id is None:
        return said
    flash(said, "success")
    return _import_one(ident, clicked_at)


def _no_longer_offered(ident: str, answer: lookup.ForImport):
    """The popup's answer now, after a Link choice it no longer offers: what changed, nothing linked or imported."""
    nothing = f"Nothing was linked or imported: {ident} can no longer be linked to the customer shown"
    if answer.company is None:
        return _import_answer(f"{nothing}, as no ConnectWise company has the Company ID “{ident}” now.", ident,
                              "Type the Company ID or name again.", found=answer.found)
    if answer.like is not None or answer.overwrite is not None:
        return _import_answer(f"{nothing} (ConnectWise or ChannelOnline changed since the popup asked).", ident,
                              "Choose again below.", company=answer.company, like=answer.like,
                              overwrite=answer.overwrite)
    return _import_answer(f"{nothing}: it no longer looks like a customer linked to no company.", ident,
                          f"Click Import to import {ident}.")


def _link_keeping_values(ident: str):
    """Keep mine, for a customer linked to no company that the import would link and overwrite: link it to the
    company without importing, so its values stay and show as changed since the sync (the next export sends
    them), as a linked customer's unexported edits do."""
    customer_id, said = _link_shown(ident, "Nothing was linked")
    if customer_id is None:
        return said
    flash(f"{said} Nothing was imported: this customer's values were kept, and its fields that differ from "
          "ConnectWise's show as changed since the sync; export it to send them to ConnectWise.", "success")
    target = url_for("customers.view_customer", customer_id=customer_id)
    if request.headers.get("HX-Request"):  # the popup: htmx follows to the customer
        return "", 200, {"HX-Redirect": target}
    return redirect(target)


def _for_import(ident: str) -> tuple[lookup.ForImport | None, tuple[str, str]]:
    """The company with the Company ID ``ident``, or those the rep may have meant; or None and (what went wrong,
    what to do) when ConnectWise could not say. Nothing is recorded for a look-up."""
    try:
        with runtime().interactive_client(db.session) as client:
            return lookup.for_import(db.session, client, ident), ("", "")
    except (NotConfigured, SecretError) as e:
        return None, (f"Nothing was imported: {e}", "")
    except ConnectWiseError as e:
        if e.transient:
            return None, (f"Nothing was imported: {e.why_not_done}.",
                          f"ConnectWise: {e.detail} Try again in a few minutes, once ConnectWise answers again.")
        return None, (f"Nothing was imported: ConnectWise refused to look the company up: {e.detail}", e.hint)


def _import_answer(message, ident: str, resolution: str = "", found: lookup.Found | None = None,
                   company: lookup.CompanyChoice | None = None, like: lookup.LooksLike | None = None,
                   overwrite: lookup.Overwrite | None = None):
    """The popup's form again, with what went wrong (htmx swaps 2xx only), the companies the rep may have
    meant, the existing customer the company looks like (``like``) or the linked customer's edits the import
    would replace (``overwrite``) to choose about; or the page of its own."""
    error = (message, resolution) if message is not None else None
    context = {"error": error, "ident": ident, "found": found, "company": company, "like": like,
               "overwrite": overwrite}
    if request.headers.get("HX-Request"):
        return render_template("colcw/customers/_import_form.html", **context)
    return render_template("colcw/customers/import.html", **context), 400 if error else 200


def _customer(customer_id: int) -> Customer:
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        abort(404)
    return customer


@rep_bp.route("/customers/<int:customer_id>/export", methods=["GET", "POST"])
@login_required
def export_customer(customer_id: int):
    """GET: what the export will do (the page behind the link without JavaScript). POST: export now."""
    customer = _customer(customer_id)
    if request.method == "GET":
        status = customer_links.status(db.session, customer)
        look_alikes = _look_alikes(customer) if status.link is None else []
        if isinstance(look_alikes, Exception):  # the export's own reads fail so: said here, as its result would say
            flash(said("Export to ConnectWise would fail:", *export_reads.read_failure(customer, look_alikes)),
                  "error")
            look_alikes = None
        return render_template("colcw/customers/export.html", customer=customer, status=status,
                               look_alikes=look_alikes, next=request.args.get("next", ""),
                               token=customer_exporter.new_company_token(look_alikes) if look_alikes else "")
    # The quote export's one-click "export the customer" comes back to the document it came from.
    back = safe_target(request.form.get("next"), url_for("customers.view_customer", customer_id=customer_id))
    params: dict = {"customer_id": customer_id}
    if request.form.get("confirmed", "").startswith("new:"):  # Create a new company anyway, on the page below
        params["confirmed"] = request.form["confirmed"][:2000]
    unconnected = not_connected()
    if unconnected is not None:
        flash(unconnected, "error")
        return redirect(back)
    bulk: SyncRun | None = None  # a bulk export that also exports it, when the rep's export goes ahead anyway
    try:
        with exclusive.exporting_customer(db.session, customer_id):
            # An export of it started by a click that stopped waiting for it (below) still runs, or a bulk export
            # still to reach it is queued or running: not a second one ...
            busy = exclusive.covering_run(db.session, customer_id)
            if busy is not None and busy.params.get("customer_id") is not None:
                raise exclusive.AlreadyRunning(busy)
            if busy is not None and "confirmed" not in params and exclusive.acts_as_one(
                    db.session, read_settings(db.session), busy, current_actor(), customer_id):
                flash(_already_exported(customer, busy), "info")
                return redirect(back)
            # ... unless the rep confirmed a new company beside a look-alike, which a bulk export never creates, or
            # the new company would get another member from it (its requester's) than from the rep's click.
            bulk = busy
            run = create_run(db.session, runtime().kinds, "customer_export", params,
                             trigger="manual", actor=current_actor())
            db.session.commit()
            run_id = run.id
    except exclusive.AlreadyRunning as e:
        flash(_already_exported(customer, e.run), "info")
        return redirect(back)
    # The export's lock is the run's own (taken again by the export): the click only waits a bounded time for it.
    run = _run_waiting_at_most(run_id, EXPORT_WAIT_SECONDS)
    if run is None and db.session.get(SyncRun, run_id) is None:  # deleted while it ran: see RESET_MEANWHILE
        flash(f"{customer.name} was not exported: {RESET_MEANWHILE}", "error")
        return redirect(back)
    if run is None or run.active:  # (waiting for its next attempt, or being resumed: it goes on by itself)
        going = run or db.session.get(SyncRun, run_id)
        flash(already_running(going, f"{customer.name} is still being exported to ConnectWise{_doing(going)}; "
                                     f"{_going_on(going)} and its result shows on this page once it has finished"),
              "info")
        return redirect(back)
    done = _items(run, "customer")
    item = done[0] if done else None
    contacts, problems = _contact_summary(run)
    if item is None:  # the run failed before the customer's own result (a read ConnectWise refused, …)
        item = _record_not_exported(customer, run)
        flash(said(item.message, item.resolution), "error")
    elif item.action == "failed" and customer_exporter.LOOKS_ALIKE in item.message:
        # ConnectWise has a look-alike: the export's page names it and asks (link to it, or create a new company).
        asked = request.form.get("next")
        return redirect(url_for("colcw.export_customer", customer_id=customer_id,
                                **({"next": back} if asked else {})))
    elif item.action == "failed":
        flash(said("Export to ConnectWise failed:", item.message, item.resolution), "error")
    elif item.action == "not_attempted":  # ConnectWise kept failing (busy, down): the message says why and when
        flash(said("Export to ConnectWise did not finish:", item.message, item.resolution), "error")
    else:
        verb = {"created": "Created in", "updated": "Updated in", "unchanged": "Already up to date in",
                "skipped": "Skipped by"}[item.action]
        # The lead words are the whole export's: a company found unchanged whose contacts were created or updated was
        # updated in ConnectWise; one whose contacts failed was exported only in part (each failure is said below).
        counts = (run.entity_counts or {}).get("contact", {})
        undone = sum(counts.get(a, 0) for a in ("failed", "not_attempted"))
        if item.action == "unchanged" and any(counts.get(a) for a in ("created", "updated")):
            verb = "Updated in"
        site = customer_exporter.site_said(item.message or "", customer.location_code or "")
        made = f"; {site}" if site else ""
        if undone:
            flash(f"Exported to ConnectWise, partly failed ({undone} contact{'s' if undone != 1 else ''} not "
                  f"exported): {item.label}{made}.{contacts}", "error")
        else:
            flash(f"{verb} ConnectWise: {item.label}{made}.{contacts}", "success")
    for p in problems:
        flash(said(p.message, p.resolution), "error")
    if bulk is not None and item.action == "created":
        named = _bulk_named(bulk)
        why = ("does not create a new company beside one that looks like it, so the new company you confirmed was "
               "created now" if "confirmed" in params else
               f"would have given it the ConnectWise member of {bulk.requested_by_text or 'whoever started it'}, so "
               "it was exported now, with yours")
        flash(already_running(bulk, f"{named[:1].upper()}{named[1:]}, which also exports {customer.name}"
                                    f"{_doing(bulk)}, {why}; it is updated again when it is reached in that export"),
              "info")
    return redirect(back)


def _bulk_named(run: SyncRun) -> str:
    """"the export “Export all customers to ConnectWise”": a bulk export as a rep's page names it."""
    return f"the export “{run.description}”" if run.description else "a bulk export"


def _already_exported(customer: Customer, run: SyncRun | None) -> Markup:
    """What a rep's click says when ``run`` already exports the customer, the same whether the run holds the customer
    now (its lock) or is still to reach it: a bulk export "is already in the export “…” (running …), so it was not
    exported a second time"; the customer's own export (or one not recorded yet) "is already being exported"."""
    if run is not None and (run.params or {}).get("customer_id") is None:
        return already_running(run, f"{customer.name} is already in {_bulk_named(run)}{_doing(run)}, so it was not "
                                    "exported a second time")
    return already_running(run, f"{customer.name} is already being exported to ConnectWise{_doing(run)}")


def _doing(run: SyncRun | None) -> str:
    """" (queued behind run #12 (…, running))", " (waiting to retry at 14:30:05 EDT: ConnectWise is rate-limiting
    colcw)", " (running: ConnectWise is slow to answer)": what an export under way is doing, as its run's pages say
    it (:func:`~..sync.jobs.history.state_text`); "" when there is no run (yet) to say it of."""
    if run is None:
        return ""
    state = history.state_text(db.session, run, display_zone(), queue=runtime().queue, kinds=runtime().kinds)
    if state == "running" and run.slow_answer:  # one record, no pause noted: waiting on ConnectWise's answer
        state = f"running: {run.slow_answer}"
    return f" ({state})" if state else ""


def _going_on(run: SyncRun | None) -> str:
    """"the export goes on", or, for a run ConnectWise makes wait (its answers failed: 5xx, 429, a dropped connection),
    that ConnectWise is failing or busy and colcw tries again by itself: no click is needed."""
    reason = (run.waiting_reason or "") if run is not None else ""
    if run is not None and (run.status == RunStatus.WAITING or reason.endswith(RETRYING_REQUEST)
                            or " waiting for ConnectWise (" in reason):  # (not another export's lock it waits for)
        return "ConnectWise is failing or busy, so colcw tries again by itself (nothing to click)"
    return "the export goes on"


def _export_under_way(customer: Customer) -> Markup | None:
    """What the panel says above the customer's previous result while an export of it is queued, running or waiting:
    its state and a link to its progress for whoever may follow it (:func:`.support.already_running`); None when
    none is. The run is the one that still exports it (:func:`.exclusive.covering_run`): its own, or a bulk one (its
    customers, all, or a date range as it selects now) that has not reached it yet; a bulk run past it is not under
    way for it."""
    run = exclusive.covering_run(db.session, customer.id)
    if run is None:
        return None
    return already_running(run, f"An export to ConnectWise is under way{_doing(run)}")


def _look_alikes(customer: Customer) -> list[export_reads.LookAlike] | Exception | None:
    """The ConnectWise companies an export of the unlinked ``customer`` would not create it beside (its likely
    duplicates, one request), or None when ConnectWise could not be asked (the page then says nothing of them), or
    the error of a read that failed as the export's own reads of the customer would fail
    (:func:`.export_reads.caused_by_records`: the page says so, where it answered HTTP 500)."""
    try:
        with runtime().interactive_client(db.session) as client:
            return export_reads.look_alikes_of(db.session, client, customer)
    except (NotConfigured, SecretError) as e:
        log.info("look-alikes of customer %s not read: %s", customer.id, e)
        return None
    except Exception as e:
        if export_reads.caused_by_records(e):
            log.warning("look-alikes of customer %s not read", customer.id, exc_info=True)
            return e
        if not isinstance(e, ConnectWiseError):
            raise
        log.info("look-alikes of customer %s not read: %s", customer.id, e)
        return None


# How a run's failure reads when ConnectWise refused colcw's API member (cw.errors' PermissionDenied: "… HTTP 403 …
# Give the API member's security role access to <area> in ConnectWise (…)"); the run keeps only the text.
_DENIED = re.compile(r"HTTP 403\b.*?access to (?P<area>\S+) in ConnectWise", re.S)


def _record_not_exported(customer: Customer, run: SyncRun) -> SyncItem:
    """The customer's result of an export run that ended before recording one: the customer named, why, and what
    to do (a refusal of access: an admin's to give), recorded as its latest result so its panel and All Customers
    show this failure, not the result before it."""
    label = f"{customer.name} ({customer.account_number})"
    reason = (run.message or "the export ended before it reached the customer.").strip()
    denied = _DENIED.search(reason)
    if denied is not None:
        area = denied.group("area")
        message = (f"{label} was not exported: ConnectWise refused colcw's API member access to {area} "
                   "(HTTP 403, a permission of its security role).")
        resolution = (f"Nothing in {customer.name} needs fixing: {advice.ask_admin_for_access(area)}, then export "
                      "it again.")
    else:
        message, resolution = f"{label} was not exported: {reason}", "Export it again once that is resolved."
    link = get_link(db.session, CUSTOMER, customer.id)
    item = SyncItem(run_id=run.id, entity=CUSTOMER, direction="export", host_id=customer.id,
                    cw_id=link.cw_id if link is not None else None, label=label[:300], action="failed",
                    message=message, resolution=resolution)
    db.session.add(item)
    db.session.commit()
    return item


@rep_bp.route("/customers/<int:customer_id>/clear-link", methods=["POST"])
@login_required
def clear_customer_link(customer_id: int):
    customer = _customer(customer_id)
    raw = request.form.get("contact_id", "")
    if raw and not raw.isdigit():
        abort(400)
    try:
        # One at a time with an export of the customer (its lock): see customer_links.linking_customer.
        with customer_links.linking_customer(db.session, customer_id):
            message = customer_links.clear_link(db.session, customer, int(raw) if raw else None,
                                                actor=actor_label(current_actor()))
            db.session.commit()
    except customer_links.RelinkError as e:
        db.session.rollback()
        flash(str(e), "error")
    except exclusive.AlreadyRunning as e:
        flash(_linking_busy(customer, e, "cleared"), "error")
    else:
        flash(message, "success")
    return redirect(url_for("customers.view_customer", customer_id=customer_id))


def _linking_busy(customer: Customer, busy: exclusive.AlreadyRunning, done: str) -> Markup:
    """A rep's Link to Company ID or Clear link that waited in vain for an export of the customer under way, or an
    import of the company it involves (customer_links.linking_customers)."""
    run = busy.run
    if isinstance(busy, customer_links.ImportUnderWay):
        return already_running(run, f"{busy.company} is being imported from ConnectWise{_doing(run)}, so "
                                    f"{customer.name}'s link was not {done}: try again once that import has finished")
    return already_running(run, f"{customer.name} is being exported to ConnectWise{_doing(run)}, so its link was not "
                                f"{done}: try again once that export has finished")


@rep_bp.route("/customers/<int:customer_id>/relink", methods=["POST"])
@login_required
def relink_customer(customer_id: int):
    """Link to the company with the Company ID typed, at once when it is plausibly the customer's; otherwise a
    page of its own asks first (Link anyway posts again with ``confirm`` = the company's id), or lists the
    companies whose name or Company ID contains what was typed, each with Link."""
    customer = _customer(customer_id)
    ident = request.form.get("company", "").strip()[:MAX_IDENT]
    raw = request.form.get("confirm", "")
    if raw and not raw.isdigit():
        abort(400)
    try:
        # One at a time with an export of the customer (its lock): see customer_links.linking_customer.
        with customer_links.linking_customer(db.session, customer_id):
            with runtime().client(db.session) as client:
                answer = customer_links.relink(db.session, client, customer, ident,
                                               confirmed=int(raw) if raw else None, actor=actor_label(current_actor()))
            if answer.linked:
                db.session.commit()
            else:
                db.session.rollback()
    except (customer_links.RelinkError, NotConfigured, SecretError, ConnectWiseError) as e:
        db.session.rollback()
        return _relink_page(customer, ident, error=str(e)), 400
    except exclusive.AlreadyRunning as e:
        flash(_linking_busy(customer, e, "changed"), "error")
        return redirect(url_for("customers.view_customer", customer_id=customer_id))
    if not answer.linked:
        return _relink_page(customer, ident, answer=answer)
    flash(answer.message, "success")
    return redirect(url_for("customers.view_customer", customer_id=customer_id))


def _relink_page(customer: Customer, ident: str, *, error: str = "",
                 answer: customer_links.Relinked | None = None) -> str:
    """The re-link's page: the confirmation, the companies the rep may have meant, or what went wrong, with the
    Link to Company ID form holding what was typed. A page of its own (the panel's form is a plain POST), so it
    works the same with and without JavaScript."""
    return render_template("colcw/customers/relink.html", customer=customer, ident=ident, error=error,
                           answer=answer)


# --- the customer page's ConnectWise panel -----------------------------------------------------------


# What the panel calls a latest result by the run that recorded it, where its direction alone ("Import") would
# pass it off as an import run: live updates read the company back after a change in ConnectWise.
RESULT_SOURCES = {LIVE_KIND: "Live update", RECONCILE_KIND: "Live update (safety net)"}


def _panel_html(customer: Customer) -> str:
    status = customer_links.status(db.session, customer)
    link = status.link
    drift = customer_drift(db.session, customer.id)
    shown = customer_states.shown_on_page(status, drift)  # All Customers' state of it, on what the panel read
    return render_template("colcw/customers/_panel.html", customer=customer, status=status, when=when,
                           shown=shown, shown_label=customer_states.SHOWN[shown],
                           not_synced_words=customer_states.not_synced_words(cw_is_master(db.session))
                           if shown == customer_states.NOT_SYNCED and status.changed else "",
                           inactive_fix=INACTIVE_FIX,
                           differs_words=customer_states.differs_words(
                               d.kind for d in drift if d.kept != "connectwise") if shown == customer_states.DIFFERS
                           else "",
                           zone=display_zone(), last_source=RESULT_SOURCES.get(status.last_kind, ""),
                           under_way=_export_under_way(customer) if status.may_be_exporting else None,
                           deleted_fix=deleted_company_fix(link.cw_identifier, customer.account_number)
                           if link is not None and link.status == "missing_in_cw" else "",
                           drift=drift,
                           dismissed=dismissed_notes(db.session, customer.id) if status.has_dismissed else [],
                           contact_names={c.id: c.name for c in customer.contacts},
                           moved=_moved_contacts(customer, status),
                           # (its latest export stopped at a look-alike company: the panel does not promise a create)
                           look_alike_failed=link is None and status.last is not None and status.last.action == "failed"
                           and customer_exporter.LOOKS_ALIKE in (status.last.message or ""))


def _moved_contacts(customer: Customer, status: customer_links.CustomerSyncStatus) -> dict[int, tuple[str, str]]:
    """The customer's contacts ConnectWise moved to another company (their link broken, remembering where they went):
    contact id → what live updates said of it and its fix (:func:`.moved_contact.said`, the run log's words), naming
    the ChannelOnline customer linked to that company, if any."""
    out = {}
    for contact, clink, _ in status.contacts:
        moved = moved_contact.moved_to(clink.synced_values) if clink is not None and \
            clink.status == "missing_in_cw" else None
        if moved is None:
            continue
        there = db.session.execute(select(Customer).join(Link, Link.host_id == Customer.id).where(
            Link.entity == CUSTOMER, Link.cw_id == moved.get("company")).limit(1)).scalar()
        out[contact.id] = moved_contact.said(f"{contact.name} ({customer.name})", clink.cw_id, moved, customer.name,
                                             (there.name, there.account_number) if there is not None else None)
    return out


@rep_bp.route("/customers/<int:customer_id>/notes/dismiss", methods=["POST"])
@login_required
def dismiss_customer_notes(customer_id: int):
    """Keep ChannelOnline's value / Dismiss: the notes of what came back from ConnectWise that the panel's form names
    (``note``: "<entity>:<host id>:<field>", each with ``seen``: ConnectWise's value the page showed), or all of them
    (``all``). Recorded with who dismissed them; a later reading brings a note back only for a new change of its
    field in ConnectWise."""
    customer = _customer(customer_id)
    keys: list[NoteKey] | None = None
    if not request.form.get("all"):
        notes, seen = request.form.getlist("note"), request.form.getlist("seen")
        if not notes or len(notes) != len(seen):
            abort(400)
        keys = []
        for note, value in zip(notes, seen, strict=True):
            entity, _, rest = note.partition(":")
            host_id, _, field = rest.partition(":")
            if entity not in ("customer", "contact") or not host_id.isdigit() or not field:
                abort(400)
            keys.append(NoteKey(entity, int(host_id), field, value))
    result = dismiss_notes(db.session, customer, keys, actor=actor_label(current_actor()))
    db.session.commit()
    for said in result.done:
        flash(said, "success")
    for said in result.gone:
        flash(said, "error")
    if not result.done and not result.gone:
        flash(f"{customer.name} ({customer.account_number}) has no note to dismiss: live updates ended them since the "
              "page was shown. Reload the page to see what it says now.", "info")
    return redirect(url_for("customers.view_customer", customer_id=customer_id))


@rep_bp.route("/customers/<int:customer_id>/panel", methods=["GET"])
@login_required
def customer_panel(customer_id: int):
    """The ConnectWise panel (link, last results, clear / re-link): the fragment the customer page loads after
    it is shown (htmx), or a page of its own (the page's link without JavaScript)."""
    customer = _customer(customer_id)
    return fragment_or_page(_panel_html(customer), "colcw/customers/panel.html", customer=customer)


# --- HTML for the hookimpls --------------------------------------------------------------------


def customer_panel_slot(customer: dict) -> Markup:
    """Where the panel goes on the customer's page: it loads after the page (its reads cost the page nothing),
    with a link to the panel's own page without JavaScript."""
    return filled(PANEL_SLOT, url_for("colcw.customer_panel", customer_id=customer["id"]))


def import_popup() -> Markup:
    """The Import From ConnectWise dialog on All Customers (opened by the link's script), its form loaded when it
    first opens, so All Customers costs nothing for it."""
    return constant("import_popup", lambda: filled(IMPORT_POPUP, url_for("colcw.import_company")))
