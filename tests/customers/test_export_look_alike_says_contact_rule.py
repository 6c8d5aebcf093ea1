"""The export's look-alike page says how linking matches the customer's contacts with the company's: SamePerson's
rule (setup/customer_matching.py), the same e-mail, or the same name when one side has no e-mail; not "by e-mail"
alone, which the export stopped doing. Against the sandbox over HTTP."""

from __future__ import annotations

from html import unescape

from customer_support import make_customer

from helpers import csrf_from


def _text(html: str) -> str:
    return " ".join(unescape(html).split())


def test_the_look_alike_page_states_the_contact_matching_rule(sync_ready, rep_client):
    resp = sync_ready.api("POST", "company/companies", json={"identifier": "ACMEOLD", "name": "ACME CORP.",
                                                                     "city": "Austin"})
    assert resp.status_code == 201, resp.text
    customer = make_customer()
    token = csrf_from(rep_client.get("/customers/").get_data(as_text=True))
    asked = rep_client.post(f"/colcw/customers/{customer.id}/export", data={"csrf_token": token})
    page = _text(rep_client.get(asked.headers["Location"]).get_data(as_text=True))
    hint = page.split('id="colcw-export-look-alike-list"')[1].split("</p>")[0]
    assert "matches its contacts by e-mail" not in hint
    assert ("links each of its contacts to that company's contact who is the same person: the same e-mail (case aside), "
            "or, when one of the two has no e-mail, the same first and last name (case and accents aside). A contact "
            "that matches none, or more than one, is created.") in hint, hint
