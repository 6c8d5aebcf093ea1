"""Auto-map: fill in what can be matched without a person, and say what is left for one.

Reps are matched to members by e-mail (case-insensitive, as e-mail is), never to an API member; product types,
categories / sub-categories and manufacturers by exact name. Categories follow the category mode:
the mapping table is filled only when it is used ("Use the mapping below"); with ChannelOnline's
names Auto-map says which pairs ConnectWise lacks and maps none (a filled table that exports
ignore would only mislead). Existing choices are never changed, so running it again maps nothing
new (``make demo`` runs it on every start).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.models import PRODUCT_TYPES

from ..cw import places
from ..models import CategoryMapping, ProductTypeMapping, RepMapping, Settings
from .categories import category_mappings
from .common import audit, host_category_pairs, host_manufacturers, host_users, lock_settings
from .lookups import Lookups
from .manufacturers import case_twin, case_twin_problem, inactive_problem, inactive_twin, manufacturer_aliases
from .product_types import product_type_mappings
from .reps import api_member_kind, api_member_status, api_member_words, own_api_member, rep_mappings


@dataclass
class AutomapReport:
    """``mapped``: what this run set; ``kept``: how many were already mapped; ``same_name``: host
    manufacturers ConnectWise holds under the same name (nothing to map); ``left``: for a person;
    ``categories``: the category mode the categories followed and what that meant."""

    mapped: list[str] = field(default_factory=list)
    kept: int = 0
    same_name: int = 0
    left: list[str] = field(default_factory=list)
    categories: str = ""

    def lines(self) -> list[str]:
        out = [f"Mapped: {m}" for m in self.mapped] or ["Nothing new to map."]
        out.append(f"Already mapped and left as they were: {self.kept}.")
        if self.categories:
            out.append(self.categories)
        if self.same_name:
            out.append(f"Manufacturers with the same name in ConnectWise (no alias needed): {self.same_name}.")
        out += [f"Left for a person: {item}" for item in self.left]
        return out


def _reps(session: Session, lookups: Lookups, report: AutomapReport) -> None:
    current = rep_mappings(session)
    own = own_api_member(session)
    for user in host_users(session):
        if user.id in current and current[user.id].member_identifier:
            report.kept += 1
            kept = current[user.id].member_identifier
            if kind := api_member_kind(kept, lookups, own):  # saved so by an older version: kept, and said
                report.left.append(f"sales rep {user.name} → member {kept}: {api_member_status(kind)}")
            continue
        found = [m for m in lookups.members if user.email.lower() in m.emails]
        # An API member is never a sales rep's member (the mapping page refuses it): one with the rep's e-mail is
        # no match, and is said when it was the only one.
        matches = [m for m in found if not api_member_kind(m.identifier, lookups, own)]
        if not matches and found:
            said = "; ".join(f"{m.identifier} is {api_member_words(api_member_kind(m.identifier, lookups, own))}"
                             for m in found)
            report.left.append(f"sales rep {user.name} <{user.email}>: no ConnectWise member with this e-mail is a "
                               f"person ({said}, and a sales rep cannot be mapped to an API member: their "
                               "opportunities would carry the integration's account); give the rep's own member this "
                               f"e-mail in ConnectWise ({places.MEMBERS}) and run Auto-map again, or choose it on "
                               "Sales rep mapping.")
            continue
        if not matches:
            # On a new tenant the only members are admin accounts: choosing one would send every rep's
            # documents to the admin, so the usual fix (the rep's own member) comes first.
            report.left.append(f"sales rep {user.name} <{user.email}>: no active ConnectWise member has this "
                               f"e-mail; add the member in ConnectWise ({places.MEMBERS}) with this e-mail and run "
                               "Auto-map again, or choose the member on Sales rep mapping.")
            continue
        if len(matches) > 1:
            report.left.append(f"sales rep {user.name} <{user.email}>: several members have this e-mail "
                               f"({', '.join(m.identifier for m in matches)}); choose the member on Sales rep "
                               "mapping.")
            continue
        m = matches[0]
        if not (m.location_id and m.department_id):
            report.left.append(f"sales rep {user.name}: member {m.identifier} has no default location or business "
                               "unit; choose them on Sales rep mapping.")
            continue
        # A row without a member is filled in, not added beside: user_id is unique, and a second row would fail
        # the whole run.
        row = current.get(user.id)
        if row is None:
            row = RepMapping(user_id=user.id)
            session.add(row)
        row.member_id, row.member_identifier = m.id, m.identifier
        row.location_id, row.location_name = m.location_id, m.location_name
        row.department_id, row.department_name = m.department_id, m.department_name
        report.mapped.append(f"sales rep {user.name} → member {m.identifier} ({m.location_name} / "
                             f"{m.department_name})")


def _product_types(session: Session, lookups: Lookups, report: AutomapReport) -> None:
    current = product_type_mappings(session)
    for host_type in PRODUCT_TYPES:
        if host_type in current and current[host_type].cw_type_name:
            report.kept += 1
            continue
        ref = lookups.named("product_types", host_type)
        if ref is None and lookups.inactive_type(host_type):  # adding it is no fix: ConnectWise holds the name
            report.left.append(f"product type {host_type}: ConnectWise has this product type but marks it inactive; "
                               f"activate it in ConnectWise ({places.PRODUCT_TYPE}), or choose another on Product "
                               "integration mapping.")
            continue
        if ref is None:
            report.left.append(f"product type {host_type}: ConnectWise has no product type of that name; choose one "
                               "on Product integration mapping.")
            continue
        row = current.get(host_type)  # a row without a product type is filled in (host_type is unique)
        if row is None:
            row = ProductTypeMapping(host_type=host_type)
            session.add(row)
        row.cw_type_id, row.cw_type_name = ref.id, ref.name
        report.mapped.append(f"product type {host_type} → {ref.name}")


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _missing_pair(cat: str, sub: str) -> str:
    """Why a host pair has no ConnectWise pair of the same names (said of the pair: ConnectWise may hold the
    category, or the sub-category under another category)."""
    return f"ConnectWise has no sub-category “{sub}” under a category “{cat}”"


def _inactive(record: str) -> str:
    """A category or sub-category ConnectWise has but marks inactive (``Lookups.inactive_pair``'s words): not mapped to,
    and adding it is no fix."""
    return f"ConnectWise has {record} but marks it inactive; activate it in ConnectWise ({places.CATEGORY})"


def _parents_of(lookups: Lookups, sub: str, cat: str) -> list[str]:
    """The other ConnectWise categories that have a sub-category named ``sub``."""
    return sorted({s.parent_name for s in lookups.subcategories if s.name == sub and s.parent_name != cat},
                  key=str.lower)


# The category modes as the pre-flight check names them, and as the Categories section's choices read.
BY_NAMES, BY_MAPPING = "using ChannelOnline's names", "using the mapping table"
NAMES_CHOICE, MAPPING_CHOICE = "“Use the names from ChannelOnline”", "“Use the mapping below”"


def _categories(session: Session, mode: str, lookups: Lookups, report: AutomapReport) -> None:
    if mode == "mapping":
        _mapped_categories(session, lookups, report)
    else:
        _named_categories(session, lookups, report)


def _named_categories(session: Session, lookups: Lookups, report: AutomapReport) -> None:
    """Names mode: exports look for each line's own names in ConnectWise and never read the table, so nothing is
    mapped; what is left is what ConnectWise lacks (as the pre-flight check lists it)."""
    pairs = host_category_pairs(session)
    found = 0
    for cat, sub in pairs:
        if not sub:
            report.left.append(f"category {cat} (lines without a sub-category; {BY_NAMES}): a ConnectWise product "
                               "needs a sub-category; set one on those lines, or choose "
                               f"{MAPPING_CHOICE} on Product integration mapping and map {cat} there.")
        elif lookups.subcategory(cat, sub) is not None:
            found += 1
        elif off := lookups.inactive_pair(cat, sub):
            report.left.append(f"category {cat} / {sub} ({BY_NAMES}): {_inactive(off)}, or choose {MAPPING_CHOICE} "
                               "on Product integration mapping and map it there.")
        else:
            others = _parents_of(lookups, sub, cat)
            report.left.append(f"category {cat} / {sub} ({BY_NAMES}): {_missing_pair(cat, sub)}; add it in "
                               f"ConnectWise ({places.CATEGORY}), or choose " + (
                                   f"{MAPPING_CHOICE} on Product integration mapping and map it to “{sub}” under "
                                   f"{_and(others)}." if others else
                                   f"{MAPPING_CHOICE} on Product integration mapping and map it there."))
    report.categories = (f"Categories, {BY_NAMES} ({NAMES_CHOICE} is chosen on Product integration mapping): "
                         f"{found} of {len(pairs)} ChannelOnline categories / sub-categories exist in ConnectWise "
                         "under the same names. Exports do not read the mapping table in this mode, so Auto-map "
                         "mapped no categories.")


def _mapped_categories(session: Session, lookups: Lookups, report: AutomapReport) -> None:
    current = category_mappings(session)
    for cat, sub in host_category_pairs(session):
        if (cat, sub) in current:
            report.kept += 1
            continue
        ref = lookups.subcategory(cat, sub) if sub else None
        if not sub:
            report.left.append(f"category {cat} (lines without a sub-category; {BY_MAPPING}): choose a ConnectWise "
                               "sub-category on Product integration mapping.")
            continue
        if ref is None and (off := lookups.inactive_pair(cat, sub)):
            report.left.append(f"category {cat} / {sub} ({BY_MAPPING}): {_inactive(off)}, or map it on Product "
                               "integration mapping.")
            continue
        if ref is None:
            report.left.append(f"category {cat} / {sub} ({BY_MAPPING}): {_missing_pair(cat, sub)}; " + (
                f"it has “{sub}” under {_and(others)}: map it on Product integration mapping."
                if (others := _parents_of(lookups, sub, cat)) else
                f"add it in ConnectWise ({places.CATEGORY}), or map it on Product integration mapping."))
            continue
        session.add(CategoryMapping(host_category=cat, host_subcategory=sub, cw_category_id=ref.parent_id,
                                    cw_category_name=ref.parent_name, cw_subcategory_id=ref.id,
                                    cw_subcategory_name=ref.name))
        report.mapped.append(f"category {cat} / {sub} → {ref.parent_name} / {ref.name}")
    report.categories = (f"Categories, {BY_MAPPING} ({MAPPING_CHOICE} is chosen on Product integration mapping): "
                         "each ChannelOnline category / sub-category that ConnectWise has under the same names is "
                         "mapped to it.")


def _manufacturers(session: Session, lookups: Lookups, report: AutomapReport) -> None:
    aliases = manufacturer_aliases(session)
    cw_names = [ref.name for ref in lookups.manufacturers]
    inactive_names = [ref.name for ref in lookups.inactive_manufacturers]
    for name in host_manufacturers(session):
        if name in aliases:
            report.kept += 1
            target = aliases[name].cw_manufacturer_name
            if target and target not in cw_names and target in inactive_names:  # the export refuses its lines
                what, fix = inactive_problem(name, target, alias=True)
                report.left.append(f"manufacturer {name}: {what}. {fix}")
            elif target and target not in cw_names and (twin := case_twin(target, cw_names)) is not None:
                what, fix = case_twin_problem(target, twin, alias_of=name)  # refused too: the alias is to correct
                report.left.append(f"manufacturer {name}: {what}. {fix}")
            continue
        if lookups.named("manufacturers", name) is not None:
            report.same_name += 1  # exact names need no alias; not "already mapped" on a first run
            continue
        near = case_twin(name, cw_names)  # (as the mapping page and the export name it)
        inactive = None if near else inactive_twin(name, cw_names, inactive_names)
        if near:  # the export's own words, naming the one ConnectWise has
            what, how = case_twin_problem(name, near)
            fix = f"{what}. {how}"
        elif inactive is not None:  # ConnectWise holds the name (adding it is no fix): the export's own words
            what, how = inactive_problem(name, inactive)
            fix = f"{what}. {how}"
        else:
            fix = (f"ConnectWise has no manufacturer of that name; add it in ConnectWise ({places.MANUFACTURER}), "
                   "or add an alias on Product integration mapping.")
        report.left.append(f"manufacturer {name}: {fix}")


def automap(session: Session, lookups: Lookups, actor: str) -> AutomapReport:
    """Map what matches; flushes and records the change, the caller commits."""
    settings = lock_settings(session)
    # The mode as committed once the lock is held (a save of the mode may have ended while this waited for it).
    mode = session.execute(select(Settings.category_mode).where(Settings.id == settings.id)).scalar_one()
    report = AutomapReport()
    _reps(session, lookups, report)
    _product_types(session, lookups, report)
    _categories(session, mode, lookups, report)
    _manufacturers(session, lookups, report)
    if report.mapped:
        audit(session, actor, "automap", ["Auto-mapped " + "; ".join(report.mapped)])
    session.flush()
    return report
