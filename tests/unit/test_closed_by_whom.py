"""Who an opportunity's close label names once colcw's Won was moved to another closed status (no database)."""

from __future__ import annotations

from colcw_plugin.models import Settings
from colcw_plugin.sync.inbound.opportunities import external_status

STATUSES = [{"id": 2, "name": "Won", "wonFlag": True, "closedFlag": True},
            {"id": 3, "name": "Lost", "lostFlag": True, "closedFlag": True},
            {"id": 4, "name": "No Decision", "closedFlag": True}]
SETTINGS = Settings(site_url="", company_id="acme")
COLCW = {"identifier": "APIMember", "name": "API Member"}
WON = {"id": 7, "name": "Deal", "status": {"id": 2}, "closedDate": "2026-05-04T10:00:00Z", "closedBy": COLCW,
       "_info": {"lastUpdated": "2026-05-04T10:00:00Z", "updatedBy": "APIMember"}}


def _label(record: dict, own_member: str = "APIMember", order: str | None = "SO1001") -> str:
    return external_status(record, STATUSES, SETTINGS, own_member, order)["label"]


def _moved(status: int, closed_by: dict, updated_by: str, at: str = "2026-06-01T09:00:00Z", **more) -> dict:
    return {**WON, "status": {"id": status}, "closedBy": closed_by, "_info": {"lastUpdated": at, "updatedBy": updated_by},
            **more}


def test_colcws_own_won_is_colcws_and_a_later_edit_does_not_change_that():
    assert _label(WON) == "Won in ConnectWise on 2026-05-04 by colcw for sales order SO1001"
    assert _label(_moved(2, COLCW, "admin1")) == "Won in ConnectWise on 2026-05-04 by colcw for sales order SO1001"
    assert _label(_moved(2, COLCW, "admin1"), own_member="") == \
        "Won in ConnectWise on 2026-05-04 by colcw for sales order SO1001"


def test_a_person_who_moved_it_to_lost_is_named_whatever_connectwise_kept():
    kept = _moved(3, COLCW, "admin1")  # ConnectWise kept colcw's close
    assert _label(kept) == "Lost in ConnectWise on 2026-06-01 by admin1"
    assert _label(kept, own_member="") == "Lost in ConnectWise on 2026-06-01 by admin1"
    stamped = _moved(3, {"identifier": "admin1", "name": "Sam Admin"}, "admin1", closedDate="2026-06-01T08:59:59Z")
    assert _label(stamped) == "Lost in ConnectWise on 2026-06-01 by Sam Admin"
    assert _label(stamped, own_member="") == "Lost in ConnectWise on 2026-06-01 by Sam Admin"
    assert _label(_moved(4, COLCW, "rrep")) == "Closed in ConnectWise on 2026-06-01 by rrep: No Decision"


def test_when_colcw_itself_wrote_last_the_person_is_not_known():
    assert _label(_moved(3, COLCW, "APIMember")) == "Lost in ConnectWise on 2026-06-01 by someone"
