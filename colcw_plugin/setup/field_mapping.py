"""The field mappings of the user guide's Appendix B and the document types of §5.2.

This is the single definition both the synchronisation code and the Mapping page read: the
sync builds ConnectWise payloads and host records from these rules (see
:mod:`colcw_plugin.sync.company_map` and the quote export), and the Mapping page renders
them. Change a rule here and both follow.

``kind`` says how a rule is applied:

* ``text``: a plain string field, copied as is (``host_attr`` ↔ ``cw_path``), with ConnectWise's
  maximum length ``max_len`` checked before export.
* ``status``: the host's Active flag ↔ the company status reference (Active / Inactive).
* ``state``: a state / province code, which must exist in ConnectWise's state list.
* ``site``: the host's location code ↔ the name of the company's site.
* ``country``: the host's country name ↔ the company's country reference (by name).
* ``comm``: a contact communication item of type ``cw_path`` (Direct, Cell, Home, Pager, Email).
* ``default``: the host's default contact ↔ ConnectWise's primary (default) contact.
* ``ref``: a reference resolved through colcw's links or settings (company, contact, member, ...).
* ``line``: an opportunity product field taken from a document line.
"""

from __future__ import annotations

from dataclasses import dataclass

EXPORT = "→"
IMPORT = "←"
BOTH = "↔"


@dataclass(frozen=True)
class FieldRule:
    host: str  # ChannelOnline label (Appendix B wording)
    cw: str  # ConnectWise label
    direction: str  # EXPORT, IMPORT or BOTH
    host_attr: str | None
    cw_path: str | None
    kind: str = "text"
    max_len: int | None = None
    note: str = ""


@dataclass(frozen=True)
class MappingTable:
    key: str
    title: str
    host_object: str
    cw_object: str
    rules: tuple[FieldRule, ...]

    @property
    def labels(self) -> dict[str, str]:
        """The host field each rule maps, by attribute, as the guide names it (what messages call a field)."""
        return {r.host_attr: r.host for r in self.rules if r.host_attr}

    def rule(self, host_attr: str) -> FieldRule:
        for r in self.rules:
            if r.host_attr == host_attr:
                return r
        raise KeyError(host_attr)


COMPANY = MappingTable("company", "Customers (Company Info)", "Customer", "Company", (
    FieldRule("Active", "Status", BOTH, "active", "status", "status",
              note="Active ↔ the status named Active; inactive ↔ Inactive"),
    FieldRule("Customer Number", "Company ID", BOTH, "account_number", "identifier", max_len=25,
              note="The first match links a customer whose account number equals the company identifier"),
    FieldRule("Company Name", "Company Name", BOTH, "name", "name", max_len=50),
    FieldRule("Company Address Line 1", "Address Line 1", BOTH, "address1", "addressLine1", max_len=50),
    FieldRule("Company Address Line 2", "Address Line 2", BOTH, "address2", "addressLine2", max_len=50),
    FieldRule("Company City", "City", BOTH, "city", "city", max_len=50),
    FieldRule("Company State", "State", BOTH, "state", "state", "state", max_len=50,
              note="Must exist in ConnectWise's state list (Canadian provinces: Appendix A)"),
    FieldRule("Company Zip", "Zip", BOTH, "zip", "zip", max_len=12),
    FieldRule("Website", "Website", BOTH, "website", "website", max_len=255),
    FieldRule("Company Phone", "Phone Number", BOTH, "phone", "phoneNumber", max_len=30),
    FieldRule("Company Fax", "Fax (Company)", BOTH, "fax", "faxNumber", max_len=30),
    FieldRule("Location Code", "Site Name", BOTH, "location_code", "site/name", "site", max_len=50,
              note="The company's site of that name, else an existing company's one site at the customer's address "
                   "(its name kept), else a new site; a blank code ↔ the default site Main ConnectWise creates"),
    FieldRule("Country", "Country", BOTH, "country", "country/name", "country",
              note="Not in Appendix B: kept so a Canadian address stays Canadian; must be in ConnectWise's list"),
    FieldRule("SalesRep", "Territory Manager", EXPORT, None, "territoryManager", "ref",
              note="New companies: the store's default rep or the logged-in rep, through the rep mapping"),
))

CONTACT = MappingTable("contact", "Contacts", "Contact", "Contact", (
    FieldRule("Title", "Title", BOTH, "title", "title", max_len=100),
    FieldRule("First Name", "First Name", BOTH, "first_name", "firstName", max_len=30),
    FieldRule("Last Name", "Last Name", BOTH, "last_name", "lastName", max_len=30),
    FieldRule("Customer Number", "Company Id", EXPORT, None, "company/identifier", "ref",
              note="Through the customer's link to its company"),
    FieldRule("Company Name", "Company Name", EXPORT, None, "company/name", "ref"),
    FieldRule("Address Line 1", "Address Line 1", BOTH, "address1", "addressLine1", max_len=50),
    FieldRule("Address Line 2", "Address Line 2", BOTH, "address2", "addressLine2", max_len=50),
    FieldRule("City", "City", BOTH, "city", "city", max_len=50),
    FieldRule("State", "State", BOTH, "state", "state", "state", max_len=50),
    FieldRule("Zip", "Zip", BOTH, "zip", "zip", max_len=12),
    FieldRule("Work Phone", "Direct", BOTH, "work_phone", "Direct", "comm", max_len=30),
    FieldRule("Mobile", "Cell", BOTH, "mobile_phone", "Cell", "comm", max_len=30),
    FieldRule("Home Phone", "Home (Phone)", BOTH, "home_phone", "Home", "comm", max_len=30),
    FieldRule("Other Phone", "Pager", BOTH, "other_phone", "Pager", "comm", max_len=30),
    FieldRule("Email", "Email", BOTH, "email", "Email", "comm", max_len=250),
    FieldRule("Default", "Primary", BOTH, "is_default", "defaultFlag", "default",
              note="ConnectWise's primary contact becomes the ChannelOnline customer's default contact (and the reverse on export)"),
))

OPPORTUNITY = MappingTable("opportunity", "Opportunities (Quote / Sales Order)", "Quote / Sales Order",
                           "Opportunity", (
    FieldRule("Customer Number", "Company ID", EXPORT, "customer_id", "company", "ref",
              note="Through the customer's link; the customer must be exported first"),
    FieldRule("Company Name", "Company Name", EXPORT, None, "company/name", "ref"),
    FieldRule("Contact", "Contact", EXPORT, "contact_id", "contact", "ref",
              note="Through the contact's link; the contact must be exported first"),
    FieldRule("Doc # (or the opportunity name field)", "Opportunity Name", EXPORT, "number", "name", max_len=100,
              note="The custom header field chosen in settings; blank uses the document number when allowed"),
    FieldRule("SalesRep", "Sales Rep", EXPORT, "sales_rep_id", "primarySalesRep", "ref",
              note="The store's default rep or the logged-in rep, through the rep mapping"),
    FieldRule("Follow-up Date", "Expected Close Date", EXPORT, "follow_up_date", "expectedCloseDate"),
    FieldRule("Quote / Sales Order", "Status", EXPORT, "doc_type", "status", "ref",
              note="Quotes export Open, sales orders Won (found by ConnectWise's status flags)"),
))

PRODUCT = MappingTable("product", "Products (on quote or order)", "Document line", "Opportunity product", (
    FieldRule("Line Item", "Item", EXPORT, "item_number", "catalogItem/identifier", "line", max_len=50,
              note="Looked up in the catalog by identifier; created when category, manufacturer and type are known"),
    FieldRule("Description", "Description", EXPORT, "description", "description", "line", max_len=60),
    FieldRule("Qty", "Quantity", EXPORT, "quantity", "quantity", "line"),
    FieldRule("Cost", "Cost", EXPORT, "cost", "cost", "line"),
    FieldRule("Price", "Price", EXPORT, "price", "price", "line"),
))

TABLES: tuple[MappingTable, ...] = (COMPANY, CONTACT, OPPORTUNITY, PRODUCT)


@dataclass(frozen=True)
class DocumentType:
    host: str
    cw: str
    action: str


DOCUMENT_TYPES: tuple[DocumentType, ...] = (
    DocumentType("SalesReps", "Member", "Link"),
    DocumentType("Company", "Company", "Add / update"),
    DocumentType("Contacts", "Contacts", "Add / update"),
    DocumentType("Quotes", "Opportunity", "Adds ChannelOnline lines into an Open opportunity"),
    DocumentType("Sales Order", "Opportunity", "Adds ChannelOnline lines into a Won opportunity"),
    DocumentType("Product Details", "Product (catalog item)", "Link / add"),
)

# Appendix A, with its typo fixed: BC is British Columbia.
CANADIAN_PROVINCES: dict[str, str] = {
    "AB": "Alberta",
    "BC": "British Columbia",
    "MB": "Manitoba",
    "NB": "New Brunswick",
    "NL": "Newfoundland and Labrador",
    "NT": "Northwest Territories",
    "NS": "Nova Scotia",
    "NU": "Nunavut",
    "ON": "Ontario",
    "PE": "Prince Edward Island",
    "QC": "Quebec",
    "SK": "Saskatchewan",
    "YT": "Yukon",
}
