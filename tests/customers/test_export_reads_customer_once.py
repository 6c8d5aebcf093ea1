"""An export reads each customer once: the check that refuses a customer ConnectWise cannot take whatever it holds
(a name over 50 characters, no account number, no address) is made on the export's own read of it, not on a read of
its own before. It cost one more SELECT of the customers per 1,000 customers per pass, a rep's one-customer export
included."""

from __future__ import annotations

from customer_support import actions, make_customer

from colcw_plugin.sync.jobs.runs import create_run
from helpers import recorded_statements, runtime
from host_stub.extensions import db

LONG = "Synchrony Scissors Snazzy Zinc Cynics Sunny Syncs and Zyzzyva Cynosure Szy"  # 74 characters


def _export_counting_customer_reads(params: dict):
    """The finished run of a customer export with ``params`` and the statements its job ran that read the host's
    customers table (not its contacts; the run's creation, which names it, is not counted)."""
    job = create_run(db.session, runtime().kinds, "customer_export", params, trigger="manual")
    db.session.commit()
    with recorded_statements(db.engine) as seen:
        result = runtime().execute(db.session, job.id)
    flat = (" ".join(s.split()) for s in seen)
    return result, [s for s in flat if s.upper().startswith("SELECT") and " FROM customers" in s]


def test_a_reps_export_of_one_customer_reads_it_once(sync_ready):
    customer = make_customer(name="Harbor Logistics", account_number="ONCE1")
    result, reads = _export_counting_customer_reads({"customer_id": customer.id})
    assert actions(result) == ["created"], result.message
    assert len(reads) == 1, reads


def test_a_bulk_export_with_a_refused_customer_reads_each_chunk_once(sync_ready):
    fine = make_customer(name="Harbor Logistics", account_number="FINE1")
    long = make_customer(name=LONG, account_number="LONG74")
    result, reads = _export_counting_customer_reads({"customer_ids": [long.id, fine.id]})
    assert sorted(actions(result)) == ["created", "failed"], result.message
    assert len(reads) == 1, reads
