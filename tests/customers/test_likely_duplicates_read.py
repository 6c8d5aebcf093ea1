"""Likely duplicates read only the customers that could look like the companies asked about (PostgreSQL): a rep's
popup or a re-import meeting a few new companies reads a few rows, not every customer, and finds what reading every
customer finds."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from colcw_plugin.setup.customer_matching import LikelyDuplicates
from colcw_plugin.sync.customers.lookup import looks_like
from host_stub.extensions import db
from host_stub.gateway import UnitOfWork

pytestmark = pytest.mark.postgres

CUSTOMERS = [
    ("H1", "The Café Zoë, Inc.", ""),
    ("H2", "Smith & Sons LLC", "+1 (512) 555-0100"),
    ("H3", "A.C.M.E. Holdings", "512.555.0199 x12"),
    ("H4", "Northwind Dental Co", "555-0123"),
    ("H5", "&", ""),
    ("H6", "BAYVIEW LAW GROUP", "(737) 555 0142"),
    ("H7", "Müller Gmbh", "٥١٢٥٥٥٠١٧٧"),  # digits of another script
]
ASKED = [
    ("cafe zoe", ""), ("Café Zoë", ""), ("smith and sons", ""), ("Smith & Sons Ltd.", ""), ("a c m e holdings", ""),
    ("Other", "512-555-0100"), ("Other", "15125550100"), ("Other", "5125550199"), ("Other", "555 0123"),
    ("Northwind Dental", ""), ("and", ""), ("Bayview Law Group, PLLC", ""), ("Unrelated", "7375550142"),
    ("muller", ""), ("Other", "٥١٢٥٥٥٠١٧٧"), ("Nobody Here", "999-555-0000"), ("", ""), ("The", ""),
]


def _customers(extra: int = 0) -> None:
    uow = UnitOfWork(db.session)
    for account, name, phone in CUSTOMERS:
        uow.save_customer({"account_number": account, "name": name, "phone": phone})
    for n in range(extra):
        uow.save_customer({"account_number": f"X{n}", "name": f"Filler Company {n}", "phone": f"210-555-{n:04d}"})
    uow.commit()


def _found(dupes: LikelyDuplicates, name: str, phone: str):
    like = dupes.match(name, phone)
    return None if like is None else (like[0].id, like[1])


def test_reading_only_look_alikes_finds_what_reading_every_customer_finds(app):
    _customers()
    every = LikelyDuplicates(db.session)
    for name, phone in ASKED:
        few = LikelyDuplicates(db.session, read_all=False)  # each asked about alone, as the popup asks
        assert _found(few, name, phone) == _found(every, name, phone), (name, phone)
    together = LikelyDuplicates(db.session, read_all=False)
    together.expect(ASKED)  # a page's companies at once, as an import asks
    assert [_found(together, *a) for a in ASKED] == [_found(every, *a) for a in ASKED]
    assert _found(every, "Smith & Sons Ltd.", "")[1] == "similar name"  # (H2 is "Smith & Sons LLC")
    assert _found(every, "smith & sons, llc", "")[1] == "same name"
    assert _found(every, "Other", "15125550100")[1] == "same phone number"
    assert _found(every, "Nobody Here", "999-555-0000") is None


class _RowsRead:
    """The rows each SELECT of the host's customers returned while it was on."""

    def __init__(self) -> None:
        self.rows: list[int] = []

    def _count(self, conn, cursor, statement, params, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM customers" in statement:
            self.rows.append(cursor.rowcount)

    def __enter__(self) -> list[int]:
        event.listen(db.engine, "after_cursor_execute", self._count)
        return self.rows

    def __exit__(self, *exc) -> None:
        event.remove(db.engine, "after_cursor_execute", self._count)


def test_a_popup_check_reads_the_look_alikes_not_every_customer(app):
    _customers(extra=300)
    with _RowsRead() as rows:
        like = LikelyDuplicates(db.session, read_all=False).match("Smith and Sons", "")
    assert like is not None and like[0].label == "Smith & Sons LLC (H2)"
    # Smith & Sons, and the two names with other than ASCII letters (of 307); then the one it looks like, by its id,
    # to name it (only the keys and ids are kept).
    assert rows == [3, 1]
    # The popup's own check of a company that looks like no customer: its account number, then the look-alikes
    # linked to no company and the linked ones (not every customer, twice).
    with _RowsRead() as rows:
        assert looks_like(db.session, None, {"id": 99, "identifier": "NEW1", "name": "Nobody Here",
                                             "phoneNumber": "999-555-0000"}) is None
    assert rows == [0, 2, 2], rows  # the two names with other than ASCII letters


def test_many_companies_at_once_read_every_customer_once(app):
    _customers(extra=10)
    statements = []

    def seen(conn, cursor, statement, *rest):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        dupes = LikelyDuplicates(db.session, read_all=False)
        dupes.expect([(f"New Company {n}", "") for n in range(LikelyDuplicates.READ_ALL_AT)])
        assert _found(dupes, "Filler Company 3", "")[1] == "same name"
        assert _found(dupes, "Other", "(210) 555-0007")[1] == "same phone number"
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    # Every customer read once; each of the two matches reads its own customer by id, to name it.
    assert len([s for s in statements if "customers" in s and "customers.id =" not in s]) == 1
    assert len([s for s in statements if "customers.id =" in s]) == 2
