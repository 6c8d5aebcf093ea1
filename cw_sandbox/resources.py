"""Which ConnectWise resources the sandbox serves, and how references between them resolve.

Each ``Resource`` names its URL path under ``apis/3.0/``, the official schema, the methods
ConnectWise has for the collection and for one record (from the spec's x-operation-index),
and the fields that must be unique. ``REFERENCES`` maps a ``*Reference`` schema to the
resource it points at and the fields ConnectWise fills in when it returns one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cw_sandbox.schemas import operation_index


def _name(record: dict) -> str | None:
    return record.get("name")


def _person_name(record: dict) -> str:
    return " ".join(p for p in (record.get("firstName"), record.get("lastName")) if p)


def _description(record: dict) -> str | None:
    return record.get("description")


@dataclass(frozen=True)
class Resource:
    """One served resource."""

    key: str  # store key
    path: str  # path under apis/3.0/, e.g. "company/companies"
    schema: str  # official schema name
    label: str  # the "resource" named in error bodies, e.g. "company"
    unique: tuple[str, ...] = ()  # case-insensitive unique fields -> ObjectExists
    parent: str | None = None  # parent resource key for nested collections
    parent_field: str | None = None  # reference field (or ``...Id`` integer field) pointing at the parent
    display: Callable[[dict], str | None] = _name
    extra_required: tuple[str, ...] = ()  # required by ConnectWise beyond the schema's list
    read_only: bool = False  # served from built-in tables; no writes through the API
    collection_methods: frozenset[str] = field(default_factory=frozenset)
    item_methods: frozenset[str] = field(default_factory=frozenset)

    @property
    def parent_path(self) -> str:
        """Where a record names its parent: ``company/id``, or ``contactId`` for integer fields."""
        name = self.parent_field or ""
        return name if name.endswith("Id") else f"{name}/id"

    def parent_of(self, record: dict) -> int | None:
        """The parent id ``record`` carries."""
        value = record.get(self.parent_field or "")
        return value.get("id") if isinstance(value, dict) else value


def _methods(template: str) -> frozenset[str]:
    """Methods the operation index lists for ``template`` (e.g. "/company/companies/{id}")."""
    return frozenset(row["method"] for row in operation_index() if row["path"].rstrip("/") == template.rstrip("/"))


def _resource(key: str, path: str, schema: str, label: str, **kw) -> Resource:
    if kw.get("parent"):
        parent_path = RESOURCES_BY_KEY[kw["parent"]].path
        base = f"/{parent_path}/{{parentId}}/{path}"
    else:
        base = f"/{path}"
    coll = kw.pop("collection_methods", None) or _methods(base)
    item = kw.pop("item_methods", None) or _methods(base + "/{id}")
    res = Resource(key, path, schema, label, collection_methods=frozenset(coll), item_methods=frozenset(item), **kw)
    RESOURCES_BY_KEY[key] = res
    return res


RESOURCES_BY_KEY: dict[str, Resource] = {}

_ALL = frozenset({"GET", "POST"})
_ITEM_ALL = frozenset({"GET", "PUT", "PATCH", "DELETE"})
_GET = frozenset({"GET"})

RESOURCES: list[Resource] = [
    _resource("companies", "company/companies", "Company", "company", unique=("identifier",)),
    _resource("sites", "sites", "CompanySite", "companySite", parent="companies", parent_field="company"),
    _resource("contacts", "company/contacts", "Contact", "contact", display=_person_name,
              # The schema declares nothing required; ConnectWise's UI and API need a first name.
              extra_required=("firstName",)),
    _resource("states", "company/states", "State", "state"),
    _resource("countries", "company/countries", "Country", "country", unique=("name",)),
    _resource("opportunities", "sales/opportunities", "Opportunity", "opportunity"),
    # Forecast items of an opportunity (/sales/opportunities/{parentId}/forecast/{id}); the list
    # endpoint answers the Forecast container, see forecast.py.
    _resource("forecast_items", "forecast", "ForecastItem", "forecastItem", parent="opportunities",
              parent_field="opportunity"),
    _resource("opportunity_statuses", "sales/opportunities/statuses", "OpportunityStatus", "opportunityStatus",
              unique=("name",)),
    _resource("opportunity_types", "sales/opportunities/types", "OpportunityType", "opportunityType",
              display=_description, unique=("description",)),
    # /sales/stages is not in the trimmed operation index; API-NOTES §3 (S3) lists GET/POST and
    # /{id} GET/PUT/PATCH/DELETE.
    _resource("stages", "sales/stages", "OpportunityStage", "stage", collection_methods=_ALL,
              item_methods=_ITEM_ALL),
    _resource("products", "procurement/products", "ProductItem", "productItem"),
    _resource("catalog", "procurement/catalog", "CatalogItem", "catalogItem", unique=("identifier",)),
    _resource("manufacturers", "procurement/manufacturers", "Manufacturer", "manufacturer", unique=("name",)),
    _resource("categories", "procurement/categories", "Category", "category", unique=("name",)),
    _resource("subcategories", "procurement/subcategories", "SubCategory", "subCategory"),
    _resource("product_types", "procurement/types", "ProductType", "productType", unique=("name",)),
    _resource("members", "system/members", "Member", "member", display=_person_name, unique=("identifier",)),
    _resource("locations", "system/locations", "Location", "location"),
    _resource("departments", "system/departments", "Department", "department", unique=("identifier",)),
    # Callback registrations (CALLBACKS.md); their rules and delivery live in callbacks.py.
    _resource("callbacks", "system/callbacks", "CallbackEntry", "callbackEntry", display=_description),
    # Built-in lookup tables, read-only: the targets of references the client sends (a company's
    # status and types, a contact's e-mail row type...). CommunicationType and SalesProbability
    # are not in the official excerpts; their schemas come from pyconnectwise's models
    # (data/supplement_pyconnectwise.json).
    _resource("communication_types", "company/communicationTypes", "CommunicationType", "communicationType",
              display=_description, read_only=True, collection_methods=_GET, item_methods=_GET),
    _resource("company_statuses", "company/companies/statuses", "CompanyStatus", "companyStatus",
              read_only=True, collection_methods=_GET, item_methods=_GET),
    _resource("company_types", "company/companies/types", "CompanyType", "companyType",
              read_only=True, collection_methods=_GET, item_methods=_GET),
    _resource("contact_types", "company/contacts/types", "ContactType", "contactType", display=_description,
              read_only=True, collection_methods=_GET, item_methods=_GET),
    _resource("contact_departments", "company/contacts/departments", "ContactDepartment", "contactDepartment",
              read_only=True, collection_methods=_GET, item_methods=_GET),
    _resource("probabilities", "sales/probabilities", "SalesProbability", "probability",
              display=lambda r: str(r.get("probability")), read_only=True, collection_methods=_GET,
              item_methods=_GET),
    # Notes, groups and custom status notes of companies, contacts and opportunities (read-only).
    _resource("company_notes", "notes", "CompanyNote", "companyNote", parent="companies", parent_field="company",
              display=lambda r: r.get("text"), read_only=True, collection_methods=_GET, item_methods=_GET),
    _resource("company_groups", "groups", "CompanyGroup", "companyGroup", parent="companies",
              parent_field="company", read_only=True, collection_methods=_GET, item_methods=_GET),
    _resource("company_custom_notes", "customStatusNotes", "CompanyCustomNote", "companyCustomNote",
              parent="companies", parent_field="company", read_only=True, collection_methods=_GET,
              item_methods=_GET),
    _resource("contact_notes", "notes", "ContactNote", "contactNote", parent="contacts", parent_field="contactId",
              display=lambda r: r.get("text"), read_only=True, collection_methods=_GET, item_methods=_GET),
    _resource("contact_groups", "groups", "ContactGroup", "contactGroup", parent="contacts",
              parent_field="contact", read_only=True, collection_methods=_GET, item_methods=_GET),
    _resource("opportunity_notes", "notes", "OpportunityNote", "opportunityNote", parent="opportunities",
              parent_field="opportunityId", display=lambda r: r.get("text"), read_only=True,
              collection_methods=_GET, item_methods=_GET),
]
# Tables only referenced, never routed (their official paths are outside the excerpts).
for _internal in ("currencies", "security_roles", "structure_levels", "time_zones", "groups", "note_types"):
    RESOURCES_BY_KEY.setdefault(_internal, Resource(_internal, "", "", _internal, read_only=True))

RESOURCE_BY_PATH: dict[str, Resource] = {r.path: r for r in RESOURCES if not r.parent}


@dataclass(frozen=True)
class RefTarget:
    """Where a reference schema points and which fields a returned reference carries."""

    key: str
    fields: tuple[str, ...]  # besides id and _info; "name" comes from Resource.display
    href: str | None  # path for the _info.<x>_href link ("{parent}" is the record's parent id)
    link_name: str | None = None  # the <x> of <x>_href when not the resource's label


REFERENCES: dict[str, RefTarget] = {
    "CompanyReference": RefTarget("companies", ("identifier", "name"), "company/companies"),
    "ContactReference": RefTarget("contacts", ("name",), "company/contacts"),
    # "site_href" as a live answer quoted in public shows it.
    "SiteReference": RefTarget("sites", ("name",), "company/companies/{parent}/sites", "site"),
    "CountryReference": RefTarget("countries", ("name",), "company/countries"),
    "StateReference": RefTarget("states", ("identifier", "name"), "company/states"),
    "MemberReference": RefTarget("members", ("identifier", "name"), "system/members"),
    "SystemLocationReference": RefTarget("locations", ("name",), "system/locations"),
    "SystemDepartmentReference": RefTarget("departments", ("identifier", "name"), "system/departments"),
    "OpportunityStatusReference": RefTarget("opportunity_statuses", ("name",), "sales/opportunities/statuses"),
    "OpportunityStageReference": RefTarget("stages", ("name",), "sales/stages"),
    "OpportunityTypeReference": RefTarget("opportunity_types", ("name",), "sales/opportunities/types"),
    "OpportunityReference": RefTarget("opportunities", ("name",), "sales/opportunities"),
    "CatalogItemReference": RefTarget("catalog", ("identifier",), "procurement/catalog"),
    "IvItemReference": RefTarget("catalog", ("identifier", "serializedFlag"), "procurement/catalog"),
    "ManufacturerReference": RefTarget("manufacturers", ("name",), "procurement/manufacturers"),
    "ProductCategoryReference": RefTarget("categories", ("name",), "procurement/categories"),
    "ProductSubCategoryReference": RefTarget("subcategories", ("name",), "procurement/subcategories"),
    "ProductTypeReference": RefTarget("product_types", ("name",), "procurement/types"),
    "CommunicationTypeReference": RefTarget("communication_types", ("name",), "company/communicationTypes"),
    "CompanyStatusReference": RefTarget("company_statuses", ("name",), "company/companies/statuses"),
    "CompanyTypeReference": RefTarget("company_types", ("name",), "company/companies/types"),
    "ContactTypeReference": RefTarget("contact_types", ("name",), "company/contacts/types"),
    "ContactDepartmentReference": RefTarget("contact_departments", ("name",), "company/contacts/departments"),
    "OpportunityProbabilityReference": RefTarget("probabilities", ("name",), "sales/probabilities"),
    # Official paths outside the excerpts (not served by the sandbox, but linked as ConnectWise does).
    "CurrencyReference": RefTarget("currencies", ("symbol", "currencyCode", "currencyIdentifier", "name"),
                                   "finance/currencies"),
    "SecurityRoleReference": RefTarget("security_roles", ("name",), "system/securityRoles"),
    "CorporateStructureLevelReference": RefTarget("structure_levels", ("name",),
                                                  "system/myCompany/corporateStructureLevels"),
    "TimeZoneSetupReference": RefTarget("time_zones", ("name",), "system/timeZoneSetups"),
    "GroupReference": RefTarget("groups", ("name",), "company/groups"),
    "NoteTypeReference": RefTarget("note_types", ("name",), "company/noteTypes"),
}
