"""Celery tasks: thin, id-based wrappers around the pipeline, the services and webhooks.

Nothing imports this module but Celery: code that queues work sends these tasks by name
(memories.events.TASK_FOR_EVENT, memories.webhooks.notify.DELIVERY_TASK), once its transaction
commits; tests/memories/test_tasks.py checks that every such name is registered here.

Every task is idempotent: it re-reads its Event, does nothing if the event is already finished,
and can be delivered twice or re-run after a worker crash without duplicating anything.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from core.errors import EmbeddingError, MemdashError
from memories import (
    erasure,
    events,
    exports,
    llm,
    pipeline,
    profiles,
    projects,
    retention,
    services,
    trash,
)
from memories.models import Webhook
from memories.webhooks import deliveries, delivery, notify, targets

logger = logging.getLogger(__name__)

MAX_RETRIES = 4
DELIVERY_RETRIES = 6
TRANSIENT = (llm.LLMTransientError, EmbeddingError)


def _backoff(retries: int) -> int:
    return min(60, 2 ** (retries + 1))


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=MAX_RETRIES)
def process_add_event(self: Task, event_id: str) -> None:
    """Run memory extraction for one ADD event."""
    try:
        pipeline.run_add_event(event_id)
    except TRANSIENT as exc:
        if self.request.retries >= MAX_RETRIES:
            events.fail(event_id, f"gave up after {MAX_RETRIES + 1} attempts: {exc}")
            return
        events.requeue(event_id, f"retrying after a transient error: {exc}")
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    except (llm.LLMError, MemdashError):
        return  # the event is FAILED with the reason; retrying cannot help


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=MAX_RETRIES)
def process_delete_event(self: Task, event_id: str) -> None:
    """Run a large delete (by filter or of an entity) recorded as a PENDING DELETE event."""
    services.run_delete_event(event_id)


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=MAX_RETRIES)
def process_project_delete(self: Task, event_id: str) -> None:
    """Delete a whole project (memories.projects), queued when it was too large to delete within
    the request. A worker killed mid-way leaves the project marked as being deleted; asking for
    the deletion again starts it again, and the run carries on from what is left."""
    projects.run_deletion(event_id)


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=MAX_RETRIES)
def process_erase_event(self: Task, event_id: str) -> None:
    """Carry out a confirmed erasure (memories.erasure). A worker killed mid-way leaves the
    Event RUNNING; the stale-event sweeper queues it again and the next run finishes it."""
    erasure.run(event_id)


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=MAX_RETRIES)
def process_export_event(self: Task, event_id: str) -> None:
    """Build an export (memories.exports): a Platform export or a data subject's zip."""
    try:
        exports.run(event_id)
    except llm.LLMTransientError as exc:
        if self.request.retries >= MAX_RETRIES:
            events.fail(event_id, f"gave up after {MAX_RETRIES + 1} attempts: {exc}")
            return
        events.requeue(event_id, f"retrying after a transient error: {exc}")
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


@shared_task(ignore_result=True)
def purge_expired_exports() -> int:
    """Drop the content of exports past MEMDASH_EXPORT_TTL_HOURS (Celery beat, every 10 min)."""
    return exports.purge_expired()


@shared_task(ignore_result=True)
def enforce_retention() -> int:
    """Delete what the enabled retention policies say is due (beat, hourly)."""
    return retention.enforce_all()


@shared_task(ignore_result=True)
def purge_expired_trash() -> int:
    """Purge trashed memories past MEMDASH_TRASH_DAYS, held ones aside (beat, every 10 min)."""
    return trash.purge_expired()


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=DELIVERY_RETRIES)
def deliver_webhook(self: Task, webhook_id: str, body: dict[str, Any]) -> None:
    """POST one change to one webhook, retrying with backoff while the receiver fails."""
    hook = Webhook.objects.filter(pk=webhook_id, is_active=True).first()
    if hook is None:
        deliveries.abandoned(self.request.id, "not sent: the webhook was disabled or deleted")
        return
    memory_id = notify.memory_id_of(body)
    if memory_id is not None and erasure.erased_memory(memory_id):
        # An erasure took this memory since: its text must not leave now.
        deliveries.abandoned(self.request.id, "not sent: the memory was erased")
        return
    logged = deliveries.attempt_started(hook, body, task_id=self.request.id)
    try:
        http_status = delivery.deliver(hook, body)
    except targets.ForbiddenTarget as exc:
        deliveries.failed(logged, exc, final=True)
        logger.warning("webhook %s: not delivered: %s", webhook_id, exc)
    except delivery.DeliveryError as exc:
        last = self.request.retries >= DELIVERY_RETRIES
        deliveries.failed(logged, exc, final=last)
        if last:
            logger.warning("webhook %s: giving up on a delivery: %s", webhook_id, exc)
            return
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    else:
        deliveries.succeeded(logged, http_status)


@shared_task(ignore_result=True)
def recover_stale_events() -> list[str]:
    """Re-queue events a dead worker left behind (or fail them after too many attempts).

    Runs from Celery beat every 30 seconds, and once more after a worker starts (which also
    sweeps at once in its own process: memdash.celery).
    """
    return events.recover_stale()


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=MAX_RETRIES)
def process_profile_event(self: Task, event_id: str) -> None:
    """Write the profiles of a profile job (memories.profiles). Each user's LLM failure is
    recorded on their profile and the job goes on; a re-run skips the users already done."""
    profiles.run(event_id)
