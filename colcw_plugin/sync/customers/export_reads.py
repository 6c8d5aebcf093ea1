"""What a customer export reads before it writes: the customers a run selects, and what ConnectWise and the
links hold for them (a helper of :mod:`.exporter`).

ConnectWise is read in bulk, a chunk of customers at a time: linked companies by id, their contacts by
company id and first-match candidates by identifier, the three asked for together, then the candidates'
contacts; the links and the create intents of the chunk come from the database in a few queries. The
reference lists (states, communication types) are read once per pass of a run, by the exporter, asked for
beside the first chunk's reads.

The candidates' read also asks, in the same request (one per chunk, more only when the chunk's conditions do
not fit one URL), for the look-alikes of the unlinked customers: companies whose name or phone number is the
customer's as Map Customers' likely duplicates compare them (:func:`.customer_matching.normalize_name` and
``normalize_phone``, one definition), linked to no customer and not any customer's own by Company ID. The
conditions ask for a little more (the name's words in order, each a whole word, a letter ConnectWise may hold
accented asked for in each of its forms, as ConnectWise compares accents; the phone's digit groups; each a quoted value), and
little more: a short name ("AB") asks for the companies having it as a word, not every name holding its letters. The
rows are checked here with that definition. A customer whose conditions do not fit one URL on their own (a long name
of letters ConnectWise may hold accented: each such letter is a class, and percent-encoded it grows) asks for a little
more still, never less: its name's words in order anywhere in a name, then fewer of its letters as their classes, the
last first (:func:`_name_likes`); every name the precise conditions find is still found. An unlinked customer with a
look-alike is not created in ConnectWise without a person's confirmation (see :mod:`.exporter`).

Against a tenant that holds no company at all (one count says so at the start of a bulk pass),
there is nothing to match by identifier, so the per-chunk identifier look-ups are not sent; the
exporter looks up by identifier after all if a create is refused (see :mod:`.exporter`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote_plus, urlencode

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from host_stub.models import Customer

from ...cw import BadRequest, ClientError, ConnectWiseClient, ConnectWiseError
from ...cw import conditions as C
from ...models import CONTACT, CUSTOMER, CreateIntent
from ...setup.customer_matching import name_likeness, name_search_pattern, normalize_name, normalize_phone
from ...setup.customer_matching import name_patterns as _name_patterns
from ..jobs.ranges import resolve
from ..shared import fields as M
from ..shared.prefetch import call_ahead
from .contact_export import Intent, intents_for
from .link_batch import LinkRow, by_cw, by_host
from .lookup import place


def export_scope(session: Session, params: dict) -> list[int]:
    """The host customer ids a run's params select (see the job params contract)."""
    if params.get("customer_id") is not None:
        return [int(params["customer_id"])]
    if params.get("customer_ids") is not None:
        return sorted({int(i) for i in params["customer_ids"]})
    if params.get("range"):
        r = params["range"]
        span = resolve(r.get("preset", ""), r.get("start"), r.get("end"))
        column = Customer.created_at if r.get("field") == "created" else Customer.updated_at
        stmt = select(Customer.id).where(column >= span.start, column < span.end)
        return list(session.execute(stmt.order_by(Customer.id)).scalars())
    if params.get("all"):
        return list(session.execute(select(Customer.id).order_by(Customer.id)).scalars())
    raise ValueError("Choose what to export: one customer, a date range or all customers.")


def customer_labels(session: Session, ids: list[int]) -> dict[int, str]:
    """Customers' names for their run log entries ("Acme Dental (ACME01)")."""
    rows = session.execute(select(Customer.id, Customer.name, Customer.account_number).where(Customer.id.in_(ids)))
    return {i: f"{name} ({number})" for i, name, number in rows}


def load_comm_types(client: ConnectWiseClient) -> dict[str, dict]:
    """ConnectWise's communication types by lower-cased name (``{id, name}``, a CommunicationTypeReference).

    A CommunicationType record names itself in ``description`` (it has no ``name``; only the
    reference a contact's row carries has one)."""
    out: dict[str, dict] = {}
    for row in client.iterate("company/communicationTypes", fields=["id", "description"]):
        name = str(row.get("description") or "").strip()
        if name:
            out.setdefault(name.casefold(), {"id": row["id"], "name": name})
    return out


@dataclass(frozen=True)
class LookAlike:
    """A ConnectWise company that looks like an unlinked customer (a likely duplicate, as Map Customers says)."""

    cw_id: int
    identifier: str
    name: str
    place: str  # "City, ST" as ConnectWise holds it
    why: str  # "same name", "similar name" or "same phone number"

    @property
    def named(self) -> str:
        """"ACME-OLD “Acme Corp” (Austin, TX; same name)"."""
        return f"{self.identifier} “{self.name}” ({self.place + '; ' if self.place else ''}{self.why})"


@dataclass
class Chunk:
    """What ConnectWise holds for one chunk of customers, read in bulk."""

    customer_links: dict[int, LinkRow]
    contact_links: dict[int, LinkRow]
    companies: dict[int, dict]  # linked companies by id
    by_identifier: dict[str, dict]  # first-match candidates by lower-cased identifier
    contacts: dict[int, list[dict]] = field(default_factory=dict)  # by company id
    contact_owner: dict[int, int] = field(default_factory=dict)  # cw contact id -> linked host contact id
    company_owner: dict[int, int] = field(default_factory=dict)  # cw company id -> linked host customer id
    contact_intents: dict[int, Intent] = field(default_factory=dict)  # host contact id -> create left unconfirmed
    # unlinked customer id -> the run whose company POST for it went unacknowledged (:func:`company_intents`)
    company_intents: dict[int, int] = field(default_factory=dict)
    identifiers_read: bool = True  # False: the tenant held no company, so candidates were not looked up
    look_alikes: dict[int, list[LookAlike]] = field(default_factory=dict)  # unlinked customer id -> its look-alikes


def read_chunk(session: Session, client: ConnectWiseClient, customers: list[Customer], *,
               tenant_empty: bool = False) -> Chunk:
    """The chunk's links, intents and ConnectWise records (``tenant_empty``: no identifier look-ups)."""
    cust_links = by_host(session, CUSTOMER, [c.id for c in customers])
    contact_ids = [k.id for c in customers for k in c.contacts]
    contact_links = by_host(session, CONTACT, contact_ids)
    linked_ids = [row.cw_id for row in cust_links.values()]
    unlinked = [c for c in customers if c.id not in cust_links]
    # Links are read under the customers' locks: a company another export created since the count is linked
    # by now, and read here by id like any linked company. The linked companies, their contacts and the
    # candidates by identifier are asked for together (the contacts of a company found deleted are dropped):
    # against a real tenant each is a round trip, and a rep exporting a linked customer waits for one.
    linked_contacts = call_ahead(lambda: _contacts_of(client, linked_ids), name="colcw-export-contacts") \
        if linked_ids else None
    candidates = call_ahead(lambda: _candidates(client, unlinked), name="colcw-export-candidates") \
        if unlinked and not tenant_empty else None
    try:
        companies = {r["id"]: r for r in client.companies.iterate_in("id", linked_ids, fields=M.COMPANY_FIELDS)} \
            if linked_ids else {}
        candidate_rows = candidates.result() if candidates else []
        accounts = {(c.account_number or "").casefold() for c in unlinked} - {""}
        by_identifier: dict[str, dict] = {}
        for r in candidate_rows:
            if str(r.get("identifier", "")).casefold() in accounts:
                by_identifier.setdefault(str(r.get("identifier", "")).casefold(), r)
        of_linked = linked_contacts.result() if linked_contacts else {}
    finally:  # an error in one read: the others end before it is raised
        for ahead in (linked_contacts, candidates):
            if ahead is not None:
                ahead.wait()
    live = {i for i, r in companies.items() if not r.get("deletedFlag")}
    contacts = {i: people for i, people in of_linked.items() if i in live}
    # A candidate's contacts come after it is found (a customer's first export, to a company that exists).
    found = [r["id"] for r in by_identifier.values() if not r.get("deletedFlag") and r["id"] not in of_linked]
    for i, people in _contacts_of(client, found).items():
        contacts.setdefault(i, people)
    contact_owner = {cw: row.host_id for cw, row in
                     by_cw(session, CONTACT, [r["id"] for rs in contacts.values() for r in rs]).items()}
    # (the candidates, companies all: a company found by Company ID linked to another customer is refused, and
    # only a company linked to none is a look-alike)
    company_owner = {cw: row.host_id for cw, row in
                     by_cw(session, CUSTOMER, list({r["id"] for r in candidate_rows})).items()}
    return Chunk(cust_links, contact_links, companies, by_identifier, contacts, contact_owner,
                 company_owner, intents_for(session, contact_ids),
                 company_intents=company_intents(session, [c.id for c in unlinked]),
                 identifiers_read=not tenant_empty,
                 look_alikes=_look_alikes(session, unlinked, candidate_rows, company_owner))


def caused_by_records(error: BaseException) -> bool:
    """Whether a failed read may be the fault of what it asked about (a value ConnectWise refused in a condition, a
    condition colcw could not build for a record's data) rather than of ConnectWise or the connection: a chunk's read
    failing so is read again customer by customer (:meth:`.exporter.CustomerExporter._chunk_locked`), so the others go
    on. A transient failure, a refused login or access, or the database's is the run's, and raised as it was."""
    if isinstance(error, ConnectWiseError):
        return not error.transient and isinstance(error, BadRequest | ClientError)
    return isinstance(error, Exception) and not isinstance(error, SQLAlchemyError)


def read_failure(customer: Customer, error: BaseException) -> tuple[str, str]:
    """The message and fix of a customer whose export could not read what ConnectWise holds for it (the run's result
    for it, and the no-JavaScript export page's warning): nothing was written for it."""
    label = f"{customer.name} ({customer.account_number})"
    why = str(error) if isinstance(error, ConnectWiseError) else f"{type(error).__name__}: {error}"
    return (f"{label} was not exported: reading what ConnectWise holds for it (its company by Company ID "
            f"{customer.account_number}, and companies that look like it) failed, so nothing was written for it: "
            f"{why.rstrip('.')}.",
            f"Nothing in ConnectWise was changed for {customer.name}, and the other customers are exported as usual. "
            f"Check its name, account number and phone number in ChannelOnline for an unusual value, then export it "
            "again; if it fails the same way, send this message to your colcw support.")


def company_intents(session: Session, customer_ids: list[int]) -> dict[int, int]:
    """The runs (by customer id) whose company POST for these unlinked customers went unacknowledged: ConnectWise may
    have created the company (a later pass finds it by its Company ID, and it is that run's creation). Written only
    when such a POST fails (:meth:`.exporter.CustomerExporter._export`), so a create costs no write before it; deleted
    with the customer's link."""
    if not customer_ids:
        return {}
    rows = session.execute(select(CreateIntent.host_id, CreateIntent.match).where(
        CreateIntent.entity == CUSTOMER, CreateIntent.host_id.in_(customer_ids)))
    out: dict[int, int] = {}
    for host_id, match in rows:
        run = (match or {}).get("run")
        if isinstance(run, int):
            out[host_id] = run
    return out


def look_alikes_of(session: Session, client: ConnectWiseClient, customer: Customer) -> list[LookAlike]:
    """The look-alikes of an unlinked customer, as its export would find them (one request; none for a linked
    customer, or one that ConnectWise has a company for by Company ID: the export links that one)."""
    if by_host(session, CUSTOMER, [customer.id]):
        return []
    rows = _candidates(client, [customer])
    account = (customer.account_number or "").casefold()
    if account and any(str(r.get("identifier") or "").casefold() == account for r in rows):
        return []
    owner = {cw: row.host_id for cw, row in by_cw(session, CUSTOMER, [r["id"] for r in rows]).items()}
    return _look_alikes(session, [customer], rows, owner).get(customer.id, [])


def _phone_pattern(phone: str) -> str | None:
    """A ``like`` pattern the phone numbers that normalise as ``phone`` match however they are written
    ("(512) 555-0100", "512.555.0100"): its digits in groups, any characters between them."""
    digits = normalize_phone(phone)
    if not digits:
        return None
    groups = [digits[:3], digits[3:6], digits[6:]] if len(digits) == 10 else [digits[:-4], digits[-4:]]
    return "%" + "%".join(groups)


# A letter's accented forms in a ``like`` pattern ("[cç]"), not a word's edge ("[^a-z0-9]").
_LETTER_CLASS = re.compile(r"\[(?!\^)[^\]]*\]")


def _name_likes(name: str, fits: Callable[[list[C.Condition]], bool]) -> list[C.Condition]:
    """The ``like`` conditions asking ConnectWise for the names that normalise as ``name``: the most precise ones
    ``fits`` (the request they go in stays within the URL length). Each shorter choice finds every name the one
    before finds, and a few more (the rows are checked here: :func:`_look_alikes`):

    * the four whole-word patterns (:func:`.customer_matching.name_patterns`);
    * one pattern, the name's words in order anywhere in a name (:func:`.customer_matching.name_search_pattern`
      with vowels as ``_``, as the four);
    * that one with its last letters' classes ("[yýÿ]", 19 characters percent-encoded) as ``_``, any one character,
      as few as make it fit;
    * none, when even that does not fit: only a name far longer than ConnectWise's 50 characters (which the export
      refuses whatever its look-alikes), left to its Company ID and phone number.
    """
    four = [C.like("name", pattern) for pattern in _name_patterns(name)]
    if not four or fits(four):
        return four
    one = name_search_pattern(name, vowels=False)
    if one is None:
        return []
    classes = list(_LETTER_CLASS.finditer(one))
    for kept in range(len(classes), -1, -1):  # (all of them first; then one fewer each time, the last first)
        cut = classes[kept].start() if kept < len(classes) else len(one)
        pattern = one[:cut] + _LETTER_CLASS.sub("_", one[cut:])
        if fits([C.like("name", pattern)]):
            return [C.like("name", pattern)]
    return []


def _look_alike_parts(customer: Customer, fits: Callable[[list[C.Condition]], bool] = lambda _: True
                      ) -> list[C.Condition]:
    """The customer's look-alike conditions (its name's, then its phone's), the name's as precise as ``fits``."""
    phone = [C.like("phoneNumber", pattern)] if (pattern := _phone_pattern(customer.phone or "")) else []
    return _name_likes(customer.name or "", lambda likes: fits(likes + phone)) + phone


def _candidate_conditions(client: ConnectWiseClient, customers: list[Customer]) -> Iterator[C.Condition]:
    """The conditions asking for these customers' companies by Company ID and their look-alikes, as few as fit
    ConnectWise's URL length (one for a chunk of short names; each value quoted by :mod:`..cw.conditions`). A
    customer's own conditions are made to fit on their own (:func:`_name_likes`); a chunk's are split between
    requests where the next customer's do not fit beside those before."""
    probe = client.list_params(conditions=C.eq("id", 0), fields=M.COMPANY_FIELDS, need_id=True)
    budget = client.max_url_length - (len(client.base_url) + len("company/companies?") + len(urlencode(probe))
                                      - len(quote_plus(str(C.eq("id", 0)))) + 64)  # (64: page and pageSize)

    def condition(idents: list[str], likes: list[C.Condition]) -> C.Condition:
        return C.or_(C.in_("identifier", idents) if idents else None, *likes)

    def fitting(condition_: C.Condition) -> bool:
        return len(quote_plus(str(condition_))) <= budget

    idents: list[str] = []
    likes: list[C.Condition] = []
    for customer in customers:
        own = [customer.account_number] if customer.account_number else []
        parts = _look_alike_parts(customer, lambda ps, own=own: fitting(condition(own, ps)))
        more_idents = [i for i in own if i not in idents]
        more_likes = [p for p in parts if p not in likes]
        if not (more_idents or more_likes):
            continue
        if (idents or likes) and not fitting(condition(idents + more_idents, likes + more_likes)):
            yield condition(idents, likes)
            idents, likes = [], []
            more_idents, more_likes = own, parts
        idents += more_idents
        likes += more_likes
    if idents or likes:
        yield condition(idents, likes)


def _candidates(client: ConnectWiseClient, customers: list[Customer]) -> list[dict]:
    """The companies having these customers' account numbers as Company IDs, and their look-alikes' candidates."""
    rows: dict[int, dict] = {}
    for condition in _candidate_conditions(client, customers):
        for r in client.companies.iterate(conditions=condition, fields=M.COMPANY_FIELDS):
            rows.setdefault(r["id"], r)
    return list(rows.values())


def _look_alikes(session: Session, customers: list[Customer], rows: list[dict],
                 owner: dict[int, int]) -> dict[int, list[LookAlike]]:
    """Each customer's look-alikes among ``rows``: not deleted, linked to no customer, not a customer's own by
    Company ID (a host customer's account number), with the same normalised name or phone (name first); the name's
    reason is :func:`name_likeness`'s "same name" or "similar name"."""
    free = [r for r in rows if not r.get("deletedFlag") and r["id"] not in owner]
    if not free:
        return {}
    idents = {str(r.get("identifier") or "").casefold() for r in free} - {""}
    held = {a.casefold() for a in session.execute(select(Customer.account_number).where(
        func.lower(Customer.account_number).in_(sorted(idents)))).scalars() if a} if idents else set()
    free = [r for r in free if str(r.get("identifier") or "").casefold() not in held]
    keyed = [(normalize_name(str(r.get("name") or "")), normalize_phone(str(r.get("phoneNumber") or "")), r)
             for r in free]
    out: dict[int, list[LookAlike]] = {}
    for customer in customers:
        name, phone = normalize_name(customer.name or ""), normalize_phone(customer.phone or "")
        found = []
        for why, key, at in (("name", name, 0), ("same phone number", phone, 1)):
            for entry in keyed:
                r = entry[2]
                if key and entry[at] == key and all(f.cw_id != r["id"] for f in found):
                    # "same name" only for one name but for case, punctuation and accents, as the import popup and
                    # Map customers say it; "similar name" for the looser likely-duplicate rule.
                    reason = name_likeness(customer.name or "", str(r.get("name") or "")) if why == "name" else why
                    found.append(LookAlike(int(r["id"]), str(r.get("identifier") or ""), str(r.get("name") or ""),
                                           place(r), reason))
        if found:
            out[customer.id] = found
    return out


def _contacts_of(client: ConnectWiseClient, company_ids: list[int]) -> dict[int, list[dict]]:
    """The contacts of these companies, by company id (none asked for when there are none)."""
    out: dict[int, list[dict]] = defaultdict(list)
    if company_ids:
        for r in client.contacts.iterate_in("company/id", company_ids, fields=M.CONTACT_FIELDS):
            out[(r.get("company") or {}).get("id")].append(r)
    return dict(out)
