"""Sending Celery tasks by name once the current transaction commits.

By name, so the code that queues work never imports the module of the task (memories.tasks is
imported by nothing but Celery), and only after commit, so a worker never looks for a row that
a rolled-back transaction never wrote.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.db import transaction


def send_on_commit(task_name: str, *args: Any) -> None:
    """Queue `task_name(*args)` when the transaction commits (at once outside one).

    robust: a broker outage must not turn a change that is already stored into a 500. What the
    task was for is recorded in the database (a PENDING Event is re-queued by the stale-event
    sweeper; a lost webhook delivery is lost, as a receiver's outage past the retries would be).
    """
    transaction.on_commit(lambda: current_app.send_task(task_name, args=list(args)), robust=True)
