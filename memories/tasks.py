"""Celery tasks: thin, id-based wrappers around the pipeline and services.

Every task is idempotent: it re-reads its Event, does nothing if the event is already finished,
and can be delivered twice or re-run after a worker crash without duplicating anything.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from memories import embeddings, llm, pipeline, services, webhooks
from memories.models import Event, Webhook

logger = logging.getLogger(__name__)

MAX_RETRIES = 4
TRANSIENT = (llm.LLMTransientError, embeddings.EmbeddingError)


def _backoff(retries: int) -> int:
    return min(60, 2 ** (retries + 1))


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=MAX_RETRIES)
def process_add_event(self, event_id: str) -> None:
    """Run memory extraction for one ADD event."""
    try:
        pipeline.run_add_event(event_id)
    except TRANSIENT as exc:
        if self.request.retries >= self.max_retries:
            pipeline.fail_event(event_id, f"gave up after {self.max_retries + 1} attempts: {exc}")
            return
        pipeline.requeue_event(event_id, f"retrying after a transient error: {exc}")
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    except llm.LLMError:
        return  # the event is FAILED with the reason; retrying cannot help


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=MAX_RETRIES)
def process_delete_event(self, event_id: str) -> None:
    """Run a large delete (by filter or of an entity) recorded as a PENDING DELETE event."""
    services.run_delete_event(event_id)


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=6)
def deliver_webhook(self, webhook_id: str, body: dict) -> None:
    """POST one change to one webhook, retrying with backoff while the receiver fails."""
    hook = Webhook.objects.filter(pk=webhook_id, is_active=True).first()
    if hook is None:
        return
    try:
        webhooks.deliver(hook, body)
    except webhooks.ForbiddenTarget as exc:
        logger.warning("webhook %s: not delivered: %s", webhook_id, exc)
    except webhooks.DeliveryError as exc:
        if self.request.retries >= self.max_retries:
            logger.warning("webhook %s: giving up on a delivery: %s", webhook_id, exc)
            return
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


TASK_FOR_EVENT = {Event.Type.ADD: process_add_event, Event.Type.DELETE: process_delete_event}


def enqueue(event: Event) -> None:
    """Queue the task of a PENDING event once the current transaction commits."""
    task = TASK_FOR_EVENT[event.event_type]
    # robust: a broker outage must not turn a stored request into a 500; the event stays
    # PENDING and the stale-event sweeper queues it again.
    transaction.on_commit(lambda: task.delay(str(event.pk)), robust=True)


@shared_task(ignore_result=True)
def recover_stale_events() -> list[str]:
    """Re-queue events a dead worker left behind (or fail them after too many attempts).

    Stale: PENDING or RUNNING with no heartbeat for MEMDASH_EVENT_STALE_SECONDS. Runs from Celery
    beat every minute and when a worker starts.
    """
    cutoff = timezone.now() - timezone.timedelta(seconds=settings.MEMDASH_EVENT_STALE_SECONDS)
    recovered = []
    with transaction.atomic():
        stale = (
            Event.objects.select_for_update(skip_locked=True)
            .filter(status__in=[Event.Status.PENDING, Event.Status.RUNNING], updated_at__lt=cutoff)
            .filter(event_type__in=list(TASK_FOR_EVENT))
        )
        for event in stale:
            if event.attempts >= settings.MEMDASH_EVENT_MAX_ATTEMPTS:
                pipeline.fail_event(
                    event.pk,
                    f"abandoned after {event.attempts} attempts (worker lost or timed out)",
                )
                continue
            event.status = Event.Status.PENDING
            event.updated_at = timezone.now()
            event.save(update_fields=["status", "updated_at"])
            enqueue(event)
            recovered.append(str(event.pk))
    if recovered:
        logger.warning("re-queued %d stale events: %s", len(recovered), ", ".join(recovered))
    return recovered
