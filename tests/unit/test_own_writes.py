"""colcw's own writes are told by the version of the record they produced (lastUpdated and the fields colcw reads)."""

from __future__ import annotations

from colcw_plugin.sync.shared.own_writes import KEEP, WRITTEN, remember, versions, written_by_colcw

WROTE = {"id": 7, "identifier": "ACME1", "name": "Acme", "city": "Austin", "site": {"id": 3, "name": "Main",
         "_info": {"site_href": "https://cw.example/sites/3"}},
         "_info": {"lastUpdated": "2026-12-06T10:00:01Z", "updatedBy": "APIMember"}}


def _with(record: dict, **changes) -> dict:
    return {**record, **changes}


def test_only_the_version_colcw_wrote_is_its_own_whoever_is_named():
    agreement = remember({"city": "Austin"}, None, "company", WROTE)
    assert written_by_colcw(agreement, "company", WROTE)
    # ConnectWise's links are not what colcw wrote: they do not matter.
    echoed = _with(WROTE, site={"id": 3, "name": "Main"}, _info={"lastUpdated": "2026-12-06T10:00:01Z",
                                                                 "updatedBy": "APIMember"})
    assert written_by_colcw(agreement, "company", echoed)
    # The same second and fields, made by someone else (a person moving the company to another site and back within
    # the second colcw wrote it): whole-second stamps make only the name tell it apart, and it is not colcw's.
    assert not written_by_colcw(agreement, "company", _with(WROTE, _info={"lastUpdated": "2026-12-06T10:00:01Z",
                                                                          "updatedBy": "admin1"}))
    # The same second, another value (a script with colcw's keys right after it); a later change; no stamp at all.
    assert not written_by_colcw(agreement, "company", _with(WROTE, city="Dallas"))
    assert not written_by_colcw(agreement, "company", _with(WROTE, _info={"lastUpdated": "2026-12-06T10:00:02Z"}))
    assert not written_by_colcw(agreement, "company", _with(WROTE, _info={}))
    assert not written_by_colcw(None, "company", WROTE)


def test_a_link_keeps_the_last_versions_colcw_wrote_beside_the_agreement():
    agreement: dict = {"city": "Austin"}
    for second in range(KEEP + 2):
        agreement = remember({"city": "Austin"}, agreement, "company",
                             _with(WROTE, _info={"lastUpdated": f"2026-12-06T10:00:0{second}Z"}))
    assert len(versions(agreement)) == KEEP and agreement["city"] == "Austin"
    assert remember({"city": "Houston"}, agreement, "company", None) == {"city": "Houston", WRITTEN: versions(agreement)}
    assert remember({"city": "Houston"}, None, "company", None) == {"city": "Houston"}
