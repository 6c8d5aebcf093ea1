"""``flask colcw sync customers``: foreground runs, the summary, the exit status."""

from __future__ import annotations

import socket
import time

from customer_support import companies, make_customer

from colcw_plugin.models import SyncRun
from colcw_plugin.sync.jobs import clocks
from colcw_plugin.sync.jobs.clocks import ClockWatch
from host_stub.extensions import db
from host_stub.models import Customer


def _invoke(app, *args):
    return app.test_cli_runner().invoke(args=["colcw", "sync", "customers", *args], catch_exceptions=False,
                                        env={"LOGNAME": "deploy"})


def test_export_all_prints_the_summary_and_exits_zero(sync_ready, app):
    make_customer()
    result = _invoke(app, "--direction", "export", "--all")
    assert result.exit_code == 0, result.output
    assert "Export all customers to ConnectWise" in result.output
    assert "Status: succeeded. customers: 1 created; contacts: 2 created." in result.output
    assert [c["identifier"] for c in companies(sync_ready)] == ["ACME1"]
    run = db.session.query(SyncRun).order_by(SyncRun.id.desc()).first()
    assert (run.trigger, run.requested_by) == ("cli", "command line (deploy)")  # who ran it, as getpass finds it


def test_a_failed_record_is_listed_and_exits_one(sync_ready, app):
    make_customer(state="ZZ")
    result = _invoke(app, "--direction", "export", "--customer", "ACME1")
    assert result.exit_code == 1
    assert "FAILED" in result.output and "state 'ZZ' is not in ConnectWise's state list" in result.output
    assert "→ Correct the state" in result.output


def test_import_one_company_and_then_the_changed_ones(sync_ready_demo, app):
    result = _invoke(app, "--direction", "import", "--customer", "CW0003")
    assert result.exit_code == 0, result.output
    assert db.session.query(Customer).filter_by(account_number="CW0003").count() == 1
    result = _invoke(app, "--direction", "import", "--since", "today")
    # The demo tenant's look-alike CW0004 waits for a person: its look-alike DEMO00001 is linked to company DEMO00001
    # already, so the fix is to merge the duplicate in ConnectWise (Map customers' own advice); listed, exit 1. The
    # record is named once.
    assert result.exit_code == 1, result.output
    assert "changed in ConnectWise since" in result.output
    assert ("FAILED   customer Northwind Dental (CW0004): not imported: it looks like the ChannelOnline customer "
            "Northwind Dental (DEMO00001) (same name), which is already linked to ConnectWise company DEMO00001"
            in result.output), result.output
    assert "may be a duplicate in ConnectWise" in result.output and "Company Merge" in result.output


def test_contradictory_options_are_refused(sync_ready, app):
    result = app.test_cli_runner().invoke(args=["colcw", "sync", "customers", "--direction", "export", "--all",
                                                "--since", "last7"])
    assert result.exit_code == 2 and "only one of --customer, --since and --all" in result.output
    result = app.test_cli_runner().invoke(args=["colcw", "sync", "customers", "--direction", "export",
                                                "--customer", "NOBODY"])
    assert result.exit_code == 2 and "No customer has the account number 'NOBODY'" in result.output
    # A range that is none names the option and what it takes, not the page's "custom start and end dates".
    result = app.test_cli_runner().invoke(args=["colcw", "sync", "customers", "--direction", "export", "--since",
                                                "last99"])
    assert result.exit_code == 2
    assert ("--since: 'last99' is not a date range. Use today, last7, last15, last30, YYYY-MM-DD or "
            "YYYY-MM-DD..YYYY-MM-DD.") in result.output
    assert "custom start" not in result.output
    result = app.test_cli_runner().invoke(args=["colcw", "sync", "quotes", "--modified", "2026-07-09..2026-07-01"])
    assert result.exit_code == 2
    assert ("--modified: '2026-07-09..2026-07-01' is not a date range (The end date must not be before the start "
            "date).") in result.output


def test_records_left_not_attempted_are_listed_and_exit_one(sync_ready, app):
    make_customer()
    sync_ready.add_fault(status=503, path="company/", count=10_000)  # ConnectWise keeps failing
    result = _invoke(app, "--direction", "export", "--customer", "ACME1")
    assert result.exit_code == 1, result.output
    assert "NOT_ATTEMPTED" in result.output and "Try again in a few minutes" in result.output


def test_a_foreground_run_measures_its_machines_clock_and_says_when_it_differs_from_anothers(sync_ready, app,
                                                                                           redis_conn):
    # A worker machine 4 s ahead of this one: the run's syncs are stamped by this machine's clock.
    ClockWatch("worker", machine="worker-ahead", clock=lambda: time.time() + 4).check(redis_conn)
    make_customer()
    result = app.test_cli_runner().invoke(args=["colcw", "sync", "customers", "--direction", "export",
                                                                "--all"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    here = {r.machine: r for r in clocks.readings(redis_conn)}[socket.gethostname()]
    assert here.role == "command" and abs(here.offset) < 0.5
    assert (f"Warning: The clocks of colcw's machines differ: “{socket.gethostname()}” (command) is 4.0 s behind "
            "“worker-ahead” (worker).") in result.stderr, result.stderr
    assert [c["identifier"] for c in companies(sync_ready)] == ["ACME1"]
