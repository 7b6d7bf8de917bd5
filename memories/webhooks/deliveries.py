"""The delivery log: one WebhookDelivery row per change sent to a webhook, updated after each
attempt of the task memories.tasks.deliver_webhook, and the test event admins send by hand.

What a row keeps is chosen for erasure: the event type, the outcome, the receiver's HTTP
status and a short error, never the body nor what the receiver answered (either can carry
memory text). Each webhook keeps its newest KEEP_PER_WEBHOOK rows; older ones are dropped as
new ones are written, so the log needs no sweeper.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from core.keyset import KeysetPage, requested_page
from core.queueing import send_or_refuse_on_commit
from memories.models import WEBHOOK_ERROR_CHARS, Webhook, WebhookDelivery
from memories.webhooks.delivery import DeliveryError
from memories.webhooks.notify import DELIVERY_TASK, EVENT_TYPES

KEEP_PER_WEBHOOK = 200
LOG_PAGE_SIZE = 50
TEST_EVENT = "test"


def event_type_of(body: dict[str, Any]) -> str:
    """The log's name for what a body announces: memory_add ... or "test"."""
    if body.get("event") == TEST_EVENT:
        return TEST_EVENT
    details = body.get("event_details")
    event = details.get("event") if isinstance(details, dict) else None
    return str(EVENT_TYPES.get(event, "unknown")) if isinstance(event, str) else "unknown"


def attempt_started(webhook: Webhook, body: dict[str, Any], task_id: str | None) -> WebhookDelivery:
    """The row of the delivery task `task_id` (created on its first attempt), one attempt on.
    Without a task id (the task called as a plain function) every call is its own delivery."""
    delivery, created = WebhookDelivery.objects.get_or_create(
        task_id=task_id or str(uuid.uuid4()),
        defaults={"webhook": webhook, "event_type": event_type_of(body), "attempts": 1},
    )
    if created:
        _drop_oldest(webhook)
    else:  # a retry, or the same task delivered again after a worker died
        delivery.attempts += 1
        delivery.status = WebhookDelivery.Status.PENDING
        delivery.save(update_fields=["attempts", "status"])
    return delivery


def succeeded(delivery: WebhookDelivery, http_status: int) -> None:
    delivery.status = WebhookDelivery.Status.SUCCEEDED
    delivery.last_http_status = http_status
    delivery.last_error = ""
    delivery.finished_at = timezone.now()
    delivery.save(update_fields=["status", "last_http_status", "last_error", "finished_at"])


def failed(delivery: WebhookDelivery, exc: Exception, *, final: bool) -> None:
    """Record a failed attempt; `final` when no retry follows (the row is then FAILED)."""
    delivery.last_http_status = exc.status if isinstance(exc, DeliveryError) else None
    delivery.last_error = error_text(exc, delivery.webhook.url)
    fields = ["last_http_status", "last_error"]
    if final:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.finished_at = timezone.now()
        fields += ["status", "finished_at"]
    delivery.save(update_fields=fields)


def abandoned(task_id: str | None, reason: str) -> None:
    """Close the row of a delivery that will not be attempted again (its webhook is gone or
    disabled, its memory erased) if an earlier attempt opened one."""
    if task_id:
        WebhookDelivery.objects.filter(
            task_id=task_id, status=WebhookDelivery.Status.PENDING
        ).update(
            status=WebhookDelivery.Status.FAILED, last_error=reason, finished_at=timezone.now()
        )


def error_text(exc: Exception, url: str) -> str:
    """A short account of a failure, without the webhook's URL (its credentials or query
    string may hold a token; the page shows the URL's safe parts anyway) and cut short."""
    if isinstance(exc, DeliveryError) and exc.status is not None:
        text = f"answered HTTP {exc.status}"
    elif isinstance(exc, DeliveryError) and exc.__cause__ is not None:
        cause = exc.__cause__
        text = f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__
    else:
        text = str(exc)
    text = text.replace(url, "the URL").strip()
    if len(text) > WEBHOOK_ERROR_CHARS:
        text = text[: WEBHOOK_ERROR_CHARS - 1] + "…"
    return text


def log_page(webhook: Webhook, query: Mapping[str, str]) -> KeysetPage:
    """The page of the webhook's delivery log that `query` asks for (its `older` / `newer`
    cursor), newest first, LOG_PAGE_SIZE deliveries."""
    return requested_page(webhook.deliveries.all(), query, key="created_at", size=LOG_PAGE_SIZE)


def last_outcomes(webhooks: list[Webhook]) -> dict[Any, WebhookDelivery]:
    """Each webhook's newest delivery (by webhook id), in one query."""
    newest: QuerySet[WebhookDelivery] = (
        WebhookDelivery.objects.filter(webhook__in=webhooks)
        .order_by("webhook_id", "-created_at")
        .distinct("webhook_id")
    )
    return {delivery.webhook_id: delivery for delivery in newest}


def test_event_body(webhook: Webhook) -> dict[str, Any]:
    """What "Send a test event" POSTs: no memory, so nothing personal."""
    return {
        "event": TEST_EVENT,
        "webhook_id": str(webhook.pk),
        "sent_at": timezone.now().isoformat(),
        "message": "A test delivery from memdash.",
    }


def send_test(webhook: Webhook) -> None:
    """Queue a test delivery through the same task as real changes (so it is logged too).

    QueueUnavailable when the broker cannot take it: the person pressing the button is waiting
    for the delivery, so they hear that nothing was sent rather than "queued". No row records a
    test before its task runs, so there is nothing to close.
    """
    send_or_refuse_on_commit(
        DELIVERY_TASK,
        str(webhook.pk),
        test_event_body(webhook),
        what="the test event",
        refuse=lambda detail: None,
    )


def _drop_oldest(webhook: Webhook) -> None:
    stale = WebhookDelivery.objects.filter(webhook=webhook).order_by("-created_at")[
        KEEP_PER_WEBHOOK:
    ]
    WebhookDelivery.objects.filter(pk__in=list(stale.values_list("pk", flat=True))).delete()
