"""``flask colcw runs list | show``: the job history and a run's results from the command line, on the runs a real
export made."""

from __future__ import annotations

import pytest
from customer_support import companies, make_customer
from sqlalchemy import select

from colcw_plugin.models import SyncItem, SyncRun
from host_stub.extensions import db

pytestmark = [pytest.mark.postgres]

RUN_PAGE = "/admin/integration/connectwise/jobs/runs"


def colcw(app, *args):
    return app.test_cli_runner().invoke(args=["colcw", *args], env={"LOGNAME": "deploy"})


def exported_with_a_failure(app) -> SyncRun:
    """A real export of two customers, one of which ConnectWise cannot take (its state is not in ConnectWise's list)."""
    make_customer()
    make_customer(account_number="BAD1", name="Nowhere Supplies", state="ZZ", contacts=[])
    result = colcw(app, "sync", "customers", "--direction", "export", "--all")
    assert result.exit_code == 1, result.output  # a record failed
    db.session.expire_all()
    return db.session.execute(select(SyncRun).order_by(SyncRun.id.desc())).scalars().first()


def test_runs_list_shows_the_export_and_filters_as_the_history_does(sync_ready, app):
    run = exported_with_a_failure(app)
    assert [c["identifier"] for c in companies(sync_ready)] == ["ACME1"]
    assert run.status == "partial"

    listed = colcw(app, "runs", "list")
    assert listed.exit_code == 0, listed.output
    started = run.started_at.strftime("%Y-%m-%d %H:%M UTC")
    assert f"#{run.id}  {started}  Partly failed  2 / 2  Customer export (ChannelOnline → ConnectWise)" \
        in listed.output
    assert "Export all customers to ConnectWise (by command line (deploy), cli)" in listed.output
    assert "1 run requested since " in listed.output and "(days in UTC)" in listed.output

    assert f"#{run.id} " in colcw(app, "runs", "list", "--job", "customer_export", "--status", "partial").output
    for other in (["--job", "customer_import"], ["--status", "succeeded"], ["--from", "2020-01-01", "--to",
                                                                             "2020-01-31"]):
        result = colcw(app, "runs", "list", *other)
        assert result.exit_code == 0 and f"#{run.id} " not in result.output and "0 runs" in result.output, other

    limited = colcw(app, "runs", "list", "--limit", "1")
    assert f"#{run.id} " in limited.output


def test_runs_show_gives_the_summary_and_each_records_message_and_fix(sync_ready, app):
    run = exported_with_a_failure(app)
    shown = colcw(app, "runs", "show", str(run.id))
    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert f"Run #{run.id}  Customer export (ChannelOnline → ConnectWise)" in out
    assert "Status:               Partly failed" in out
    assert f"Requested:            {run.created_at:%Y-%m-%d %H:%M} UTC by command line (deploy) (cli)" in out
    assert f"Records:              {run.records_summary}" in out
    assert "FAILED  customer: " in out and "state 'ZZ' is not in ConnectWise's state list" in out
    assert "What to do: Correct the state" in out
    assert "CREATED  customer: " in out

    failed = colcw(app, "runs", "show", str(run.id), "--failed").output
    assert "state 'ZZ' is not in ConnectWise's state list" in failed and "What to do: Correct the state" in failed
    assert "CREATED" not in failed and "Records failed (times in UTC):" in failed


def test_runs_show_csv_writes_the_file_the_run_page_downloads(sync_ready, app, admin_client, tmp_path):
    run = exported_with_a_failure(app)
    # A message on two lines (ConnectWise's own text can hold a line break) is one record, in one quoted cell.
    db.session.add(SyncItem(run_id=run.id, entity="customer", direction="export", action="skipped",
                            label="Second Line Co (SL1)", message="ConnectWise said:\nthe company is inactive."))
    db.session.commit()
    target = tmp_path / "run.csv"
    result = colcw(app, "runs", "show", str(run.id), "--csv", str(target))
    assert result.exit_code == 0, result.output
    assert f"Wrote the log of run #{run.id} (5 records) to {target}." in result.output
    page = admin_client.get(f"{RUN_PAGE}/{run.id}.csv")
    assert page.status_code == 200 and target.read_bytes() == page.data
    assert b"state 'ZZ' is not in ConnectWise's state list" in target.read_bytes()


def test_bad_input_names_the_option_and_exits_non_zero(sync_ready, app, tmp_path):
    missing = colcw(app, "runs", "show", "999999")
    assert missing.exit_code == 1 and "There is no run #999999" in missing.output
    assert colcw(app, "runs", "list", "--limit", "0").exit_code == 2
    assert "--limit" in colcw(app, "runs", "list", "--limit", "0").output
    unknown = colcw(app, "runs", "list", "--job", "nope")
    assert unknown.exit_code == 2 and "--job: no job is called 'nope'" in unknown.output \
        and "customer_export" in unknown.output
    backwards = colcw(app, "runs", "list", "--from", "2026-02-01", "--to", "2026-01-01")
    assert backwards.exit_code == 2 and "--to (2026-01-01) is before --from (2026-02-01)" in backwards.output
    status = colcw(app, "runs", "list", "--status", "done")
    assert status.exit_code == 2 and "--status" in status.output

    run = exported_with_a_failure(app)
    both = colcw(app, "runs", "show", str(run.id), "--failed", "--csv", str(tmp_path / "x.csv"))
    assert both.exit_code == 2 and "--csv writes the whole log" in both.output
    assert not (tmp_path / "x.csv").exists()
    unwritable = colcw(app, "runs", "show", str(run.id), "--csv", str(tmp_path / "no-such-dir" / "x.csv"))
    assert unwritable.exit_code == 1 and "--csv: " in unwritable.output and "could not be written" in unwritable.output


def test_runs_list_counts_an_ended_run_without_a_total_as_the_pages_do(sync_ready, app):
    """A run that ended without knowing its total (nothing to read, or stopped before) reads "0 records" as on the
    pages (SyncRun.count_text), never "0 / ?", which says a count is still coming."""
    from helpers import runtime

    run = runtime().submit(db.session, "customer_import", {"mode": "all"}, actor={"name": "ops"}).run
    runtime().queue.withdraw(run)
    run.status, run.total, run.done = "succeeded", 0, 0
    db.session.commit()
    listed = colcw(app, "runs", "list")
    line = next(x for x in listed.output.splitlines() if x.startswith(f"#{run.id} "))
    assert "Succeeded  0 records  " in line and "/ ?" not in line, line


def test_runs_show_lists_a_runs_retries_as_its_page_does(sync_ready, app):
    from helpers import runtime

    def ended_run() -> SyncRun:  # (one still queued would be joined, not submitted again)
        run = runtime().submit(db.session, "customer_import", {"mode": "all"}, actor={"name": "ops"}).run
        runtime().queue.withdraw(run)
        run.status = "failed"
        db.session.commit()
        return run

    first = ended_run()
    retries = []
    for _ in range(2):
        again = ended_run()
        again.retry_of_id = first.id
        retries.append(again.id)
    db.session.commit()
    shown = colcw(app, "runs", "show", str(first.id))
    assert f"Retried as:           runs #{retries[0]} and #{retries[1]}" in shown.output, shown.output
