"""A re-export sends the opportunity header fields the document changed since its last export (its contact, its
follow-up date as the expected close date), and says exactly which; what someone changed in ConnectWise since, and
the document did not, stays as ConnectWise holds it."""

from __future__ import annotations

from quote_support import items, line

from colcw_plugin import models as links
from host_stub import services
from host_stub.extensions import db


def _second_contact(world, first: str, last: str) -> tuple[int, int]:
    """A second contact of the customer, linked to a ConnectWise contact of the company: (host id, ConnectWise id)."""
    customer = services.save_customer({"account_number": "ACME01", "name": "Acme Dental"},
                                      [{"first_name": first, "last_name": last}], customer_id=world.customer_id)
    host = next(c for c in customer.contacts if c.first_name == first)
    resp = world.sandbox.api("POST", "company/contacts", json={"firstName": first, "lastName": last,
                                                                "company": {"id": world.company_id}})
    assert resp.status_code == 201, resp.text
    links.set_link(db.session, "contact", host.id, resp.json()["id"])
    db.session.commit()
    return host.id, resp.json()["id"]


def _in_connectwise(world, opp_id: int) -> tuple[int, str]:
    opp = world.api(f"sales/opportunities/{opp_id}")
    return opp["contact"]["id"], opp["expectedCloseDate"][:10]


def _set_in_connectwise(world, opp_id: int, **values) -> None:
    resp = world.sandbox.api("PATCH", f"sales/opportunities/{opp_id}",
                             json=[{"op": "replace", "path": k, "value": v} for k, v in values.items()])
    assert resp.status_code == 200, resp.text


def test_re_export_sends_the_changed_contact_and_close_date_and_names_them(world):
    doc = world.quote([line("OPT-7010")], name="New hires 2026", follow_up="2026-12-15")
    assert world.export(doc.id).status == "succeeded"
    [opp] = world.opportunities()
    assert _in_connectwise(world, opp["id"]) == (world.cw_contact_id, "2026-12-15")
    nora, nora_cw = _second_contact(world, "Nora", "Nguyen")

    world.edit(doc, [{"id": doc.lines[0].id, **line("OPT-7010")}], contact_id=nora, follow_up_date="2027-01-20")
    run = world.export(doc.id)

    assert run.status == "succeeded", run.message
    assert _in_connectwise(world, opp["id"]) == (nora_cw, "2027-01-20")
    [item] = items(run)
    assert item.action == "updated"
    assert item.message == (f'{doc.number}: updated opportunity {opp["id"]} "New hires 2026": contact set to Nora '
                            'Nguyen, expected close date set to 2027-01-20.')
    # Exported again unchanged: nothing to send, and it says so.
    again = world.export(doc.id)
    assert items(again)[0].action == "unchanged", items(again)[0].message


def test_a_header_changed_in_connectwise_stays_unless_the_document_changed_it_too(world):
    doc = world.quote([line("OPT-7010")], name="New hires 2026", follow_up="2026-12-15")
    assert world.export(doc.id).status == "succeeded"
    [opp] = world.opportunities()
    nora, nora_cw = _second_contact(world, "Nora", "Nguyen")
    omar, omar_cw = _second_contact(world, "Omar", "Smith")
    # A colleague moves the deal to Omar and to January in ConnectWise; the rep changes only a line's quantity.
    _set_in_connectwise(world, opp["id"], contact={"id": omar_cw}, expectedCloseDate="2027-01-31T00:00:00Z")
    world.edit(doc, [{"id": doc.lines[0].id, **line("OPT-7010", qty=3)}])

    run = world.export(doc.id)

    assert run.status == "succeeded", run.message
    assert _in_connectwise(world, opp["id"]) == (omar_cw, "2027-01-31")
    assert items(run)[0].message == f'{doc.number}: updated opportunity {opp["id"]} "New hires 2026": 1 line updated.'

    # Then the rep chooses Nora on the document: the document's new contact replaces the colleague's, and the run log
    # says so; the close date the document did not change stays ConnectWise's.
    world.edit(doc, [{"id": doc.lines[0].id, **line("OPT-7010", qty=3)}], contact_id=nora)
    run = world.export(doc.id)

    assert run.status == "succeeded", run.message
    assert _in_connectwise(world, opp["id"]) == (nora_cw, "2027-01-31")
    message = items(run)[0].message
    assert message.startswith(f'{doc.number}: updated opportunity {opp["id"]} "New hires 2026": contact set to '
                              "Nora Nguyen.")
    assert ("ConnectWise's contact was Omar Smith, set there after the document's last export; the document's new "
            "contact replaced it.") in message


def test_a_document_exported_by_an_older_version_sends_its_contact_when_it_differs(world):
    """The QA case: an opportunity exported before colcw kept the document's header on its link (none kept): the
    document's contact is sent when ConnectWise holds another, as its close date always was."""
    doc = world.quote([line("OPT-7010")], name="New hires 2026", follow_up="2026-12-15")
    assert world.export(doc.id).status == "succeeded"
    [opp] = world.opportunities()
    link = links.get_link(db.session, "document", doc.id)
    link.synced_values = None  # as an older version left it
    db.session.commit()
    nora, nora_cw = _second_contact(world, "Nora", "Nguyen")
    world.edit(doc, [{"id": doc.lines[0].id, **line("OPT-7010")}], contact_id=nora)

    run = world.export(doc.id)

    assert _in_connectwise(world, opp["id"]) == (nora_cw, "2026-12-15")
    assert items(run)[0].message == (f'{doc.number}: updated opportunity {opp["id"]} "New hires 2026": contact set '
                                     "to Nora Nguyen.")
