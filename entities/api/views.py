"""Entity API: list users/agents/apps/runs, delete one with all its memories."""

from __future__ import annotations

from django.db.models import Count
from rest_framework.response import Response

from core.api.pagination import paginate, parse_positive_int
from core.errors import InvalidRequest, NotFound
from entities import services
from entities.models import Entity
from memories import services as memory_services
from memories.api.serializers import iso
from memories.api.views import delete_response
from memories.models import Memory
from tenancy.api.base import ProjectAPIView

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def entity_payload(entity: Entity, *, total_memories: int | None = None) -> dict:
    return {
        "id": str(entity.id),
        "name": entity.name,
        "type": entity.kind,
        "created_at": iso(entity.created_at),
        "updated_at": iso(entity.updated_at),
        "owner": None,
        "metadata": entity.metadata,
        "total_memories": total_memories,
    }


def memory_counts(project, entities: list[Entity]) -> dict[tuple[str, str], int]:
    """Memories per entity for one page of entities: one grouped query per kind present."""
    counts: dict[tuple[str, str], int] = {}
    for kind in {e.kind for e in entities}:
        names = [e.name for e in entities if e.kind == kind]
        column = f"{kind}_id"
        rows = (
            Memory.objects.for_project(project)
            .filter(**{f"{column}__in": names})
            .values(column)
            .annotate(n=Count("id"))
            .order_by()
        )
        counts.update({(kind, row[column]): row["n"] for row in rows})
    return counts


class EntityListView(ProjectAPIView):
    """GET /v1/entities/: the project's entities, most recently active first."""

    def get(self, request):
        query = request.query_params
        kind = query.get("type") or None
        if kind is not None and kind not in Entity.Kind.values:
            raise InvalidRequest(
                f"type must be one of {', '.join(Entity.Kind.values)}, got {kind[:40]!r}"
            )
        entities = (
            Entity.objects.for_project(self.project).of_kind(kind).order_by("-updated_at", "-id")
        )
        page = parse_positive_int(query.get("page"), "page", default=1)
        page_size = parse_positive_int(
            query.get("page_size"), "page_size", default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE
        )
        totals = dict(
            Entity.objects.for_project(self.project)
            .values_list("kind")
            .annotate(n=Count("id"))
            .order_by()
        )
        body = paginate(
            request,
            entities,
            page=page,
            page_size=page_size,
            order_key="updated_at",
            serialize=lambda e: e,
        )
        counts = memory_counts(self.project, body["results"])
        body["results"] = [
            entity_payload(e, total_memories=counts.get((e.kind, e.name), 0))
            for e in body["results"]
        ]
        body.update({f"total_{kind}s": totals.get(kind, 0) for kind in Entity.Kind.values})
        return Response(body)


def _kind(kind: str) -> str:
    if kind not in Entity.Kind.values:
        raise InvalidRequest(f"Invalid entity type {kind!r}; use one of user, agent, app, run.")
    return kind


class EntityByNameView(ProjectAPIView):
    """GET / DELETE /v2/entities/{type}/{name}/ (name = the id used on memories)."""

    def get(self, request, kind, name):
        entity = services.get_entity(self.project, _kind(kind), name)
        counts = memory_counts(self.project, [entity])
        return Response(
            [entity_payload(entity, total_memories=counts.get((entity.kind, entity.name), 0))]
        )

    def delete(self, request, kind, name):
        entity = services.get_entity(self.project, _kind(kind), name)
        event = memory_services.delete_entity(self.project, entity, actor=self.actor)
        return Response(delete_response(event, "Entity deleted successfully."))


class EntityByIdView(ProjectAPIView):
    """DELETE /v1/entities/{type}/{numeric id}/ (deprecated by Mem0; still used by old clients)."""

    def delete(self, request, kind, entity_id):
        _kind(kind)
        if not entity_id.isdigit():
            raise InvalidRequest("Invalid entity ID. Must be an integer.")
        try:
            entity = Entity.objects.for_project(self.project).get(kind=kind, pk=int(entity_id))
        except Entity.DoesNotExist as exc:
            raise NotFound("Entity not found.") from exc
        event = memory_services.delete_entity(self.project, entity, actor=self.actor)
        return Response(delete_response(event, "Entity deleted successfully."))
