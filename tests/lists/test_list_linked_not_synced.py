"""All Customers' ConnectWise column says what is true of a customer linked without a sync (on its page or on Map
customers) and of one not linked: the first read "Changed since export", "Edited since it was last synced with company
X: export it again" though it was never exported nor edited since; every not-linked row read "Not in ConnectWise
yet", including customers whose account number ConnectWise already holds as a Company ID (QA walkthrough). The list
asks ConnectWise nothing: a not-linked row says what its export does either way."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re

import pytest
from htmx_loads import loaded

from colcw_plugin.models import SyncItem, SyncRun, set_link
from colcw_plugin.sync.customers.list_status import row_states
from helpers import list_states
from host_stub import services
from host_stub.extensions import db
from host_stub.models import utcnow

pytestmark = pytest.mark.postgres

HOUR = dt.timedelta(hours=1)


def _customer(number: str, name: str):
    return services.save_customer({"account_number": number, "name": name},
                                  [{"first_name": "Pat", "last_name": name.split()[0], "is_default": True}])


def _linked_by_hand(customer, cw_id: int, direction: str, *, own_values: bool):
    """Linked as the customer page (``link``) or Map customers (``map``) link: its sync time before its link time,
    the link recorded as its latest result without a run; ``own_values``: it holds values ConnectWise does not."""
    link = set_link(db.session, "customer", customer.id, cw_id, cw_identifier=customer.account_number)
    link.linked_at = utcnow() - HOUR
    link.synced_at = link.linked_at - dt.timedelta(microseconds=1)
    customer.updated_at = (link.synced_at + dt.timedelta(seconds=1)) if own_values else link.synced_at - HOUR
    for contact in customer.contacts:
        contact.updated_at = link.synced_at - HOUR
    db.session.add(SyncItem(run_id=None, entity="customer", direction=direction, host_id=customer.id,
                            action="linked", label=customer.account_number, at=link.linked_at,
                            message=f"Linked {customer.name} to ConnectWise company {customer.account_number}."))


@pytest.fixture()
def customers(app):
    page = _customer("PAGE01", "Paged Plumbing")
    mapped = _customer("MAP01", "Mapped Masonry")
    same = _customer("SAME01", "Same Signs")
    fresh = _customer("NEW02", "Newcomer Nails")
    exported = _customer("EXP01", "Exported Eggs")
    _linked_by_hand(page, 601, "link", own_values=True)
    _linked_by_hand(mapped, 602, "map", own_values=True)
    _linked_by_hand(same, 603, "map", own_values=False)
    # Linked by hand, then exported: synced (the export moved its sync time), then edited.
    link = set_link(db.session, "customer", exported.id, 604, cw_identifier="EXP01")
    run = SyncRun(kind="customer_export", status="succeeded")
    db.session.add(run)
    db.session.flush()
    db.session.add(SyncItem(run_id=run.id, entity="customer", direction="export", host_id=exported.id,
                            action="updated", label="EXP01", at=utcnow() - HOUR))
    link.synced_at = utcnow() - HOUR
    exported.updated_at = utcnow()
    db.session.commit()
    return {"page": page, "map": mapped, "same": same, "new": fresh, "exported": exported}


_rows = list_states


def test_a_customer_linked_without_a_sync_reads_linked_not_synced_yet(rep_client, customers):
    rows = _rows(loaded(rep_client, "/customers/"))
    for number in ("PAGE01", "MAP01"):
        assert rows[number] == ("Linked, not synced yet", f"Linked to ConnectWise company {number}, not synced since: "
                                "it holds values of its own that differ from ConnectWise's, which Export to "
                                "ConnectWise sends."), rows[number]
    assert rows["SAME01"] == ("Linked, not synced yet", "Linked to ConnectWise company SAME01, not synced since; not "
                                                        "edited since it was linked."), rows["SAME01"]
    for label, reason in rows.values():
        assert "Edited since it was last synced" not in reason or label == "Changed since export"
    # Exported since it was linked, then edited: changed since export, as before.
    assert rows["EXP01"] == ("Changed since export", "Edited since it was last synced with company EXP01: export it "
                                                     "again to update it.")


def test_a_not_linked_row_says_what_its_export_does_with_its_account_number(rep_client, customers):
    rows = _rows(loaded(rep_client, "/customers/"))
    assert rows["NEW02"] == ("Not linked", "Not linked: Export to ConnectWise links the company whose Company ID is "
                                           "NEW02, or creates it.")
    assert not any("Not in ConnectWise yet" in reason for _, reason in rows.values())


def test_each_filter_option_selects_exactly_the_rows_showing_its_label(rep_client, customers):
    """ "Changed since export" and "Synced" selected the rows showing "Linked, not synced yet" too, which had no option
    of its own (walkthrough)."""
    listing = html_lib.unescape(loaded(rep_client, "/customers/"))
    select = re.search(r'<select[^>]*name="cw".*?</select>', listing, re.S).group(0)
    options = dict(re.findall(r'<option value="(\w*)"[^>]*>([^<]*)</option>', select))
    assert options["not_synced"] == "Linked, not synced yet"
    assert set(_rows(loaded(rep_client, "/customers/?cw=not_synced"))) == {"PAGE01", "MAP01", "SAME01"}
    assert set(_rows(loaded(rep_client, "/customers/?cw=changed"))) == {"EXP01"}
    assert set(_rows(loaded(rep_client, "/customers/?cw=synced"))) == set()
    everyone = _rows(listing)
    for value, label in options.items():
        if value:
            selected = _rows(loaded(rep_client, f"/customers/?cw={value}"))
            assert {n for n, (shown, _) in everyone.items() if shown == label} == set(selected), value
            assert all(shown == label for shown, _ in selected.values()), (value, selected)
    states = row_states(db.session, [c.id for c in customers.values()])
    assert states[customers["page"].id].label == "Linked, not synced yet"
