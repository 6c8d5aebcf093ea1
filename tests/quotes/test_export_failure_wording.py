"""A failed export says whether anything of the document reached ConnectWise ("not exported" when nothing did, "not
exported completely" when some did), and a failure that is the connection's, not the document's (ConnectWise
refusing colcw's keys, or its API member's access) says so and sends the rep to an admin, not to "fix what
ConnectWise named"."""

from __future__ import annotations

from quote_support import line
from sqlalchemy import select

from colcw_plugin.models import DocumentExport
from colcw_plugin.setup.connection import get_settings
from helpers import tune_runtime
from host_stub.extensions import db


def _state(doc_id: int) -> DocumentExport:
    db.session.expire_all()
    return db.session.execute(select(DocumentExport).where(DocumentExport.document_id == doc_id)).scalar_one()


def test_refused_keys_write_nothing_and_send_the_rep_to_an_admin(world, connected, box):
    doc = world.quote([line("OPT-7010")])
    get_settings(db.session).secret_encrypted = box.encrypt("not-the-private-key")
    db.session.commit()

    run = world.export(doc.id)

    assert run.status == "failed"
    assert world.opportunities() == []  # nothing reached ConnectWise
    state = _state(doc.id)
    assert state.message.startswith(f"{doc.number} was not exported: ConnectWise refused colcw's login: ")
    assert "completely" not in state.message
    assert state.resolution == ("Nothing in the document needs fixing: ask an admin to check the API keys and run "
                                "Test Connection (Admin → Integration → ConnectWise), then export it again.")


def test_denied_access_names_the_security_role_fix(world, connected):
    doc = world.quote([line("OPT-7010")])
    connected.deny(["sales/opportunities"])

    run = world.export(doc.id)

    assert run.status == "failed"
    state = _state(doc.id)
    assert state.message.startswith(f"{doc.number} was not exported: ConnectWise denied colcw's API member access: ")
    assert "ask an admin to give the API member's security role access" in state.resolution
    # The area denied is named, in the words the rep's checklist uses for the same refusal.
    assert "access to sales/opportunities in ConnectWise (System → Security Roles), then export it again." in \
        state.resolution
    assert "lines already sent" not in state.resolution


def test_a_transient_failure_before_anything_was_sent_says_not_exported(world, connected, app, monkeypatch):
    tune_runtime(monkeypatch, app, record_retry_intervals=())  # no second pass inside the run
    doc = world.quote([line("OPT-7010")])
    connected.add_fault(status=503, method="GET", path="sales/opportunities")  # the read before any write

    world.export(doc.id)

    connected.clear_faults()
    assert world.opportunities() == []
    state = _state(doc.id)
    assert state.message.startswith(f"{doc.number} was not exported: ConnectWise answered ")
    assert state.resolution.startswith("Nothing in it needs fixing: ")
    assert "lines already sent" not in state.resolution
    # (A failure after lines were sent says "not exported completely": tests/quotes/test_quote_lines.py.)
