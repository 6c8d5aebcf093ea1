"""The export click's flash leads with what the whole export did, contacts included: a company found unchanged whose
contact was created says "Updated in ConnectWise", and one whose contact failed says the export partly failed. It said
"Already up to date in ConnectWise: … Contacts: 1 unchanged, 1 failed." (QA), as if nothing were left to do."""

from __future__ import annotations

from customer_support import make_customer
from htmx_loads import loaded
from test_export_click_in_bulk import _export, _text

MATEO = {"first_name": "Mateo", "last_name": "Smith", "title": "", "email": "mateo@granite.example",
         "is_default": True}
ANA = {"first_name": "Ana", "last_name": "Ruiz", "title": "Partner", "email": "ana@granite.example",
       "is_default": False}


def _flash(rep_client, customer_id: int) -> str:
    assert _export(rep_client, customer_id).status_code == 302
    return _text(loaded(rep_client, f"/customers/{customer_id}"))


def test_the_flash_says_what_the_contacts_results_make_of_the_export(sync_ready, rep_client):
    sync_ready.set_options(required_fields={"contacts": ["title"]})  # Mateo has none: ConnectWise refuses him
    customer = make_customer(name="Granite Law Group", account_number="GRAN1", contacts=[MATEO, ANA])
    _flash(rep_client, customer.id)  # the company and Ana created, Mateo failed

    page = _flash(rep_client, customer.id)  # the company and Ana unchanged, Mateo failed again
    assert "Exported to ConnectWise, partly failed (1 contact not exported): Granite Law Group (GRAN1). Contacts: " \
           in page, page
    assert "Already up to date in ConnectWise" not in page

    sync_ready.set_options(required_fields={"contacts": []})
    page = _flash(rep_client, customer.id)  # the company and Ana unchanged, Mateo created
    assert "Updated in ConnectWise: Granite Law Group (GRAN1). Contacts: " in page, page
    assert "1 created" in page and "partly failed" not in page
    assert "Already up to date in ConnectWise" not in page
