"""Webhook notifications: what each change sends, queued once the change commits.

Changes are collected by the code that makes them and queued with `on_commit`, so a
rolled-back transaction notifies nobody. Each delivery is its own Celery task with retries.
"""

from __future__ import annotations

from typing import Any

from core.queueing import send_on_commit
from memories.models import Memory, Webhook

EVENT_TYPES = {
    "ADD": Webhook.EventType.MEMORY_ADD,
    "UPDATE": Webhook.EventType.MEMORY_UPDATE,
    "DELETE": Webhook.EventType.MEMORY_DELETE,
    "CATEGORIZE": Webhook.EventType.MEMORY_CATEGORIZE,
}
# The task that POSTs one change to one webhook (registered by memories.tasks).
DELIVERY_TASK = "memories.tasks.deliver_webhook"
# Bulk deletes larger than this send one summary delivery instead of one per memory.
PER_MEMORY_LIMIT = 1000


def memory_change(event: str, memory: Memory) -> dict[str, Any]:
    return {
        "type": EVENT_TYPES[event],
        "body": {
            "event_details": {
                "id": str(memory.pk),
                "data": {"memory": memory.memory},
                "event": event,
            }
        },
    }


def categorize_change(memory: Memory) -> dict[str, Any]:
    return {
        "type": Webhook.EventType.MEMORY_CATEGORIZE,
        "body": {
            "event_details": {
                "event": "CATEGORIZE",
                "memory_id": str(memory.pk),
                "categories": memory.categories or [],
            }
        },
    }


def bulk_delete_change(count: int, event_id: str) -> dict[str, Any]:
    return {
        "type": Webhook.EventType.MEMORY_DELETE,
        "body": {"event_details": {"event": "DELETE", "count": count, "event_id": event_id}},
    }


def has_subscribers(project_id: int) -> bool:
    """Whether any active webhook of the project could want a change (before collecting one)."""
    return Webhook.objects.filter(project_id=project_id, is_active=True).exists()


def on_commit(project_id: int, changes: list[dict[str, Any]]) -> None:
    """Queue one delivery per (subscribed webhook, change) once the transaction commits."""
    if not changes:
        return
    hooks = list(Webhook.objects.filter(project_id=project_id, is_active=True))
    for change in changes:
        for hook in hooks:
            if change["type"] in hook.event_types:
                send_on_commit(DELIVERY_TASK, str(hook.pk), change["body"])


def memory_id_of(body: dict[str, Any]) -> str | None:
    """The memory a delivery's body is about (None for a bulk delete's summary)."""
    details = body.get("event_details") if isinstance(body, dict) else None
    if not isinstance(details, dict):
        return None
    key = "memory_id" if details.get("event") == "CATEGORIZE" else "id"
    memory_id = details.get(key)
    return memory_id if isinstance(memory_id, str) else None
