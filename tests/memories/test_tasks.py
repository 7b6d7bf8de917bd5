"""Work is queued by task name (memories.events, memories.webhooks.notify, beat, the worker's
start), so a misspelt name would only show as a task nobody runs: every name must be one that
a worker registers."""

from django.conf import settings

import audit.tasks  # noqa: F401 (what a worker's autodiscovery imports)
import memories.tasks  # noqa: F401
from memdash.celery import app
from memories import events
from memories.webhooks import notify


def test_every_task_queued_by_name_is_registered():
    names = {
        *events.TASK_FOR_EVENT.values(),
        notify.DELIVERY_TASK,
        *(entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()),
        "memories.tasks.recover_stale_events",  # memdash.celery, when a worker is ready
    }
    assert names <= set(app.tasks)
