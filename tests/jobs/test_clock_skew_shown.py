"""Machines whose clocks differ misjudge an edit saved within that difference of an export (its save time, stamped by
a web machine, against the export's, stamped by a worker): every colcw process measures its machine's clock against
Redis's, and the jobs page names the two machines that differ most, while they differ by more than a second."""

from __future__ import annotations

import html
import re
import socket
import time

import pytest
from jobs_support import worker_env
from sqlalchemy.orm import Session

from colcw_plugin.sync.jobs import clocks
from colcw_plugin.sync.jobs.clocks import ClockReading, ClockWatch
from colcw_plugin.sync.jobs.scheduler import run_scheduler
from helpers import make_test_app, runtime
from host_stub.extensions import db

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

JOBS = "/admin/integration/connectwise/jobs"


def _page(admin_client) -> str:
    return html.unescape(admin_client.get(JOBS).get_data(as_text=True))


def _warning(page: str) -> str:
    found = re.search(r'<div class="flash warning" id="colcw-clock-skew" role="status">(.*?)</div>', page, re.S)
    return found.group(1) if found else ""


def _readings(redis_conn) -> dict[str, ClockReading]:
    return {r.machine: r for r in clocks.readings(redis_conn)}


def test_two_machines_whose_clocks_differ_are_named_on_the_jobs_page_until_they_agree(app, redis_conn, admin_client):
    ClockWatch("worker", machine="worker-1").check(redis_conn)
    assert _warning(_page(admin_client)) == ""  # one machine: nothing to compare

    ClockWatch("web", machine="web-2", clock=lambda: time.time() - 3.2).check(redis_conn)  # 3.2 s behind
    ClockWatch("scheduler", machine="sched-3", clock=lambda: time.time() + 0.4).check(redis_conn)
    said = _warning(_page(admin_client))
    assert said.startswith("The clocks of colcw's machines differ: “web-2” (web) is 3.6 s behind “sched-3” "
                           "(scheduler) (of the 3 machines heard from in the last 15 minutes). colcw tells a customer or "
                           "contact edited since its last export by comparing the time the edit was saved with the time "
                           "of the export"), said
    assert "Set every machine's clock from the same time server (NTP" in said

    # Its clock set right, web-2's next reading agrees: the warning goes.
    ClockWatch("web", machine="web-2").check(redis_conn)
    ClockWatch("scheduler", machine="sched-3").check(redis_conn)
    assert _warning(_page(admin_client)) == ""

    # Within the tolerance (half a second apart): still nothing.
    ClockWatch("web", machine="web-2", clock=lambda: time.time() - 0.5).check(redis_conn)
    assert _warning(_page(admin_client)) == ""


def test_a_machine_not_heard_from_for_a_quarter_of_an_hour_is_no_longer_compared(app, redis_conn, admin_client):
    seconds, micros = redis_conn.time()
    now = seconds + micros / 1e6
    clocks.record(redis_conn, ClockReading("gone-1", -30.0, 0.001, now - clocks.FORGET_AFTER - 1, "worker"))
    ClockWatch("web", machine="web-1").check(redis_conn)
    assert set(_readings(redis_conn)) == {"web-1"}
    assert _warning(_page(admin_client)) == ""

    clocks.record(redis_conn, ClockReading("gone-1", -30.0, 0.001, now - 60, "worker"))  # heard from a minute ago
    assert "“web-1” (web) is 30.0 s behind “gone-1” (worker)." in _warning(_page(admin_client))


def test_a_difference_the_measures_cannot_tell_from_their_round_trips_is_not_said():
    behind = ClockReading("a", 1.0, 0.2, 0.0)
    ahead = ClockReading("b", -0.5, 0.2, 0.0)  # 1.5 s apart, give or take 0.4 s
    assert clocks.differing([behind, ahead]) is not None and clocks.differing([behind, ahead])[2] == pytest.approx(1.1)
    unsure = ClockReading("b", -0.5, 0.35, 0.0)  # 1.5 s apart, give or take 0.55 s: maybe less than a second
    assert clocks.differing([behind, unsure]) is None


def test_a_slow_round_trip_is_not_recorded_and_is_measured_again_at_the_next_check(redis_conn):
    ticks = iter([100.0, 100.6, 200.0, 200.01])  # this machine's clock around each TIME: 0.3 s, then 5 ms half trips

    watch = ClockWatch("web", machine="slow-1", clock=lambda: next(ticks))
    assert watch.check(redis_conn) is None and _readings(redis_conn) == {}
    reading = watch.check(redis_conn)
    assert reading is not None and reading.error == pytest.approx(0.005)
    assert set(_readings(redis_conn)) == {"slow-1"}
    assert watch.check(redis_conn) is None  # measured: not again before MEASURE_EVERY


def test_a_web_process_a_worker_and_the_scheduler_record_their_machines_clock(app, redis_conn, processes):
    here = socket.gethostname()

    fresh = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"], app.config["REDIS_URL"])  # a web process's first
    with fresh.test_client() as client:  # request measures, once the response has gone
        response = client.get("/login")
        assert response.status_code == 200
        response.close()
    web = _readings(redis_conn)[here]
    assert web.role == "web" and abs(web.offset) < 0.5 and web.error < clocks.MAX_ERROR

    redis_conn.delete(clocks.CLOCKS_KEY)
    burst = processes.start(["colcw", "worker", "--burst"], worker_env(app))
    assert burst.wait(timeout=60) == 0, burst.stdout.read()
    worker = _readings(redis_conn)[here]
    assert worker.role == "worker" and abs(worker.offset) < 0.5

    redis_conn.delete(clocks.CLOCKS_KEY)
    run_scheduler(lambda: Session(bind=db.engine), runtime().queue, runtime().kinds, history_days=90, once=True,
                  clock_watch=ClockWatch("scheduler"))
    assert _readings(redis_conn)[here].role == "scheduler"


def test_the_clocks_command_lists_each_machine_and_exits_one_while_two_differ(app, redis_conn):
    here = socket.gethostname()
    ClockWatch("worker", machine="worker-9", clock=lambda: time.time() - 2.5).check(redis_conn)

    result = app.test_cli_runner().invoke(args=["colcw", "clocks"])
    assert result.exit_code == 1, (result.output, result.stderr)
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert set(lines) == {here, "worker-9", "ConnectWise"}  # (ConnectWise's: tests/jobs/test_connectwise_clock_shown.py)
    assert "not measured in the last day" in lines["ConnectWise"]  # (no run measured it)
    assert re.fullmatch(r"worker-9 +worker +2[45]\d\d\.\d ms behind Redis's clock \(± \d+\.\d ms\), measured 0 s ago",
                        lines["worker-9"]), lines["worker-9"]
    assert " command " in lines[here]  # the command measured its own machine
    assert result.stderr.startswith(f"Warning: The clocks of colcw's machines differ: “worker-9” (worker) is 2.5 s "
                                    f"behind “{here}” (command)."), result.stderr

    ClockWatch("worker", machine="worker-9").check(redis_conn)  # its clock set right
    result = app.test_cli_runner().invoke(args=["colcw", "clocks"])
    assert result.exit_code == 0 and result.stderr == "", (result.output, result.stderr)
