"""The Event lifecycle, in one place: open, claim, heartbeat, finish, fail, requeue, recover.

An Event records one operation on memories. Synchronous operations are opened RUNNING and
finished at once; asynchronous ones are opened PENDING, queued (by task name, on commit), then
claimed by a worker: PENDING -> RUNNING -> SUCCEEDED | FAILED. A RUNNING event's `updated_at`
is its heartbeat; events whose worker died are re-queued by `recover_stale`.

Every Event's `metadata` names the entity ids it is about (`named_entities`), so one GIN index
answers Activity's "what happened to user X" whatever the Event's type.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.queueing import send_on_commit
from memories.attribution import Message, speakers
from memories.models import SCOPE_FIELDS, Event, Memory, TrashedMemory
from tenancy.models import Project

logger = logging.getLogger(__name__)

# The Celery task that runs each kind of asynchronous Event (memories.tasks registers them).
TASK_FOR_EVENT: dict[str, str] = {
    Event.Type.ADD: "memories.tasks.process_add_event",
    Event.Type.DELETE: "memories.tasks.process_delete_event",
    Event.Type.ERASE: "memories.tasks.process_erase_event",
    Event.Type.EXPORT: "memories.tasks.process_export_event",
    Event.Type.PROFILE: "memories.tasks.process_profile_event",
}
# A project's deletion (memories.projects) is a DELETE Event whose payload names the project.
PROJECT_DELETE_TASK = "memories.tasks.process_project_delete"
UNFINISHED = (Event.Status.PENDING, Event.Status.RUNNING)
MAX_ERROR_CHARS = 5000


def open_event(
    project: Project,
    event_type: str,
    *,
    actor: str,
    payload: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    pending: bool = False,
    at: dt.datetime | None = None,
) -> Event:
    """Record an operation: RUNNING from `at` (now), or PENDING when a worker will run it."""
    at = at or timezone.now()
    return Event.objects.create(
        project=project,
        event_type=event_type,
        status=Event.Status.PENDING if pending else Event.Status.RUNNING,
        payload=payload or {},
        metadata=metadata or {},
        actor=actor,
        created_at=at,
        updated_at=at,
        started_at=None if pending else at,
    )


def task_for(event: Event) -> str:
    """The Celery task that runs a PENDING event."""
    if event.event_type == Event.Type.DELETE and "project" in (event.payload or {}):
        return PROJECT_DELETE_TASK
    return TASK_FOR_EVENT[event.event_type]


def enqueue(event: Event) -> None:
    """Queue the task of a PENDING event once the current transaction commits."""
    send_on_commit(task_for(event), str(event.pk))


def claim(event_id: Any, *, kinds: Iterable[str]) -> Event | None:
    """Mark an unfinished event RUNNING (one more attempt); None if it is already finished."""
    now = timezone.now()
    claimed = Event.objects.filter(
        pk=event_id, event_type__in=list(kinds), status__in=UNFINISHED
    ).update(status=Event.Status.RUNNING, attempts=F("attempts") + 1, updated_at=now)
    event = Event.objects.select_related("project").filter(pk=event_id).first() if claimed else None
    if event is None:
        return None
    if event.started_at is None:
        event.started_at = now
        event.save(update_fields=["started_at"])
    return event


def heartbeat(event: Event) -> None:
    """Tell the stale-event sweeper that the worker running `event` is alive."""
    Event.objects.filter(pk=event.pk, status=Event.Status.RUNNING).update(updated_at=timezone.now())


def finish(event: Event, *, results: Any, details: dict[str, Any] | None = None) -> None:
    """Record that `event` SUCCEEDED, with its results (and `details` added to its metadata,
    such as an inference's LLM usage)."""
    now = timezone.now()
    event.status = Event.Status.SUCCEEDED
    event.results = results
    event.error = None
    event.completed_at = now
    event.updated_at = now
    fields = ["status", "results", "error", "completed_at", "updated_at"]
    if details:
        event.metadata = {**event.metadata, **details}
        fields.append("metadata")
    event.save(update_fields=fields)


def fail(event_id: Any, error: str, *, results: Any = None) -> None:
    """Mark an unfinished event FAILED with a reason the caller can read (and what it got done
    before failing, as `results`)."""
    now = timezone.now()
    Event.objects.filter(pk=event_id, status__in=UNFINISHED).update(
        status=Event.Status.FAILED,
        error=error[:MAX_ERROR_CHARS],
        results=results,
        completed_at=now,
        updated_at=now,
    )


def requeue(event_id: Any, note: str) -> None:
    """Put a RUNNING event back to PENDING while its task waits to retry."""
    Event.objects.filter(pk=event_id, status=Event.Status.RUNNING).update(
        status=Event.Status.PENDING, error=note[:MAX_ERROR_CHARS], updated_at=timezone.now()
    )


def recover_stale() -> list[str]:
    """Re-queue events a dead worker left behind (or fail them after too many attempts).

    Stale: PENDING or RUNNING with no heartbeat for MEMDASH_EVENT_STALE_SECONDS. Returns the ids
    of the re-queued events.
    """
    cutoff = timezone.now() - dt.timedelta(seconds=settings.MEMDASH_EVENT_STALE_SECONDS)
    recovered = []
    with transaction.atomic():
        stale = (
            Event.objects.select_for_update(skip_locked=True)
            .filter(status__in=UNFINISHED, updated_at__lt=cutoff)
            .filter(event_type__in=list(TASK_FOR_EVENT))
        )
        for event in stale:
            if event.attempts >= settings.MEMDASH_EVENT_MAX_ATTEMPTS:
                fail(
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


# --- the entities an Event is about ----------------------------------------------------------------


def named_entities(ids: dict[str, Any]) -> dict[str, str]:
    """The entity ids an Event is about, as its `metadata` (what Activity filters by entity).

    Every Event type records them the same way, so one GIN index answers "what happened to
    user X" without reading payloads.
    """
    return {
        field: value
        for field in SCOPE_FIELDS
        if isinstance(value := ids.get(field), str) and value and value != "*"
    }


def about_add(scope: dict[str, Any], messages: Sequence[Message]) -> dict[str, Any]:
    """An add's entities: the ids its call names, and as `speakers` the ids its group chat's
    named messages speak as (their lines become theirs, wherever they are recorded)."""
    about: dict[str, Any] = named_entities(scope)
    names = speakers(messages)
    if names:
        about["speakers"] = names
    return about


def shared_entities(memories: Iterable[Memory | TrashedMemory]) -> dict[str, str]:
    """The entity ids every one of `memories` has (a batch's Event is about those)."""
    shared: dict[str, str] | None = None
    for memory in memories:
        ids = named_entities(memory.scope())
        shared = ids if shared is None else {k: v for k, v in shared.items() if ids.get(k) == v}
    return shared or {}


def entities_of_delete(payload: dict[str, Any]) -> dict[str, str]:
    """The entities a delete payload names: an entity delete's, or the plain entity ids its
    filter requires (at the top level or anywhere down a chain of ANDs; OR and NOT name none)."""
    if payload.get("entity_type") in ("user", "agent", "app", "run"):
        return named_entities({f"{payload['entity_type']}_id": payload.get("entity_id")})
    return _required_entities(payload.get("filters"))


def _required_entities(filters: Any) -> dict[str, str]:
    if not isinstance(filters, dict):
        return {}
    found = named_entities(filters)
    parts = filters.get("AND")
    for part in parts if isinstance(parts, list) else []:
        found = {**_required_entities(part), **found}
    return found
