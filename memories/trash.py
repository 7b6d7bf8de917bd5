"""The trash: ordinary deletes keep memories for MEMDASH_TRASH_DAYS, so a mistake can be undone.

memories.services deletes put each memory, every column of it, into the trash table in the
same statement that deletes it and writes its DELETE history row (memories.history). For
clients nothing changes: a trashed memory is invisible to every read, as on the Platform.

From the trash a memory is restored with its id (a RESTORE history row and Event; search finds
it again), or purged for good. A beat task purges what has passed its date, in batches; a
legal hold keeps trashed memories too. An erasure takes its subject's trashed memories with
the rest (memories.erasure). MEMDASH_TRASH_DAYS=0 turns the trash off: deletes are final.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.errors import InvalidRequest, NotFound
from entities.services import touch_entities
from memories import erasure, events, holds
from memories.filters import compile_filters
from memories.history import history_row, trash_columns
from memories.models import SCOPE_FIELDS, Event, Memory, MemoryHistory, TrashedMemory
from memories.webhooks import notify
from tenancy.models import Project

MAX_IDS = 1000
PURGE_CHUNK = 2000


def trash_until(now: dt.datetime) -> dt.datetime | None:
    """When a memory deleted `now` leaves the trash; None when the trash is off."""
    days = settings.MEMDASH_TRASH_DAYS
    return now + dt.timedelta(days=days) if days > 0 else None


def trashed(project: Project, filters: dict[str, Any] | None = None) -> QuerySet[TrashedMemory]:
    """The project's trash, newest deletes first, narrowed by the filter language (the same
    keys as memories: the trash has their columns)."""
    rows = TrashedMemory.objects.filter(project=project)
    if filters:
        rows = rows.filter(compile_filters(filters).q)
    return rows.defer("embedding").order_by("-trashed_at", "-id")


def from_event(project: Project, event: Event) -> QuerySet[TrashedMemory]:
    """What the delete `event` put in the trash and is still there (not restored or purged).

    Its rows were trashed while it ran, so the search is bounded by its start and end: the
    trash's (project, trashed_at) index finds them without reading the rest of the trash.
    """
    rows = TrashedMemory.objects.filter(project=project, trash_event_id=event.pk)
    if event.started_at is not None:
        rows = rows.filter(trashed_at__gte=event.started_at)
    if event.completed_at is not None:
        rows = rows.filter(trashed_at__lte=event.completed_at)
    return rows.defer("embedding").order_by("-trashed_at", "-id")


def get_trashed(project: Project, memory_id: Any) -> TrashedMemory:
    try:
        return TrashedMemory.objects.defer("embedding").get(project=project, pk=memory_id)
    except (TrashedMemory.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("No such memory in the trash.") from exc


def restore(project: Project, memory_ids: Sequence[Any], *, actor: str) -> Event:
    """Bring memories back from the trash with their ids and everything they had; each gets a
    RESTORE history row. All or nothing: an id not in the trash is a NotFound."""
    ids = _ids(project, memory_ids)
    with transaction.atomic():
        rows = list(TrashedMemory.objects.select_for_update().filter(project=project, pk__in=ids))
        if len(rows) != len(ids):
            raise NotFound("Not in the trash (restored or purged already?): nothing was restored.")
        # A restore is a write: none for a subject being erased (409), as for an add.
        erasure.guard_writes(project, [row.scope() for row in rows])
        event = events.open_event(
            project,
            Event.Type.RESTORE,
            actor=actor,
            payload={"memory_ids": [str(pk) for pk in ids]},
            metadata=events.shared_entities(rows),
        )
        columns = ", ".join(trash_columns())
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Memory._meta.db_table} ({columns}) "
                f"SELECT {columns} FROM {TrashedMemory._meta.db_table} WHERE id = ANY(%s)",
                [ids],
            )
        TrashedMemory.objects.filter(pk__in=ids).delete()
        restored = list(Memory.objects.filter(pk__in=ids).without_vectors())
        MemoryHistory.objects.bulk_create(
            history_row(memory, MemoryHistory.Action.RESTORE, old=None, actor=actor, event=event)
            for memory in restored
        )
        touch_entities(project, [memory.scope() for memory in restored])
        events.finish(event, results={"restored": len(restored)})
        if notify.has_subscribers(project.pk):
            notify.on_commit(project.pk, [notify.memory_change("ADD", m) for m in restored])
    return event


def purge(project: Project, memory_ids: Sequence[Any], *, actor: str) -> Event:
    """Remove memories from the trash for good, now (their history stays: the DELETE row). A
    legal hold refuses it (423)."""
    ids = _ids(project, memory_ids)
    with transaction.atomic():
        # Locked, so that a restore or a hold placed meanwhile is seen before anything goes.
        rows = TrashedMemory.objects.filter(project=project, pk__in=ids)
        if len(rows.select_for_update().values_list("pk", flat=True)) != len(ids):
            raise NotFound("Not in the trash (restored or purged already?): nothing was purged.")
        holds.refuse_held(project, rows, doing="purged")
        event = events.open_event(
            project,
            Event.Type.PURGE,
            actor=actor,
            payload={"memory_ids": [str(pk) for pk in ids]},
            metadata=events.shared_entities(rows.only(*SCOPE_FIELDS)),
        )
        purged, _ = rows.delete()
        events.finish(event, results={"purged": purged})
    return event


def purge_expired(now: dt.datetime | None = None) -> int:
    """The beat task's part: purge what has passed its date, in batches, one PURGE Event per
    project; held memories stay (and are counted). Returns the number purged."""
    now = now or timezone.now()
    total = 0
    due = TrashedMemory.objects.filter(purge_after__lte=now)
    for project in Project.objects.filter(pk__in=due.values("project_id")):
        rows, kept = holds.without_held(project, due.filter(project=project))
        if not rows.exists():
            continue  # only held rows are due: nothing to do, and no Event every ten minutes
        event = events.open_event(
            project, Event.Type.PURGE, actor="trash", payload={"expired_before": now.isoformat()}
        )
        purged, expected = 0, rows.count()
        events.heartbeat(event, done=0, total=expected)
        while True:
            with transaction.atomic():
                batch = list(rows.values_list("pk", flat=True)[:PURGE_CHUNK])
                if not batch:
                    break
                purged += TrashedMemory.objects.filter(pk__in=batch).delete()[0]
                events.heartbeat(event, done=purged, total=expected)
        events.finish(event, results={"purged": purged, "held": kept}, done=purged)
        total += purged
    return total


def _ids(project: Project, memory_ids: Iterable[Any]) -> list[Any]:
    wanted = list(dict.fromkeys(str(pk) for pk in memory_ids))
    if not wanted:
        raise InvalidRequest("name at least one memory id")
    if len(wanted) > MAX_IDS:
        raise InvalidRequest(f"at most {MAX_IDS} memory ids at a time, got {len(wanted)}")
    try:
        return [uuid.UUID(pk) for pk in wanted]
    except ValueError as exc:
        raise InvalidRequest("memory ids are UUIDs") from exc
