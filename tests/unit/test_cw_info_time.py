"""ConnectWise's ``_info`` times, read one way by the import's "changed since the rep saved" rule and by live updates'
"entered before the link" rule (sync/shared/fields.py ``cw_time``)."""
import datetime as dt

from colcw_plugin.sync.shared.fields import cw_time


def test_z_time_is_naive_utc():
    assert cw_time({"_info": {"lastUpdated": "2026-03-04T05:06:07Z"}}, "lastUpdated") == dt.datetime(2026, 3, 4, 5, 6, 7)


def test_offset_time_is_converted_to_utc():
    record = {"_info": {"dateEntered": "2026-03-04T05:06:07-05:00"}}
    assert cw_time(record, "dateEntered") == dt.datetime(2026, 3, 4, 10, 6, 7)


def test_missing_or_bad_time_is_unknown():
    assert cw_time({}, "lastUpdated") is None
    assert cw_time({"_info": {"lastUpdated": ""}}, "lastUpdated") is None
    assert cw_time({"_info": {"lastUpdated": "yesterday"}}, "lastUpdated") is None
    assert cw_time({"_info": {"dateEntered": "2026-03-04T05:06:07Z"}}, "lastUpdated") is None
