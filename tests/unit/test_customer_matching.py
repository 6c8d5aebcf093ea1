"""Customer matching rules: names and phones compared as people write them, and the hints the Map
Customers page gives (likely duplicates on either side)."""

from __future__ import annotations

from colcw_plugin.models import CompanyScan
from colcw_plugin.setup.customer_matching import (
    cw_duplicate_groups,
    hints_for,
    host_duplicate_groups,
    normalize_name,
    normalize_phone,
)
from host_stub.gateway import UnitOfWork


def test_names_are_compared_without_case_accents_punctuation_or_legal_suffixes():
    assert normalize_name("The Café & Bakery, Inc.") == normalize_name("cafe and bakery") == "cafe and bakery"
    assert normalize_name("Acme Co LLC") == "acme"
    assert normalize_name("Co") == "co"  # a name made only of a suffix keeps it


def test_phones_are_compared_on_their_last_ten_digits():
    assert normalize_phone("+1 (512) 555-0100") == normalize_phone("512.555.0100") == "5125550100"
    assert normalize_phone("555-01") == ""  # too short to compare


def _scan(cw_id: int, name: str, phone: str = "") -> CompanyScan:
    return CompanyScan(cw_id=cw_id, identifier=f"C{cw_id}", name=name, phone=phone,
                       norm_name=normalize_name(name), norm_phone=normalize_phone(phone))


def test_the_page_points_out_look_alikes_on_both_sides(session):
    uow = UnitOfWork(session)
    uow.save_customer({"account_number": "H1", "name": "Bayview Law Group LLC", "phone": "555-867-5309"})
    uow.save_customer({"account_number": "H2", "name": "bayview law group"})
    uow.commit()
    rows = [_scan(1, "Bayview Law Group"), _scan(2, "Other Name", "(555) 867-5309"), _scan(3, "Unrelated")]
    session.add_all([*rows, _scan(4, "BAYVIEW LAW GROUP, INC.")])
    session.commit()
    hints = hints_for(session, rows)
    assert sorted(h.account_number for h in hints[1].host_matches) == ["H1", "H2"]
    assert [d.cw_id for d in hints[1].cw_duplicates] == [4]
    assert [h.account_number for h in hints[2].host_matches] == ["H1"]  # by phone
    assert hints[3].host_matches == [] and hints[3].cw_duplicates == []
    assert [sorted(h.account_number for h in g) for g in host_duplicate_groups(session)] == [["H1", "H2"]]
    assert [sorted(c.cw_id for c in g) for g in cw_duplicate_groups(session)] == [[1, 4]]


def test_likely_duplicates_keep_a_few_bytes_a_key_not_the_customers_row(session):
    """A bulk import keeps every customer it meets in its likely duplicates (issue 14, "memory flat in N"): the keys'
    hashes beside the customers' ids, not dicts of rows (478 bytes a customer before, about 65 since, at CPython 3.11; a customer
    about to be created is kept whole only until the import says it was saved)."""
    import tracemalloc

    from colcw_plugin.setup.customer_matching import HostCustomer, LikelyDuplicates

    dupes = LikelyDuplicates(session, read_all=False)
    made = [HostCustomer(0, f"Generated Company Number {i} Holdings LLC", f"CW{i:06d}", f"(512) 555-{i:04d}", "")
            for i in range(20_000)]
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i, customer in enumerate(made):  # as an import adds the customers it creates, then saves them
            dupes.saved(dupes.add(customer), 1_000 + i)
        kept = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    finally:
        tracemalloc.stop()
    assert kept / 20_000 < 100, f"{kept / 20_000:.0f} bytes a customer"

    # One not saved yet is told apart by what it was given (it has no row to read).
    dupes.add(HostCustomer(0, "Fresh Company Ltd", "NEW1", "(737) 555-0199", ""))
    like, why = dupes.match("fresh company", "")
    assert (like.id, like.label, why) == (0, "Fresh Company Ltd (NEW1)", "similar name")  # (without its "Ltd")
    assert dupes.match("FRESH COMPANY, LTD.", "")[1] == "same name"  # case and punctuation aside
    like, why = dupes.match("Someone else", "737-555-0199")
    assert (like.label, why) == ("Fresh Company Ltd (NEW1)", "same phone number")


def test_the_key_index_keeps_the_first_customer_of_each_key_across_merges(monkeypatch):
    """The index merges the keys given since its last merge into its sorted arrays every MERGE_AT keys (each one
    placed by bisection, the arrays copied between them): every key is found, with the first customer given for it,
    after many merges."""
    from colcw_plugin.setup.customer_matching import _KeyIndex

    monkeypatch.setattr(_KeyIndex, "MERGE_AT", 64)
    index = _KeyIndex()
    for i in range(5_000):
        index.put(f"key {i % 3_000}", i)  # keys 0-1,999 given twice: the first customer stays
    assert len(index._hashes) > 64 and list(index._hashes) == sorted(index._hashes)
    assert all(index.get(f"key {k}") == k for k in range(3_000))
    assert index.get("key 3000") is None and index.get("") is None


def test_a_look_hands_the_keys_no_customer_has_to_the_add_that_follows(session):
    """The import looks each new company up once: the keys its look found free are what add counts it by."""
    from colcw_plugin.setup.customer_matching import HostCustomer, LikelyDuplicates

    uow = UnitOfWork(session)
    uow.save_customer({"account_number": "H1", "name": "Bayview Law Group LLC", "phone": "555-867-5309"})
    uow.commit()
    dupes = LikelyDuplicates(session)
    like, new_keys = dupes.look("Harbor Logistics", "(555) 867-5309")
    assert like[0].label == "Bayview Law Group LLC (H1)" and like[1] == "same phone number" and new_keys == ()
    like, new_keys = dupes.look("Harbor Logistics Inc.", "512 555 0100")
    assert like is None and new_keys == (("name", "harbor logistics"), ("phone", "5125550100"))
    added = dupes.add(HostCustomer(0, "Harbor Logistics Inc.", "N1", "512 555 0100", ""), new_keys)
    assert dupes.match("HARBOR LOGISTICS", "")[0].label == "Harbor Logistics Inc. (N1)"  # not saved yet: kept whole
    dupes.saved(added, 77)
    assert dupes._names.get("harbor logistics") == 77 and dupes._phones.get("5125550100") == 77
