"""Entity writes and lookups. Entities are upserted whenever memories are written (deleting one
with its memories is memories.services.delete_entity)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import NotFound
from core.text import normal_id
from entities.models import Entity
from tenancy.models import Project


def touch_entities(
    project: Project, scopes: Iterable[dict[str, str | None]], *, at: dt.datetime | None = None
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


def get_entity(project: Project, kind: str, name: str) -> Entity:
    """The project's entity of `kind` named `name` (NotFound, a 404 on both surfaces, else).

    `name` as given first, then in its normal form (core.text.normal_id): entities written
    before ids were normalised keep their exact names, and their links still open them.
    """
    if kind not in Entity.Kind.values:
        raise NotFound(f"Unknown entity type {kind!r}")
    entities = Entity.objects.for_project(project).filter(kind=kind)
    entity = entities.filter(name=name).first()
    if entity is None and normal_id(name) != name:
        entity = entities.filter(name=normal_id(name)).first()
    if entity is None:
        raise NotFound(f"{kind} {name!r} not found")
    return entity


# Mem0's display `name` of an entity lives in its metadata under this key: memdash's own
# `Entity.name` is the id memories carry (`user_id="alex"`), which Mem0 calls `user_id`.
DISPLAY_NAME_KEY = "display_name"


def create_entity(
    project: Project,
    kind: str,
    name: str,
    *,
    display_name: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> tuple[Entity, bool]:
    """Create the project's entity of `kind` named `name` before any memory is written for it,
    or find the one that exists: (entity, whether it was created).

    A repeated create is safe: it returns the same entity. `metadata` and `display_name`, when
    given, replace what the entity holds (the display name is kept as
    metadata[DISPLAY_NAME_KEY]); when not given, nothing stored changes.
    """
    if kind not in Entity.Kind.values:
        raise NotFound(f"Unknown entity type {kind!r}")
    wanted = dict(metadata) if metadata is not None else None
    if display_name is not None:
        wanted = {**(wanted if wanted is not None else {}), DISPLAY_NAME_KEY: display_name}
    with transaction.atomic():
        entity, created = Entity.objects.select_for_update().get_or_create(
            project=project, kind=kind, name=name, defaults={"metadata": wanted or {}}
        )
        if not created and wanted is not None:
            if metadata is None:  # only the display name was given: keep the rest
                wanted = {**entity.metadata, **wanted}
            if wanted != entity.metadata:
                entity.metadata = wanted
                entity.save(update_fields=["metadata"])
    return entity, created
