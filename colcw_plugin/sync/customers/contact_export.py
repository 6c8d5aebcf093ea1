"""Exporting a customer's contacts to its ConnectWise company (a helper of :mod:`.exporter`).

Contacts of a linked company are matched the first time by an exact e-mail address within that
company only; a contact whose link points at a contact the company no longer holds is reported,
never re-created behind the user's back.

A contact is created at most once per host contact. ConnectWise identifies a contact by nothing
unique, so before the POST an intent (:class:`~...models.CreateIntent`: the company, the names sent,
the company's contacts at that moment) is committed — the intents of all a customer's new contacts in
one commit, with its company's link, before the first of their POSTs — and it is deleted in the
transaction that inserts the link. If the answer to the POST is lost, the contact is looked up at once
(:func:`~...cw.create_once`); if the process dies before the link is saved, the next export finds
the intent and takes the contact the lost POST created — same company and names, not there before,
linked to nothing — instead of creating another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from host_stub.models import Contact, Customer

from ...cw import ConnectWiseClient, ConnectWiseError, create_once
from ...cw import conditions as C
from ...models import CONTACT, CreateIntent, Link, fingerprint
from ...setup.customer_matching import SamePerson
from ...setup.field_mapping import CONTACT as CONTACT_TABLE
from ...setup.field_mapping import MappingTable
from ..shared import fields as M
from ..shared import moved_contact as MV
from ..shared import own_writes
from ..shared.prefetch import Done, settle_together
from ..shared.states import StateList
from .link_batch import LinkRow, by_cw

if TYPE_CHECKING:
    from .export_reads import Chunk
    from .export_writes import ExportWrites

LABELS = CONTACT_TABLE.labels


def changed_fields(table: MappingTable, diff: Mapping[str, Any], record: Mapping[str, Any] | None = None) -> str:
    """The fields a PATCH set changes as the host labels them (the mapping's rules, as imports and live updates name
    them: "Company Phone", not phoneNumber), in the rules' order. A contact's communication items are named by the
    host fields whose values differ from ``record``'s (its Work Phone, its Email)."""
    names: list[str] = []
    named: set[str] = set()  # the ConnectWise fields named (a contact's company is one field of two rules)
    for rule in table.rules:
        top = (rule.cw_path or "").split("/")[0]
        if rule.kind == "comm":
            items = diff.get("communicationItems")
            if items is not None and _comm_value(items, top) != _comm_value(
                    (record or {}).get("communicationItems") or (), top):
                names.append(rule.host)
                named.add("communicationItems")
        elif top in diff and top not in named:
            names.append(rule.host)
            named.add(top)
    return ", ".join(names + sorted(k for k in diff if k not in named))


def _comm_value(items: Iterable[Mapping[str, Any]], type_name: str) -> str:
    """The value of a communication type as an import reads it (the type's default item, else its first)."""
    return str(M.contact_host_values({"communicationItems": list(items)}, None).get(_COMM_ATTR[type_name.casefold()])
               or "")


_COMM_ATTR = {(r.cw_path or "").casefold(): r.host_attr for r in CONTACT_TABLE.rules if r.kind == "comm"}


def own_default(customer: Any, contact: Any, link: LinkRow | None, cw_contacts: Iterable[Mapping[str, Any]]) -> bool:
    """``contact`` is ChannelOnline's default only because ChannelOnline needs one, not a person's choice: ConnectWise
    holds no default contact for the company, the contact's link agreed on none (an import of a company without
    one), and it is the contact ChannelOnline makes default by itself then (the customer's first). The export leaves
    ConnectWise without a default contact, as a person would find it; a rep who picks another one has it sent."""
    return link is not None and link.synced_values is not None and not link.synced_values.get("is_default") \
        and bool(customer.contacts) and customer.contacts[0].id == contact.id \
        and not any(r.get("defaultFlag") for r in cw_contacts if not r.get("inactiveFlag"))


def contact_label(contact: Any) -> str:
    return (f"{contact.first_name} {contact.last_name}".strip() or f"contact {contact.id}")


@dataclass
class Outcome:
    entity: str
    action: str
    host_id: int | None
    cw_id: int | None
    label: str
    message: str = ""
    resolution: str = ""



@dataclass(frozen=True)
class Intent:
    """A contact create whose outcome is not known yet (a :class:`~...models.CreateIntent` row, as values)."""

    company_id: int
    match: dict
    known_ids: frozenset[int]


def intents_for(session: Session, contact_ids: Iterable[int]) -> dict[int, Intent]:
    """The unconfirmed contact creates of these host contacts, by host contact id."""
    ids = list(contact_ids)
    if not ids:
        return {}
    rows = session.execute(select(CreateIntent).where(CreateIntent.entity == CONTACT, CreateIntent.host_id.in_(ids)))
    return {r.host_id: Intent(r.cw_parent_id, dict(r.match or {}), frozenset(int(i) for i in r.known_ids or ()))
            for r in rows.scalars()}


def _email_of(row: Mapping[str, Any]) -> str | None:
    """A ConnectWise contact's e-mail as an import takes it: its default Email item, else its first."""
    items = [i for i in row.get("communicationItems") or []
             if str((i.get("type") or {}).get("name", "")).casefold() == "email" and i.get("value")]
    chosen = next((i for i in items if i.get("defaultFlag")), items[0] if items else None)
    return str(chosen["value"]) if chosen else None


def _names(row: dict) -> tuple[str, str]:
    return (str(row.get("firstName") or "").strip().casefold(), str(row.get("lastName") or "").strip().casefold())


@dataclass
class Retire:
    """A ConnectWise contact whose ChannelOnline contact was deleted: with ChannelOnline the master for customer
    data, the export marks it inactive there (colcw deletes nothing in ConnectWise: its history stays) and drops
    its link."""

    link_id: int
    label: str  # "Mateo Smith (Granite Law Group)"
    record: dict


@dataclass
class Planned:
    """One contact's write, decided before anything is sent (see :meth:`ContactExporter.plan`); plain values
    only: it is sent from a thread of its own."""

    contact_id: int
    is_default: bool
    label: str  # "Mateo Smith (Granite Law Group)"
    name: str  # "Mateo Smith"
    values: dict
    sent: dict
    agreed: dict
    link: LinkRow | None
    record: dict | None  # the ConnectWise contact it is linked or matched to; None: to be created
    note: str = ""
    body: dict | None = None  # what a create sends (its intent names the same first and last name)
    made: bool = False  # created in ConnectWise by an earlier pass or attempt of this run (its result never recorded)


class ContactExporter:
    """Writes one customer's contacts (see the module doc), in two steps: :meth:`plan` matches them and stages
    the create intents in the customer's writes; the caller sends and commits those before :meth:`write` sends
    anything to ConnectWise."""

    def __init__(self, session: Session, client: ConnectWiseClient, states: StateList, comm_types: dict[str, dict], *,
                 cw_master: bool = False, at_once: int = 1, run_id: int | None = None):
        self.session = session
        self.run_id = run_id  # the run exporting (a contact it created says "created" in each pass: M.MADE)
        self.client = client
        self.at_once = at_once  # contact writes sent side by side (the worker's share of the client's in flight)
        self.states = states
        self.comm_types = comm_types
        self.cw_master = cw_master  # fields ConnectWise changed since the last sync are not overwritten
        self._intents: list[dict] = []  # the rows of the intents :meth:`plan` adds

    def plan(self, customer: Customer, company_id: int, chunk: Chunk,
             batch: ExportWrites, cw_default_kept: int | None = None) -> list[Outcome | Planned | Retire]:
        """Each contact's failure, or what will be written; the intents of the creates are staged in ``batch``.
        ``cw_default_kept``: the company's default contact (ConnectWise's id), when ConnectWise the master changed it
        and the export keeps it (:func:`..shared.default_contact.export_keeps`; the company's result says so): no
        contact's default flag is sent over it."""
        cw_contacts = chunk.contacts.get(company_id, [])
        by_id = {r["id"]: r for r in cw_contacts}
        known = set(by_id)
        # The company's contacts linked to none: each the same person as at most one of the customer's contacts
        # linked to none (SamePerson: the import's rule too), the first of them in the customer's order.
        same = SamePerson((r["id"], r.get("firstName"), r.get("lastName"), _email_of(r)) for r in cw_contacts
                          if r["id"] not in chunk.contact_owner)
        out: list[Outcome | Planned | Retire] = []
        self._intents = []
        for contact in customer.contacts:
            label = f"{contact_label(contact)} ({customer.name})"
            values = M.contact_values(contact)
            problems = M.contact_problems(values, self.states, self.comm_types)
            if problems:
                out.append(Outcome(CONTACT, "failed", contact.id, None, label, *M.join(problems)))
                continue
            link = chunk.contact_links.get(contact.id)
            record = None
            note = ""
            made = False
            if link is not None:
                made = self.run_id is not None and M.made_in(link.synced_values) == self.run_id
                record = by_id.get(link.cw_id)
                if record is None:
                    batch.mark(link, "missing_in_cw")
                    moved = MV.moved_to(link.synced_values)  # (live updates saw it under another company)
                    said = MV.export_refused(label, link.cw_id, moved, customer.name) if moved else (
                        f"{label}: the linked ConnectWise contact (id {link.cw_id}) was deleted in ConnectWise or "
                        "moved to another company.",
                        "Clear the contact's link on the customer's page to export it again as a new contact.")
                    out.append(Outcome(CONTACT, "failed", contact.id, link.cw_id, label, *said))
                    continue
            else:
                intent = chunk.contact_intents.get(contact.id)
                record = self._left_behind(intent, company_id, cw_contacts, chunk)
                if record is not None:
                    chunk.contact_owner[record["id"]] = contact.id
                    same.take(record["id"])
                    # This run's own create, before it was cut short (a kill, a lost answer): created, as it is.
                    made = self.run_id is not None and intent is not None and intent.match.get("run") == self.run_id
                    if not made:
                        note = "linked to the ConnectWise contact an interrupted export had created"
            if record is None and link is None:
                found = same.match(contact.first_name, contact.last_name, contact.email)
                if found is not None and found not in chunk.contact_owner:
                    record = by_id[found]
                    chunk.contact_owner[found] = contact.id
                    same.take(found)
                    by_mail = bool(contact.email) and (_email_of(record) or "").casefold() == contact.email.casefold()
                    note = ("linked to the existing ConnectWise contact with the same e-mail" if by_mail else
                            "linked to the existing ConnectWise contact with the same name (one of them has no "
                            "e-mail)")
            if contact.is_default and record is not None and own_default(customer, contact, link, cw_contacts):
                values = {**values, "is_default": False}  # ChannelOnline's own default: ConnectWise keeps none
            held = M.as_held(values, None, self.states, CONTACT_TABLE)  # in ConnectWise's terms (a state's code)
            sent, agreed = held, held
            if self.cw_master and link is not None and record is not None:
                theirs = M.contact_host_values(record, None)
                # The default contact is the company's choice, compared at the company: kept there, it is kept here.
                theirs["is_default"] = values.get("is_default") if cw_default_kept is None \
                    else record["id"] == cw_default_kept
                base = link.synced_values and M.as_held(link.synced_values, None, self.states, CONTACT_TABLE)
                sent, agreed, kept = M.keep_master_changes(held, theirs, base)
                if cw_default_kept is not None:  # ConnectWise's flag sent, the last agreement on it kept (as above)
                    sent = {**sent, "is_default": theirs["is_default"]}
                    agreed = {**agreed, "is_default": (base or {}).get("is_default", theirs["is_default"])}
                kept = [k for k in kept if k != "is_default"]  # (said once, by the company's result)
                if kept:
                    note = (f"{note + '; ' if note else ''}kept ConnectWise's {', '.join(LABELS.get(k, k) for k in kept)} (ConnectWise is the "
                            "master for customer data)")
            planned = Planned(contact.id, bool(values.get("is_default")), label, contact_label(contact), values, sent, agreed,
                              link, record, note, made=made)
            if record is None:
                wanted = M.contact_payload(sent, company_id, self.states, self.comm_types, [])
                planned.body = {k: v for k, v in wanted.items() if v not in (None, [])}
                self._intend(contact.id, company_id, planned.body, known, chunk)
            out.append(planned)
        batch.intend(self._intents)
        return out + self._deleted_here(customer, cw_contacts, chunk)

    def _deleted_here(self, customer: Customer, cw_contacts: list[dict], chunk: Chunk) -> list[Outcome | Retire]:
        """The company's active ConnectWise contacts linked to contacts deleted in ChannelOnline since: each marked
        inactive (a :class:`Retire`), or, with ConnectWise the master for customer data, reported (it stays until
        someone marks it inactive there). Left alone, a contact a rep deleted stayed active in ConnectWise and no
        export said so."""
        mine = {c.id for c in customer.contacts}
        owners = {r["id"]: chunk.contact_owner[r["id"]] for r in cw_contacts
                  if r["id"] in chunk.contact_owner and chunk.contact_owner[r["id"]] not in mine
                  and not r.get("inactiveFlag")}
        if not owners:
            return []
        existing = set(self.session.execute(select(Contact.id).where(Contact.id.in_(set(owners.values()))))
                       .scalars())
        gone = [r for r in cw_contacts if r["id"] in owners and owners[r["id"]] not in existing]
        links = by_cw(self.session, CONTACT, [r["id"] for r in gone])
        out: list[Outcome | Retire] = []
        for record in gone:
            name = f"{record.get('firstName') or ''} {record.get('lastName') or ''}".strip() or f"contact {record['id']}"
            label = f"{name} ({customer.name})"
            link = links.get(record["id"])
            if link is None or link.id is None:
                continue
            if self.cw_master:
                out.append(Outcome(CONTACT, "skipped", None, record["id"], label,
                                   f"{label}: deleted in ChannelOnline, still active in ConnectWise (ConnectWise is "
                                   "the master for customer data, so the export leaves it).",
                                   "Mark the contact inactive in ConnectWise (the company's Contacts) if it should "
                                   "go; the next export stops reporting it then."))
            else:
                out.append(Retire(link.id, label, record))
        return out

    def write(self, company_id: int, chunk: Chunk, batch: ExportWrites,
              plans: list[Outcome | Planned | Retire]) -> tuple[list[Outcome], int | None]:
        """Send the planned writes (the intents of the creates committed before) and stage their links and the
        settled intents' deletion in ``batch``, also when a transient failure stops the customer half-way (the
        caller flushes them together and commits them).

        The contacts' writes go out side by side, ``at_once`` at a time (a worker's share of the client's
        requests in flight: :func:`~..shared.prefetch.writes_at_once`; a bulk export's four workers fill them,
        a rep's export of one customer does not): each touches one contact, and against a real tenant a
        customer with four new contacts waits for about one round trip for them, not four. A contact
        ConnectWise refuses is reported and the others go on; a transient failure starts nothing more, and
        once the writes under way have ended the links of those that were made are staged and the first such
        failure is raised."""
        # An unchanged contact is settled here; only the writes that send something go to the threads.
        writes = [self._write_contact(p, company_id, chunk) if isinstance(p, Planned) else self._retire(p)
                  for p in plans if isinstance(p, Planned | Retire)]
        answers = iter(settle_together([w for w in writes if callable(w)], at_once=self.at_once,
                                       name="colcw-contacts", stops=_stops))
        sent = iter([next(answers) if callable(w) else Done(True, w) for w in writes])
        written = iter([callable(w) for w in writes])  # (whether each sent a write to ConnectWise)
        outcomes: list[Outcome] = []
        default_cw: int | None = None
        settled: list[int] = []
        stopped: BaseException | None = None
        try:
            for p in plans:
                if isinstance(p, Outcome):
                    outcomes.append(p)
                    continue
                done, wrote = next(sent), next(written)
                if done.error is not None and _stops(done.error):
                    stopped = stopped or done.error
                    continue
                if isinstance(p, Retire):
                    if done.started:  # (not started: a transient failure before it stopped the customer)
                        outcomes.append(self._retired(p, done))
                    continue
                if isinstance(done.error, ConnectWiseError):  # refused: this contact alone fails
                    e = done.error
                    said = refused_fields(e, CONTACT_TABLE, p.name, p.label) or (f"{p.label}: {e.detail}",
                                                                                  resolution_for(e))
                    outcomes.append(Outcome(CONTACT, "failed", p.contact_id, p.record["id"] if p.record else None,
                                            p.label, *said))
                    continue
                if not done.started:
                    continue  # not sent: a transient failure before it stopped the customer
                outcome, record = done.value
                # A contact this run created remembers it (M.MADE): a later pass or attempt still says "created".
                agreed = {**p.agreed, M.MADE: self.run_id} if outcome.action == "created" and self.run_id is not None \
                    else p.agreed
                # The version of the contact colcw's write produced: its callback is colcw's own (shared/own_writes).
                batch.put(p.link, CONTACT, p.contact_id, record["id"], fingerprint=fingerprint(p.values),
                          cw_last_updated=M.last_updated(record),
                          values=own_writes.remember(agreed, p.link.synced_values if p.link is not None else None,
                                                     "contact", record if wrote else None))
                if p.contact_id in chunk.contact_intents or outcome.action == "created":
                    settled.append(p.contact_id)
                outcomes.append(outcome)
                if p.is_default:
                    default_cw = record["id"]
            if stopped is not None:
                raise stopped
        finally:
            if settled:
                # In the links' flush: from its commit on, the link is what says the contact exists.
                batch.settle(CONTACT, settled)
                for contact_id in settled:
                    chunk.contact_intents.pop(contact_id, None)
        return outcomes, default_cw

    def _retire(self, p: Retire) -> Callable[[], Outcome]:
        """The PATCH marking ``p``'s ConnectWise contact inactive, for a thread of its own."""
        rid = p.record["id"]

        def retire() -> Outcome:
            self.client.contacts.patch(rid, {"inactiveFlag": True})
            return Outcome(CONTACT, "updated", None, rid, p.label,
                           f"{p.label}: deleted in ChannelOnline; marked inactive in ConnectWise (colcw deletes "
                           "nothing there: its history stays).")
        return retire

    def _retired(self, p: Retire, done: Done) -> Outcome:
        """The outcome of ``p``'s PATCH; once made, its link goes (in the customer's transaction): the ConnectWise
        contact is no ChannelOnline contact's any more."""
        if isinstance(done.error, ConnectWiseError):
            return Outcome(CONTACT, "failed", None, p.record["id"], p.label,
                           f"{p.label}: deleted in ChannelOnline, but ConnectWise refused to mark it inactive: "
                           f"{done.error.detail}", resolution_for(done.error))
        self.session.execute(delete(Link).where(Link.id == p.link_id))
        return done.value

    @staticmethod
    def _left_behind(intent: Intent | None, company_id: int, cw_contacts: list[dict], chunk: Chunk) -> dict | None:
        """The contact an earlier export's unconfirmed POST created, if ConnectWise holds it."""
        if intent is None or intent.company_id != company_id:
            return None
        found = [r for r in cw_contacts if r["id"] not in intent.known_ids and r["id"] not in chunk.contact_owner
                 and _names(r) == _names(intent.match)]
        return min(found, key=lambda r: r["id"]) if found else None

    def _intend(self, contact_id: int, company_id: int, body: dict, known: set[int], chunk: Chunk) -> Intent:
        """Stage the intent to create ``body`` (it replaces the contact's earlier one): the caller commits it
        before the POST (see the module doc), together with the customer's other intents and its company's link."""
        previous = chunk.contact_intents.get(contact_id)
        if previous is not None and previous.company_id == company_id:
            known = known | previous.known_ids  # its POST may still land: never count it as "there before"
        # (with the run: a later pass or attempt of it that finds the contact says it created it)
        intent = Intent(company_id, {"firstName": body.get("firstName") or "", "lastName": body.get("lastName") or "",
                                     **({"run": self.run_id} if self.run_id is not None else {})},
                        frozenset(known))
        self._intents.append({"entity": CONTACT, "host_id": contact_id, "cw_parent_id": company_id,
                              "match": intent.match, "known_ids": sorted(intent.known_ids)})
        chunk.contact_intents[contact_id] = intent
        return intent

    def _find_created(self, intent: Intent, chunk: Chunk) -> dict | None:
        """Ask ConnectWise for the contact a POST whose answer was lost created."""
        first = intent.match.get("firstName") or ""
        cond = C.eq("company/id", intent.company_id)
        if first:
            cond = C.and_(cond, C.eq("firstName", first))
        rows = self.client.contacts.list(conditions=cond, fields=M.CONTACT_FIELDS, page_size=100)
        return self._left_behind(intent, intent.company_id, rows, chunk)

    def _write_contact(self, p: Planned, company_id: int, chunk: Chunk
                       ) -> tuple[Outcome, dict] | Callable[[], tuple[Outcome, dict]]:
        """One contact's outcome when nothing is to be sent; else the call that sends its write (and gives its
        outcome), for a thread of its own: it touches ConnectWise and plain values only."""
        contact_id, label, note = p.contact_id, p.label, p.note
        if p.record is None:
            assert p.body is not None
            intent = chunk.contact_intents[contact_id]  # committed by the caller before this POST
            body = p.body

            def create() -> tuple[Outcome, dict]:
                record = create_once(lambda: self.client.contacts.create(body),
                                     lambda: self._find_created(intent, chunk), what=f"contact {label}")
                return Outcome(CONTACT, "created", contact_id, record["id"], label, _made_said(label)), record
            return create
        record = p.record
        wanted = M.contact_payload(p.sent, company_id, self.states, self.comm_types,
                                   record.get("communicationItems") or [])
        diff = M.contact_changes(record, wanted)
        if not diff:
            if p.made:  # this run created it in an earlier pass or attempt
                return Outcome(CONTACT, "created", contact_id, record["id"], label, _made_said(label)), record
            return Outcome(CONTACT, "unchanged", contact_id, record["id"], label,
                           f"{label}: {note or 'unchanged'}."), record

        def update() -> tuple[Outcome, dict]:
            patched = self.client.contacts.patch(record["id"], diff)
            changed = f"changed {changed_fields(CONTACT_TABLE, diff, record)}"
            if p.made:
                return Outcome(CONTACT, "created", contact_id, patched["id"], label,
                               f"{label}: created; {changed}."), patched
            return Outcome(CONTACT, "updated", contact_id, patched["id"], label,
                           f"{label}: {note + '; ' if note else ''}{changed}."), patched
        return update


def _made_said(label: str) -> str:
    """The result of a contact the run created: in this pass, or in an earlier pass or attempt whose result was never
    recorded (a later one finds it linked, or by its intent, and writes nothing more to it)."""
    return f"{label}: created."


def _stops(error: BaseException) -> bool:
    """Whether a contact's failure stops the customer's other writes: all but a refusal of that contact."""
    return not isinstance(error, ConnectWiseError) or error.transient


_RESOURCES = {"company": "customer", "contact": "contact"}  # a table's ConnectWise object → the host's word for it


def refused_fields(error: ConnectWiseError, table: MappingTable, who: str, label: str, *,
                   country_hint: Callable[[], tuple[str, str]] | None = None) -> tuple[str, str] | None:
    """A 400 naming fields of ``table``'s ConnectWise object, said as the host labels them, with the fix:
    ``(message, resolution)`` — "ConnectWise requires a Title for Mateo Smith" and "Fill in the contact's Title in
    ChannelOnline and export again", ConnectWise's own answer kept in the message. None when it names no field the
    mapping knows (a site's, a communication item's...): the caller says ConnectWise's answer as it is.
    ``who`` names the record in the sentence, ``label`` starts the message (as the run's other results).
    ``country_hint``: asked only when ConnectWise refused the Country, what to type instead
    (:func:`..shared.countries.read_hint`: "did you mean “United States”?", said after ConnectWise's answer, and
    "type United States, as ConnectWise names it", in the fix)."""
    if error.status != 400 or not error.field_errors:
        return None
    noun = _RESOURCES[table.cw_object.casefold()]
    by_field = {(r.cw_path or "").split("/")[0].casefold(): r for r in table.rules
                if r.host_attr is not None and r.kind != "comm"}
    required: list[str] = []
    refused: list[str] = []
    for fe in error.field_errors:
        rule = by_field.get((fe.field or "").split("/")[0].casefold())
        if rule is None or (fe.resource or table.cw_object).casefold() != table.cw_object.casefold():
            return None
        missing = fe.code == "NullValue" or "required" in (fe.message or "").casefold()
        names = required if missing else refused
        if rule.host not in names:
            names.append(rule.host)
    parts, fixes = [], []
    if required:
        parts.append(f"ConnectWise requires {_listed(required, article=True)} for {who}")
        fixes.append(f"fill in the {noun}'s {_listed(required)}")
    if refused:
        parts.append(f"ConnectWise refused the {_listed(refused)} of {who}")
        fixes.append(f"correct the {noun}'s {_listed(refused)}")
    said, typed = country_hint() if country_hint is not None and "Country" in refused else ("", "")
    fix = " and ".join(fixes)
    return (f"{label}: {'; '.join(parts)} (ConnectWise's answer: {error.detail.removesuffix('.')}"
            f"{'; ' + said if said else ''}).",
            f"{fix[0].upper()}{fix[1:]} in ChannelOnline{f' ({typed})' if typed else ''} and export again.")


def _listed(labels: list[str], *, article: bool = False) -> str:
    words = [f"{'an' if x[0].casefold() in 'aeiou' else 'a'} {x}" if article else x for x in labels]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def resolution_for(error: ConnectWiseError) -> str:
    if error.transient:
        return f"{error.why_not_done}; retry the failed records later."
    if error.status == 400:
        return "Correct the fields ConnectWise named in ChannelOnline and export again."
    return error.hint or "Check the ConnectWise connection and export again."
