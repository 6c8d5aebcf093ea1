"""Where things are in ConnectWise Manage's own screens, as every message and page names them.

A fix that sends an admin into ConnectWise names the screen the way the user guide does ("Setup Tables /
Products / Category"), with arrows as colcw's own page paths use them. One definition, so the same table is
never "Manufacturer" in one message and "Manufacturers" in the next, nor categories under two paths.
"""

from __future__ import annotations

SETUP_TABLES = "System → Setup Tables"

# Setup tables (user guide §4: "Go to Setup / Setup Tables / Products / Category (or Sub Category)").
CATEGORY = f"{SETUP_TABLES} → Products → Category / Sub Category"
PRODUCT_TYPE = f"{SETUP_TABLES} → Products → Product Type"
MANUFACTURER = f"{SETUP_TABLES} → Manufacturer"
STATE = f"{SETUP_TABLES} → State"
COMMUNICATION_TYPES = f"{SETUP_TABLES} → Communication Types"
OPPORTUNITY_STATUS = f"{SETUP_TABLES} → Opportunity Status"
OPPORTUNITY_TYPE = f"{SETUP_TABLES} → Opportunity Type"
OPPORTUNITY_STAGE = f"{SETUP_TABLES} → Opportunity Stage"
INTEGRATOR_LOGIN = f"{SETUP_TABLES} → Integrator Login"

# Members and what they may do.
MEMBERS = "System → Members"
API_KEYS = f"{MEMBERS} → API Members → API Keys"
SECURITY_ROLES = "System → Security Roles"

# For pages (a Jinja global, ``cw_places``): the same names by key.
ALL = {name.lower(): value for name, value in globals().copy().items() if name.isupper() and isinstance(value, str)}
