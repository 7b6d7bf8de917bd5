"""Entity writes and lookups. Entities are upserted whenever memories are written (deleting one
with its memories is memories.services.delete_entity)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone

from core.errors import NotFound
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
    """The project's entity of `kind` named `name` (NotFound, a 404 on both surfaces, else)."""
    if kind not in Entity.Kind.values:
        raise NotFound(f"Unknown entity type {kind!r}")
    try:
        return Entity.objects.for_project(project).get(kind=kind, name=name)
    except Entity.DoesNotExist as exc:
        raise NotFound(f"{kind} {name!r} not found") from exc
