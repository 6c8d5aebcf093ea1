"""The Import popup, ConnectWise the master, lists only what the import would replace (fields changed on both sides);
it did not say that the rep's other unexported edits, which it does not list, are kept and go with the next export, so
a rep reading "Importing replaces these of its values" could think them lost. It says so, naming them, when there are
such edits, and not otherwise. Against the sandbox over HTTP, the popup as the rep's browser gets it."""

from __future__ import annotations

import re

from customer_support import export, import_popup, link_of, make_customer, text_of, update_customer

from colcw_plugin.models import CW_MASTER
from colcw_plugin.setup.live_updates import get_live
from host_stub.extensions import db
from host_stub.models import Customer
from host_stub.services import save_customer


def _kept_paragraph(text: str) -> str:
    found = re.search(r'<p class="hint" id="colcw-import-kept">(.*?)</p>', text)
    return found.group(1) if found else ""


def test_the_popup_says_the_edits_it_does_not_list_are_kept_and_exported_next(sync_ready, rep_client):
    customer = make_customer()
    assert export(customer.id).status == "succeeded"
    get_live(db.session).customer_master = CW_MASTER
    db.session.commit()
    company_id = link_of("customer", customer.id).cw_id
    update_customer(customer.id, website="https://acme-host.example")
    assert sync_ready.api("PATCH", f"company/companies/{company_id}", json=[
        {"op": "replace", "path": "website", "value": "https://acme-cw.example"}]).status_code == 200

    # Only a field changed on both sides: nothing else to keep, nothing said of it.
    asked = text_of(import_popup(rep_client, company="ACME1"))
    assert 'id="colcw-import-overwrite"' in asked, asked
    assert 'id="colcw-import-kept"' not in asked, asked

    # The rep's fax and Ada's title, which ConnectWise did not change: kept, and said so.
    update_customer(customer.id, fax="512-555-0199")
    db.session.expire_all()
    ada = next(c for c in db.session.get(Customer, customer.id).contacts if c.first_name == "Ada")
    save_customer({}, [{"id": ada.id, "title": "Chief Financial Officer"}], customer_id=customer.id)
    asked = text_of(import_popup(rep_client, company="ACME1"))
    kept = _kept_paragraph(asked)
    assert "other edits not exported yet are kept either way" in kept, asked
    assert "Company Fax “512-555-0199”" in kept and "Contact Ada Lovelace: Title “Chief Financial Officer”" in kept, kept
    assert "next export sends them to ConnectWise" in kept
    table = asked.split('id="colcw-import-overwrites"')[1].split("</table>")[0]
    assert "Website" in table and "Fax" not in table and "Title" not in table, table

    # Replace takes ConnectWise's website and keeps them, as the popup said.
    replaced = import_popup(rep_client, company="ACME1", choice="replace")
    assert "HX-Redirect" in replaced.headers, text_of(replaced)
    db.session.expire_all()
    after = db.session.get(Customer, customer.id)
    assert (after.website, after.fax) == ("https://acme-cw.example", "512-555-0199")
    assert next(c for c in after.contacts if c.first_name == "Ada").title == "Chief Financial Officer"
