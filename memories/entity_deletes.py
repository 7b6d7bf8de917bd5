"""Deleting an entity by its name (DELETE /v2/entities/{type}/{name}/), cheaply when it has no
memories.

The SDKs' reset() and delete_users() send one such request per entity, so a project of 10,000
entities makes 10,000 of them, most for entities with few or no memories. The full delete
(memories.services.delete_entity) costs a dozen statements whatever the entity holds: a count,
the Event, the legal-hold and webhook lookups, the chunked delete with its heartbeat, the
finish and the entity itself. An entity without memories needs none of that: no hold can keep
a memory it does not have, no webhook hears of a delete that removes nothing, and no history
row is owed. It goes in one transaction of three statements (select, delete, the SUCCEEDED
Event that records who deleted it); an entity with memories takes the full path.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists
from django.utils import timezone

from entities.models import Entity
from entities.services import get_entity
from memories import events, services
from memories.models import Event, Memory
from tenancy.models import Project


def delete_entity_named(project: Project, kind: str, name: str, *, actor: str) -> Event:
    """Delete the project's entity of `kind` named `name` with all its memories; returns the
    DELETE Event (SUCCEEDED, or PENDING for a large entity a worker deletes). NotFound for an
    unknown entity."""
    return _delete_if_empty(project, kind, name, actor=actor) or services.delete_entity(
        project, get_entity(project, kind, name), actor=actor
    )


def _delete_if_empty(project: Project, kind: str, name: str, *, actor: str) -> Event | None:
    """Delete the entity if it has no memories (checked in the same statement that selects it,
    so a memory written meanwhile either keeps it or re-creates it); None if it has memories
    or does not exist."""
    if kind not in Entity.Kind.values:
        return None
    has_memory = Memory.objects.for_project(project).for_entity(kind, name)
    empty = (
        Entity.objects.for_project(project).filter(kind=kind, name=name).exclude(Exists(has_memory))
    )
    with transaction.atomic():
        deleted, _ = empty.delete()
        if not deleted:
            return None
        now = timezone.now()
        payload = {"entity_type": kind, "entity_id": name}
        return Event.objects.create(
            project=project,
            event_type=Event.Type.DELETE,
            status=Event.Status.SUCCEEDED,
            payload=payload,
            metadata=events.entities_of_delete(payload),
            results={"deleted": 0},
            actor=actor,
            created_at=now,
            updated_at=now,
            started_at=now,
            completed_at=now,
        )
