"""The mapping helpers on their own: Appendix A provinces, communication items, descriptions."""

from __future__ import annotations

from colcw_plugin.setup.field_mapping import CANADIAN_PROVINCES, COMPANY, CONTACT
from colcw_plugin.sync.customers.kinds import describe_export, describe_import
from colcw_plugin.sync.shared import fields as M
from colcw_plugin.sync.shared.states import StateList

TYPES = {n.casefold(): {"id": i, "name": n} for i, n in enumerate(["Email", "Direct", "Cell", "Fax", "Home",
                                                                    "Pager"], 1)}


def test_appendix_a_has_british_columbia_not_company_id():
    assert CANADIAN_PROVINCES["BC"] == "British Columbia"
    assert len(CANADIAN_PROVINCES) == 13


def test_a_province_written_out_is_sent_as_its_code_and_checked():
    states = StateList([{"identifier": "TX", "name": "Texas"}, {"identifier": "QC", "name": "Quebec"}])
    assert states.identifier("Quebec") == "QC" and states.identifier("qc") == "QC"
    message, resolution = states.problem("Nova Scotia", who="Customer X")
    assert "NS (Nova Scotia) is not in ConnectWise's state list" in message
    assert "System → Setup Tables → State" in resolution
    assert states.problem("", who="Customer X") is None


def test_every_company_and_contact_rule_reaches_the_payload():
    class Host:
        pass

    host = Host()
    for rule in COMPANY.rules:
        if rule.host_attr:
            setattr(host, rule.host_attr, True if rule.kind == "status" else f"v-{rule.host_attr}")
    host.state, host.country = "TX", "Canada"
    payload = M.company_payload(M.customer_values(host), StateList([{"identifier": "TX", "name": "Texas"}]))
    assert payload["identifier"] == "v-account_number" and payload["phoneNumber"] == "v-phone"
    assert payload["status"] == {"name": "Active"} and payload["country"] == {"name": "Canada"}
    assert "site" not in payload  # the site is its own record
    names = {r.cw_path for r in CONTACT.rules if r.kind == "comm"}
    assert names == {"Direct", "Cell", "Home", "Pager", "Email"}


def test_communication_items_keep_other_types_and_replace_mapped_ones():
    existing = [{"id": 7, "type": {"id": 4, "name": "Fax"}, "value": "555-0000", "defaultFlag": True},
                {"id": 8, "type": {"id": 2, "name": "Direct"}, "value": "old", "defaultFlag": True},
                {"id": 9, "type": {"id": 6, "name": "Pager"}, "value": "gone", "defaultFlag": False}]
    values = {"work_phone": "new", "mobile_phone": "", "home_phone": "", "other_phone": "", "email": "a@b.example"}
    merged = M.merge_communications(existing, values, TYPES)
    assert [(i["type"]["name"], i["value"], i.get("id")) for i in merged] == [
        ("Fax", "555-0000", 7), ("Direct", "new", 8), ("Email", "a@b.example", None)]
    assert M.communications_differ(existing, merged)
    assert not M.communications_differ(merged, M.merge_communications(merged, values, TYPES))


def test_job_descriptions_read_well():
    assert describe_import(None, {"company": "ACME1"}) == "Import company ACME1 from ConnectWise"
    assert describe_import(None, {"mode": "changed", "since": "2026-11-20T10:00:00"}) == (
        "Import companies changed in ConnectWise since 2026-11-20 10:00 UTC")
    assert describe_export(None, {"range": {"field": "created", "preset": "last7"}}) == (
        "Export customers created in the last 7 days to ConnectWise")
    assert describe_export(None, {"customer_ids": [1, 2]}) == "Export 2 customers to ConnectWise"
