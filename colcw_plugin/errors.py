"""colcw's own errors that pages and commands tell apart, whatever raised them.

* :class:`FieldErrors`, the one error for bad input from a form or a command: ``errors`` maps each field to a message
  saying what to enter. Services raise it; pages show each message beside its field, commands print them.
* :class:`QueueBusy`: the job queue answered, but another request was queueing the same work (the queue's lock,
  :meth:`~.sync.jobs.queue.JobQueue.lock`): not the queue being unreachable, which is Redis's own error."""

from __future__ import annotations


class FieldErrors(ValueError):
    """Invalid input; nothing was written. ``errors`` maps field names to what to do."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class QueueBusy(Exception):
    """Nothing was queued: another request (a second click, another tab, another web process) was queueing the same
    work and held the queue's lock for it longer than colcw waits (``seconds``). The job queue answered: it is no
    outage, and trying again in a moment works. ``key``: the lock's work key. Pages say it in their own words,
    naming the record (``str()`` is for logs)."""

    def __init__(self, key: str, seconds: float):
        super().__init__(f"the queue's lock for {key} was held by another request for more than {seconds:g} s")
        self.key = key
        self.seconds = seconds
