"""Reading the host's forms as a browser would: what a form posts, the error beside a field, a field's value; and
the customer whose contacts' addresses the customer-page tests edit."""

from __future__ import annotations

import html
import re

from host_stub import services
from host_stub.extensions import db
from host_stub.models import Customer


def as_the_browser_posts(page: str, form_id: str = "customer-form") -> dict[str, str]:
    """The form's fields as a browser submits them: text inputs with their values, checked boxes and radios."""
    start = page.index(f'id="{form_id}"')
    form = page[start:page.index("</form>", start)]
    data: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        kind = (re.search(r'type="([^"]+)"', tag) or [None, "text"])[1]
        if kind in ("checkbox", "radio") and "checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        data[html.unescape(name.group(1))] = html.unescape(value.group(1)) if value else ("on" if kind in (
            "checkbox", "radio") else "")
    return data


def error_beside(page: str, key: str) -> str:
    """The error shown beside field ``key`` (its input's aria-invalid and the message after it)."""
    m = re.search(rf'data-error-for="{re.escape(key)}">([^<]+)<', page)
    assert m, f"no error shown beside {key}"
    assert re.search(rf'name="{re.escape(key)}"[^>]*aria-invalid="true"', page), f"{key} is not marked invalid"
    return html.unescape(m.group(1))


def value_of(page: str, key: str) -> str:
    """The value of input ``key`` as the page shows it."""
    m = re.search(rf'name="{re.escape(key)}"[^>]*? value="([^"]*)"', page)
    assert m, f"no input {key}"
    return html.unescape(m.group(1))


ADDRESS = {"address1": "9734 King St", "address2": "Suite 4", "city": "Albany", "state": "NY", "zip": "12207"}


def bayview_dental(*, both_addressed: bool) -> Customer:
    """Bayview Dental, saved: Lucas (the default contact) at ``ADDRESS``, and Mia there too or with no address."""
    customer = services.save_customer(
        {"account_number": "BAYV1", "name": "Bayview Dental", "phone": "629-555-0100"},
        [{"first_name": "Lucas", "last_name": "Müller", "email": "lucas@bayview.example", "is_default": True,
          **ADDRESS},
         {"first_name": "Mia", "last_name": "Chen", "work_phone": "629-555-0101",
          **(ADDRESS if both_addressed else {})}])
    db.session.commit()
    return customer
