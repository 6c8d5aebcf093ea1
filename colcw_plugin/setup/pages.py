"""The admin pages a message may send a person to, by the name the message uses.

A resolution ("Fix: ...") names the page where the fix is made; the name here is the one the page
shows (its heading, and the section's heading after an arrow), and pages render each known name as a
link to it (``views/support.py``). Messages use these constants, never a name of their own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    name: str  # as messages write it, e.g. "Product integration mapping → Manufacturers"
    endpoint: str  # the Flask endpoint of the page
    anchor: str = ""  # the section's id on that page
    admin: bool = True  # only admins can open it


CONNECTION = Page("Admin → Integration → ConnectWise", "colcw_admin.connection")
OPTIONS = Page("Admin → Integration → ConnectWise → Options", "colcw_admin.connection", "options")
NEW_OPPORTUNITIES = Page("Admin → Integration → ConnectWise → New opportunities", "colcw_admin.connection",
                         "new-opportunities")
REPS = Page("Sales rep mapping", "colcw_admin.reps")
PRODUCTS = Page("Product integration mapping", "colcw_admin.products")
PRODUCT_TYPES = Page("Product integration mapping → Product types", "colcw_admin.products", "types")
CATEGORIES = Page("Product integration mapping → Categories", "colcw_admin.products", "categories")
MANUFACTURERS = Page("Product integration mapping → Manufacturers", "colcw_admin.products", "manufacturers")
JOBS = Page("Synchronization Jobs", "colcw_admin.jobs")
CUSTOM_FIELDS = Page("Admin → Custom fields", "admin.custom_fields")

# Where an admin maps a rep, written whole, as the user guide's Appendix C fix and the checklist name it (pages make
# it a link, or tell a rep it is an admin's page).
REPS_PATH = f"{CONNECTION.name} → {REPS.name}"

# Longest names first, so "… → Manufacturers" is found before "Product integration mapping".
ALL = tuple(sorted((CONNECTION, OPTIONS, NEW_OPPORTUNITIES, REPS, PRODUCTS, PRODUCT_TYPES, CATEGORIES, MANUFACTURERS,
                    JOBS, CUSTOM_FIELDS), key=lambda p: -len(p.name)))
