"""Sending Celery tasks by name once the current transaction commits.

By name, so the code that queues work never imports the module of the task (memories.tasks is
imported by nothing but Celery), and only after commit, so a worker never looks for a row that
a rolled-back transaction never wrote.

Two ways to meet a broker outage. Work that merely follows a stored change (a webhook delivery)
is sent robustly: the change stands, and a 500 would only make the caller repeat it. Work the
caller is waiting on (a queued add, a background delete) is sent with
`send_or_refuse_on_commit`: the caller hears 503 (QueueUnavailable) and the record of that work
is closed by `refuse`, so nothing is left PENDING for a worker that will never hear of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError

from core.errors import QueueUnavailable

# What sending raises when the broker cannot be reached: kombu's error once its publish retries
# are spent (about 1.5 s for a refused connection), or a socket error raised before them.
BROKER_UNREACHABLE = (BrokerError, OSError)


def send_on_commit(task_name: str, *args: Any) -> None:
    """Queue `task_name(*args)` when the transaction commits (at once outside one).

    robust: a broker outage must not turn a change that is already stored into a 500. What the
    task was for is recorded in the database (a PENDING Event is re-queued by the stale-event
    sweeper; a lost webhook delivery is lost, as a receiver's outage past the retries would be).
    """
    transaction.on_commit(lambda: current_app.send_task(task_name, args=list(args)), robust=True)


def send_or_refuse_on_commit(
    task_name: str, *args: Any, what: str, refuse: Callable[[str], None]
) -> None:
    """Queue `task_name(*args)` when the transaction commits (at once outside one); when the
    broker cannot take it, call `refuse(detail)` and raise QueueUnavailable (a 503).

    `what` names the work in the detail ("event <id>"). The row that records the work is
    already committed when the send fails, so rolling it back is no longer possible: `refuse`
    must close it honestly instead (an Event is marked FAILED with the detail as its error).
    Not robust: the exception is the point, and reaches the view that queued the work.
    """

    def send() -> None:
        try:
            current_app.send_task(task_name, args=list(args))
        except BROKER_UNREACHABLE as exc:
            queue = current_app.conf.task_default_queue
            detail = (
                f"The task queue {queue!r} is unavailable: its broker cannot be reached, "
                f"so {what} was not queued. Try again shortly."
            )
            refuse(detail)
            raise QueueUnavailable(detail) from exc

    transaction.on_commit(send)
