"""Deterministic demo data shared by the host's ``seed-demo`` and the sandbox's ``--seed demo``.

Both sides read these tables so that a fresh ``make demo`` has reps that match ConnectWise
members by e-mail, products whose categories and manufacturers mostly exist in ConnectWise
(a few are deliberately missing so the pre-flight check has something to show) and companies
that partly match the host's customers by account number.

Everything here is plain data or a pure function of an index: no database, no Flask.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

STORE_NAME = "Main Store"

# (first, last, e-mail, role); the first rep is the store's default sales rep.
USERS: list[tuple[str, str, str, str]] = [
    ("Dana", "Default", "dana@demo.example", "rep"),
    ("Riley", "Rep", "riley@demo.example", "rep"),
    ("Sam", "Sales", "sam@demo.example", "rep"),
    ("Alex", "Admin", "admin@demo.example", "admin"),
]
DEMO_PASSWORD = "demo"  # noqa: S105 - printed on the console by make demo, demo data only

# Reps whose ConnectWise member exists in the sandbox's demo seed (matched by e-mail).
REPS_WITH_MEMBERS = {"dana@demo.example", "riley@demo.example", "admin@demo.example"}

CATEGORIES: dict[str, list[str]] = {
    "Networking": ["Switches", "Routers", "Wireless", "Firewalls"],
    "Computers": ["Laptops", "Desktops", "Servers"],
    "Peripherals": ["Monitors", "Keyboards & Mice", "Printers"],
    "Software": ["Licenses", "Subscriptions"],
    "Power": ["UPS", "PDUs"],
    "Cables & Adapters": ["Patch Cords", "Fiber"],
    "Services": ["Installation", "Managed Services"],
}
# Present in the host, absent from the sandbox's demo tenant.
CATEGORIES_MISSING_IN_CW = {("Cables & Adapters", "Fiber"), ("Power", "PDUs")}

MANUFACTURERS = [
    "Cisco", "HP Inc.", "Dell", "Lenovo", "Microsoft", "APC", "Ubiquiti", "Fortinet",
    "Logitech", "Samsung", "Eaton", "Tripp Lite", "Brother", "Netgear", "Aruba",
    "Acme Widgets", "NorthPeak Cables",
]
MANUFACTURERS_MISSING_IN_CW = {"Acme Widgets", "NorthPeak Cables"}

PRODUCT_TYPES = ["Product", "Service", "Labor"]


@dataclass(frozen=True)
class Product:
    item_number: str
    manufacturer: str
    description: str
    category: str
    subcategory: str
    product_type: str
    cost: float
    price: float


PRODUCTS: list[Product] = [
    Product("C9200L-24P-4G", "Cisco", "Catalyst 9200L 24-port PoE+ switch", "Networking", "Switches", "Product", 2150.0, 2795.0),
    Product("ISR1111-8P", "Cisco", "ISR 1100 8-port router", "Networking", "Routers", "Product", 980.0, 1290.0),
    Product("U6-PRO", "Ubiquiti", "UniFi 6 Pro access point", "Networking", "Wireless", "Product", 149.0, 199.0),
    Product("FG-60F", "Fortinet", "FortiGate 60F firewall", "Networking", "Firewalls", "Product", 610.0, 799.0),
    Product("JL675A", "Aruba", "Aruba 6100 48G 4SFP+ switch", "Networking", "Switches", "Product", 1380.0, 1720.0),
    Product("GS308", "Netgear", "8-port gigabit unmanaged switch", "Networking", "Switches", "Product", 19.0, 29.0),
    Product("20W40029US", "Lenovo", "ThinkPad T14 Gen 4, 16 GB, 512 GB SSD", "Computers", "Laptops", "Product", 1110.0, 1399.0),
    Product("LAT5440-I7", "Dell", "Latitude 5440, Core i7, 16 GB", "Computers", "Laptops", "Product", 1190.0, 1489.0),
    Product("OPT7010-SFF", "Dell", "OptiPlex 7010 small form factor", "Computers", "Desktops", "Product", 720.0, 919.0),
    Product("8A4H5UT", "HP Inc.", "EliteDesk 800 G9 mini", "Computers", "Desktops", "Product", 840.0, 1049.0),
    Product("PER550-XS", "Dell", "PowerEdge R550 rack server", "Computers", "Servers", "Product", 4850.0, 6120.0),
    Product("P2723DE", "Dell", "27-inch QHD USB-C hub monitor", "Peripherals", "Monitors", "Product", 310.0, 399.0),
    Product("LS27A600", "Samsung", "27-inch QHD business monitor", "Peripherals", "Monitors", "Product", 215.0, 279.0),
    Product("920-009294", "Logitech", "MK540 wireless keyboard and mouse", "Peripherals", "Keyboards & Mice", "Product", 39.0, 54.0),
    Product("HL-L5210DW", "Brother", "Mono laser printer, duplex, wireless", "Peripherals", "Printers", "Product", 279.0, 349.0),
    Product("M365-BP-1Y", "Microsoft", "Microsoft 365 Business Premium, 1 year", "Software", "Subscriptions", "Product", 220.0, 264.0),
    Product("WINSVR-STD-16C", "Microsoft", "Windows Server 2022 Standard, 16 core", "Software", "Licenses", "Product", 890.0, 1069.0),
    Product("SMT1500RM2UC", "APC", "Smart-UPS 1500VA rack 2U", "Power", "UPS", "Product", 890.0, 1149.0),
    Product("5P1500R", "Eaton", "5P 1500VA rack UPS", "Power", "UPS", "Product", 760.0, 979.0),
    Product("PDUMH15", "Tripp Lite", "Metered PDU, 15A, 13 outlets", "Power", "PDUs", "Product", 240.0, 309.0),
    Product("N201-010-BL", "Tripp Lite", "Cat6 patch cord, 10 ft, blue", "Cables & Adapters", "Patch Cords", "Product", 4.2, 7.5),
    Product("NPC-OM4-3M", "NorthPeak Cables", "OM4 LC-LC fiber patch cord, 3 m", "Cables & Adapters", "Fiber", "Product", 11.0, 19.0),
    Product("AW-DOCK-1", "Acme Widgets", "Universal USB-C dock", "Peripherals", "Keyboards & Mice", "Product", 95.0, 139.0),
    Product("SVC-INSTALL-HR", "Dell", "On-site installation, per hour", "Services", "Installation", "Labor", 65.0, 125.0),
    Product("SVC-RACK-STACK", "Cisco", "Rack and stack, per device", "Services", "Installation", "Labor", 45.0, 95.0),
    Product("MSP-ESSENTIALS", "Microsoft", "Managed services essentials, per user per month", "Services", "Managed Services", "Service", 18.0, 45.0),
    Product("MSP-BACKUP-TB", "Dell", "Managed backup, per TB per month", "Services", "Managed Services", "Service", 9.0, 25.0),
]

# Catalog items the sandbox's demo tenant already holds (the rest get created on export).
PRODUCTS_IN_CW_CATALOG = {p.item_number for i, p in enumerate(PRODUCTS) if i % 2 == 0
                          and p.manufacturer not in MANUFACTURERS_MISSING_IN_CW}

_FIRST = ["Northwind", "Blue Ridge", "Harbor", "Summit", "Cedar", "Maple", "Granite", "Lakeside",
          "Pioneer", "Silver Creek", "Red Oak", "Evergreen", "Prairie", "Coastal", "Ironwood",
          "Aurora", "Bayview", "Highland", "Riverbend", "Sterling"]
_SECOND = ["Dental", "Logistics", "Law Group", "Accounting", "Veterinary Clinic", "Builders",
           "Realty", "Family Practice", "Manufacturing", "Insurance", "Credit Union", "Engineering",
           "Foods", "Architects", "Charter School"]
_US_PLACES = [("Springfield", "IL", "62701"), ("Austin", "TX", "73301"), ("Denver", "CO", "80202"),
              ("Portland", "OR", "97201"), ("Raleigh", "NC", "27601"), ("Tampa", "FL", "33602"),
              ("Columbus", "OH", "43004"), ("Madison", "WI", "53703"), ("Boise", "ID", "83702"),
              ("Albany", "NY", "12207")]
_CA_PLACES = [("Toronto", "ON", "M5H 2N2"), ("Vancouver", "BC", "V6B 1A1"), ("Montréal", "QC", "H2Y 1C6"),
              ("Calgary", "AB", "T2P 1J9"), ("Winnipeg", "MB", "R3C 0V8"), ("Halifax", "NS", "B3J 1S9"),
              ("Regina", "SK", "S4P 3Y2"), ("St. John's", "NL", "A1C 1A1")]
_FIRST_NAMES = ["Maria", "James", "Aisha", "Chen", "Olivia", "Liam", "Sofia", "Noah", "Zoé", "Mateo",
                "Priya", "Ethan", "Hannah", "Lucas", "Amélie", "Omar", "Grace", "Kenji", "Nora", "Diego"]
_LAST_NAMES = ["Smith", "Nguyen", "O'Brien", "García", "Patel", "Kowalski", "Tremblay", "Johnson",
               "Müller", "Dubois", "Kim", "Rossi", "Okafor", "Lefebvre", "Brown", "Haddad"]
_TITLES = ["Office Manager", "IT Director", "Owner", "Controller", "Operations Lead", "CFO"]


def account_number(index: int) -> str:
    """The host account number (= ConnectWise company identifier) of demo customer ``index``."""
    return f"DEMO{index + 1:05d}"


def company(index: int) -> dict:
    """The demo customer number ``index`` (0-based) as plain fields; every 6th one is Canadian."""
    rng = random.Random(index * 7919 + 17)
    canadian = index % 6 == 5
    city, state, zip_code = rng.choice(_CA_PLACES if canadian else _US_PLACES)
    name = f"{_FIRST[index % len(_FIRST)]} {_SECOND[(index // len(_FIRST)) % len(_SECOND)]}"
    if index >= len(_FIRST) * len(_SECOND):
        name = f"{name} {index // (len(_FIRST) * len(_SECOND)) + 1}"
    area = rng.randint(201, 989)
    slug = name.lower().replace(" ", "").replace("'", "")[:20]
    return {
        "account_number": account_number(index),
        "name": name,
        "active": index % 17 != 16,
        "address1": f"{rng.randint(10, 9999)} {rng.choice(['Main', 'Oak', 'King', 'Queen', 'Market', 'Park'])} St",
        "address2": f"Suite {rng.randint(100, 900)}" if rng.random() < 0.3 else "",
        "city": city,
        "state": state,
        "zip": zip_code,
        "country": "Canada" if canadian else "United States",
        "website": f"https://www.{slug}.example",
        "phone": f"{area}-555-{rng.randint(1000, 9999)}",
        "fax": f"{area}-555-{rng.randint(1000, 9999)}" if rng.random() < 0.4 else "",
        "location_code": rng.choice(["Main", "HQ", "Branch"]),
    }


def contacts(index: int) -> list[dict]:
    """Two to four contacts of demo customer ``index``; the first is the default contact."""
    rng = random.Random(index * 104729 + 3)
    comp = company(index)
    out = []
    for n in range(rng.randint(2, 4)):
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        local = f"{first}.{last}".lower().replace("'", "")
        out.append({
            "title": rng.choice(_TITLES),
            "first_name": first,
            "last_name": last,
            "address1": comp["address1"], "address2": comp["address2"], "city": comp["city"],
            "state": comp["state"], "zip": comp["zip"],
            "work_phone": f"{comp['phone'][:8]}{rng.randint(1000, 9999)}",
            "mobile_phone": f"{rng.randint(201, 989)}-555-{rng.randint(1000, 9999)}" if rng.random() < 0.7 else "",
            "home_phone": "",
            "other_phone": "",
            "email": f"{local}{n}@{comp['website'].split('www.')[1]}".encode("ascii", "ignore").decode(),
            "is_default": n == 0,
        })
    return out


def company_in_cw(index: int) -> bool:
    """Whether the sandbox's demo tenant already holds demo customer ``index`` (same identifier)."""
    return index % 3 == 0


def cw_only_companies() -> list[dict]:
    """Companies that exist only in the sandbox's demo tenant (for the Import popup and mapping)."""
    rows = []
    for n, (name, city, state) in enumerate([
        ("Quantum Bakery", "Austin", "TX"), ("Orchard Street Pharmacy", "Madison", "WI"),
        ("Lighthouse Marine", "Tampa", "FL"), ("Northwind Dental", "Springfield", "IL"),
        ("Céleste Boutique", "Raleigh", "NC"), ("Harbor Logistics Inc", "Portland", "OR"),
    ]):
        rows.append({"identifier": f"CW{n + 1:04d}", "name": name, "city": city, "state": state,
                     "phone": f"555-010-{n:04d}"})
    return rows
