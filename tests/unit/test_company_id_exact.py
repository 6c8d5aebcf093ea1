"""The company an import by Company ID takes is the one with that Company ID, whatever else ConnectWise returns
for ``identifier = "…"``: its string comparisons may take ``*`` as a wildcard (API-NOTES §4.2, not checked against
a live server, and the sandbox does not play it), so the client is faked here, at the edge under test."""

from __future__ import annotations

from colcw_plugin.cw import NotFound
from colcw_plugin.sync.customers.lookup import by_company_id


class _Companies:
    def __init__(self, rows: list[dict], by_id: dict[int, dict] | None = None):
        self.rows, self.by_id, self.asked = rows, by_id or {}, []

    def list(self, conditions, fields, page_size):
        self.asked.append(str(conditions))
        return list(self.rows)

    def get(self, record_id: int, fields):
        if record_id not in self.by_id:
            raise NotFound(f"company {record_id}")
        return self.by_id[record_id]


class _Client:
    def __init__(self, companies: _Companies):
        self.companies = companies


def test_a_wildcard_match_is_not_the_company_named():
    client = _Client(_Companies([{"id": 7, "identifier": "ABC", "name": "ABC Corp"}]))
    assert by_company_id(client, "A*") is None
    # Asked for escaped (cw.conditions.eq: an exact like); the rows are still checked, as "[*]" is unverified.
    assert client.companies.asked == ['identifier like "A[*]"']


def test_the_company_with_that_company_id_is_taken_among_others_case_aside():
    rows = [{"id": 7, "identifier": "ACME2", "name": "Acme Two"}, {"id": 3, "identifier": "Acme", "name": "Acme"}]
    assert by_company_id(_Client(_Companies(rows)), "ACME")["id"] == 3


def test_digits_that_are_no_company_id_name_a_record_id_for_a_run_or_command():
    client = _Client(_Companies([{"id": 9, "identifier": "12", "name": "Wild"}], {12: {"id": 12, "identifier": "Z"}}))
    assert by_company_id(client, "1*") is None  # not digits: no record id either
    assert by_company_id(client, "12")["id"] == 9  # a Company ID of digits is that company
    assert by_company_id(_Client(_Companies([], {12: {"id": 12, "identifier": "Z"}})), "12")["id"] == 12
    assert by_company_id(_Client(_Companies([])), "13") is None
