"""Host customer / contact ↔ ConnectWise company / contact, driven by the Appendix B rules.

Every conversion here iterates :data:`colcw_plugin.mapping.COMPANY` and
:data:`colcw_plugin.mapping.CONTACT`, the same definitions the Mapping page renders, so a rule
changed there changes the sync too. Pure functions over plain values: no database, no HTTP.

"Host values" are dicts keyed by the host attribute (``name``, ``work_phone``...). They are
what fingerprints are taken of and what an import writes back through the host's services.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from operator import gt, itemgetter
from typing import Any

from ...cw import places
from ...setup.field_mapping import COMPANY, CONTACT, FieldRule, MappingTable
from ...text import cw_length, cw_length_said
from .states import StateList

DEFAULT_SITE = "Main"  # the site ConnectWise creates with every company
ACTIVE, INACTIVE = "Active", "Inactive"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

Problem = tuple[str, str]  # (message, resolution)

COMPANY_FIELDS = ["id", "identifier", "name", "status", "addressLine1", "addressLine2", "city", "state", "zip",
                  "country", "phoneNumber", "faxNumber", "website", "site", "defaultContact", "deletedFlag",
                  "_info"]
CONTACT_FIELDS = ["id", "firstName", "lastName", "title", "company", "addressLine1", "addressLine2", "city",
                  "state", "zip", "communicationItems", "defaultFlag", "inactiveFlag", "_info"]


def _top(rule: FieldRule) -> str:
    return (rule.cw_path or "").split("/")[0]


def _text(value: Any) -> str:
    return str(value or "").strip()


def _ref_name(value: Any) -> str:
    if type(value) is dict:  # (a decoded page's reference: no ABC check, _text inlined for a name)
        name = value.get("name")
        return name.strip() if type(name) is str else _text(name)
    return _text(value.get("name")) if isinstance(value, Mapping) else ""


def last_updated(record: Mapping[str, Any]) -> str:
    info = record.get("_info") or {}
    value = info.get("lastUpdated")
    return value.strip() if type(value) is str else _text(value)  # (_text inlined: an import reads 35,000)


def cw_time(record: Mapping[str, Any], key: str) -> dt.datetime | None:
    """One of a ConnectWise record's ``_info`` times (``lastUpdated``, ``dateEntered``: ISO 8601, whole seconds,
    ``Z``) as a naive UTC datetime, as colcw stores times; None when it is missing or not a time."""
    text = _text((record.get("_info") or {}).get(key))
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.astimezone(dt.UTC).replace(tzinfo=None) if when.tzinfo is not None else when


def _plain(value: Any) -> Any:
    value = value.strip() if isinstance(value, str) else value
    return value if value not in ("", None) else None


def same(a: Any, b: Any) -> bool:
    """Equal as ConnectWise compares them: blank == null, references by name ignoring case; text without the spaces
    around it, as ChannelOnline saves text (a ConnectWise "  Li " is ChannelOnline's "Li": an export does not
    send the host's spelling of it back, as if a person had edited it)."""
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        return _ref_name(a).casefold() == _ref_name(b).casefold()
    return _plain(a) == _plain(b)


def changes(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``wanted`` whose value differs from ``current`` (the PATCH set)."""
    return {k: v for k, v in wanted.items() if not same(current.get(k), v)}


# --- companies ---------------------------------------------------------------------------------


def customer_values(customer: Any) -> dict[str, Any]:
    """The mapped host values of a customer (ORM object or snapshot-like object)."""
    out: dict[str, Any] = {}
    for rule in COMPANY.rules:
        if rule.host_attr is None:
            continue
        value = getattr(customer, rule.host_attr)
        out[rule.host_attr] = bool(value) if rule.kind == "status" else _text(value)
    return out


# What an import reads for each mapped host field, worked out once from the rules (a 10,000-company import
# maps 35,000 records): (host attribute, rule kind, the ConnectWise field or communication type it comes from), the
# kind as a small number, plain text (read as :func:`_text` reads it) 0: what the loops below test first for each
# field, instead of comparing kinds as words.
_PLAIN_TEXT, _STATUS, _SITE, _COUNTRY, _COMM, _DEFAULT = range(6)
_KINDS = {"status": _STATUS, "site": _SITE, "country": _COUNTRY, "comm": _COMM, "default": _DEFAULT}
_COMPANY_READS = tuple((r.host_attr, _KINDS.get(r.kind, _PLAIN_TEXT), _top(r))
                       for r in COMPANY.rules if r.host_attr is not None)
_CONTACT_READS = tuple((r.host_attr, _KINDS.get(r.kind, _PLAIN_TEXT),
                        (r.cw_path or "").casefold() if r.kind == "comm" else _top(r))
                       for r in CONTACT.rules if r.host_attr is not None)
_ACTIVE, _DEFAULT_SITE = ACTIVE.casefold(), DEFAULT_SITE.casefold()


def company_host_values(record: Mapping[str, Any]) -> dict[str, Any]:
    """A ConnectWise company as host customer values (import)."""
    out: dict[str, Any] = {}
    get = record.get
    for attr, kind, key in _COMPANY_READS:
        raw = get(key)
        if kind == _PLAIN_TEXT:  # (most fields: _text inlined for text, as ConnectWise sends it, and for none)
            out[attr] = raw.strip() if type(raw) is str else "" if raw is None else _text(raw)
        elif kind == _STATUS:
            out[attr] = _ref_name(raw).casefold() == _ACTIVE if raw else True
        elif kind == _SITE:
            name = _ref_name(raw)
            out[attr] = "" if name.casefold() == _DEFAULT_SITE else name
        elif kind == _COUNTRY:
            out[attr] = _ref_name(raw)
        else:
            out[attr] = _text(raw)
    return out


# In a customer link's agreement (``Link.synced_values``, beside the agreed values: no field is named so): the
# company's existing site an export took for the customer's Location Code instead of creating a second site at the
# same address (sync/customers/exporter.py ``_site``): {"code": "HQ", "site": "Main", "id": 42}. The company on that
# site holds the customer's Location Code, for the export, live updates and imports alike.
SITE_CHOICE = "colcw:site"
# Also beside the agreed values, on company and contact links: the versions of the ConnectWise record colcw's own
# writes produced (its lastUpdated and a fingerprint of the fields colcw reads; sync/shared/own_writes.py), so a
# callback for one of them is told for colcw's own write by what it holds, not by the member it names.
WRITTEN = "colcw:written"
# Also beside the agreed values, on company and contact links: the run (its id) whose export created the ConnectWise
# record (sync/customers/exporter.py, contact_export.py). A later pass or attempt of that run says the record
# "created", not "unchanged" or "linked to the existing"; and a company colcw created whose Location Code's site is
# not set yet (a cut-short export) gets that site as a new company does (made, or the one a failed try made), never
# an existing site at its address.
MADE = "colcw:made"
# A customer's address fields as a ConnectWise site holds them (the state and country apart: references).
SITE_ADDRESS = (("address1", "addressLine1"), ("address2", "addressLine2"), ("city", "city"), ("zip", "zip"))


def site_choice(agreement: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The site choice a customer link's agreement remembers (:data:`SITE_CHOICE`), or None."""
    choice = (agreement or {}).get(SITE_CHOICE)
    if isinstance(choice, Mapping) and _text(choice.get("code")) and _text(choice.get("site")):
        return dict(choice)
    return None


def made_in(agreement: Mapping[str, Any] | None) -> int | None:
    """The run whose export created a link's ConnectWise record, as its agreement remembers it (:data:`MADE`)."""
    run = (agreement or {}).get(MADE)
    return run if isinstance(run, int) and not isinstance(run, bool) else None


def with_site_choice(values: dict[str, Any] | None, agreement: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A new agreement ``values`` of a customer link keeping the site choice of its former one ``agreement``, the
    versions of the company colcw's own writes produced (:data:`WRITTEN`) and the run that created it (:data:`MADE`)."""
    choice = site_choice(agreement)
    written = (agreement or {}).get(WRITTEN)
    made = made_in(agreement)
    if values is None or (choice is None and not written and made is None):
        return values
    return {**values, **({SITE_CHOICE: choice} if choice is not None else {}),
            **({WRITTEN: list(written)} if written else {}), **({MADE: made} if made is not None else {})}


def site_code(name: str) -> str:
    """A ConnectWise site name as a host Location Code (the default site "Main" is a blank code)."""
    name = _text(name)
    return "" if name.casefold() == DEFAULT_SITE.casefold() else name


def same_site(a: Any, b: Any) -> bool:
    """Whether two Location Codes (a host's, an agreed one, ConnectWise's site read as a code) name the same site of
    the company: ignoring case, with the default site's "Main" the same as a blank code (ConnectWise's "Main" reads
    blank: :func:`site_code`)."""
    return site_code(_text(a)).casefold() == site_code(_text(b)).casefold()


def moved_off(site: Mapping[str, Any], agreement: Mapping[str, Any] | None, code: str) -> bool:
    """Whether the company's ``site`` (a ConnectWise site: ``id``, ``name``) is the one a customer's new Location Code
    ``code`` moves it off, by its link's ``agreement``: the site its former code names (an agreed "Main" is the
    default site "Main"), or the one an export took for its former code (:data:`SITE_CHOICE`). The export does not
    take such a site for the new code because it has the customer's address: a rep changing "Main" to "West Branch"
    moves the customer to another site. (A former blank code names no site.)"""
    choice = site_choice(agreement)
    if choice is not None and not same_site(choice["code"], code) \
            and (site.get("id") == choice.get("id") or _text(site.get("name")).casefold() == choice["site"].casefold()):
        return True
    former = _text((agreement or {}).get("location_code"))
    return bool(former) and not same_site(former, code) and _text(site.get("name")).casefold() == former.casefold()


def site_has_address(site: Mapping[str, Any], values: Mapping[str, Any], states: StateList | None) -> bool:
    """Whether a ConnectWise company site (``addressLine1``, ``stateReference``...) is at the address of the host
    ``values``, compared as the export compares a company's: text fields as written (spaces around them aside, a
    blank the same as none), the state by ConnectWise's identifier and the country by name, ignoring case. A site
    or a customer with no address at all is at no address."""
    pairs = [(_text(site.get(cw)), _text(values.get(attr))) for attr, cw in SITE_ADDRESS]
    state = _text(values.get("state"))
    state = (states.identifier(state) or state) if states is not None and state else state
    pairs.append((_text((site.get("stateReference") or {}).get("identifier")).casefold(), state.casefold()))
    pairs.append((_ref_name(site.get("country")).casefold(), _text(values.get("country")).casefold()))
    return any(mine for _, mine in pairs) and all(theirs == mine for theirs, mine in pairs)


def keep_default_site_name(values: dict[str, Any], current: Mapping[str, Any] | None,
                           agreement: Mapping[str, Any] | None = None) -> None:
    """Keep the host's "Main" when ConnectWise says the default site (imported as blank).

    Both mean the same site, so an import must not rewrite one into the other: a customer exported
    with location code "Main" would otherwise come back blank (and count as changed) on every import.

    Likewise the company's site an export took for the customer's Location Code because it has the customer's
    address (``agreement``: the link's, :data:`SITE_CHOICE`) holds that code: a customer on "HQ" whose company stayed
    on its site "Main" reads "HQ", neither changed nor differing.
    """
    code = _text((current or {}).get("location_code"))
    if not values.get("location_code") and code.casefold() == DEFAULT_SITE.casefold():
        values["location_code"] = code
        return
    choice = site_choice(agreement)
    if choice is not None and isinstance(values.get("location_code"), str) \
            and values["location_code"].casefold() == site_code(choice["site"]).casefold():
        values["location_code"] = _text(choice["code"])


def company_differences(host: Mapping[str, Any], record: Mapping[str, Any],
                        agreement: Mapping[str, Any] | None = None) -> list[tuple[FieldRule, Any, Any]]:
    """The mapped customer fields (:data:`COMPANY`'s rules, as the sync reads and writes them) whose values differ
    between a host customer (:func:`customer_values`) and a ConnectWise company: (rule, the customer's value, the
    company's), in the rules' order. What linking the two changes on one side or the other. ``agreement``: their
    link's, when they are linked (its site choice, :func:`keep_default_site_name`)."""
    theirs = company_host_values(record)
    keep_default_site_name(theirs, host, agreement)
    return [(rule, host.get(rule.host_attr), theirs[rule.host_attr]) for rule in COMPANY.rules
            if rule.host_attr in theirs and theirs[rule.host_attr] != host.get(rule.host_attr)]


def shown_value(value: Any) -> str:
    """A mapped value as a page shows it beside another: the Active flag as a word, a blank as "(blank)"."""
    if isinstance(value, bool):
        return "Active" if value else "Inactive"
    return str(value) if value not in ("", None) else "(blank)"


def company_payload(values: Mapping[str, Any], states: StateList) -> dict[str, Any]:
    """Host values as ConnectWise company fields (the site is handled apart: it is its own record)."""
    out: dict[str, Any] = {}
    for rule in COMPANY.rules:
        if rule.host_attr is None or rule.kind == "site":
            continue
        value = values.get(rule.host_attr)
        if rule.kind == "status":
            out[_top(rule)] = {"name": ACTIVE if value else INACTIVE}
        elif rule.kind == "state":
            out[_top(rule)] = states.identifier(value or "") or None
        elif rule.kind == "country":
            out[_top(rule)] = {"name": value} if value else None
        else:
            out[_top(rule)] = value or None
    return out


def company_current(record: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The ConnectWise company's values for the keys of ``wanted`` (compare with :func:`changes`)."""
    return {key: record.get(key) for key in wanted}


def _customer_who(values: Mapping[str, Any]) -> str:
    """A customer as its export's problems name it: as the run's other results do ("Granite Dental (DEMO00007)")."""
    name, number = values.get("name"), values.get("account_number")
    return f"{name} ({number})" if name and number else f"Customer {number or name or '(no number)'}"


def customer_length_problems(values: Mapping[str, Any]) -> list[Problem]:
    """The customer's mapped fields longer than ConnectWise holds, each with what to do: what its export refuses
    (:func:`customer_problems`) and what saving it in ChannelOnline's form warns of, in the same words."""
    return _too_long(COMPANY.rules, values, _customer_who(values))


def customer_problems(values: Mapping[str, Any], states: StateList | None) -> list[Problem]:
    """What stops a customer from being exported, each with what to do: what its export refuses, and what saving it
    in ChannelOnline's form warns of, in the same words. ``states`` None: without ConnectWise's state list (saving
    asks ConnectWise nothing), every rule but the state's, which only that list decides."""
    who = _customer_who(values)
    problems: list[Problem] = []
    if not values.get("name"):
        problems.append((f"{who} has no name; ConnectWise requires a company name.",
                         "Enter the customer's name in ChannelOnline and export again."))
    if not values.get("account_number"):
        problems.append((f"Customer {values.get('name')} has no account number; it becomes the ConnectWise "
                         "Company ID.", "Enter an account number in ChannelOnline and export again."))
    problems += customer_length_problems(values)
    state = states.problem(values.get("state") or "", who=who) if states is not None else None
    if state:
        problems.append(state)
    if not any(values.get(a) for a in ("address1", "address2", "city", "state", "zip", "country")):
        problems.append((f"{who} has no address; ConnectWise needs at least one of address, city, state, zip "
                         "or country.", "Enter the customer's address in ChannelOnline and export again."))
    return problems


def _too_long(rules: Iterable[FieldRule], values: Mapping[str, Any], who: str) -> list[Problem]:
    out = []
    for rule in rules:
        value = values.get(rule.host_attr) if rule.host_attr else None
        if rule.max_len and isinstance(value, str) and cw_length(value) > rule.max_len:
            out.append((f"{who}: {rule.host} is {cw_length_said(value)}; ConnectWise allows at most "
                        f"{rule.max_len}.", f"Shorten the {rule.host.lower()} in ChannelOnline and export again."))
    return out


# --- contacts ----------------------------------------------------------------------------------

COMM_RULES = tuple(r for r in CONTACT.rules if r.kind == "comm")


def contact_values(contact: Any) -> dict[str, Any]:
    """The mapped host values of a contact."""
    out: dict[str, Any] = {}
    for rule in CONTACT.rules:
        if rule.host_attr is None:
            continue
        value = getattr(contact, rule.host_attr)
        out[rule.host_attr] = bool(value) if rule.kind == "default" else _text(value)
    return out


def _comm_name(item: Mapping[str, Any]) -> str:
    return _ref_name(item.get("type")).casefold()


def _comm_key(raw: Any) -> str:
    """A communication type's name (its reference's ``name``) as :func:`_comm_name` reads it."""
    return str(raw or "").strip().casefold()


def contact_host_values(record: Mapping[str, Any], default_contact_id: int | None) -> dict[str, Any]:
    """A ConnectWise contact as host contact values (import). ``default_contact_id``: the company's.
    A communication field takes the type's default item, else its first."""
    chosen: dict[str, Mapping[str, Any]] = {}  # by type: its first default item, else its first item
    defaulted: dict[str, Mapping[str, Any]] = {}  # by type: its first default item
    for i in record.get("communicationItems") or ():
        if type(i) is dict or isinstance(i, Mapping):  # (a decoded page holds dicts: no ABC check for them)
            kind = i.get("type")
            # _comm_name inlined (an import maps 60,000 communication items; a name as ConnectWise sends it: text)
            raw = kind.get("name") if type(kind) is dict or isinstance(kind, Mapping) else ""
            name = raw.strip().casefold() if type(raw) is str else _comm_key(raw)
            if name in defaulted:
                continue
            if i.get("defaultFlag"):
                chosen[name] = defaulted[name] = i
            elif name not in chosen:
                chosen[name] = i
    out: dict[str, Any] = {}
    get = record.get
    for attr, kind, key in _CONTACT_READS:
        if kind == _PLAIN_TEXT:  # (_text inlined for text, as ConnectWise sends it, and for a field it leaves out)
            raw = get(key)
            out[attr] = raw.strip() if type(raw) is str else "" if raw is None else _text(raw)
        elif kind == _COMM:
            if key in chosen and (item := chosen[key]):
                raw = item.get("value")
                out[attr] = raw.strip() if type(raw) is str else "" if raw is None else _text(raw)
            else:
                out[attr] = ""
        elif kind == _DEFAULT:
            out[attr] = (get("id") == default_contact_id if default_contact_id else bool(get("defaultFlag")))
        else:
            out[attr] = _text(get(key))
    return out


def merge_communications(existing: Iterable[Mapping[str, Any]], values: Mapping[str, Any],
                         comm_types: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The contact's communication items with the mapped types set from ``values``.

    Items of other types (a Fax, a second e-mail) are kept as they are; the first item of a mapped
    type takes the host's value (or is removed when the host's field is blank); a mapped value
    ConnectWise lacks is added. ``comm_types`` maps a lower-cased type name to ``{id, name}``.
    """
    wanted = {(r.cw_path or "").casefold(): values.get(r.host_attr) or "" for r in COMM_RULES}
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in existing:
        name = _comm_name(item)
        kept = {k: item[k] for k in ("id", "type", "value", "extension", "defaultFlag") if item.get(k) is not None}
        kept["type"] = {k: v for k, v in (item.get("type") or {}).items() if k in ("id", "name")}
        if name in wanted and name not in seen:
            seen.add(name)
            if not wanted[name]:
                continue
            kept["value"] = wanted[name]
        out.append(kept)
    for rule in COMM_RULES:
        name = (rule.cw_path or "").casefold()
        if name in seen or not wanted[name]:
            continue
        ctype = comm_types[name]
        # Work phone and e-mail are the contact's default phone and e-mail in ConnectWise.
        out.append({"type": {"id": ctype["id"], "name": ctype["name"]}, "value": wanted[name],
                    "defaultFlag": name in ("direct", "email")})
    return out


def communications_differ(current: Iterable[Mapping[str, Any]], merged: Iterable[Mapping[str, Any]]) -> bool:
    def key(items):
        return [(_comm_name(i), _text(i.get("value"))) for i in items]
    return key(current) != key(merged)


def contact_payload(values: Mapping[str, Any], company_id: int, states: StateList,
                    comm_types: Mapping[str, Mapping[str, Any]],
                    existing_items: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """Host contact values as ConnectWise contact fields (communication items merged)."""
    out: dict[str, Any] = {}
    for rule in CONTACT.rules:
        if rule.kind == "ref":
            out["company"] = {"id": company_id}
        elif rule.kind == "comm":
            continue
        elif rule.kind == "default":
            out[_top(rule)] = bool(values.get(rule.host_attr))
        elif rule.kind == "state":
            out[_top(rule)] = states.identifier(values.get(rule.host_attr) or "") or None
        else:
            out[_top(rule)] = values.get(rule.host_attr) or None
    out["communicationItems"] = merge_communications(existing_items, values, comm_types)
    return out


def contact_changes(record: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The PATCH set for a linked contact: changed scalar fields, the company, the whole item list."""
    out = {}
    for key, value in wanted.items():
        if key == "communicationItems":
            if communications_differ(record.get("communicationItems") or [], value):
                out[key] = value
        elif key == "company":
            if (record.get("company") or {}).get("id") != value["id"]:
                out[key] = value
        elif key == "defaultFlag":
            if bool(record.get("defaultFlag")) != value:
                out[key] = value
        elif not same(record.get(key), value):
            out[key] = value
    return out


def _contact_who(values: Mapping[str, Any]) -> str:
    name = f"{values.get('first_name', '')} {values.get('last_name', '')}".strip() or "(no name)"
    return f"Contact {name}"


def contact_length_problems(values: Mapping[str, Any]) -> list[Problem]:
    """The contact's mapped fields longer than ConnectWise holds, each with what to do: what its export refuses
    (:func:`contact_problems`) and what saving its customer in ChannelOnline's form warns of, in the same words."""
    return _too_long(CONTACT.rules, values, _contact_who(values))


def contact_problems(values: Mapping[str, Any], states: StateList | None,
                     comm_types: Mapping[str, Mapping[str, Any]] | None) -> list[Problem]:
    """What stops a contact from being exported, each with what to do: what its export refuses, and what saving its
    customer in ChannelOnline's form warns of, in the same words. ``states`` / ``comm_types`` None: without
    ConnectWise's state list / communication types (saving asks ConnectWise nothing), every rule but those they
    decide."""
    who = _contact_who(values)
    problems: list[Problem] = []
    if not values.get("first_name"):
        problems.append((f"{who} has no first name; ConnectWise requires one.",
                         "Enter the contact's first name in ChannelOnline and export again."))
    problems += contact_length_problems(values)
    email = values.get("email") or ""
    if email and not _EMAIL.match(email):
        problems.append((f"{who}: '{email}' is not a valid e-mail address.",
                         "Correct the contact's e-mail in ChannelOnline and export again."))
    state = states.problem(values.get("state") or "", who=who) if states is not None else None
    if state:
        problems.append(state)
    for rule in COMM_RULES:
        if comm_types is not None and values.get(rule.host_attr) and (rule.cw_path or "").casefold() not in comm_types:
            problems.append((f"{who}: ConnectWise has no communication type '{rule.cw_path}' for the "
                             f"{rule.host.lower()}.", f"Add the type '{rule.cw_path}' in ConnectWise: "
                             f"{places.COMMUNICATION_TYPES}, then export again."))
    return problems


_NO_LIMIT = sys.maxsize


def host_length_problems(values: Mapping[str, Any], columns: Mapping[str, int | None], who: str | Callable[[], str],
                         labels: Mapping[str, str]) -> list[Problem]:
    """Values longer than the host's columns allow (import). ``who`` names the record (made only when a
    value is too long, when given as a function)."""
    # Almost every record has none: one comprehension finds them, the messages are made only for them.
    too_long = [(a, v) for a, v in values.items() if isinstance(v, str) and len(v) > (columns.get(a) or _NO_LIMIT)]
    out = []
    for attr, value in too_long:
        name = who() if callable(who) else who
        out.append((f"{name}: {labels.get(attr, attr)} is {len(value)} characters long; ChannelOnline allows "
                    f"at most {columns[attr]}.", "Shorten it in ConnectWise and import again."))
    return out


class HostLengths:
    """:func:`host_length_problems` for many records against the same host columns, the columns it checks worked out
    once (a 10,000-company import checks 35,000 records, almost none too long): ``columns`` and ``labels`` as there
    (copied: the check stays what it was made with)."""

    def __init__(self, columns: Mapping[str, int | None], labels: Mapping[str, str]):
        self.columns, self.labels = dict(columns), dict(labels)
        checked = [(attr, limit) for attr, limit in self.columns.items() if limit]
        self._limits = tuple(limit for _, limit in checked)
        # (itemgetter of one name returns the value, not a tuple of it)
        self._values = (itemgetter(*(attr for attr, _ in checked)) if len(checked) > 1
                        else (lambda values, a=checked[0][0]: (values[a],)) if checked else (lambda values: ()))

    def problems(self, values: Mapping[str, Any], who: str | Callable[[], str]) -> list[Problem]:
        """:func:`host_length_problems` of ``values``: the same problems, in the same order."""
        try:
            # The lengths of the checked values against their limits in one pass. A value that is not text and has
            # a length may be counted here: then, as when one is missing or has no length, the full check decides.
            if not any(map(gt, map(len, self._values(values)), self._limits)):
                return []
        except (KeyError, TypeError):
            pass
        return host_length_problems(values, self.columns, who, self.labels)


def join(problems: list[Problem]) -> Problem:
    """Several problems as one message and one resolution (duplicates dropped)."""
    message = " ".join(dict.fromkeys(p[0] for p in problems))
    resolution = " ".join(dict.fromkeys(p[1] for p in problems))
    return message, resolution


def keep_master_changes(host: Mapping[str, Any], cw: Mapping[str, Any],
                        base: Mapping[str, Any] | None) -> tuple[dict, dict, list[str]]:
    """An export with ConnectWise as the master for customer data: (the values to send, the values
    both sides agree on afterwards, the fields kept as ConnectWise has them).

    A field ConnectWise changed since the last sync (it differs from ``base``) is the master's and
    is not overwritten; it stays "changed on both sides" in the agreement, so live updates bring it
    into the host as a conflict the master won. Without ``base`` nothing is known to have changed.
    """
    if not base:
        return dict(host), dict(host), []
    kept = [k for k in host if k in base and k in cw and cw[k] != base[k] and cw[k] != host[k]]
    export = {**host, **{k: cw[k] for k in kept}}
    return export, {**export, **{k: base[k] for k in kept}}, kept


def as_held(values: Mapping[str, Any], theirs: Mapping[str, Any] | None, states: StateList,
            table: MappingTable) -> dict[str, Any]:
    """Mapped host ``values`` as ConnectWise holds them once sent: what an export compares with ConnectWise's record
    and the link's last agreement, and what it records as the new agreement (``Link.synced_values``, which live
    updates and imports compare with ConnectWise's values). A state is held as its identifier ("Nova Scotia" and
    "ns" are both "NS"); a reference ConnectWise resolves by name (the country, the site) as ConnectWise spells it
    (``theirs``: its record as host values) when it names the same one. Recording the rep's own spelling made the
    next export see ConnectWise's "NS" as a change made in ConnectWise since, and keep it over the rep's next edit.

    The Location Code names the same site as ConnectWise's when :func:`same_site` says so: an agreed "Main" is
    ConnectWise's default site however ``theirs`` reads it (blank, or the host's "Main": :func:`keep_default_site_name`).
    Compared as written, an agreed "Main" against ConnectWise's "Main" read blank (the host's code being another by
    then) was a change made in ConnectWise: the export kept it over the rep's new code, live updates and imports
    blanked the customer's."""
    out = dict(values)
    for rule in table.rules:
        attr = rule.host_attr
        if attr is None or attr not in out or not isinstance(out[attr], str):
            continue
        if rule.kind == "state":
            out[attr] = states.identifier(out[attr]) or out[attr]
        elif rule.kind in ("country", "site") and theirs is not None and isinstance(theirs.get(attr), str) \
                and (same_site(out[attr], theirs[attr]) if rule.kind == "site"
                     else out[attr].casefold() == theirs[attr].casefold()):
            out[attr] = theirs[attr]
    return out


# --- what ConnectWise changed since the last agreement (live updates, and a bulk import under ChannelOnline master) ---


@dataclass(frozen=True)
class Diff:
    """A field ConnectWise holds otherwise than the host and changed since the last agreement (``conflict``: the host
    changed it too)."""

    field: str
    label: str
    host: Any
    cw: Any
    conflict: bool


def compare(host: Mapping[str, Any], cw: Mapping[str, Any], base: Mapping[str, Any] | None,
            labels: Mapping[str, str]) -> list[Diff]:
    """The fields ConnectWise changed since the last agreement ``base`` (None: nothing agreed, every field that
    differs) that the host holds otherwise (conflicts: changed in the host too). A field the host changed alone is no
    difference: the next export sends it. One rule for live updates (sync/inbound/customers.py) and a bulk import that
    keeps the host's values (sync/customers/company_import.py)."""
    out = []
    for name, cw_value in cw.items():
        host_value = host.get(name)
        if host_value == cw_value:
            continue
        known = base is not None and name in base
        cw_changed = not known or base[name] != cw_value
        host_changed = known and base[name] != host_value
        if cw_changed:
            out.append(Diff(name, labels.get(name, name), host_value, cw_value, host_changed))
    return out


def agreed(host: Mapping[str, Any], cw: Mapping[str, Any], base: Mapping[str, Any] | None) -> dict:
    """What both sides agree on now, per field: ConnectWise's value where the two agree, else the last agreement (the
    host's value without one), so a later reading finds the same difference again."""
    return {k: v if host.get(k) == v else (base or {}).get(k, host.get(k)) for k, v in cw.items()}
