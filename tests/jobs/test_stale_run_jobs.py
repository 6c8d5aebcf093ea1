"""A run's stale jobs leave RQ's registries when colcw retries or resumes the run, and only that run's.

JobQueue finds a run's jobs by their ids (``colcw-run-<id>-<token>``, queue.new_job_id): Redis picks them out of the
registry, so neither the whole failed list nor another run's job comes over the wire. Every assertion reads the
test's own Redis: what the registries hold, and what Redis answered the queue.
"""

from __future__ import annotations

import pytest
import redis
from rq.job import JobStatus

from colcw_plugin.sync.jobs.queue import JOB_FUNCTION, JobQueue
from helpers import runtime

pytestmark = [pytest.mark.redis]


class RecordingRedis(redis.Redis):
    """A Redis client that keeps every command it sent and every reply it got."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent: list[tuple] = []

    def execute_command(self, *args, **options):
        reply = super().execute_command(*args, **options)
        self.sent.append((args, reply))
        return reply


def _failed(queue: JobQueue, job_id: str, run_id: int) -> str:
    """A job of colcw's for ``run_id`` in RQ's failed registry (as a work-horse killed mid-run leaves it)."""
    job = queue.rq.enqueue(JOB_FUNCTION, run_id, job_id=job_id)
    queue.rq.remove(job)
    job.set_status(JobStatus.FAILED)
    queue.rq.failed_job_registry.add(job, ttl=3600, exc_string="Work-horse terminated unexpectedly")
    return job_id


def _mentions(reply, text: str) -> bool:
    if isinstance(reply, bytes):
        return text.encode() in reply
    if isinstance(reply, str):
        return text in reply
    if isinstance(reply, (list, tuple, set)):
        return any(_mentions(r, text) for r in reply)
    if isinstance(reply, dict):
        return any(_mentions(k, text) or _mentions(v, text) for k, v in reply.items())
    return False


def test_remove_failed_takes_this_runs_failed_jobs_and_reads_no_other_runs(app, redis_conn):
    settings = runtime(app).queue.settings
    queue = JobQueue(RecordingRedis.from_url(app.config["REDIS_URL"]), settings)
    dead = _failed(queue, "colcw-run-1-0000aaaa", 1)
    kept = _failed(queue, "colcw-run-1-0000bbbb", 1)  # the job the run goes on under (keep)
    others = [_failed(queue, f"colcw-run-{n}-0000cccc", n) for n in (12, 21, 100)]  # 12 and 100 begin as 1 does
    queue.connection.sent.clear()

    assert queue.remove_failed(1, keep=kept) == 1

    for (command, *args), reply in queue.connection.sent:  # what remove_failed asked Redis, and what came back
        for other in others:
            assert not _mentions(args, other) and not _mentions(reply, other), \
                f"{command} {args[:2]} read another run's job ({other})"
    assert sorted(queue.failed_job_ids()) == sorted([kept, *others])
    assert queue.fetch(dead) is None and all(queue.fetch(j) is not None for j in [kept, *others])
