"""Import / map customers from ConnectWise, and Map Customers (user guide §5.1 Settings 3 and 4)."""

from __future__ import annotations

import dataclasses
import logging

from flask import flash, jsonify, redirect, render_template, request, url_for
from redis.exceptions import RedisError

from host_stub.extensions import db
from host_stub.views import admin_required

from ..cw import ConnectWiseError
from ..errors import FieldErrors
from ..setup import customer_matching as CM
from ..setup.connection import NotConfigured
from ..setup.live_updates import cw_is_master
from ..setup.secrets import SecretError
from ..sync.customers import links as customer_links
from ..sync.customers.exclusive import IMPORT_KIND, AlreadyRunning
from ..sync.shared import fields as M
from ..sync.shared.link_locks import links_tried
from ..text import plural
from . import admin_bp
from .support import actor_name, keep_result, kept_result, paginate, runtime
from .zone import display_zone, when

log = logging.getLogger(__name__)
PAGE_SIZE = 50


@admin_bp.route("/customers/scan", methods=["POST"])
@admin_required
def scan_customers():
    try:
        # The links it makes take turns with an export of their customers and an import of their companies (tried,
        # held until the commit): see customer_matching.scan's take_turns.
        with runtime().interactive_client(db.session) as cw, links_tried(db.session) as take_turns:
            # One pass, as the scan reads it (its pages carry the mapped fields too): what differs between each
            # company it links and its customer is known without another request.
            client = customer_links.ScanReads(cw, db.session)
            result = CM.scan(db.session, client, actor_name(), take_turns)
            linked = customer_links.note_scan_links(db.session, client, CM.last_scan_at(db.session),
                                                    actor=actor_name())
            db.session.commit()
    except (NotConfigured, SecretError, ConnectWiseError) as e:
        db.session.rollback()
        log.warning("Scanning ConnectWise companies failed: %s", e)
        flash(f"ConnectWise's companies could not be read, so nothing changed: {e}", "error")
        return redirect(url_for(".connection"))
    flash(f"Read {result.total} ConnectWise companies: {result.auto_linked} linked now by account number, "
          f"{result.already_linked} already linked, {result.unmatched} left to map below.", "success")
    for conflict in result.conflicts[:20]:
        flash(conflict, "error")
    if not linked:
        return redirect(url_for(".map_customers"))
    kept = {"cw_wins": cw_is_master(db.session), "linked": [dataclasses.asdict(x) for x in linked]}
    try:
        token = keep_result(_SCAN_KIND, kept, SCAN_KEPT_SECONDS)
    except RedisError:
        log.warning("colcw: Redis did not answer: the scan's linked customers are not listed", exc_info=True)
        flash(f"The list of the {plural(len(linked), 'customer')} it linked could not be kept to show (the job "
              "queue's Redis did not answer): each one's customer page says which company it was linked to and the "
              "fields that differ.", "warning")
        return redirect(url_for(".map_customers"))
    return redirect(url_for(".map_customers", scan=token))


SCAN_KEPT_SECONDS = 24 * 3600  # how long the customers a scan linked are listed (its address can be reloaded)
_SCAN_KIND = "customer-scan"


def _scan_linked() -> dict | None:
    """The customers the scan whose result is asked for (``?scan=``) linked, as kept ({} when it is gone)."""
    token = request.args.get("scan", "")
    if not token:
        return None
    try:
        kept = kept_result(_SCAN_KIND, token)
    except RedisError:
        log.warning("colcw: Redis did not answer: the scan's linked customers cannot be listed", exc_info=True)
        return {"gone": "could not be read (the job queue's Redis did not answer)"}
    if kept is None:
        return {"gone": f"is kept for {SCAN_KEPT_SECONDS // 3600} hours and this one is no longer there"}
    return kept


def alike_because(name: str, phone: str, company) -> str:
    """Why a customer or company (``name``, ``phone``) is a likely duplicate of a scanned company (``company``: its
    name and normalised ``norm_name``, ``norm_phone``), by the one rule of :mod:`.customer_matching` (same normalised
    name or phone), in its words (:func:`.customer_matching.name_likeness`): "same name" or "similar name", "same
    phone number (…)" or both ("similar name and same phone number (…)"); "" when neither holds."""
    norm_name, norm_phone = company.norm_name, company.norm_phone
    alike_name = bool(norm_name) and CM.normalize_name(name) == norm_name
    same_phone = bool(norm_phone) and CM.normalize_phone(phone) == norm_phone
    words = CM.name_likeness(name, company.name) if alike_name else ""
    if alike_name and same_phone:
        return (f"same name and phone number ({phone})" if words == CM.SAME_NAME else
                f"{words} and same phone number ({phone})")
    if same_phone:
        return f"same phone number ({phone})"
    return words


def _reasons(rows, hints) -> dict[tuple[int, str, int], str]:
    """Why each likely duplicate on the page is one: (company's ConnectWise id, "cw" or "host", the other's id)."""
    out = {}
    for r in rows:
        hint = hints[r.cw_id]
        for d in hint.cw_duplicates:
            out[(r.cw_id, "cw", d.cw_id)] = alike_because(d.name, d.phone, r)
        for m in hint.host_matches:
            out[(r.cw_id, "host", m.id)] = alike_because(m.name, m.phone, r)
    return out


def _render(errors=None, posted=None, status=200, previews=None):
    q = request.args.get("q", "")
    page = paginate(CM.unmatched_query(q), PAGE_SIZE)
    hints = CM.hints_for(db.session, page.items)
    # A row's error whose row the table no longer lists (its company linked since the page was read, by an export, an
    # import or another person: it is off the list) is said above the table: else nothing said which row or why.
    listed = {f"map-{c.cw_id}" for c in page.items}
    for key, message in (errors or {}).items():
        if key not in listed:
            flash(message, "error")
    return render_template("colcw/mappings/customers.html", page=page, q=q, hints=hints,
                           why=_reasons(page.items, hints), scan_linked=_scan_linked(),
                           scanned_at=CM.last_scan_at(db.session), linked=CM.linked_count(db.session),
                           host_dups=CM.host_duplicate_groups(db.session), cw_dups=CM.cw_duplicate_groups(db.session),
                           unlinked_customers=CM.unlinked_customers(db.session),
                           linked_look_alike_fix=CM.LINKED_LOOK_ALIKE_FIX,
                           full_import=CM.last_full_import(db.session, IMPORT_KIND),
                           cw_master=cw_is_master(db.session), previews=previews or [],
                           errors=errors or {}, posted=posted or {}, when=when, zone=display_zone()), status


def _agreed(customer, record: dict) -> dict:
    return customer_links.scan_agreement(M.customer_values(customer), record)


# What a link made by hand on Map customers agrees on: what the scan's links agree on (the values both sides hold
# equal as the save reads the company), by the scan's own rule. Without it a rep's edit made after the link read as
# a field with no earlier agreement: overwritten by ConnectWise the master (noted), or noted as differing.
HAND_LINK_AGREEMENT = CM.LinkAgreement(M.COMPANY_FIELDS, _agreed)


@admin_bp.route("/customers/map", methods=["GET", "POST"])
@admin_required
def map_customers():
    if request.method == "GET":
        return _render()
    choices: dict[int, int] = {}
    errors: dict[str, str] = {}
    for key, value in request.form.items():
        if not (key.startswith("map-") and key[4:].isdigit()):
            continue
        typed = request.form.get(f"text-{key[4:]}", "").strip()
        if value.strip().isdigit():  # picked from the suggestions
            choices[int(key[4:])] = int(value)
        elif value.strip():
            errors[key] = "Choose the customer from the suggestions."
        elif typed:  # typed and not picked (or no JavaScript): the customer of that exact name or number
            try:
                choices[int(key[4:])] = CM.customer_typed(db.session, typed[:200])
            except LookupError as e:
                errors[key] = str(e)
    if errors:  # nothing saved while a row says what it cannot tell
        flash("Nothing was saved: correct the rows marked below.", "error")
        return _render(errors, request.form, 400)
    if not choices:
        flash("Nothing to save: choose a ChannelOnline customer for at least one company.", "error")
        return _render(status=400)
    try:
        with runtime().interactive_client(db.session) as cw:
            client = customer_links.ReadOnce(cw)  # the preview's read of the companies is the save's
            if request.form.get("confirm") != "1":
                # What linking changes, before anything is saved: the pairs whose mapped fields differ, and whose win.
                pairs = CM.check_customer_mappings(db.session, choices)
                previews = customer_links.link_previews(db.session, client, pairs)
                if previews:
                    return _render(posted=request.form, previews=previews)
            # The companies linked are checked against ConnectWise as they are saved: one deleted there since the
            # scan is refused, the others linked. One at a time with an export of a customer chosen and an import of a
            # company chosen (customer_links.linking_customers): either would write its link over this one.
            with customer_links.linking_customers(db.session, choices.values(), choices.keys()):
                saved = CM.save_customer_mappings(db.session, choices, actor_name(), client, HAND_LINK_AGREEMENT)
                db.session.commit()
    except FieldErrors as e:
        db.session.rollback()
        flash("Nothing was saved: correct the rows marked below.", "error")
        return _render(e.errors, request.form, 400)
    except (NotConfigured, SecretError, ConnectWiseError) as e:
        db.session.rollback()
        log.warning("Reading the companies to link failed: %s", e)
        flash(f"Nothing was saved: ConnectWise's companies could not be read to check them: {e}", "error")
        return _render(posted=request.form, status=400)
    except AlreadyRunning as e:
        what = (f"{e.company} is being imported from ConnectWise" if isinstance(e, customer_links.ImportUnderWay)
                else "a customer chosen is being exported to ConnectWise")
        flash(f"Nothing was saved: {what}. Save again once it has finished.", "error")
        return _render(posted=request.form, status=409)
    if saved.linked:
        flash(f"Linked {saved.linked} ConnectWise compan{'y' if saved.linked == 1 else 'ies'} to ChannelOnline "
              "customers.", "success")
    if saved.refused:
        count = len(saved.refused)
        flash(f"{count} compan{'y was' if count == 1 else 'ies were'} not linked: deleted in ConnectWise after its "
              "companies were read (see the rows marked below). Read ConnectWise's companies again.", "error")
        return _render(saved.refused, request.form, 409)
    return redirect(url_for(".map_customers", q=request.args.get("q") or None, page=request.args.get("page") or None))


@admin_bp.route("/customers/search")
@admin_required
def search_customers():
    """Type-ahead: host customers by name or account number (read-only GET, at most 15, as an object)."""
    return jsonify({"results": CM.search_customers(db.session, request.args.get("q", ""))})
