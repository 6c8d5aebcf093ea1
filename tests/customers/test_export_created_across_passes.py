"""A company or contact a run created counts and reads "created" whichever pass or attempt of the run ends it: a pass
cut short after the create (a lost answer, a failed site step or company PATCH) or an attempt killed after it leaves
the record to a later pass or attempt, which used to say "linked to the existing ConnectWise company … (same Company
ID)", "updated", "unchanged" or "linked to the ConnectWise contact an interrupted export had created" of it (a run that
created all 10 companies reported "4 created, 3 updated, 3 unchanged"). Against the sandbox, over HTTP."""

from __future__ import annotations

import pytest
from customer_support import companies, company, contacts_of, items, link_of, make_customer, run
from sqlalchemy import select
from sqlalchemy.orm import close_all_sessions

from colcw_plugin.models import CreateIntent, SyncRun
from colcw_plugin.sync.customers.export_writes import ExportWrites
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime, tune_runtime
from host_stub.extensions import db

pytestmark = pytest.mark.postgres


def _customers(n: int) -> list:
    return [make_customer(name=f"Summit {i}", account_number=f"SUM{i:02d}", location_code="HQ" if i % 2 else "",
                          contacts=[{"first_name": "Ada", "last_name": f"Count{i}", "email": f"ada{i}@sum.example",
                                     "is_default": True}])
            for i in range(n)]


def _no_second_try_said(run_: SyncRun) -> None:
    for item in items(run_):
        assert item.action == "created", (item.label, item.action, item.message)
        for words in ("unchanged", "linked to the", "interrupted export", "kept ConnectWise"):
            assert words not in item.message, item.message


def test_records_a_pass_cut_short_had_created_are_created_in_the_pass_that_ends_them(sync_ready, monkeypatch, app):
    tune_runtime(monkeypatch, app, record_retry_intervals=(0,), unreachable_after=0, concurrency=1)
    customers = _customers(10)
    # SUM00: the company POST is carried out, its answer lost, and the look-up for it fails too (every try).
    sync_ready.add_fault(status=500, applied=True, method="POST", path=r"company/companies$", count=1)
    sync_ready.add_fault(status=500, method="GET", path=r"company/companies$", count=5)
    # SUM01, SUM03: their company is created, then the site POST fails.
    sync_ready.add_fault(status=500, method="POST", path=r"company/companies/\d+/sites$", count=2)
    # SUM02: its company and contact are created, then the company PATCH (default contact) fails, every try.
    sync_ready.add_fault(status=500, method="PATCH", path=r"company/companies/\d+$", count=5)

    done = run("customer_export", {"customer_ids": [c.id for c in customers]})
    assert done.status == "succeeded", done.message
    assert done.entity_counts == {"customer": {"created": 10}, "contact": {"created": 10}}, done.entity_counts
    _no_second_try_said(done)
    assert sorted(c["identifier"] for c in companies(sync_ready)) == [f"SUM{i:02d}" for i in range(10)]
    for customer in customers:
        company_id = link_of("customer", customer.id).cw_id
        assert len(contacts_of(sync_ready, company_id)) == 1, customer.account_number
        assert company(sync_ready, company_id)["site"]["name"] == (customer.location_code or "Main")
    assert db.session.execute(select(CreateIntent)).scalars().all() == []


class _Killed(BaseException):
    """The worker dies (not an error the run could record)."""


def test_records_an_attempt_killed_after_creating_them_had_made_are_created_in_the_next_attempt(
        sync_ready, monkeypatch, app):
    """The first attempt dies after SUM01's contact POST, before its link is written (and before any result: SUM00's
    are recorded after the next customer's commit): the next attempt finds both companies linked and SUM01's contact
    by its intent, and says all of them created."""
    tune_runtime(monkeypatch, app, concurrency=1)
    customers = _customers(2)
    real_flush = ExportWrites.flush

    def flush(self):
        # The customer's last write (its contacts' links, the intents settled) of SUM01: the process dies first.
        if any(self._settled.values()) and any(u["row"].entity == "customer" and u["row"].host_id == customers[1].id
                                               for u in self._updates):
            raise _Killed()
        return real_flush(self)

    contact_id = customers[1].contacts[0].id
    monkeypatch.setattr(ExportWrites, "flush", flush)
    job = create_run(db.session, runtime().kinds, "customer_export", {"customer_ids": [c.id for c in customers]},
                     trigger="manual")
    db.session.commit()
    job_id = job.id
    with pytest.raises(_Killed):
        runtime().execute(db.session, job_id)
    # The process died: its sessions end with it (the exception's frames would keep the run's recorder, and its
    # transaction, open until collected).
    close_all_sessions()
    job = db.session.get(SyncRun, job_id)
    monkeypatch.setattr(ExportWrites, "flush", real_flush)
    assert items(db.session.get(SyncRun, job.id)) == []  # (SUM00's results wait for the next commit: lost too)
    company_id = link_of("customer", customers[1].id).cw_id
    assert link_of("contact", contact_id) is None and len(contacts_of(sync_ready, company_id)) == 1

    resumed = runtime().execute(db.session, job.id)
    assert resumed.status == "succeeded", resumed.message
    assert resumed.attempts == 2
    assert resumed.entity_counts == {"customer": {"created": 2}, "contact": {"created": 2}}, resumed.entity_counts
    _no_second_try_said(resumed)
    assert len(contacts_of(sync_ready, company_id)) == 1  # found by its intent, not made again
    assert link_of("contact", contact_id).cw_id == contacts_of(sync_ready, company_id)[0]["id"]
    assert company(sync_ready, company_id)["site"]["name"] == "HQ"
    assert link_of("customer", customers[1].id).synced_values["location_code"] == "HQ"
