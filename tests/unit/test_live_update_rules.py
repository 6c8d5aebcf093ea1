"""Live updates' rules on plain values and a plain session: the master rule, product changes, the
mass-delete limit, the public URL, hints collapsing per record, schedules every N minutes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from colcw_plugin.errors import FieldErrors
from colcw_plugin.models import DocumentLineExport, InboundHint, Settings
from colcw_plugin.setup.customer_matching import LikelyDuplicates
from colcw_plugin.setup.live_updates import allowed_breaks, normalize_base_url, parse_limit, url_warnings
from colcw_plugin.sync.customers.company_import import keep_host_values
from colcw_plugin.sync.inbound.customers import agreed, compare
from colcw_plugin.sync.inbound.hints import Hint, read_back, record_hint, take_pending
from colcw_plugin.sync.inbound.opportunities import external_status
from colcw_plugin.sync.jobs.schedules import Timing, next_run_after, parse_timing
from colcw_plugin.sync.shared.fields import keep_master_changes
from colcw_plugin.sync.shared.product_drift import describe_change, overwrite, product_changes
from colcw_plugin.sync.shared.statuses import status_kind
from host_stub.gateway import UnitOfWork

LABELS = {"city": "City", "zip": "Zip"}


def test_only_what_connectwise_changed_since_the_last_sync_comes_back_and_both_sides_is_a_conflict():
    base = {"city": "Austin", "zip": "73301"}
    assert compare({"city": "Austin", "zip": "73301"}, {"city": "Austin", "zip": "73301"}, base, LABELS) == []
    # Changed in the host only: the next export sends it; nothing comes back.
    assert compare({"city": "Houston", "zip": "73301"}, {"city": "Austin", "zip": "73301"}, base, LABELS) == []
    [d] = compare({"city": "Austin", "zip": "73301"}, {"city": "Dallas", "zip": "73301"}, base, LABELS)
    assert (d.field, d.host, d.cw, d.conflict) == ("city", "Austin", "Dallas", False)
    [d] = compare({"city": "Houston", "zip": "73301"}, {"city": "Dallas", "zip": "73301"}, base, LABELS)
    assert d.conflict and d.label == "City"
    # No agreement known (a link made before): ConnectWise's differing value counts as its change.
    [d] = compare({"city": "Austin"}, {"city": "Dallas"}, None, LABELS)
    assert not d.conflict
    # The same change on both sides is an agreement.
    assert compare({"city": "Dallas"}, {"city": "Dallas"}, {"city": "Austin"}, LABELS) == []
    assert agreed({"city": "Dallas", "zip": "1"}, {"city": "Dallas", "zip": "2"}, {"city": "Austin", "zip": "0"}) == {
        "city": "Dallas", "zip": "0"}


def test_an_export_with_connectwise_as_master_keeps_what_connectwise_changed():
    host = {"city": "Houston", "zip": "75001", "name": "Acme"}
    cw = {"city": "Dallas", "zip": "73301", "name": "Acme"}
    base = {"city": "Austin", "zip": "73301", "name": "Acme"}
    sent, agreement, kept = keep_master_changes(host, cw, base)
    assert sent == {"city": "Dallas", "zip": "75001", "name": "Acme"} and kept == ["city"]
    assert agreement == {"city": "Austin", "zip": "75001", "name": "Acme"}  # still "changed on both sides"
    assert keep_master_changes(host, cw, None) == (host, host, [])


def test_a_blank_connectwise_field_never_erases_a_host_value_unless_connectwise_is_master():
    values = {"location_code": "", "city": "Dallas", "fax": None, "active": False}
    keep_host_values(values, {"location_code": "HQ", "city": "Austin", "fax": "512", "active": True})
    assert values == {"location_code": "HQ", "city": "Dallas", "fax": "512", "active": False}


def _export(line_id, product_id, position, item, qty, price, cost=1, description="d"):
    return DocumentLineExport(document_id=1, line_id=line_id, cw_product_id=product_id, item_number=item,
                              position=position, quantity=Decimal(qty), price=Decimal(price), cost=Decimal(cost),
                              description=description)


def test_product_changes_since_export_changed_removed_and_added_by_hand_only_after_the_export():
    exports = [_export(10, 100, 1, "A", 3, 100), _export(11, 101, 2, "B", 1, 50), _export(12, 102, 3, "C", 2, 10)]
    products = [
        {"id": 100, "quantity": 5, "price": 95, "cost": 1, "description": "d", "integrationXRef": "colcw:1:10"},
        {"id": 101, "quantity": 1, "price": 50.004, "cost": 1, "description": "d", "integrationXRef": "colcw:1:11"},
        {"id": 103, "quantity": 7, "price": 12, "catalogItem": {"identifier": "H"}, "integrationXRef": None},
        {"id": 104, "quantity": 1, "price": 1, "catalogItem": {"identifier": "OLD"}},  # there at the export
        {"id": 105, "quantity": 1, "price": 1, "integrationXRef": "colcw:2:20"},  # another document's
    ]
    changes = product_changes(exports, products, hand_at_export={104})
    assert [(c["kind"], c["item"], c["field"], c["exported"], c["cw"]) for c in changes] == [
        ("changed", "A", "quantity", "3.00", "5.00"), ("changed", "A", "price", "100.00", "95.00"),
        ("removed", "C", "", "2 × 10.00", ""), ("added", "H", "", "", "7 × 12.00")]
    assert describe_change(changes[0]) == "line 1 (A) quantity 3.00 → 5.00 in ConnectWise"
    assert overwrite(changes[0]) == "sets line 1 (A) quantity back from 5.00 to 3.00"
    assert overwrite(changes[2]) == "adds line 3 (C) again"
    assert "as it is" in overwrite(changes[3])


def test_statuses_are_told_by_flags_and_labelled_with_when_and_who():
    assert [status_kind(s) for s in ({"wonFlag": True, "closedFlag": True}, {"lostFlag": True}, {"closedFlag": True},
                                     {}, None)] == ["won", "lost", "closed", "open", "open"]
    statuses = [{"id": 2, "name": "Closed - Won", "wonFlag": True}, {"id": 3, "name": "Lost", "lostFlag": True},
                {"id": 5, "name": "Too pricey", "lostFlag": True}, {"id": 1, "name": "Open"}]
    settings = Settings(site_url="https://na.myconnectwise.net", company_id="acme")
    opp = {"id": 7, "name": "Deal", "status": {"id": 2}, "closedDate": "2026-05-04T10:00:00Z",
           "closedBy": {"identifier": "sam", "name": "Sam Admin"}}
    won = external_status(opp, statuses, settings, own_member="APIMember")
    assert won["status"] == "won" and won["label"] == "Won in ConnectWise on 2026-05-04 by Sam Admin: Closed - Won"
    assert "recid=7" in won["url"]
    lost = external_status({**opp, "status": {"id": 3}}, statuses, settings, "APIMember")
    assert lost["label"] == "Lost in ConnectWise on 2026-05-04 by Sam Admin"
    reason = external_status({**opp, "status": {"id": 5}}, statuses, settings, "APIMember")
    assert reason["label"].endswith(": Too pricey")
    own = external_status({**opp, "closedBy": {"identifier": "APIMember", "name": "API"}}, statuses, settings,
                          "APIMember", order="SO-1")
    assert "by colcw for sales order SO-1" in own["label"]  # colcw's own Won: its conversion
    keys = external_status({**opp, "closedBy": {"identifier": "APIMember", "name": "API"}}, statuses, settings,
                           "APIMember")  # no conversion of colcw's: someone using its keys
    assert keys["label"] == "Won in ConnectWise on 2026-05-04 by the API member API (colcw's keys): Closed - Won"
    assert external_status({**opp, "status": {"id": 1}}, statuses, settings, "APIMember") is None


def test_the_mass_delete_limit_is_a_percentage_or_a_number_and_one_deletion_always_passes():
    assert parse_limit("10%") == (10, True) and parse_limit(" 50 ") == (50, False)
    for bad in ("", "ten", "0%", "150%", "-3", "0"):  # 0 as 0 %: "stop at any deletion", never what a pass does
        with pytest.raises(FieldErrors):
            parse_limit(bad)
    assert allowed_breaks("10%", 500) == 50 and allowed_breaks("10%", 5) == 1 and allowed_breaks("3", 1000) == 3


def test_the_public_url_is_an_absolute_address_and_http_is_saved_with_a_warning():
    assert normalize_base_url(" https://quotes.example.com/ ") == "https://quotes.example.com"
    for bad in ("quotes.example.com", "ftp://x", "https://u:p@x.example", "https://x.example/?a=1"):
        with pytest.raises(FieldErrors):
            normalize_base_url(bad)
    assert url_warnings("https://quotes.example.com") == []
    assert "not https" in url_warnings("http://127.0.0.1:5000")[0]


def test_many_hints_for_one_record_are_one_pending_row_taken_once(session):
    for action in ("added", "updated", "updated"):
        record_hint(session, Hint("company", 7, action, "sam"))
    record_hint(session, Hint("contact", 7, "deleted"))
    taken = take_pending(session, run_id=1)
    assert sorted((h.entity, h.cw_id, h.action, h.hints) for h in taken) == [
        ("company", 7, "updated", 3), ("contact", 7, "deleted", 1)]
    read_back(session, taken)
    assert take_pending(session, run_id=2) == []
    record_hint(session, Hint("company", 7, "updated"))
    assert [h.hints for h in take_pending(session, run_id=3)] == [4]
    assert session.query(InboundHint).count() == 2


def test_a_hint_stays_pending_until_its_record_was_read_and_again_if_announced_meanwhile(session):
    record_hint(session, Hint("company", 7, "updated"))
    record_hint(session, Hint("company", 8, "updated"))
    taken = take_pending(session, run_id=1)  # the attempt then meets ConnectWise unreachable: no read_back
    assert sorted(h.cw_id for h in take_pending(session, run_id=1)) == [7, 8]  # its next attempt takes them again
    record_hint(session, Hint("company", 8, "updated"))  # announced again while they were being read
    read_back(session, taken)
    assert [(h.cw_id, h.hints) for h in take_pending(session, run_id=2)] == [(8, 2)]


def test_a_schedule_every_n_minutes_fires_n_minutes_after_it_last_fired():
    timing = parse_timing({"frequency": "every", "every_minutes": "15", "time": "", "timezone": "UTC"})
    assert timing == Timing.every(15)
    assert next_run_after(timing, dt.datetime(2026, 3, 8, 6, 59, 31)) == dt.datetime(2026, 3, 8, 7, 14)
    with pytest.raises(FieldErrors) as e:
        parse_timing({"frequency": "every", "every_minutes": "0", "time": "02:30", "timezone": "UTC"})
    assert "every_minutes" in e.value.errors


def test_likely_duplicates_are_found_by_normalised_name_or_phone(session):
    uow = UnitOfWork(session)
    uow.save_customer({"account_number": "A1", "name": "The Acme Company, Inc.", "phone": "+1 (512) 555-0100"})
    uow.commit()
    dupes = LikelyDuplicates(session)
    assert dupes.match("ACME co", "")[1] == "similar name"  # the same once "the" and the suffixes are dropped
    assert dupes.match("the acme company inc", "")[1] == "same name"  # the same but for case and punctuation
    assert dupes.match("Other", "512.555.0100")[1] == "same phone number"
    assert dupes.match("Other", "512-555-0199") is None
