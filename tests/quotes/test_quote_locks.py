"""The quote export's locks on PostgreSQL: the opportunity name lock, taken under the document's lock,
shares that lock's connection and is held until the document's lock ends; waiting for it, or giving up,
never loses the document's lock."""

from __future__ import annotations

import threading

import pytest
from lock_support import free
from sqlalchemy import event

from colcw_plugin.sync.quotes.locks import document_lock, name_lock
from colcw_plugin.sync.shared.locks import Busy
from host_stub.extensions import db

pytestmark = pytest.mark.postgres


def test_the_name_lock_under_a_document_lock_takes_no_connection_and_ends_with_the_document_lock(app):
    engine = db.engine
    other_name = lambda: name_lock(engine, 5, "Network refresh", wait_seconds=0)  # noqa: E731
    checkouts = []

    def checkout(*args):
        checkouts.append(1)

    with document_lock(engine, 101):
        event.listen(engine, "checkout", checkout)
        try:
            with name_lock(engine, 5, "Network refresh"):
                pass
        finally:
            event.remove(engine, "checkout", checkout)
        assert checkouts == []
        assert not free(other_name)  # still held: it ends with the document's lock
        assert free(lambda: name_lock(engine, 5, "Another deal", wait_seconds=0))
    assert free(other_name)
    assert free(lambda: document_lock(engine, 101, wait_seconds=0))


def test_waiting_for_a_busy_name_keeps_the_document_lock_whether_it_gets_the_name_or_gives_up(app):
    engine = db.engine
    holding, release = threading.Event(), threading.Event()

    def hold_name():
        with name_lock(engine, 6, "Backup deal"):
            holding.set()
            release.wait(20)

    holder = threading.Thread(target=hold_name)
    holder.start()
    try:
        assert holding.wait(20)
        with document_lock(engine, 102):
            waits = []
            # Gives up after its wait: the document's lock stays.
            with pytest.raises(Busy), name_lock(engine, 6, "Backup deal", wait_seconds=0.3, on_wait=waits.append):
                pass
            assert waits == [True, False]
            assert not free(lambda: document_lock(engine, 102, wait_seconds=0))
            threading.Timer(0.3, release.set).start()
            with name_lock(engine, 6, "Backup deal", on_wait=waits.append):  # waits, then gets it
                assert not free(lambda: name_lock(engine, 6, "Backup deal", wait_seconds=0))
            assert waits == [True, False, True, False]
            assert not free(lambda: document_lock(engine, 102, wait_seconds=0))
        assert free(lambda: document_lock(engine, 102, wait_seconds=0))
        assert free(lambda: name_lock(engine, 6, "Backup deal", wait_seconds=0))
    finally:
        release.set()
        holder.join(20)
