"""The safety net: what changed in ConnectWise since the last pass, and a daily check for deletions.

Callbacks get lost (ConnectWise gives up, a proxy drops one, colcw was down). Every pass
therefore asks ConnectWise for what changed since the watermark, the start of the last complete
pass by ConnectWise's clock (as its answers' Date told it: cw/server_clock.py) less an overlap:
companies, contacts, opportunities and opportunity products (a product's change does not move its
opportunity's ``lastUpdated``), each a few pages of 1,000 with only the fields colcw maps, never a
request per record; then it keeps
the records colcw links (and contacts new to a linked company) and reconciles them like callbacks.
Without a watermark (the first pass) it compares every linked record. It also takes the hints
received before it started, and switches back on the callbacks ConnectWise switched off.

Deletions are invisible to ``lastUpdated``: the daily pass lists the ids ConnectWise holds (pages
of 1,000, ``fields=id``) and compares them with the links; the products colcw exported are listed
by their marker, so a line removed in ConnectWise shows on its document. Both passes go through
the mass-delete guard; a changes pass whose deletions it held back leaves its watermark where it was. A deletion held
back is reported once (reconcile.py): a later pass that meets it leaves it waiting, and a pass past the guard (Apply
anyway) reads every held link, whichever pass held it. Apply anyway leaves the alert up: the pass it queues takes it down once
it has marked the held deletions (reconcile.py), so a pass that fails or never runs leaves the alert standing, saying
how that pass went (:func:`apply_anyway`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from host_stub.models import utcnow

from ...cw import conditions as C
from ...models import CONTACT, CUSTOMER, DOCUMENT, DocumentLineExport, Link, RunStatus, SyncRun
from ...models.runs import STORED_TIME_FORMAT, in_zone
from ...setup import callbacks as registrations
from ...setup.live_updates import get_live
from ...text import plural
from ..jobs.kinds import SyncContext
from ..shared import fields as M
from . import RECONCILE_KIND
from .hints import read_back, take_pending
from .reading import OPPORTUNITY_FIELDS, Found, read, read_products
from .reconcile import Reconciler, held_ids, held_links

OVERLAP = dt.timedelta(minutes=2)
PAGE = 1000


def linked_ids(session: Session, entity: str, *, status: str | None = None) -> set[int]:
    stmt = select(Link.cw_id).where(Link.entity == entity)
    if status:
        stmt = stmt.where(Link.status == status)
    return set(session.execute(stmt).scalars())


def _hinted(session: Session, run_id: int) -> tuple[dict[str, set[int]], list[Row]]:
    """The records pending hints name (entity → ids), and the hints, claimed for this pass."""
    hints = take_pending(session, run_id)
    out: dict[str, set[int]] = {"company": set(), "contact": set(), "opportunity": set()}
    for hint in hints:
        out.setdefault(hint.entity, set()).add(hint.cw_id)
    return out, hints


def _keep(found: Found, entity: str, pages: Iterable[list[dict]], wanted) -> None:
    for page in pages:
        found.add(entity, [r for r in page if wanted(r)])


def changes_pass(ctx: SyncContext, *, force: bool = False) -> str:
    """Reconcile every linked record changed since the watermark; move the watermark on success."""
    session, client = ctx.session, ctx.client
    live = get_live(session)
    started = utcnow()
    notes = registrations.check(session, client)
    session.commit()
    since = live.changes_watermark - OVERLAP if live.changes_watermark else None
    changed = C.gt("lastUpdated", since) if since else None
    hinted, hints = _hinted(session, ctx.run_id)
    if force:  # past the guard (Apply anyway): the deletions held back, whichever pass held them
        for entity, ids in held_ids(session).items():
            hinted.setdefault(entity, set()).update(ids)
    companies = linked_ids(session, CUSTOMER)
    contacts = linked_ids(session, CONTACT)
    opportunities = linked_ids(session, DOCUMENT)
    found = Found()
    _keep(found, "company", client.companies.iterate_pages(conditions=changed, fields=M.COMPANY_FIELDS,
                                                           page_size=PAGE), lambda r: r["id"] in companies)
    _keep(found, "contact", client.contacts.iterate_pages(conditions=changed, fields=M.CONTACT_FIELDS, page_size=PAGE),
          lambda r: r["id"] in contacts or (r.get("company") or {}).get("id") in companies)
    _keep(found, "opportunity", client.opportunities.iterate_pages(conditions=changed, fields=OPPORTUNITY_FIELDS,
                                                                   page_size=PAGE), lambda r: r["id"] in opportunities)
    if changed is not None and opportunities:
        for p in client.products.iterate(conditions=C.and_(changed, C.not_null("opportunity/id")),
                                         fields=["id", "opportunity/id"]):
            opp = (p.get("opportunity") or {}).get("id")
            if opp in opportunities:
                hinted["opportunity"].add(opp)
    read_products(client, found, list(found.opportunities))
    read(client, hinted, found)
    tally = Reconciler(ctx, force=force).run(found)
    live = get_live(session)
    if tally.held is None:
        # By ConnectWise's clock, as this pass's answers told it: the next pass's "since" is compared with its stamps.
        live.changes_watermark = client.server_clock.cw_time(started)
    # else: the watermark stays, so the next pass (and Apply anyway's, which runs this one again) reads the held
    # deletions again with the rest; what this pass applied reads back unchanged.
    session.commit()
    read_back(session, [h for h in hints if (h.entity, h.cw_id) not in tally.held_records])
    # The records with a result, as the run's progress counts them; the others read are said apart.
    what = f"Checked {plural(tally.records, 'linked record')} changed in ConnectWise " + (
        f"since {since:%Y-%m-%d %H:%M} UTC" if since else "(first pass: every linked record)")
    if tally.breaks:
        what += f"; {tally.breaks} deleted"
    if tally.idle:
        what += (f"; {plural(tally.idle, 'other record')} read (announced by callbacks or changed in ConnectWise) "
                 f"{'is' if tally.idle == 1 else 'are'} not linked here, inactive, or already marked deleted: "
                 "nothing to do")
    return tally.say(" ".join([what + ".", *notes]))


def deletions_pass(ctx: SyncContext, *, force: bool = False) -> str:
    """Find linked records deleted in ConnectWise (and products removed from exported documents).

    Run past the mass-delete guard (``force``: Apply anyway), it also reads the records pending hints name: the
    run the guard stopped may have been a live update's, whose hints stay pending (hints.take_pending); read here,
    they are applied with the rest, not left waiting for the next pass (the Connection page says this run reads
    them: status.applying_run)."""
    session, client = ctx.session, ctx.client
    hinted, hints = _hinted(session, ctx.run_id) if force else ({}, [])
    found = Found()
    live_companies = {r["id"] for r in client.companies.iterate(fields=["id", "deletedFlag"], page_size=PAGE)
                      if not r.get("deletedFlag")}
    live_contacts = {r["id"] for r in client.contacts.iterate(fields=["id"], page_size=PAGE)}
    live_opportunities = {r["id"] for r in client.opportunities.iterate(fields=["id"], page_size=PAGE)}
    restore: dict[str, set[int]] = {}
    for entity, kind, alive in (("company", CUSTOMER, live_companies), ("contact", CONTACT, live_contacts),
                                ("opportunity", DOCUMENT, live_opportunities)):
        gone = linked_ids(session, kind, status="ok") - alive
        found.asked[entity].update(gone)
        restore[entity] = linked_ids(session, kind, status="missing_in_cw") & alive
    exported = dict(session.execute(select(DocumentLineExport.cw_product_id, Link.cw_id).join(
        Link, (Link.entity == DOCUMENT) & (Link.host_id == DocumentLineExport.document_id))).all())
    if exported:
        present = {r["id"] for r in client.products.iterate(conditions=C.like("integrationXRef", "colcw:%"),
                                                            fields=["id"], page_size=PAGE)}
        restore["opportunity"] |= {opp for pid, opp in exported.items() if pid not in present} & live_opportunities
    for entity, ids in hinted.items():  # (read like the links found again)
        restore.setdefault(entity, set()).update(ids)
    if force:  # the deletions held back, whichever pass held them (a contact moved is read to be seen so)
        for entity, ids in held_ids(session).items():
            restore.setdefault(entity, set()).update(ids)
    read(client, restore, found)
    tally = Reconciler(ctx, force=force).run(found)
    live = get_live(session)
    live.deletions_checked_at = utcnow()
    session.commit()
    read_back(session, hints)
    checked = len(live_companies) + len(live_contacts) + len(live_opportunities)
    held = f" Also read the {plural(len(hints), 'record')} ConnectWise announced that were waiting." if hints else ""
    return tally.say(f"Compared the links with the {checked} companies, contacts and opportunities ConnectWise "
                     f"holds: {tally.breaks} deleted in ConnectWise.{held}")


_GOING = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.CANCELLING)
_ENDED = {RunStatus.FAILED: "failed", RunStatus.INTERRUPTED: "was interrupted", RunStatus.CANCELLED: "was cancelled",
          RunStatus.PARTIAL: "ended with failures", RunStatus.SUCCEEDED: "finished"}


@dataclass(frozen=True)
class ApplyAnyway:
    """The safety-net pass an admin's Apply anyway queued for the alert standing now, and how it went."""

    run: SyncRun
    held: int  # the deletions still held back

    @property
    def active(self) -> bool:
        """Queued, running or waiting for its next try: Apply anyway is not offered again meanwhile."""
        return self.run.status in (*_GOING, RunStatus.WAITING)

    def text(self, zone: str = "UTC") -> str:
        """What the alert says of it, with times in ``zone`` (the page's)."""
        run = self.run
        name = f"run #{run.id}"
        if run.status == RunStatus.QUEUED:
            return (f"Apply anyway: {name} is queued to mark the held deletions as deleted, past the guard. This alert "
                    "stays until it has marked them.")
        if run.status in _GOING:
            return (f"Apply anyway: {name} is marking the held deletions as deleted now, past the guard. This alert "
                    "stays until it has marked them.")
        reason = run.message_in(zone).strip() or "no reason recorded"
        if run.status == RunStatus.WAITING:
            at = f" at {in_zone(run.next_try_at, zone, STORED_TIME_FORMAT)}" if run.next_try_at else ""
            return (f"Apply anyway: {name} has not marked the held deletions yet: it waits for ConnectWise ({reason}) "
                    f"and tries again{at}. They stay held back, and this alert stays, until it has marked them.")
        ended = _ENDED.get(RunStatus(run.status), str(run.status))
        return (f"Apply anyway: {name} {ended} before marking them, so {plural(self.held, 'deletion')} "
                f"{'is' if self.held == 1 else 'are'} still held back. Why: {reason.rstrip('.')}. Once the cause is "
                "fixed (ConnectWise answers again, for one), use Apply anyway again, or Dismiss.")


def apply_anyway(session: Session) -> ApplyAnyway | None:
    """The last Apply anyway for the alert standing now (a safety-net pass past the guard queued after the run that
    raised it), or None: no alert, or none asked for since it was raised."""
    live = get_live(session)
    if not live.alert:
        return None
    runs = session.execute(select(SyncRun).where(SyncRun.kind == RECONCILE_KIND, SyncRun.id > (live.alert_run_id or 0))
                           .order_by(SyncRun.id.desc()).limit(50)).scalars()
    run = next((r for r in runs if (r.params or {}).get("force")), None)
    return ApplyAnyway(run, len(held_links(session))) if run is not None else None
