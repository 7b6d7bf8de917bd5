"""Entity writes: upserted whenever memories are written, deleted together with their memories."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone

from entities.models import Entity
from memdash.errors import NotFound


def touch_entities(
    project, scopes: Iterable[dict[str, str | None]], *, at: dt.datetime | None = None
) -> None:
    """Create missing entities named by `scopes` (dicts of user_id/agent_id/app_id/run_id) and
    mark all of them active at `at`, in one statement."""
    at = at or timezone.now()
    keys = set()
    for scope in scopes:
        for kind in Entity.Kind.values:
            name = scope.get(f"{kind}_id")
            if name:
                keys.add((kind, name))
    if not keys:
        return
    Entity.objects.bulk_create(
        [
            Entity(project=project, kind=kind, name=name, created_at=at, updated_at=at)
            for kind, name in sorted(keys)
        ],
        update_conflicts=True,
        unique_fields=["project", "kind", "name"],
        update_fields=["updated_at"],
    )


def delete_entity(project, entity: Entity, *, actor: str):
    """Delete an entity and every memory scoped to it (each leaves a DELETE history row).

    Small entities go at once; large ones become a PENDING DELETE event that a worker runs (it
    removes the entity after its memories). Returns the Event.
    """
    # Imported here: memories.services itself imports touch_entities from this module.
    from memories.models import Event, Memory
    from memories.services import delete_or_schedule

    memories = Memory.objects.for_project(project).for_entity(entity.kind, entity.name)
    event = delete_or_schedule(
        project,
        memories,
        actor=actor,
        payload={"entity_type": entity.kind, "entity_id": entity.name},
    )
    if event.status == Event.Status.SUCCEEDED:
        entity.delete()
    return event


def get_entity(project, kind: str, name: str) -> Entity:
    if kind not in Entity.Kind.values:
        raise NotFound(f"Unknown entity type {kind!r}")
    try:
        return Entity.objects.for_project(project).get(kind=kind, name=name)
    except Entity.DoesNotExist as exc:
        raise NotFound(f"{kind} {name!r} not found") from exc
