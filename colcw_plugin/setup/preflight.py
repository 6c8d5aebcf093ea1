"""The pre-flight check: everything that would make an export fail, before a person tries one.

Each :class:`Check` names an area, says whether it passes, lists the offending items and says
what to do. The admin page and ``flask --app host_stub colcw check`` render the same list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from host_stub.models import (
    PRODUCT_TYPES,
    Customer,
    CustomField,
    Document,
    DocumentFieldValue,
    StoreSite,
    User,
)

from ..cw import ConnectWiseClient, places
from ..cw import conditions as C
from ..models import CUSTOMER, DOCUMENT, CompanyScan, Link, Settings, exported_by_all, stored_time
from ..text import plural
from . import pages
from .catalog_rules import CatalogRules
from .common import host_category_pairs, host_manufacturers, host_users
from .connection import is_configured, read_settings
from .customer_matching import LikelyDuplicates
from .field_mapping import CANADIAN_PROVINCES
from .lookups import Lookups
from .manufacturers import case_twin, case_twin_problem, inactive_problem, inactive_twin
from .opportunity_defaults import (
    DEFAULT_LABEL,
    KINDS,
    STATUS,
    NewOpportunityValues,
    OpportunityLists,
    problems,
    required_problem,
    shown,
    won_status,
)
from .reps import api_member_kind, api_member_status, own_api_member, rep_mappings


@dataclass
class Check:
    """One line of the report. ``page`` is the colcw_admin endpoint where it is fixed. ``checked`` is False for an
    area that could not be checked (ConnectWise could not be read): it is no problem found, and no all-clear
    either; the report shows it as not checked."""

    area: str
    ok: bool
    summary: str
    items: list[str] = field(default_factory=list)
    fix: str = ""
    page: str | None = None
    checked: bool = True


def _not_checked(area: str, what: str = "") -> Check:
    return Check(area, True, f"{what}Not checked: ConnectWise could not be reached.", checked=False)


NOT_IN_CW = " (whether ConnectWise still has them was not checked: it could not be reached)"
SHOWN_ITEMS = 20  # the documents a check lists by number; the rest are counted


@dataclass
class PreflightReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


def _opportunity_field(session: Session, settings: Settings) -> Check:
    field_row = session.get(CustomField, settings.opportunity_field_id) if settings.opportunity_field_id else None
    if field_row is None:
        return Check("Opportunity name field", False,
                     "No custom header field is chosen for the opportunity name" if not settings.opportunity_field_id
                     else "The chosen opportunity name field no longer exists",
                     fix="Choose the field under Options on the connection page (create one under Admin → Custom "
                         "fields first if there is none).", page="colcw_admin.connection")
    if settings.allow_empty_opportunity_name:
        return Check("Opportunity name field", True,
                     f"Opportunity names come from “{field_row.name}” (blank names use the document number).")
    unnamed = _unnamed_documents(session, field_row.id)
    if unnamed:
        shown = [*unnamed[:SHOWN_ITEMS]] + ([f"and {len(unnamed) - SHOWN_ITEMS:,} more"]
                                           if len(unnamed) > SHOWN_ITEMS else [])
        return Check("Opportunity name field", False,
                     f"Opportunity names come from “{field_row.name}”, and {plural(len(unnamed), 'document')} "
                     f"{'has' if len(unnamed) == 1 else 'have'} none: {'its' if len(unnamed) == 1 else 'their'} "
                     "export would be refused", shown,
                     f"Enter a name in the “{field_row.name}” field of each document (its Edit page), or allow empty "
                     f"opportunity names under {pages.OPTIONS.name} to name their opportunities by document number.",
                     "colcw_admin.connection")
    return Check("Opportunity name field", True,
                 f"Opportunity names come from “{field_row.name}”; every document an export takes has one "
                 "(documents with a blank name will not export).")


def _unnamed_documents(session: Session, field_id: int) -> list[str]:
    """The numbers of the documents an export of all would refuse for want of an opportunity name: no name in the
    field, no opportunity linked, and not a sales order whose quote is linked (it takes over the quote's)."""
    named = exists().where(DocumentFieldValue.document_id == Document.id, DocumentFieldValue.field_id == field_id,
                           func.trim(DocumentFieldValue.value) != "")
    linked = exists().where(Link.entity == DOCUMENT, Link.host_id == Document.id)
    quote_link = aliased(Link)
    quote_linked = exists().where(quote_link.entity == DOCUMENT, quote_link.host_id == Document.source_quote_id)
    stmt = (select(Document.number)
            .where(exported_by_all(), ~named, ~linked, ~and_(Document.doc_type == "order", quote_linked))
            .order_by(Document.id))
    return list(session.execute(stmt).scalars())


def _reps(session: Session, settings: Settings, lookups: Lookups | None) -> Check:
    mappings = rep_mappings(session)
    if settings.use_logged_in_rep:
        users = host_users(session)
        scope = "every user who may export (the logged-in rep option is on)"
    else:
        store = session.execute(select(StoreSite).order_by(StoreSite.id).limit(1)).scalar_one_or_none()
        rep = session.get(User, store.default_rep_id) if store and store.default_rep_id else None
        users = [rep] if rep else []
        scope = "the store's default sales rep"
        if rep is None:
            return Check("Sales reps", False, "The store has no default sales rep",
                         fix="Set the store's default sales rep in ChannelOnline, or turn on “assign to the logged-in "
                             "sales rep”.", page="colcw_admin.connection")
    items = []
    own = own_api_member(session)
    for user in users:
        m = mappings.get(user.id)
        if m is None or not m.member_identifier:
            items.append(f"{user.name} <{user.email}> is not mapped to a ConnectWise member")
        elif kind := api_member_kind(m.member_identifier, lookups, own):  # (the mapping page's Status column)
            items.append(f"{user.name} → {m.member_identifier}: {api_member_status(kind)}")
        elif not m.member_id or not m.location_id or not m.department_id:
            items.append(f"{user.name}: {m.member_identifier} was saved without checking it in ConnectWise")
        elif lookups is not None and lookups.member(m.member_identifier) is None:
            items.append(f"{user.name}: member {m.member_identifier} is no longer active in ConnectWise")
    return Check("Sales reps", not items, f"Checked {scope}: " + (plural(len(items), "problem") if items else "all mapped")
                 + (NOT_IN_CW if lookups is None else ""), items, "Map them on Sales rep mapping (Auto-map matches members by e-mail).", "colcw_admin.reps")


def _product_types(rules: CatalogRules, lookups: Lookups | None) -> Check:
    items = []
    for host_type in PRODUCT_TYPES:
        target = rules.product_type_for(host_type)
        if target is None:
            items.append(f"{host_type} is not mapped to a ConnectWise product type")
        elif lookups is not None and lookups.inactive_type(target.name):  # as the export refuses it
            items.append(f"{host_type} → {target.name}: ConnectWise has this product type but marks it inactive; "
                         f"activate it in ConnectWise ({places.PRODUCT_TYPE}), or map {host_type} to another")
        elif lookups is not None and lookups.named("product_types", target.name) is None:
            items.append(f"{host_type} → {target.name}: ConnectWise no longer has this product type")
        elif not target.id:
            items.append(f"{host_type} → {target.name} was saved without checking it in ConnectWise")
    return Check("Product types", not items, ("All product types are mapped" + (NOT_IN_CW if lookups is None else ""))
                 if not items else f"{plural(len(items), 'product type')} would stop products from being created", items,
                 "Map them on Product integration mapping.", "colcw_admin.products")


def _inactive(record: str) -> str:
    """A category or sub-category ConnectWise has but marks inactive (``Lookups.inactive_pair``'s words): the export
    refuses to create catalog items under it, and adding it is no fix."""
    return f"ConnectWise has {record} but marks it inactive; activate it in ConnectWise ({places.CATEGORY})"


def _categories(session: Session, rules: CatalogRules, lookups: Lookups | None) -> Check:
    pairs = host_category_pairs(session)
    items = []
    if rules.by_mapping:
        for cat, sub in pairs:
            target = rules.category_for(cat, sub)
            label = f"{cat} / {sub}" if sub else f"{cat} (lines without a sub-category)"
            if target is None:
                items.append(f"{label} is not mapped")
            elif lookups is not None and (off := lookups.inactive_pair(target[0].name, target[1].name)):
                items.append(f"{label} → {target[0].name} / {target[1].name}: {_inactive(off)}, or map it to "
                             "another")
            elif lookups is not None and lookups.subcategory(target[0].name, target[1].name) is None:
                items.append(f"{label} → {target[0].name} / {target[1].name}: not in ConnectWise")
        fix = "Map them on Product integration mapping."
        mode = "the mapping table"
    else:
        if lookups is None:
            return _not_checked("Categories", "Using ChannelOnline's names. ")
        items = [f"{cat} / {sub}: {_inactive(off)}" if sub and (off := lookups.inactive_pair(cat, sub)) else
                 f"{cat} / {sub}" if sub else f"{cat} (lines without a sub-category cannot create products)"
                 for cat, sub in pairs if rules.category_for(cat, sub) is None or lookups.subcategory(cat, sub) is None
                 or lookups.inactive_pair(cat, sub)]
        fix = (f"Add these categories / sub-categories in ConnectWise ({places.CATEGORY}) (activate those it marks "
               "inactive), or switch "
               "to the mapping on Product integration mapping.")
        mode = "ChannelOnline's names"
    return Check("Categories", not items, f"Using {mode}: " + (f"{plural(len(items), 'ChannelOnline category', 'ChannelOnline categories')} "
                 f"{'has' if len(items) == 1 else 'have'} no ConnectWise match" if items else "every ChannelOnline category has a ConnectWise match"
                 + (NOT_IN_CW if lookups is None else "")), items, fix, "colcw_admin.products")


def _manufacturers(session: Session, rules: CatalogRules, lookups: Lookups | None) -> Check:
    """Each manufacturer on ChannelOnline's documents that an export could not create catalog items under: not in
    ConnectWise (bare, or an alias's target), one (or an alias's target) differing only in case from an active one
    (naming it, as the export and Auto-map do: :func:`~.manufacturers.case_twin_problem`), or one ConnectWise has but marks inactive, said with
    its own fix in the export's words (:func:`~.manufacturers.inactive_problem`). Adding either of the last two is no
    fix: ConnectWise holds the name."""
    if lookups is None:
        return _not_checked("Manufacturers")
    missing, twins, inactive = [], [], []
    twin_aliases = 0  # of the twins, aliases whose target differs only in case
    active_names = [x.name for x in lookups.manufacturers]
    inactive_names = [x.name for x in lookups.inactive_manufacturers]
    for name in host_manufacturers(session):
        target = rules.manufacturer_for(name)
        if lookups.named("manufacturers", target.name) is not None:
            continue
        alias = rules.alias_for(name) is not None
        if alias:  # the alias's target: ConnectWise marks it inactive, or has it only in another case
            cw_name = target.name if target.name in inactive_names else None
            twin = None if cw_name is not None else case_twin(target.name, active_names)
        else:
            twin = case_twin(name, active_names)
            cw_name = None if twin is not None else inactive_twin(name, active_names, inactive_names)
        if twin is not None:  # ConnectWise has it spelt otherwise: adding it is no fix (the export names the twin)
            what, fix = case_twin_problem(target.name, twin, alias_of=name if alias else None)
            twins.append(f"{name}: {what}. {fix}")
            twin_aliases += alias
        elif cw_name is not None:
            what, fix = inactive_problem(name, cw_name, alias=alias)
            inactive.append(f"{name}: {what}. {fix}")
        else:
            missing.append(f"{name} → {target.name} (alias target not in ConnectWise)" if alias else name)
    items = missing + twins + inactive
    if not items:
        return Check("Manufacturers", True, "Every manufacturer on ChannelOnline documents exists in ConnectWise")
    said, where = [], " on ChannelOnline documents"
    for found, one, many, rest in ((missing, "is not", "are not", "in ConnectWise"),
                                   (twins, "differs", "differ", "from ConnectWise's only in case"),
                                   (inactive, "is", "are", "in ConnectWise but marked inactive")):
        if found:
            said.append(f"{plural(len(found), 'manufacturer')}{where} {one if len(found) == 1 else many} {rest}")
            where = ""  # said once, by the first
    fix = (f"Add {'those not in ConnectWise' if twins or inactive else 'them'} in ConnectWise "
           f"({places.MANUFACTURER}) or add an alias on Product integration mapping." if missing else "")
    if len(twins) > twin_aliases:
        fix += (" " if fix else "") + ("Correct each one differing only in case to ConnectWise's spelling on its "
                                       "lines, or add the alias its line names.")
    if twin_aliases:
        fix += (" " if fix else "") + ("Correct each alias whose target differs only in case to ConnectWise's "
                                       "spelling, as its line says.")
    if inactive:
        fix += (" " if fix else "") + ("Activate each one marked inactive in ConnectWise, or map its name to another "
                                       "manufacturer, as its line says.")
    return Check("Manufacturers", False, " and ".join(said), items, fix, "colcw_admin.products")


def _provinces(session: Session, lookups: Lookups | None) -> Check:
    if lookups is None:
        return _not_checked("Canadian provinces")
    # Compared as the export compares them (sync/shared/states.py): case-insensitively.
    have = {s.identifier.casefold() for s in lookups.states}
    missing = [code for code in CANADIAN_PROVINCES if code.casefold() not in have]
    used = dict(session.execute(select(Customer.state, func.count()).where(Customer.state.in_(missing))
                                .group_by(Customer.state)).all()) if missing else {}
    items = [f"{code} ({CANADIAN_PROVINCES[code]})" + (f": used by {plural(used[code], 'customer')}" if code in used else "")
             for code in missing]
    return Check("Canadian provinces", not items, f"{plural(len(items), 'Canadian province')} missing from ConnectWise's "
                 "state list" if items else "All Canadian provinces exist in ConnectWise", items,
                 f"Add them in ConnectWise ({places.STATE}) with the codes of Appendix A; customers in a missing "
                 "province cannot be exported.")


def _new_opportunities(session: Session, settings: Settings, lists: OpportunityLists | None) -> Check:
    """The type, stage and open status chosen for new opportunities, as the export checks them, and a field
    ConnectWise refused an export for because the tenant makes it mandatory, while it is left to its default."""
    values = NewOpportunityValues.of(settings)
    chosen = values.for_document(quote=True)
    summary = "New opportunities get " + ", ".join(f"{k.label} {shown(values, k)}" for k in KINDS)
    required = required_problem(session, values)
    found = problems(values, lists) if chosen and lists is not None else []
    wrong = [*found, *([required] if required else [])]
    if not wrong:
        if not chosen:
            return Check("New opportunities", True, f"New opportunities get {DEFAULT_LABEL}s for their type, stage and "
                         "status (a tenant that made the type or stage mandatory refuses them: choose one).")
        if lists is None:
            return _not_checked("New opportunities", f"{summary}. ")
        return Check("New opportunities", True, f"{summary}.")
    if required is not None and not found:
        who = f" for {required.document}" if required.document else ""
        when = f" on {stored_time(required.at)}" if required.at else ""  # the page shows it in its zone
        headline = (f"ConnectWise refused a new opportunity{who}{when}: it requires an opportunity {required.words}, "
                    f"left to {DEFAULT_LABEL} here, so every document that needs a new opportunity is refused")
    else:
        headline = (f"{plural(len(found), 'value')} chosen for new opportunities {'is' if len(found) == 1 else 'are'} "
                    "no longer accepted by ConnectWise: every document that needs a new opportunity is refused")
        if required is not None:
            headline += f", and ConnectWise requires an opportunity {required.words}"
    headline += "."
    if len(wrong) == 1:
        fix = wrong[0].fix
    elif required is None:
        fix = f"Choose other values, or {DEFAULT_LABEL}, under {pages.NEW_OPPORTUNITIES.name}."
    else:
        fix = " ".join(dict.fromkeys(p.fix for p in wrong))
    return Check("New opportunities", False, headline, [p.message for p in wrong], fix,
                 "colcw_admin.new_opportunities")


def _won_status(lists: OpportunityLists | None) -> Check:
    """A sales order's opportunity is Won (so is one a converted quote's order takes over): without a status marked
    Won in ConnectWise, each such export is refused."""
    area = "Won status"
    if lists is None:
        return _not_checked(area)
    found = won_status(lists.rows(STATUS))
    if found is None:
        return Check(area, False, "ConnectWise has no opportunity status marked Won: every sales order's export (and "
                     "a converted quote's) would be refused",
                     fix=f"Tick the Won flag on your won status in ConnectWise: {places.OPPORTUNITY_STATUS}.")
    return Check(area, True, f"Sales orders' opportunities are set to “{found.get('name')}” (marked Won in ConnectWise).")


# --- customers: companies ConnectWise holds that no customer is linked to --------------------------------------

SCAN_RECENT = dt.timedelta(hours=24)  # a Map customers scan this recent stands for ConnectWise's companies
READ_AT_MOST = 1000  # without one, the check reads this many companies (one page: one request), and counts the rest
CUSTOMERS_AREA = "Customers"
MAP_CUSTOMERS_FIX = ("Map them on Admin → Integration → ConnectWise → Map customers before exporting customers "
                     "(Read ConnectWise's companies there lists them with their look-alikes).")


@dataclass
class CompaniesSeen:
    """ConnectWise's companies (not deleted) as the Customers check compares them with the customers: from the last
    Map customers scan when it is recent (no request), else one page read now (one request; a second counts them
    all when that page is full)."""

    rows: list[tuple[int, str, str, str]]  # (ConnectWise id, Company ID, name, phone)
    total: int  # how many ConnectWise holds (``rows`` may be the first READ_AT_MOST of them)
    scanned_at: dt.datetime | None = None  # the scan they are from (None: read now)


def recent_scan(session: Session, now: dt.datetime | None = None) -> CompaniesSeen | None:
    """The companies of the last Map customers scan, when it was taken within :data:`SCAN_RECENT` (else None)."""
    scanned_at = session.execute(select(func.max(CompanyScan.scanned_at))).scalar()
    if scanned_at is None or (now or dt.datetime.now(dt.UTC).replace(tzinfo=None)) - scanned_at > SCAN_RECENT:
        return None
    rows = [tuple(r) for r in session.execute(select(CompanyScan.cw_id, CompanyScan.identifier, CompanyScan.name,
                                                     CompanyScan.phone))]
    return CompaniesSeen(rows, len(rows), scanned_at)


def read_companies(client: ConnectWiseClient) -> CompaniesSeen:
    """The first :data:`READ_AT_MOST` companies not deleted (one request), and how many there are (a second request,
    only when that page is full)."""
    not_deleted = C.eq("deletedFlag", False)
    page = client.companies.list(conditions=not_deleted, fields=["id", "identifier", "name", "phoneNumber"],
                                 order_by="id", page_size=READ_AT_MOST)
    rows = [(int(r["id"]), str(r.get("identifier") or ""), str(r.get("name") or ""), str(r.get("phoneNumber") or ""))
            for r in page]
    total = client.companies.count(not_deleted) if len(rows) >= READ_AT_MOST else len(rows)
    return CompaniesSeen(rows, max(total, len(rows)))


def _customers(session: Session, seen: CompaniesSeen | None, reason: str | None = None) -> Check:
    """Companies ConnectWise holds that no customer is linked to, and those among them that look like a customer linked
    to none (Map customers' likely-duplicate rule): exporting such a customer fails on its look-alike (or, asked to,
    creates a second company), so they are mapped first. A company whose Company ID is a customer's account number is
    no concern: the export links it."""
    if seen is None:
        return _not_checked(CUSTOMERS_AREA, f"{reason.rstrip('.')}. " if reason else "")
    linked = set(session.execute(select(Link.cw_id).where(Link.entity == CUSTOMER)).scalars())
    accounts = {a.casefold() for a in session.execute(select(Customer.account_number)).scalars() if a}
    alone = [r for r in seen.rows if r[0] not in linked and r[1].casefold() not in accounts]
    dups = LikelyDuplicates(session, unlinked_only=True, read_all=False)
    dups.expect([(name, phone) for _, _, name, phone in alone])
    alike = []
    for _, identifier, name, phone in alone:
        found = dups.match(name, phone)
        if found is not None:
            alike.append(f"{identifier} “{name}” looks like {found[0].label} ({found[1]})")
    partial = len(seen.rows) < seen.total
    source = (f"from Map customers' scan of {stored_time(seen.scanned_at)}" if seen.scanned_at is not None else
              f"among the first {len(seen.rows):,} of ConnectWise's {seen.total:,} companies, read now"
              if partial else "read now")
    counted = (f"{plural(len(alone), 'ConnectWise company', 'ConnectWise companies')} "
               f"{'is' if len(alone) == 1 else 'are'} linked to no ChannelOnline customer ({source})")
    if not alike:
        more = (" Map customers reads them all." if partial else "")
        if alone:
            return Check(CUSTOMERS_AREA, True, f"{counted}; none looks like a ChannelOnline customer linked to none "
                         f"(same name or phone). If some are your customers, map them on Map customers before "
                         f"exporting them, or their export creates a second company.{more}")
        return Check(CUSTOMERS_AREA, True, f"Every ConnectWise company is linked to a ChannelOnline customer or has a "
                     f"customer's account number as its Company ID ({source}).{more}")
    shown = alike[:SHOWN_ITEMS] + ([f"and {len(alike) - SHOWN_ITEMS:,} more"] if len(alike) > SHOWN_ITEMS else [])
    return Check(CUSTOMERS_AREA, False,
                 f"{counted}, and {plural(len(alike), 'of them looks', 'of them look')} like a ChannelOnline customer "
                 "linked to none (likely duplicates: same name or phone): exporting such a customer fails, naming "
                 "its look-alike, or creates a second company" + (f"; there may be more among the "
                 f"{seen.total - len(seen.rows):,} companies not read" if partial else ""), shown,
                 MAP_CUSTOMERS_FIX, "colcw_admin.map_customers")


def run_preflight(session: Session, lookups: Lookups | None, connection_error: str | None = None,
                  opportunity_lists: OpportunityLists | None = None, companies: CompaniesSeen | None = None,
                  companies_error: str | None = None) -> PreflightReport:
    """Check everything; ``lookups`` is None when ConnectWise could not be read (``connection_error`` says why);
    ``opportunity_lists``: ConnectWise's opportunity types, stages and statuses (None: not read); ``companies``:
    its companies for the Customers area (:func:`recent_scan` or :func:`read_companies`; None: not read, and
    ``companies_error`` says why)."""
    settings = read_settings(session)
    report = PreflightReport()
    if not is_configured(settings):
        report.checks.append(Check("Connection", False, "The connection to ConnectWise is not configured",
                                   fix="Enter it on the connection page.", page="colcw_admin.connection"))
    elif lookups is None:
        report.checks.append(Check("Connection", False, "ConnectWise could not be read", [connection_error or ""],
                                   "Run Test Connection on the connection page to see which step fails.",
                                   "colcw_admin.connection"))
    else:
        report.checks.append(Check("Connection", True, "ConnectWise answered and its lists were read."))
    rules = CatalogRules.load(session, settings)
    report.checks += [_opportunity_field(session, settings),
                      _new_opportunities(session, settings, opportunity_lists), _won_status(opportunity_lists),
                      _reps(session, settings, lookups),
                      _product_types(rules, lookups), _categories(session, rules, lookups),
                      _manufacturers(session, rules, lookups), _provinces(session, lookups),
                      _customers(session, companies if lookups is not None else None, companies_error)]
    return report
