"""Entity API: list users/agents/apps/runs, delete one with all its memories."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.pagination import paginate
from core.errors import InvalidRequest, NotFound
from entities import services
from entities.models import Entity
from memories import listing
from memories import services as memory_services
from memories.api.serializers import iso
from memories.api.views import delete_response
from tenancy.api.base import ProjectAPIView

if TYPE_CHECKING:
    from memories.listing import CountedEntity


def entity_payload(entity: CountedEntity) -> dict[str, Any]:
    """An entity as Mem0 lists it. `total_memories` is exact up to MEMDASH_COUNT_CAP, like
    list counts (entity_list counts one row past the cap, so more reads as the cap)."""
    return {
        "id": str(entity.id),
        "name": entity.name,
        "type": entity.kind,
        "created_at": iso(entity.created_at),
        "updated_at": iso(entity.updated_at),
        "owner": None,
        "metadata": entity.metadata,
        "total_memories": min(entity.memory_count, settings.MEMDASH_COUNT_CAP),
    }


class EntityListView(ProjectAPIView):
    """GET /v1/entities/: the project's entities, most recently active first."""

    def get(self, request: Request) -> Response:
        query = request.query_params
        kind = query.get("type") or None
        if kind is not None and kind not in Entity.Kind.values:
            raise InvalidRequest(
                f"type must be one of {', '.join(Entity.Kind.values)}, got {kind[:40]!r}"
            )
        entities = listing.entity_list(self.project, kind=kind, cap=settings.MEMDASH_COUNT_CAP)
        totals = listing.entity_totals(self.project)
        body = paginate(
            request,
            entities,
            source=query,
            order_key="updated_at",
            serialize=entity_payload,
        )
        body.update({f"total_{kind}s": totals.get(kind, 0) for kind in Entity.Kind.values})
        self.log_read(
            "entities.list",
            extra_entities=[f"{e['type']}:{e['name']}" for e in body["results"]],
            total=len(body["results"]),
            filters=query.dict() or None,
        )
        return Response(body)


def _kind(kind: str) -> str:
    if kind not in Entity.Kind.values:
        raise InvalidRequest(f"Invalid entity type {kind!r}; use one of user, agent, app, run.")
    return kind


class EntityByNameView(ProjectAPIView):
    """GET / DELETE /v2/entities/{type}/{name}/ (name = the id used on memories)."""

    def get(self, request: Request, kind: str, name: str) -> Response:
        services.get_entity(self.project, _kind(kind), name)
        entity = listing.entity_list(self.project, cap=settings.MEMDASH_COUNT_CAP).get(
            kind=kind, name=name
        )
        self.log_read("entity.get", scope={f"{kind}_id": name}, total=1)
        return Response([entity_payload(entity)])

    def delete(self, request: Request, kind: str, name: str) -> Response:
        entity = services.get_entity(self.project, _kind(kind), name)
        event = memory_services.delete_entity(self.project, entity, actor=self.actor)
        return Response(delete_response(event, "Entity deleted successfully."))


class EntityByIdView(ProjectAPIView):
    """DELETE /v1/entities/{type}/{numeric id}/ (deprecated by Mem0; still used by old clients)."""

    def delete(self, request: Request, kind: str, entity_id: str) -> Response:
        _kind(kind)
        if not entity_id.isdigit():
            raise InvalidRequest("Invalid entity ID. Must be an integer.")
        try:
            entity = Entity.objects.for_project(self.project).get(kind=kind, pk=int(entity_id))
        except Entity.DoesNotExist as exc:
            raise NotFound("Entity not found.") from exc
        event = memory_services.delete_entity(self.project, entity, actor=self.actor)
        return Response(delete_response(event, "Entity deleted successfully."))
