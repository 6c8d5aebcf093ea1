"""Reading and writing many links at once, as plain values (and forgetting a customer's drift, or a note of it a
rep dismissed).

A bulk sync touches thousands of links. Reading them per page and writing them with one
statement per batch keeps it to a few queries per page; using plain rows rather than ORM
objects means the host service's commits (which expire every loaded object) cost nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, exists, or_, select, update
from sqlalchemy.orm import Session

from host_stub.bulk import among, insert_rows
from host_stub.models import Contact, Customer, utcnow

from ...models import CONTACT, CUSTOMER, Link, RecordDrift, SyncItem
from ..shared.link_locks import lock_customer_links


@dataclass
class LinkRow:
    id: int | None
    entity: str
    host_id: int
    cw_id: int
    cw_identifier: str = ""
    fingerprint: str = ""
    cw_last_updated: str = ""
    status: str = "ok"
    synced_values: dict | None = None  # what both sides agreed on at the last sync (Link.synced_values)
    synced_at: dt.datetime | None = None  # when a sync last wrote the link (an unchanged one is not written)


def _rows(session: Session, stmt) -> list[LinkRow]:
    return [LinkRow(r.id, r.entity, r.host_id, r.cw_id, r.cw_identifier, r.fingerprint, r.cw_last_updated, r.status,
                    r.synced_values, r.synced_at) for r in session.execute(stmt)]


_COLS = (Link.id, Link.entity, Link.host_id, Link.cw_id, Link.cw_identifier, Link.fingerprint,
         Link.cw_last_updated, Link.status, Link.synced_values, Link.synced_at)


def by_host(session: Session, entity: str, host_ids: Iterable[int]) -> dict[int, LinkRow]:
    """Links of these host records."""
    ids = list(host_ids)
    if not ids:
        return {}
    stmt = select(*_COLS).where(Link.entity == entity, among(session, Link.host_id, ids))
    return {r.host_id: r for r in _rows(session, stmt)}


# Ids this close together (their span less than this many times their number: a page of companies, read by id, and,
# as a generated tenant numbers them, its contacts) are read as a range. See :func:`by_cw`.
DENSE_SPAN = 2
_INT = frozenset({int})


def by_cw(session: Session, entity: str, cw_ids: Iterable[int]) -> dict[int, LinkRow]:
    """Links to these ConnectWise ids (customers and contacts have at most one each).

    Ids close together (:data:`DENSE_SPAN`) are read as their range (``cw_id between`` the least and the greatest),
    the links of other ids in it left out here: the same links, in the same order, read by one statement as before.
    PostgreSQL reads a range of the ``(entity, cw_id)`` index, not one descent of it for each id (two of its pages each:
    a page of 2,500 contacts touched 5,000 while the import wrote beside it), and no array of the ids is sent, parsed
    or hashed: 0.4 ms for a page of 2,500 ids none of which is linked, not 1.9 ms. Ids far apart are asked for as a
    list (:func:`among`), as a range would read many others."""
    ids = list(cw_ids)
    if not ids:
        return {}
    wanted: set[int] | None = None
    if _INT.issuperset(map(type, ids)):  # (ids as ConnectWise gives them; any other kind as before, by among)
        low, high = min(ids), max(ids)
        if high - low < DENSE_SPAN * len(ids):
            wanted = set(ids)
    where = Link.cw_id.between(low, high) if wanted is not None else among(session, Link.cw_id, ids)
    stmt = select(*_COLS).where(Link.entity == entity, where).order_by(Link.id)
    out: dict[int, LinkRow] = {}
    for r in _rows(session, stmt):
        if wanted is None or r.cw_id in wanted:
            out.setdefault(r.cw_id, r)
    return out


class LinkBatch:
    """Link writes collected and sent together by :meth:`flush` (the caller commits)."""

    # The new links' COPY returns once its rows are sent, its end read by the connection's next statement or commit
    # (host_stub.bulk.insert_rows' end_later): for a caller whose next step writes more or commits.
    end_later = False

    def __init__(self, session: Session, *, write_unchanged: bool = True):
        self.session = session
        self.write_unchanged = write_unchanged
        self._inserts: list[tuple[LinkRow, dict]] = []
        self._updates: list[dict] = []
        self.inserted = 0  # links inserted by flushes so far
        self._before: dict[int, dt.datetime] = {}  # new links' synced_before (put), by id() of their rows

    def put(self, row: LinkRow | None, entity: str, host_id: int, cw_id: int, *, cw_identifier: str = "",
            fingerprint: str = "", cw_last_updated: str = "", status: str = "ok",
            values: dict | None = None, force: bool = False, keep_time: bool = False,
            handed: bool = False, synced_before: dt.datetime | None = None) -> LinkRow:
        """Create the link, or update ``row`` (the existing link of this host record). ``values``: the
        mapped values both sides hold after this sync (None: not known). With ``write_unchanged`` off (the
        import), a link that would not change is not written: an unchanged re-import writes nothing, and
        ``synced_at`` keeps the last sync that changed it. The links written get their time (``synced_at``, and
        ``linked_at`` for a new or re-pointed one) when the batch is flushed: after the host records they
        vouch for were saved, so a host record's ``updated_at`` is never later than its link's ``synced_at``.
        ``force``: write it even so (the host record was just written back to what the link already held, or a
        person's import found both sides agreeing: its ``synced_at`` must say so). ``keep_time``: an existing link
        keeps its ``synced_at`` (the host record still holds changes of its own to export). ``handed``: ``values`` is
        the caller's to give away (it never changes that dict again): kept as it is, not copied (an import puts
        35,000). ``synced_before``: a new link's ``synced_at`` is before this time (the host records still hold changes
        of their own to export, saved from then on: the customer is "Changed since export", as a link made on Map
        customers over differing values is), its ``linked_at`` the batch's."""
        ident, last = cw_identifier[:100], cw_last_updated[:30]
        synced = (values if handed else dict(values)) if values is not None else None
        if row is None:  # a new link (a bulk import's every one): its row and its insert made at once
            row = LinkRow(None, entity, host_id, cw_id, ident, fingerprint, last, status, synced)
            self._inserts.append((row, {"entity": entity, "host_id": host_id, "linked_at": None, "cw_id": cw_id,
                                        "cw_identifier": ident, "fingerprint": fingerprint, "cw_last_updated": last,
                                        "status": status, "synced_at": None, "synced_values": synced}))
            if synced_before is not None:
                self._before[id(row)] = synced_before - dt.timedelta(microseconds=1)
            return row
        cols = {"cw_id": cw_id, "cw_identifier": ident, "fingerprint": fingerprint, "cw_last_updated": last,
                "status": status, "synced_at": None, "synced_values": synced}
        if row.id is None:
            pending = next((v for r, v in self._inserts if r is row), None)
            if pending is not None:  # still to be inserted: change what will be inserted
                pending.update(cols)
                self._set(row, cols)
                return row
            row = LinkRow(None, entity, host_id, cw_id)
            self._set(row, cols)
            self._inserts.append((row, {"entity": entity, "host_id": host_id, "linked_at": None, **cols}))
            return row
        now_held = (row.cw_id, row.cw_identifier, row.fingerprint, row.cw_last_updated, row.status, row.synced_values)
        if not self.write_unchanged and not force and now_held == tuple(cols[k] for k in (
                "cw_id", "cw_identifier", "fingerprint", "cw_last_updated", "status", "synced_values")):
            return row
        # linked_at: True until stamped, for a link re-pointed to another ConnectWise record (None: kept).
        self._updates.append({"link_id": row.id, "linked_at": True if row.cw_id != cw_id else None, "row": row,
                              **cols, "keep_time": keep_time and row.synced_at is not None})
        self._set(row, cols)
        return row

    def _stamp(self) -> None:
        """The time of the links about to be written, one for the batch (see :meth:`put`)."""
        now = utcnow()
        before = self._before
        for row, v in self._inserts:
            v["synced_at"] = v["linked_at"] = row.synced_at = now
            if before and id(row) in before:
                v["synced_at"] = row.synced_at = min(now, before[id(row)])
        self._before = {}
        for u in self._updates:
            u["synced_at"] = u["row"].synced_at = u["row"].synced_at if u["keep_time"] else now
            if u["linked_at"] is True:
                u["linked_at"] = now

    @staticmethod
    def _set(row: LinkRow, cols: dict) -> None:
        row.cw_id, row.cw_identifier, row.fingerprint = cols["cw_id"], cols["cw_identifier"], cols["fingerprint"]
        row.cw_last_updated, row.status, row.synced_values = cols["cw_last_updated"], cols["status"], \
            cols["synced_values"]

    def mark(self, row: LinkRow, status: str) -> None:
        """Change only a link's status (missing_in_cw, missing_in_host, ok)."""
        if row.id is not None and row.status != status:
            self.session.execute(update(Link).where(Link.id == row.id).values(status=status))
            row.status = status

    def flush(self) -> None:
        self._stamp()
        if self._inserts:
            ids = insert_rows(self.session, Link.__table__, [v for _, v in self._inserts], end_later=self.end_later)
            for (row, _), new_id in zip(self._inserts, ids, strict=True):
                row.id = new_id
            self.inserted += len(ids)
            self._inserts = []
        if self._updates:
            # Bind names must differ from the column names they set (SQLAlchemy reserves those).
            cols = ("cw_id", "cw_identifier", "fingerprint", "cw_last_updated", "status", "synced_at", "synced_values")
            base = update(Link).where(Link.id == bindparam("b_link_id"))
            for relinked in (False, True):
                names = (*cols, "linked_at") if relinked else cols
                rows = [{"b_link_id": u["link_id"], **{f"b_{c}": u[c] for c in names}}
                        for u in self._updates if (u["linked_at"] is not None) == relinked]
                if rows:
                    self.session.connection().execute(base.values({c: bindparam(f"b_{c}") for c in names}), rows)
            self._updates = []


# A note the customer page shows: one about a contact the rep since deleted in the host is settled for that contact,
# nothing of it is left to show or to forget (the same rule as the page's, sync/inbound/status.py ``_CUSTOMER_DRIFT``,
# which may not import it from here, and the import's untouched check's, settled.py).
NOTE_SHOWN = or_(RecordDrift.entity != CONTACT, exists().where(Contact.id == RecordDrift.host_id))


def drifted_customers(session: Session, customer_ids: Iterable[int]) -> set[int]:
    """Which of these customers have drift an export would forget (one query for a page; ``forget_drift`` of
    export_writes.py forgets it): notes the customer page shows, not new contacts. A customer whose only notes are
    about contacts since deleted in the host has none: an unchanged re-import or export of it writes nothing for
    them."""
    ids = list(customer_ids)
    if not ids:
        return set()
    return set(session.execute(select(RecordDrift.customer_id).where(
        among(session, RecordDrift.customer_id, ids), RecordDrift.kind != "new_contact", NOTE_SHOWN).distinct())
        .scalars())


@dataclass(frozen=True)
class Note:
    """A note the customer page holds of one of its records' fields (a RecordDrift row, new contacts aside)."""

    id: int
    entity: str
    host_id: int
    field: str
    kept: str
    cw_value: str


def notes_of(session: Session, customer_ids: Iterable[int]) -> dict[int, list[Note]]:
    """These customers' notes (new contacts aside), by customer (one query for a page): what an import reading their
    records replaces or leaves (:mod:`..shared.notes`)."""
    ids = list(customer_ids)
    if not ids:
        return {}
    out: dict[int, list[Note]] = defaultdict(list)
    for r in session.execute(select(RecordDrift.id, RecordDrift.customer_id, RecordDrift.entity, RecordDrift.host_id,
                                    RecordDrift.field, RecordDrift.kept, RecordDrift.cw_value).where(
            among(session, RecordDrift.customer_id, ids), RecordDrift.kind != "new_contact").order_by(RecordDrift.id)):
        out[r.customer_id].append(Note(r.id, r.entity, r.host_id, r.field, r.kept, r.cw_value))
    return dict(out)


class PageWrites(LinkBatch):
    """A page of imported companies' link writes, deletes, status marks and the notes it settled, all sent by
    :meth:`flush` in a few statements for the page (the import saves a page in one transaction). The links' COPY ends
    while the importer goes on to its commit (:attr:`LinkBatch.end_later`): an error in its rows (a link another
    process made meanwhile) raises from that commit, and the page is saved again one by one as before."""

    end_later = True

    def __init__(self, session: Session):
        super().__init__(session, write_unchanged=False)  # an unchanged re-import writes nothing
        self._deletes: list[int] = []
        self._marks: dict[str, list[int]] = defaultdict(list)
        self._notes: list[int] = []

    def delete(self, link_id: int) -> None:
        self._deletes.append(link_id)

    def mark(self, row: LinkRow, status: str) -> None:
        if row.id is not None and row.status != status:
            self._marks[status].append(row.id)
            row.status = status

    def end_notes(self, note_ids: Iterable[int]) -> None:
        """Forget these notes (RecordDrift ids): the import read their records and settled them."""
        self._notes.extend(note_ids)

    def flush(self) -> None:
        if self._deletes:  # before the inserts: a re-linked record gets a new link for the same id
            self.session.execute(delete(Link).where(among(self.session, Link.id, self._deletes)))
            self._deletes = []
        for status, ids in self._marks.items():
            self.session.execute(update(Link).where(among(self.session, Link.id, ids)).values(status=status))
        self._marks.clear()
        if self._notes:
            self.session.execute(delete(RecordDrift).where(among(self.session, RecordDrift.id, self._notes)))
            self._notes = []
        super().flush()


# --- a note dismissed by a rep on the customer's page ------------------------------------------------------------

# A new contact not taken (ChannelOnline the master) is dismissed too: no field to keep, the note is only forgotten.
DISMISSABLE = ("drift", "conflict", "unagreed", "new_contact")
# A dismissal is recorded in the results (who, when) as a note of the customer's, not as its latest sync result: it
# leaves All Customers' status and the panel's latest result (a failed export stays failed) as they were.
NOTE_ENTITY = "customer_note"
NOTE_DIRECTION = "link"  # made by a person on the customer's page, without a run (as a link made or cleared there)


@dataclass(frozen=True)
class NoteKey:
    """A note as the customer's page showed it: its record and field, and ConnectWise's value it showed."""

    entity: str
    host_id: int
    field: str
    seen: str


@dataclass
class Dismissed:
    """What a dismissal did: the notes dismissed (in words, as recorded) and those no longer shown as the page had
    them (a live update replaced or ended them since)."""

    done: list[str]
    gone: list[str]


def _as_agreed(text: str, like: object) -> object:
    """A note's ConnectWise value (held as text) in the type the field's values have (a yes/no field's is a bool)."""
    return text == "True" if isinstance(like, bool) else text


def _shown(text: str) -> str:
    return f"“{text}”" if text else "(blank)"


def dismiss_notes(session: Session, customer: Customer, keys: Iterable[NoteKey] | None, *, actor: str = "") -> Dismissed:
    """Dismiss the customer's notes ``keys`` (None: every note the page shows that can be dismissed). Flushes, does
    not commit.

    A note whose ChannelOnline value stands (the host is the master: a change not taken, or a conflict it kept) is
    settled on that value: ConnectWise's value becomes the field's last agreement (``Link.synced_values``), so a
    later reading that finds ConnectWise unchanged compares nothing new and writes no note, while a new change of that
    field in ConnectWise differs from it and is noted again (a conflict: ChannelOnline's value differs too); the next
    export sends ChannelOnline's value. A note of a conflict ConnectWise's value settled (both sides agree on it) is
    forgotten: no reading writes it again. A note the page showed with another ConnectWise value than it holds now is
    left alone (ConnectWise changed it since: the rep has not seen that change)."""
    contacts = {c.id: c for c in customer.contacts}
    # The customer's links are locked first (one statement, by id, as a live-update pass and a relink lock them:
    # shared.link_locks), so a pass applying this customer meanwhile is waited for and the notes read are the ones it left.
    links = lock_customer_links(session, customer.id, contacts)
    rows = list(session.execute(select(RecordDrift).where(
        RecordDrift.customer_id == customer.id, RecordDrift.kind.in_(DISMISSABLE))
        .order_by(RecordDrift.entity.desc(), RecordDrift.host_id, RecordDrift.field)).scalars())
    rows = [r for r in rows if r.entity != CONTACT or r.host_id in contacts]  # as the page shows them
    by_key = {(r.entity, r.host_id, r.field): r for r in rows}
    wanted = [(k, by_key.get((k.entity, k.host_id, k.field))) for k in dict.fromkeys(keys)] if keys is not None \
        else [(NoteKey(r.entity, r.host_id, r.field, r.cw_value), r) for r in rows]
    label = f"{customer.name} ({customer.account_number})"
    out = Dismissed([], [])
    for key, row in wanted:
        record = customer if key.entity == CUSTOMER else contacts.get(key.host_id)
        whose = f"{record.name} ({customer.name})" if key.entity == CONTACT and record is not None else label
        what = f"{row.label if row is not None else key.field} of {whose}"
        if row is None or row.cw_value != key.seen:
            out.gone.append(f"{what}: the note is no longer as the page showed it (a live update read ConnectWise "
                            "again since); reload the page to see what it says now.")
            continue
        if row.kind == "new_contact":  # no agreement to settle: the contact stays in ConnectWise only
            said = (f"{what}: note dismissed; the contact stays in ConnectWise only, not created in ChannelOnline. "
                    "The note comes back if live updates read that contact again (it is changed in ConnectWise).")
        elif row.kept != "connectwise":
            link = links.get((row.entity, row.host_id))
            if link is not None:
                agreed = dict(link.synced_values or {})
                agreed[row.field] = _as_agreed(row.cw_value, agreed.get(row.field, getattr(record, row.field, None)))
                link.synced_values = agreed
            # (in the past tense: the entry stays on the page after an export has sent ChannelOnline's value)
            said = (f"{what}: note dismissed, ChannelOnline's {_shown(row.host_value)} kept; ConnectWise had "
                    f"{_shown(row.cw_value)} then; exporting the customer sends ChannelOnline's. The note comes back "
                    f"if ConnectWise changes {row.label} again.")
        else:
            said = (f"{what}: note dismissed; both sides keep ConnectWise's {_shown(row.cw_value)} (ChannelOnline had "
                    f"{_shown(row.host_value)}).")
        session.delete(row)
        by = f" (by {actor})" if actor else ""
        session.add(SyncItem(run_id=None, entity=NOTE_ENTITY, direction=NOTE_DIRECTION, host_id=customer.id,
                             cw_id=row.cw_id, label=label[:300], action="dismissed", message=said + by))
        out.done.append(said)
    session.flush()
    return out


def dismissed_notes(session: Session, customer_id: int, limit: int = 5) -> list[SyncItem]:
    """The customer's latest dismissed notes, newest first (the customer page)."""
    return list(session.execute(select(SyncItem).where(SyncItem.entity == NOTE_ENTITY, SyncItem.host_id == customer_id)
                                .order_by(SyncItem.id.desc()).limit(limit)).scalars())
