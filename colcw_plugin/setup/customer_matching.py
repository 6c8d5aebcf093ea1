"""Import / map customers from ConnectWise (user guide §5.1, Settings 3 and 4).

``scan`` reads every ConnectWise company, links those whose identifier equals a host account
number, and keeps the scan (``colcw_company_scan``) so "Map Customers" opens the table of the
rest without reading ConnectWise again. A person maps each remaining company to a host
customer; likely duplicates (same normalised name or phone) are pointed out on both sides,
because duplicate companies are what users of such connectors complain about most.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import String, any_, bindparam, case, delete, func, insert, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from host_stub.models import Customer, utcnow

from ..cw import ConnectWiseClient
from ..errors import FieldErrors
from ..models import CUSTOMER, CompanyScan, ConfigChange, Link, SyncItem, SyncRun, set_link
from .common import lock_settings

BATCH = 1000
# A link a person made on Map customers, recorded as the customer's latest result (a result without a run), as
# sync.customers.links records the scan's (``scan``) and the customer page's (``link``).
MAP_DIRECTION = "map"
# A link made without a sync: its sync time just before its link time until an export, import or live update moves
# it, so the customer's page says "linked …; not synced since", even after an export that failed, never "last synced".
_NOT_SYNCED_YET = dt.timedelta(microseconds=1)
# What to do with a ConnectWise company that looks like a customer linked to another company already (a likely
# duplicate in ConnectWise, which no customer is left to map to): Map customers says it, and a bulk import's failure
# of such a company gives it as its fix, in these words.
LINKED_LOOK_ALIKE_FIX = ("A likely duplicate is best merged in ConnectWise (Setup → Mass Maintenance → Company Merge); "
                         "another company can be imported on its own by its Company ID (Import From ConnectWise).")
_SUFFIXES = {"inc", "incorporated", "llc", "ltd", "limited", "corp", "corporation", "co", "company", "plc", "gmbh",
             "pllc", "lp", "llp"}


_NOT_ALNUM, _NOT_DIGIT = re.compile(r"[^a-z0-9]+"), re.compile(r"\D")


def normalize_name(name: str) -> str:
    """Lower case, accents and punctuation removed, "&" as "and", a leading "the" and legal suffixes dropped."""
    text = name or ""
    if not text.isascii():  # ASCII has no accents to take off (and most names are ASCII: a bulk import's hot path)
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = text.lower().replace("&", " and ")
    words = _NOT_ALNUM.sub(" ", text).split()
    if words and words[0] == "the":
        words = words[1:]
    while len(words) > 1 and words[-1] in _SUFFIXES:
        words.pop()
    return " ".join(words)[:160]


# What a likely duplicate by name is called: "same name" only when the two names are one under a light fold
# (:func:`fold_name`: case, punctuation and accents aside), else "similar name" (they match only once
# :func:`normalize_name` drops a leading "the", legal suffixes or turns "&" into "and": "Harbor Logistics Inc" is not
# the same name as "Harbor Logistics"). The one definition the import popup, Map customers and imports' messages use.
SAME_NAME, SIMILAR_NAME = "same name", "similar name"
_FOLD_WORD = re.compile(r"[a-z0-9]+|&")


def fold_name(name: str) -> str:
    """A name with case, accents and punctuation aside, but every word kept ("Inc", "The", "&")."""
    text = name or ""
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(_FOLD_WORD.findall(text.lower()))


def name_likeness(one: str, other: str) -> str:
    """:data:`SAME_NAME` when ``one`` and ``other`` are one name under :func:`fold_name`, else :data:`SIMILAR_NAME`
    (for two names :func:`normalize_name` makes one)."""
    return SAME_NAME if fold_name(one) == fold_name(other) else SIMILAR_NAME


# The letters a name may hold accented (Windows-1252's precomposed letters: "é", "ü", "ç", "ñ", "š"…), by the letter
# :func:`normalize_name` makes of each: the one definition the searches below spell a normalised letter with.
ACCENTED_FORMS = {"a": "àáâãäå", "c": "ç", "e": "èéêë", "i": "ìíîï", "n": "ñ", "o": "òóôõö", "s": "š", "u": "ùúûü",
                  "y": "ýÿ", "z": "ž"}
# Not a letter or digit: a word's edge in a ConnectWise ``like`` pattern (ConnectWise, like SQL Server, compares case
# aside, so a-z covers A-Z).
CW_EDGE = "[^a-z0-9]"
_LONGEST = 160  # normalize_name keeps this much: a longer name's last word may be cut, its end is left open


def _cw_letter(c: str, vowels: bool) -> str:
    """A normalised letter as a ConnectWise ``like`` pattern asks for it, since ConnectWise compares text
    accent-sensitively ("Zürich" is not "Zurich"): the class of its forms; a vowel as ``_`` (any one character) unless
    ``vowels``, as its class is long (a request carrying many names is short of room)."""
    if c not in ACCENTED_FORMS:
        return c
    return "_" if c in "aeiou" and not vowels else f"[{c}{ACCENTED_FORMS[c]}]"


def _words(name: str) -> list[str]:
    """The normalised words of ``name`` (:func:`normalize_name`) a search asks for: "and" is any text between."""
    return [w for w in normalize_name(name).split() if w != "and"]


def name_patterns(name: str) -> list[str]:
    """``like`` patterns that every name normalising as ``name`` matches in ConnectWise (the likely-duplicate rule,
    :func:`normalize_name`), and few others: the normalised words in order, each a whole word (at the start or after a
    character that is no letter or digit, and at the end or before one), any text between them ("&", "and",
    punctuation); a letter ConnectWise may hold accented in any of its forms (:data:`ACCENTED_FORMS`, a vowel as
    ``_``); a leading "the" and legal suffixes fit the open start and end. Four patterns (the name at the start or
    not, at the end or not). Only ``a-z``, ``0-9``, the accented letters and the patterns' own wildcards and classes:
    nothing of the user's text reaches the condition."""
    key = normalize_name(name)
    words = _words(name)
    if not words:
        return []
    body = (CW_EDGE + "%").join("".join(_cw_letter(c, False) for c in w) for w in words)
    ends = ["", CW_EDGE + "%"] if len(key) < _LONGEST else ["%"]
    return [start + body + end for start in ("", "%" + CW_EDGE) for end in ends]


def name_search_pattern(text: str, *, vowels: bool = True) -> str | None:
    """A ``like`` pattern for the ConnectWise names that hold what a person typed, accents, case and punctuation
    aside, as :func:`name_search_regex` finds them ("celeste" finds "Céleste Boutique", "Harbor Logistics, Inc."
    finds "Harbor Logistics Inc"): the normalised words in order, anywhere in the name, a word's end open (a word
    still being typed), something neither letter nor digit between two words. ``vowels`` False: a vowel as ``_``, for
    a pattern short of room (ConnectWise then answers a few more names, which :func:`name_search_regex` tells apart).
    None when the text has no word to find. Only ``a-z``, ``0-9``, accented letters, wildcards and classes."""
    words = _words(text)
    if not words:
        return None
    return "%" + (CW_EDGE + "%").join("".join(_cw_letter(c, vowels) for c in w) for w in words) + "%"


def name_search_regex(text: str) -> str | None:
    """The regular expression (Python's, PostgreSQL's and SQLite's REGEXP alike) that finds the names holding what a
    person typed as :func:`name_search_pattern` does, whatever the database's case rules: each letter as the class of
    its forms in both cases ("[eEèéêëÈÉÊË]"), something neither letter nor digit then anything between two words.
    None when the text has no word to find. Only letters, digits, classes and ``.*``: nothing typed is in it."""
    words = _words(text)
    if not words:
        return None

    def letter(c: str) -> str:
        forms = c + ACCENTED_FORMS.get(c, "")
        return f"[{forms}{forms.upper()}]" if c.isalpha() else c

    return "[^a-zA-Z0-9].*".join("".join(letter(c) for c in w) for w in words)


def normalize_phone(phone: str) -> str:
    """The last ten digits (a leading country code 1 dropped); "" when too short to compare."""
    digits = _NOT_DIGIT.sub("", phone or "")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits[-10:] if len(digits) >= 7 else ""


def person_name_key(first: str | None, last: str | None) -> str:
    """A contact's first and last name as :class:`SamePerson` compares them: case, accents, apostrophe style and
    extra spaces aside ("María  García" and "maria garcia", "O’Brien" and "O'Brien" are the same); "" without a
    name. Compared in Python only, never put into a ConnectWise condition."""
    text = f"{first or ''} {last or ''}".replace("\u2019", "'").replace("\u2018", "'")
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(text.casefold().split())


class SamePerson:
    """The one rule for "the same person within one company", which the import (company_import: which host contact
    a ConnectWise contact without a link updates; the popup's preview, lookup) and the customer export (contact_export:
    which ConnectWise contact a host contact without a link is linked to) both use, each with the other side's contacts
    not linked yet as the candidates:

    * both have an e-mail: the same person when the e-mails are the same, case aside (two e-mails that differ are two
      people, whatever their names);
    * one of them has no e-mail: the same person when the first and last names are the same, compared by
      :func:`person_name_key` (case and accents aside);
    * an e-mail match comes first; a candidate counts only when it is the only one not taken yet (by an earlier
      contact of the company, in the order given) that matches: two candidates matching, or none, is no match, and
      the contact is created.
    """

    def __init__(self, candidates: Iterable[tuple[int, str | None, str | None, str | None]]) -> None:
        """``candidates``: (id, first name, last name, e-mail) of the other side's contacts not linked yet."""
        self._by_email: dict[str, list[int]] = defaultdict(list)
        self._by_name: dict[str, list[int]] = defaultdict(list)  # every candidate's name
        self._has_email: set[int] = set()
        for cid, first, last, email in candidates:
            if email:
                self._by_email[email.casefold()].append(cid)
                self._has_email.add(cid)
            key = person_name_key(first, last)
            if key:
                self._by_name[key].append(cid)
        self._taken: set[int] = set()

    def match(self, first: str | None, last: str | None, email: str | None) -> int | None:
        """The candidate that is the same person as this contact (None: none, or more than one)."""
        if email:
            found = [c for c in self._by_email.get(email.casefold(), ()) if c not in self._taken]
            if found:
                return found[0] if len(found) == 1 else None
        key = person_name_key(first, last)
        found = [c for c in self._by_name.get(key, ()) if c not in self._taken
                 and not (email and c in self._has_email)] if key else []
        return found[0] if len(found) == 1 else None

    def take(self, cid: int) -> None:
        """``cid`` is matched to a contact (or linked already): no other one matches it."""
        self._taken.add(cid)


@dataclass
class ScanResult:
    total: int = 0
    auto_linked: int = 0
    already_linked: int = 0
    unmatched: int = 0
    conflicts: list[str] = field(default_factory=list)


def _customer_links(session: Session) -> tuple[dict[int, int], dict[int, int]]:
    rows = session.execute(select(Link.host_id, Link.cw_id).where(Link.entity == CUSTOMER)).all()
    return {h: c for h, c in rows}, {c: h for h, c in rows}


def _company_named(session: Session, cw_id: int) -> str:
    """A linked ConnectWise company as people know it: its Company ID and name ("GEN000310 (Harbor Logistics)"),
    from its link and the last scan; the Company ID alone when the scan does not hold it."""
    identifier = session.execute(select(Link.cw_identifier).where(Link.entity == CUSTOMER, Link.cw_id == cw_id)
                                 .limit(1)).scalar() or ""
    name = session.execute(select(CompanyScan.name).where(CompanyScan.cw_id == cw_id)).scalar() or ""
    if not identifier:
        identifier = session.execute(select(CompanyScan.identifier).where(CompanyScan.cw_id == cw_id)).scalar() or ""
    if not identifier:
        return f"with ConnectWise record id {cw_id}"
    return f"{identifier} ({name})" if name else identifier


# Said of a company the scan did not link by Company ID = account number because the customer (or the company) was
# being written by another (scan's ``take_turns``).
SCAN_BUSY = ("{company}: not linked to ChannelOnline customer {customer} by its account number: the customer was being "
             "exported to ConnectWise, or the company imported or linked, as the companies were read. Read ConnectWise's "
             "companies again once that has finished: it is linked then if neither is linked by that time.")
# Said of a company the scan did not link because the customer or the company was linked since the scan read the links.
SCAN_LINKED_MEANWHILE = ("{company}: not linked to ChannelOnline customer {customer} by its account number: {which} was "
                         "linked {how} while the companies were read (see that customer's page).")


def scan(session: Session, client: ConnectWiseClient, actor: str,
         take_turns: Callable[[Mapping[int, int]], set[int]] | None = None) -> ScanResult:
    """Read every company (all pages), replace the stored scan and link matches by identifier.

    ``take_turns(pairs)`` (customer id -> company id): takes the locks an export of each customer and an import of each
    company hold while they read and write their links, without waiting (held until the caller commits), and answers
    the customers it could not have (sync/shared/link_locks.links_tried): those are not linked, and the others' links
    are read again under the locks, so a link an export, import or person made since the scan read them is left as it
    is. Flushes; the caller commits. Raises the client's ConnectWiseError when ConnectWise fails, leaving the previous
    scan as it was.
    """
    rows = []
    now = utcnow()
    for c in client.companies.iterate(fields=["id", "identifier", "name", "phoneNumber", "city", "deletedFlag"]):
        if c.get("deletedFlag"):
            continue
        name, phone = str(c.get("name") or ""), str(c.get("phoneNumber") or "")
        rows.append({"cw_id": c["id"], "identifier": str(c.get("identifier") or "")[:160], "name": name[:160],
                     "phone": phone[:40], "city": str(c.get("city") or "")[:60], "norm_name": normalize_name(name),
                     "norm_phone": normalize_phone(phone), "scanned_at": now})
    lock_settings(session)  # one scan at a time across processes
    session.execute(delete(CompanyScan))
    for i in range(0, len(rows), BATCH):
        session.execute(insert(CompanyScan), rows[i:i + BATCH])

    result = ScanResult(total=len(rows))
    by_account = dict(session.execute(select(Customer.account_number, Customer.id)).all())
    host_to_cw, cw_to_host = _customer_links(session)
    new_links = []
    for r in rows:
        if r["cw_id"] in cw_to_host:
            result.already_linked += 1
            continue
        host_id = by_account.get(r["identifier"])
        if host_id is None:
            result.unmatched += 1
            continue
        if host_id in host_to_cw:
            result.unmatched += 1
            result.conflicts.append(f"{r['identifier']} ({r['name']}): the ChannelOnline customer with this account number is "
                                    f"already linked to ConnectWise company "
                                    f"{_company_named(session, host_to_cw[host_id])}.")
            continue
        host_to_cw[host_id] = r["cw_id"]
        cw_to_host[r["cw_id"]] = host_id
        new_links.append({"entity": CUSTOMER, "host_id": host_id, "cw_id": r["cw_id"], "cw_identifier": r["identifier"],
                          "fingerprint": "", "cw_last_updated": "", "status": "ok", "linked_at": now,
                          "synced_at": now - _NOT_SYNCED_YET})
    if take_turns is not None and new_links:
        new_links = _taking_turns(session, new_links, take_turns, result,
                                  {r["cw_id"]: f"{r['identifier']} ({r['name']})" for r in rows})
    for i in range(0, len(new_links), BATCH):
        session.execute(insert(Link), new_links[i:i + BATCH])
    result.auto_linked = len(new_links)
    session.add(ConfigChange(actor=actor, area="customer mapping",
                             summary=f"Scanned {result.total} ConnectWise companies; linked {result.auto_linked} by "
                                     f"account number; {result.unmatched} left to map"))
    session.flush()
    return result


# What to do about a row whose company or customer is linked already (linked since Map customers was read, by an
# export, an import, the scan or another person): said after the row's message (_checked).
ALREADY_LINKED_FIX = ("Reload Map customers to see what is left to map; to link them otherwise, clear the customer's "
                      "link on its page first.")


def _taking_turns(session: Session, new_links: list[dict], take_turns: Callable[[Mapping[int, int]], set[int]],
                  result: ScanResult, labels: Mapping[int, str]) -> list[dict]:
    """The links of ``new_links`` still to make once their customers' and companies' locks are held: the scan read the
    links without them, so an export of a customer linking it to the company it found or created, an import of a
    company, or a person's link may have come in between. A link made then would fail the export's save of its own
    (leaving a company it had just created linked to nothing) or be written over; one made since is left as it is. The
    others are counted unmatched, each with a conflict saying why and what to do."""
    busy = take_turns({row["host_id"]: row["cw_id"] for row in new_links})
    hosts, companies = [row["host_id"] for row in new_links], [row["cw_id"] for row in new_links]
    now_host: dict[int, int] = {}
    now_cw: dict[int, int] = {}
    for i in range(0, len(new_links), BATCH):  # read again under the locks
        for host_id, cw_id in session.execute(select(Link.host_id, Link.cw_id).where(
                Link.entity == CUSTOMER,
                or_(Link.host_id.in_(hosts[i:i + BATCH]), Link.cw_id.in_(companies[i:i + BATCH])))):
            now_host[host_id], now_cw[cw_id] = cw_id, host_id
    left = [row for row in new_links if row["host_id"] in busy or row["host_id"] in now_host or row["cw_id"] in now_cw]
    if not left:
        return new_links
    names = {c.id: f"{c.name} ({c.account_number})" for c in session.execute(
        select(Customer.id, Customer.name, Customer.account_number)
        .where(Customer.id.in_([row["host_id"] for row in left])))}
    keep = []
    for row in new_links:
        host_id, cw_id = row["host_id"], row["cw_id"]
        company = labels.get(cw_id) or row["cw_identifier"]
        customer = names.get(host_id, f"#{host_id}")
        if now_host.get(host_id) == cw_id:  # linked to this company meanwhile: as the scan would have
            result.already_linked += 1
            continue
        if host_id in busy:
            result.conflicts.append(SCAN_BUSY.format(company=company, customer=customer))
        elif host_id in now_host:
            result.conflicts.append(SCAN_LINKED_MEANWHILE.format(
                company=company, customer=customer, which="the customer",
                how=f"to ConnectWise company {_company_named(session, now_host[host_id])}"))
        elif cw_id in now_cw:
            other = names.get(now_cw[cw_id]) or session.execute(
                select(Customer.name).where(Customer.id == now_cw[cw_id])).scalar() or f"#{now_cw[cw_id]}"
            result.conflicts.append(SCAN_LINKED_MEANWHILE.format(
                company=company, customer=customer, which="the company", how=f"to ChannelOnline customer {other}"))
        else:
            keep.append(row)
            continue
        result.unmatched += 1
    return keep


def last_scan_at(session: Session):
    """When the stored scan was taken (None: never)."""
    return session.execute(select(func.max(CompanyScan.scanned_at))).scalar()


def unmatched_query(search: str = ""):
    """Scanned companies not linked to any host customer, by name (a select for pagination)."""
    linked = select(Link.cw_id).where(Link.entity == CUSTOMER)
    q = select(CompanyScan).where(CompanyScan.cw_id.not_in(linked))
    if search.strip():
        term = search.strip().lower()
        q = q.where(func.lower(CompanyScan.name).contains(term, autoescape=True)
                    | func.lower(CompanyScan.identifier).contains(term, autoescape=True))
    return q.order_by(CompanyScan.name, CompanyScan.cw_id)


def linked_count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Link).where(Link.entity == CUSTOMER)).scalar_one()


def unlinked_customers(session: Session) -> int:
    """Host customers linked to no ConnectWise company: what a company could still be mapped to (none: the page
    has nothing to save)."""
    linked = select(Link.host_id).where(Link.entity == CUSTOMER)
    return session.execute(select(func.count()).select_from(Customer).where(Customer.id.not_in(linked))).scalar_one()


@dataclass(frozen=True)
class FullImport:
    """The last import of all companies, as the Map customers page tells it (without a scan of its own)."""

    run_id: int
    finished_at: object
    read: int  # the companies it counted in ConnectWise
    not_linked: int  # companies it skipped or failed (likely duplicates of an existing customer among them)


def last_full_import(session: Session, kind: str) -> FullImport | None:
    """The last finished (succeeded or partial) run of ``kind`` (the customer import) that imported all companies.

    The import does not keep the scan the table of companies to map is made from: reading every company again
    for it is the scan (one pass), which the page offers."""
    rows = session.execute(
        select(SyncRun.id, SyncRun.finished_at, SyncRun.total, SyncRun.params, SyncRun.entity_counts)
        .where(SyncRun.kind == kind, SyncRun.status.in_(("succeeded", "partial")), SyncRun.finished_at.is_not(None))
        .order_by(SyncRun.finished_at.desc()).limit(200))
    for run_id, finished_at, total, params, entity_counts in rows:
        if (params or {}).get("mode") == "all":
            counts = (entity_counts or {}).get(CUSTOMER) or {}
            return FullImport(run_id, finished_at, total or 0, int(counts.get("skipped", 0)) +
                              int(counts.get("failed", 0)))
    return None


@dataclass
class HostCustomer:
    id: int
    name: str
    account_number: str
    phone: str
    city: str
    linked_to: str | None = None  # the ConnectWise Company ID it is already linked to, if any

    @property
    def label(self) -> str:
        return f"{self.name} ({self.account_number})"


def _host_customers(session: Session) -> list[HostCustomer]:
    rows = session.execute(
        select(Customer.id, Customer.name, Customer.account_number, Customer.phone, Customer.city, Link.cw_identifier)
        .outerjoin(Link, (Link.entity == CUSTOMER) & (Link.host_id == Customer.id)))
    return [HostCustomer(*r[:5], linked_to=(r[5] or "?") if r[5] is not None else None) for r in rows]


@dataclass
class RowHints:
    """What the page says next to one unmatched company."""

    cw_duplicates: list[CompanyScan] = field(default_factory=list)
    host_matches: list[HostCustomer] = field(default_factory=list)


def hints_for(session: Session, rows: Iterable[CompanyScan]) -> dict[int, RowHints]:
    """For each company: other ConnectWise companies and host customers with the same normalised name or phone."""
    rows = list(rows)
    names = {r.norm_name for r in rows if r.norm_name}
    phones = {r.norm_phone for r in rows if r.norm_phone}
    others = session.execute(select(CompanyScan).where(CompanyScan.norm_name.in_(names)
                                                       | CompanyScan.norm_phone.in_(phones))).scalars().all() \
        if (names or phones) else []
    host_by_name, host_by_phone = defaultdict(list), defaultdict(list)
    for h in _host_customers(session):
        host_by_name[normalize_name(h.name)].append(h)
        if p := normalize_phone(h.phone):
            host_by_phone[p].append(h)
    out = {}
    for r in rows:
        hint = RowHints()
        hint.cw_duplicates = [o for o in others if o.cw_id != r.cw_id and (
            (r.norm_name and o.norm_name == r.norm_name) or (r.norm_phone and o.norm_phone == r.norm_phone))]
        seen = set()
        for h in host_by_name.get(r.norm_name, []) + host_by_phone.get(r.norm_phone, []):
            if h.id not in seen and (r.norm_name or r.norm_phone):
                seen.add(h.id)
                hint.host_matches.append(h)
        out[r.cw_id] = hint
    return out


class Groups(list):
    """The groups of likely duplicates shown (at most the limit asked for) and how many more there are
    (``more``), so the page says so rather than stop without a word."""

    def __init__(self, shown: Iterable = (), more: int = 0):
        super().__init__(shown)
        self.more = more


def host_duplicate_groups(session: Session, limit: int = 50) -> Groups:
    """Groups of host customers that look like the same company (same normalised name or phone)."""
    groups: dict[tuple[str, str], list[HostCustomer]] = defaultdict(list)
    for h in _host_customers(session):
        if n := normalize_name(h.name):
            groups[("name", n)].append(h)
        if p := normalize_phone(h.phone):
            groups[("phone", p)].append(h)
    found, seen = [], set()
    for group in groups.values():
        key = frozenset(h.id for h in group)
        if len(group) > 1 and key not in seen:
            seen.add(key)
            found.append(sorted(group, key=lambda h: h.name.lower()))
    found.sort(key=lambda g: g[0].name.lower())
    return Groups(found[:limit], max(0, len(found) - limit))


def cw_duplicate_groups(session: Session, limit: int = 50) -> Groups:
    """Groups of scanned ConnectWise companies with the same normalised name or phone: same name first, then
    same phone, each by its first company's name. Only the companies of a group are read (one query)."""
    keys = {column: select(column).where(column != "").group_by(column).having(func.count() > 1)
            for column in (CompanyScan.norm_name, CompanyScan.norm_phone)}
    rows = session.execute(select(CompanyScan).where(CompanyScan.norm_name.in_(keys[CompanyScan.norm_name])
                                                     | CompanyScan.norm_phone.in_(keys[CompanyScan.norm_phone]))
                           .order_by(CompanyScan.name, CompanyScan.cw_id)).scalars().all()
    found, seen = [], set()
    for attr in ("norm_name", "norm_phone"):
        groups: dict[str, list[CompanyScan]] = defaultdict(list)
        for r in rows:
            if value := getattr(r, attr):
                groups[value].append(r)
        for group in sorted((g for g in groups.values() if len(g) > 1), key=lambda g: (g[0].name, g[0].cw_id)):
            ids = frozenset(g.cw_id for g in group)
            if ids not in seen:
                seen.add(ids)
                found.append(group)
    return Groups(found[:limit], max(0, len(found) - limit))


def search_customers(session: Session, query: str, limit: int = 15) -> list[dict]:
    """Host customers whose name or account number contains ``query`` (for the type-ahead): a name holding the words
    typed whatever its accents, case and punctuation (:func:`name_search_regex`: "Céleste" finds "Celeste Boutique",
    "harbor logistics inc" finds "Harbor Logistics, Inc."), or the text as typed; those starting with it first."""
    text = (query or "").strip()[:100]
    term = text.lower()
    if len(term) < 2:
        return []
    regex = name_search_regex(text)
    named = func.lower(Customer.name).contains(term, autoescape=True)
    first = func.lower(Customer.name).startswith(term, autoescape=True)
    if regex:  # (REGEXP on SQLite is SQLAlchemy's Python function; ~ on PostgreSQL)
        named = named | Customer.name.regexp_match(regex)
        first = first | Customer.name.regexp_match("^" + regex)
    linked = select(Link.host_id).where(Link.entity == CUSTOMER)
    rows = session.execute(
        select(Customer.id, Customer.name, Customer.account_number, Customer.city, Customer.id.in_(linked))
        .where(named | func.lower(Customer.account_number).contains(term, autoescape=True))
        .order_by(case((first, 0), else_=1), Customer.name)
        .limit(max(1, min(limit, 50)))).all()
    return [{"id": r[0], "name": r[1], "account_number": r[2], "city": r[3], "linked": bool(r[4])} for r in rows]


def customer_typed(session: Session, text: str) -> int:
    """The host customer a person typed without picking a suggestion (or without JavaScript): the one whose
    account number, else whose name, is ``text`` but for case. Raises ``LookupError`` saying why none is."""
    term = text.strip().lower()
    for column in (Customer.account_number, Customer.name):
        ids = session.execute(select(Customer.id).where(func.lower(column) == term).limit(2)).scalars().all()
        if len(ids) == 1:
            return ids[0]
        if ids:
            raise LookupError(f"Several ChannelOnline customers are named “{text.strip()}”: choose one from the "
                              "suggestions, or type its account number.")
    raise LookupError(f"No ChannelOnline customer has the name or account number “{text.strip()}”: choose one "
                      "from the suggestions.")


def check_customer_mappings(session: Session, choices: Mapping[int, int]) -> dict[int, int]:
    """The companies (ConnectWise id) → customers (host id) that :func:`save_customer_mappings` would link, or
    :class:`FieldErrors` saying per row why not; nothing is written (the save checks again under its lock)."""
    chosen, _, _ = _checked(session, choices)
    return {cw_id: host_id for host_id, cw_id in chosen.items()}


@dataclass
class MappingsSaved:
    """What :func:`save_customer_mappings` did: how many companies it linked, and the rows it refused because
    their company was deleted in ConnectWise (or is gone) since the companies were read (field key → message)."""

    linked: int = 0
    refused: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LinkAgreement:
    """What a link Map customers makes agrees on, given by the caller (the rule is the sync's, which setup may not
    import: the view passes the scan's own, sync.customers.links.scan_agreement): ``fields``, the company's fields
    the rule reads (asked for in the save's one read of the companies); ``values(customer, record)``, the agreed
    values of the customer and the company as ConnectWise has it then."""

    fields: Sequence[str]
    values: Callable[[Customer, dict], dict]


def save_customer_mappings(session: Session, choices: Mapping[int, int], actor: str,
                           client: ConnectWiseClient, agreement: LinkAgreement | None = None) -> MappingsSaved:
    """Link each scanned company (ConnectWise id) to the chosen host customer id.

    A row the table cannot link (:func:`_checked`) raises :class:`FieldErrors` and nothing is saved. The companies
    to link are then read from ConnectWise (one request, by id): the scan may be old, and one deleted there (or gone)
    since is not linked but refused with what to do, while the others are. Each link agrees on
    ``agreement.values`` of the customer and the company as that read found it (the values both held equal, as the
    scan's links do), so a rep's edit made after the link is told from ConnectWise's change; without ``agreement`` it
    agrees on nothing (every differing field then has no earlier agreement). Raises the client's ConnectWiseError
    when ConnectWise cannot be read (nothing saved). Flushes; the caller commits."""
    chosen, _, _ = _checked(session, choices)  # a row at fault refuses the save before ConnectWise is asked
    alive = _companies_in_connectwise(client, list(chosen.values()), agreement.fields if agreement else ())
    lock_settings(session)  # checked again under the lock: another save may have linked a row meanwhile
    chosen, scanned, customers = _checked(session, choices)
    result = MappingsSaved()
    linked: dict[int, int] = {}
    for host_id, cw_id in chosen.items():
        company = scanned[cw_id]
        record = alive.get(cw_id)
        if record is None or record.get("deletedFlag"):
            happened = "was deleted in ConnectWise" if record is not None else "no longer exists in ConnectWise"
            result.refused[f"map-{cw_id}"] = (
                f"{company.identifier} ({company.name}) {happened} after ConnectWise's companies were read, so it "
                "was not linked: click “Read ConnectWise's companies again” and map the companies then listed.")
            continue
        linked[host_id] = cw_id
        customer = customers[host_id]
        link = set_link(session, CUSTOMER, host_id, cw_id, cw_identifier=scanned[cw_id].identifier,
                        values=agreement.values(customer, record) if agreement is not None else None)
        link.synced_at = link.linked_at - _NOT_SYNCED_YET
        session.add(SyncItem(run_id=None, entity=CUSTOMER, direction=MAP_DIRECTION, host_id=host_id, cw_id=cw_id,
                             label=f"{customer.name} ({customer.account_number})"[:300], action="linked",
                             message=f"Linked to ConnectWise company {company.identifier} ({company.name}) on Map "
                                     f"customers. Export to update it.{f' (by {actor})' if actor else ''}",
                             at=link.linked_at))
    if linked:
        session.add(ConfigChange(actor=actor, area="customer mapping", summary="Linked " + "; ".join(
            f"{customers[h].name} ↔ {scanned[c].identifier}" for h, c in linked.items())[:3990]))
    session.flush()
    result.linked = len(linked)
    return result


def _companies_in_connectwise(client: ConnectWiseClient, cw_ids: list[int],
                              more: Sequence[str] = ()) -> dict[int, dict]:
    """The companies of ``cw_ids`` as ConnectWise has them now (deleted ones with ``deletedFlag``), by id, read in
    one request (``id in (…)``) with the fields ``more`` too; an id missing from the answer no longer exists there."""
    if not cw_ids:
        return {}
    fields = list(dict.fromkeys(["id", "deletedFlag", *more]))
    return {int(r["id"]): r for r in client.companies.iterate_in("id", cw_ids, fields=fields)}


def _checked(session: Session, choices: Mapping[int, int]) -> tuple[dict[int, int], dict, dict]:
    """The chosen links (host id → ConnectWise id), the scanned companies and customers they name; raises
    :class:`FieldErrors` when a row cannot be linked."""
    errors: dict[str, str] = {}
    scanned = {r.cw_id: r for r in session.execute(select(CompanyScan).where(
        CompanyScan.cw_id.in_(list(choices)))).scalars()} if choices else {}
    customers = {c.id: c for c in session.execute(select(Customer).where(
        Customer.id.in_(list(choices.values())))).scalars()} if choices else {}
    host_to_cw, cw_to_host = _customer_links(session)
    chosen: dict[int, int] = {}
    for cw_id, host_id in choices.items():
        key = f"map-{cw_id}"
        company, customer = scanned.get(cw_id), customers.get(host_id)
        if company is None:
            errors[key] = "This company is not in the last scan; run Import / map customers again."
        elif cw_id in cw_to_host:
            # Linked since the page was read (an export, an import, the scan or another person): the table no longer
            # lists it. Named, with the customer it is linked to, so the admin can tell which one to open.
            other = session.execute(select(Customer.name, Customer.account_number)
                                    .where(Customer.id == cw_to_host[cw_id])).first()
            named = f"{other.name} ({other.account_number})" if other is not None else "another customer"
            errors[key] = (f"{company.identifier} ({company.name}) was not linked: it is already linked to "
                           f"ChannelOnline customer {named}. {ALREADY_LINKED_FIX}")
        elif customer is None:
            errors[key] = f"Choose a ChannelOnline customer for {company.name} from the suggestions."
        elif host_id in host_to_cw:
            errors[key] = (f"{customer.name} is already linked to ConnectWise company "
                           f"{_company_named(session, host_to_cw[host_id])}. {ALREADY_LINKED_FIX}")
        elif host_id in chosen:
            errors[key] = f"{customer.name} is chosen for two companies; a customer can be linked to one company."
        else:
            chosen[host_id] = cw_id
    if errors:
        raise FieldErrors(errors)
    return chosen, scanned, customers


class LookAlike(NamedTuple):
    """A host customer a company looks like (:class:`LikelyDuplicates`): its id and how messages name it;
    ``linked_to``, for a customer an import is about to create (id 0), the ConnectWise company it is created from
    and linked to, as messages name it ("CW0004 (Northwind Dental)")."""

    id: int
    label: str
    linked_to: str = ""
    name: str = ""  # the customer's name as it is (the label's), to tell "same name" from "similar name"


class _KeyIndex:
    """Normalised keys (names or phones) to the first customer id given for each, in about 16 bytes a key: a sorted
    array of the keys' hashes beside their ids, and the keys given since the last merge in a dict. A bulk import keeps
    every customer here, so a key is not kept as text (a 40,000-company import held 18 MB as dicts of rows). Two keys
    of one hash are one: :meth:`LikelyDuplicates.match` checks a customer found against the key asked."""

    MERGE_AT = 4096

    def __init__(self) -> None:
        self._hashes, self._ids = array("q"), array("q")
        self._recent: dict[int, int] = {}

    def get(self, key: str) -> int | None:
        return self._get(hash(key))

    def _get(self, h: int) -> int | None:
        found = self._recent.get(h)
        if found is None and self._hashes:
            i = bisect_left(self._hashes, h)
            if i < len(self._hashes) and self._hashes[i] == h:
                found = self._ids[i]
        return found

    def put(self, key: str, customer_id: int, *, merge: bool = True) -> None:
        """``customer_id`` for ``key``, unless a customer was given for it before (that one stays). ``merge`` False:
        the caller gives many and calls :meth:`merge` after them (one merge, not one each :data:`MERGE_AT`)."""
        h = hash(key)
        if self._get(h) is not None:
            return
        self._recent[h] = customer_id
        if merge and len(self._recent) >= self.MERGE_AT:
            self.merge()

    def merge(self) -> None:
        """The keys given since the last merge into the sorted arrays: each recent key's place found by bisection, the
        old arrays copied between them slice by slice (C copies, and nothing held beside the two new arrays). A bulk
        import merges every :data:`MERGE_AT` customers, each merge as long as the index: merged pair by pair in
        Python, a 40,000-company import's likely duplicates took about a third of a second more than four times a
        10,000-company one's."""
        recent = sorted(self._recent.items())
        if not self._hashes:
            self._hashes, self._ids = array("q", [h for h, _ in recent]), array("q", [i for _, i in recent])
        elif recent:
            old_hashes, old_ids = self._hashes, self._ids
            hashes, ids = array("q"), array("q")
            at = 0
            for h, i in recent:
                j = bisect_left(old_hashes, h, at)
                hashes += old_hashes[at:j]
                ids += old_ids[at:j]
                hashes.append(h)
                ids.append(i)
                at = j
            hashes += old_hashes[at:]
            ids += old_ids[at:]
            self._hashes, self._ids = hashes, ids
        self._recent = {}


class LikelyDuplicates:
    """Host customers by normalised name and phone, to tell whether a company about to become a new
    host customer looks like one that exists (the Map Customers page's "likely duplicate").

    With ``read_all`` (the default) every host customer is read and indexed at once: what a bulk import does (one
    narrowed query costs about half a full read of 10,000 customers, its phones' digits compared row by row, so an
    import meeting new companies on three pages or more would spend more). Without it the customers are read as
    companies are asked about (:meth:`expect`, or :meth:`match` on its own): on PostgreSQL only those that could
    look like them, so the import popup's check of one company reads a few rows, not every customer; elsewhere
    (SQLite), and for many companies at once (:data:`READ_ALL_AT`), all of them, once.

    Only the keys and ids are kept (:class:`_KeyIndex`): a match reads its customer by id, to name it. A customer an
    import is about to create (:meth:`add` with no id) is kept whole until the import says it was saved
    (:meth:`saved`), so a look-alike later on the same page is told apart too. The import asks by :meth:`look`,
    which also answers the keys :meth:`add` counts a new company by: each is normalised and looked up once."""

    READ_ALL_AT = 50  # companies asked about at once from which every customer is read instead

    def __init__(self, session: Session, *, unlinked_only: bool = False, read_all: bool = True):
        # ``unlinked_only``: only customers linked to no company (those a company could still be linked to).
        self._session, self._unlinked_only = session, unlinked_only
        self._names, self._phones = _KeyIndex(), _KeyIndex()
        self._unsaved: dict[tuple[str, str], LookAlike] = {}  # ("name" | "phone", key): customers about to be made
        self._complete = False
        self._asked: set[tuple[str, str]] = set()  # normalised (name, phone) already read for
        if read_all:
            self._read(None)

    def _read(self, where) -> None:
        query = select(Customer.id, Customer.name, Customer.phone)
        if self._unlinked_only:
            query = query.where(Customer.id.not_in(select(Link.host_id).where(Link.entity == CUSTOMER)))
        if where is None:
            self._complete = True
        else:
            query = query.where(where).order_by(Customer.id)
        names, phones = self._names, self._phones
        for customer_id, name, phone in self._session.execute(query):
            if n := normalize_name(name):
                names.put(n, customer_id, merge=False)
            if p := normalize_phone(phone):
                phones.put(p, customer_id, merge=False)
        names.merge()
        phones.merge()

    def expect(self, companies: Iterable[tuple[str, str]]) -> None:
        """Read now, in one query, the customers that could look like these companies (name, phone)."""
        if self._complete:
            return
        wanted = {(normalize_name(name), normalize_phone(phone)) for name, phone in companies} - self._asked
        wanted.discard(("", ""))
        if not wanted:
            return
        if len(wanted) >= self.READ_ALL_AT or self._session.get_bind().dialect.name != "postgresql":
            self._read(None)
            return
        self._read(_could_look_like(wanted))  # (None: every customer)
        self._asked |= wanted

    def add(self, customer: HostCustomer, new_keys: tuple | None = None) -> tuple:
        """Count ``customer``, about to be created (no id yet), among those a company may look like: kept whole, and
        the answer is what to give :meth:`saved` once it has its id. ``new_keys``: what :meth:`look` said of the
        same name and phone just before (its keys no customer has), so they are not normalised and looked up
        again (a first import adds every company it creates)."""
        entry = LookAlike(0, f"{customer.name} ({customer.account_number})", customer.linked_to or "",
                          customer.name or "")
        if new_keys is None:
            n, p = normalize_name(customer.name), normalize_phone(customer.phone)
            keys = [(kind, key) for kind, key, index in (("name", n, self._names), ("phone", p, self._phones))
                    if key and index.get(key) is None and (kind, key) not in self._unsaved]
        else:
            keys = [k for k in new_keys if k not in self._unsaved]
        for k in keys:
            self._unsaved[k] = entry
        return (entry, keys)

    def saved(self, added: tuple | None, customer_id: int) -> None:
        """The customer :meth:`add` kept whole was created as ``customer_id``: kept by its keys from now on."""
        if added is None:
            return
        entry, keys = added
        for kind, key in keys:
            if self._unsaved.get((kind, key)) is entry:
                del self._unsaved[(kind, key)]
                (self._names if kind == "name" else self._phones).put(key, customer_id)

    def match(self, name: str, phone: str) -> tuple[LookAlike, str] | None:
        """The host customer a company with this name and phone looks like, and why."""
        return self.look(name, phone)[0]

    def look(self, name: str, phone: str) -> tuple[tuple[LookAlike, str] | None, tuple]:
        """:meth:`match`'s answer, and, when it found none, the company's normalised keys that no customer has (for
        :meth:`add`, if the company is to be created: ``("name" | "phone", key)`` pairs)."""
        self.expect([(name, phone)])
        new_keys = []
        for why, kind, key, index, normal in (
                (SAME_NAME, "name", normalize_name(name), self._names, normalize_name),
                ("same phone number", "phone", normalize_phone(phone), self._phones, normalize_phone)):
            if not key:
                continue
            if (entry := self._unsaved.get((kind, key))) is not None:
                return (entry, name_likeness(name, entry.name) if kind == "name" else why), ()
            if (customer_id := index.get(key)) is not None:
                row = self._session.execute(select(Customer.name, Customer.account_number, Customer.phone)
                                            .where(Customer.id == customer_id)).first()
                # (None: deleted since it was read; another key of the same hash: not this one)
                if row is not None and normal(row[0] if kind == "name" else row[2]) == key:
                    return (LookAlike(customer_id, f"{row[0]} ({row[1]})", name=row[0] or ""),
                            name_likeness(name, row[0]) if kind == "name" else why), ()
                continue  # a key a customer holds (or held): not one to count a new customer by
            new_keys.append((kind, key))
        return None, tuple(new_keys)


def _could_look_like(wanted: set[tuple[str, str]]):
    """A PostgreSQL condition selecting every customer whose normalised name or phone could be one of ``wanted``
    (normalised pairs), and few others; None when it cannot be narrowed (read them all).

    A name: a customer's name normalises to ``n`` only if the words of ``n`` (letters and digits) are in its lower-cased
    name in the same order, but for "and" (an "&") and for names with other than ASCII (accents taken off): the other
    words are looked for in order. A phone: a customer's phone normalises to ``p`` only if its digits end with ``p``; a phone with
    other than ASCII (digits of other scripts) is taken too."""
    names, phones = set(), set()
    for name, phone in wanted:
        if name:
            words = [w for w in name.split() if w != "and"]
            if not words:
                return None
            names.add("%" + "%".join(words) + "%")  # only [a-z0-9]: nothing to escape
        if phone:
            phones.add("%" + phone)
    conds = []
    if names:
        conds += [func.lower(Customer.name).like(any_(bindparam(None, sorted(names), type_=ARRAY(String)))),
                  func.octet_length(Customer.name) != func.char_length(Customer.name)]
    if phones:
        digits = func.regexp_replace(Customer.phone, "[^0-9]", "", "g")
        conds += [digits.like(any_(bindparam(None, sorted(phones), type_=ARRAY(String)))),
                  func.octet_length(Customer.phone) != func.char_length(Customer.phone)]
    return or_(*conds)
