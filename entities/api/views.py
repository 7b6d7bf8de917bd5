"""Entity API: create, list and delete users/agents/apps/runs (a delete takes the entity's
memories with it), and the dashboard's filter definitions."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import StreamingHttpResponse
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.pagination import MAX_PAGE_SIZE, paginate
from core.errors import InvalidRequest, NotFound
from core.text import normal_id
from entities import services
from entities.api import docs
from entities.models import Entity
from memories import entity_deletes, listing, stats
from memories import services as memory_services
from memories.api.serializers import EntityIdField, MetadataField, iso
from memories.api.views import delete_response
from memories.listing import MAX_ENTITY_CHARS
from tenancy.api.base import ProjectAPIView
from tenancy.models import Project

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


# Entities per chunk of a streamed list, and the most entity keys its access-log row names:
# the rows of one largest page (MAX_PAGE_SIZE), so a reset's list of 10,000 entities writes a
# log row of the same size as a page of 1,000 would, with `total` saying how many were listed.
STREAM_CHUNK = MAX_PAGE_SIZE
PAGING_PARAMS = ("page", "page_size", "cursor")


@docs.entity_list
class EntityListView(ProjectAPIView):
    """GET /v1/entities/: the project's entities, most recently active first.

    With `page` or `page_size` it pages like every list. Without them it lists every entity:
    the SDKs' reset() and delete_users() read this one answer and delete each entity in it,
    so a first page only would leave the rest behind. A list longer than STREAM_CHUNK is
    streamed in keyset chunks (memories.listing.entity_chunks), so 100,000 entities never
    sit in memory.
    """

    def get(self, request: Request) -> Response | StreamingHttpResponse:
        query = request.query_params
        kind = query.get("type") or None
        if kind is not None and kind not in Entity.Kind.values:
            raise InvalidRequest(
                f"type must be one of {', '.join(Entity.Kind.values)}, got {kind[:40]!r}"
            )
        counted = listing.entity_totals(self.project)
        totals = {f"total_{name}s": counted.get(name, 0) for name in Entity.Kind.values}
        if not any(query.get(name) for name in PAGING_PARAMS):
            return self.everything(kind, totals, filters=query.dict() or None)
        entities = listing.entity_list(self.project, kind=kind, cap=settings.MEMDASH_COUNT_CAP)
        body = paginate(
            request,
            entities,
            source=query,
            order_key="updated_at",
            serialize=entity_payload,
        )
        body.update(totals)
        self.log_read(
            "entities.list",
            extra_entities=[f"{e['type']}:{e['name']}" for e in body["results"]],
            total=len(body["results"]),
            filters=query.dict() or None,
        )
        return Response(body)

    def everything(
        self, kind: str | None, totals: dict[str, int], *, filters: dict[str, Any] | None
    ) -> Response | StreamingHttpResponse:
        """Every entity in one answer of the paginated shape (`next` and `previous` null).

        Up to STREAM_CHUNK entities it is a plain answer; beyond, it is streamed chunk by
        chunk, with `count` last so that it is exactly the number of results streamed. The
        access-log row is written before the answer leaves: it names the first chunk's
        entities (at most STREAM_CHUNK) and has `total` = every entity listed.
        """
        chunks = listing.entity_chunks(
            self.project, kind=kind, cap=settings.MEMDASH_COUNT_CAP, size=STREAM_CHUNK
        )
        first = next(chunks, [])
        second = next(chunks, None)
        listed = totals[f"total_{kind}s"] if kind else sum(totals.values())
        self.log_read(
            "entities.list",
            extra_entities=[f"{e.kind}:{e.name}" for e in first],
            total=len(first) if second is None else listed,
            filters=filters,
        )
        if second is None:
            return Response(_whole_page([entity_payload(e) for e in first], totals))
        return StreamingHttpResponse(
            _stream_page(itertools.chain([first, second], chunks), totals),
            content_type="application/json",
        )


def _whole_page(results: list[dict[str, Any]], totals: dict[str, int]) -> dict[str, Any]:
    return {"results": results, "count": len(results), "next": None, "previous": None, **totals}


def _stream_page(chunks: Iterable[list[CountedEntity]], totals: dict[str, int]) -> Iterator[str]:
    """{"results": [...], "count": n, "next": null, "previous": null, "total_users": ...}."""
    yield '{"results":['
    count = 0
    for chunk in chunks:
        items = [_dumps(entity_payload(entity)) for entity in chunk]
        if items:
            yield ("," if count else "") + ",".join(items)
        count += len(items)
    tail = _whole_page([], totals)
    del tail["results"]
    tail["count"] = count
    yield "]," + _dumps(tail)[1:]


def _dumps(value: Any) -> str:
    # As DRF renders JSON: compact, UTF-8 text rather than \u escapes.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@docs.entity_filters
class EntityFiltersView(ProjectAPIView):
    """GET /v1/entities/filters/: the filters the Platform dashboard offers, with the
    project's values (at most memories.stats.FILTER_OPTION_LIMIT per list)."""

    def get(self, request: Request) -> Response:
        body = stats.filter_definitions(self.project)
        keys = [
            f"{kind}:{name}"
            for kind, listed in (
                ("user", body["users"]),
                ("agent", body["agents"]),
                ("app", body["apps"]),
                ("run", body["runs"]),
            )
            for name in listed
        ]
        self.log_read("entities.filters", extra_entities=keys, total=len(keys))
        return Response(body)


class CreateEntityRequest(serializers.Serializer[Any]):
    """POST /v1/users/ and its siblings: `{<kind>_id*, name?, metadata?}`."""

    name = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=MAX_ENTITY_CHARS
    )
    metadata = MetadataField(required=False, allow_null=True)

    def __init__(self, *args: Any, kind: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields[f"{kind}_id"] = EntityIdField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        memory_services.check_metadata(attrs.get("metadata"))
        return attrs


class CreateEntityView(ProjectAPIView):
    """POST /v1/{users|agents|apps|runs}/: create an entity before it has memories.

    201 with Mem0's entity object; an entity that exists answers 200 with it (a repeated
    create is safe), after applying the `name` and `metadata` given. Mem0's display `name` is
    kept in the entity's metadata as `display_name` (memdash's entity name is the id).
    """

    kind = ""

    def post(self, request: Request) -> Response:
        id_field = f"{self.kind}_id"
        serializer = CreateEntityRequest(data=self.body(), kind=self.kind)
        serializer.is_valid(raise_exception=True)
        attrs = serializer.validated_data
        if not attrs.get(id_field):
            raise InvalidRequest(f"{id_field} is required and must be a non-empty string.")
        entity, created = services.create_entity(
            self.project,
            self.kind,
            attrs[id_field],
            display_name=attrs.get("name") or None,
            metadata=attrs.get("metadata"),
        )
        return Response(
            created_payload(entity, self.project),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


@docs.create_entity("user")
class CreateUserView(CreateEntityView):
    kind = "user"


@docs.create_entity("agent")
class CreateAgentView(CreateEntityView):
    kind = "agent"


@docs.create_entity("app")
class CreateAppView(CreateEntityView):
    kind = "app"


@docs.create_entity("run")
class CreateRunView(CreateEntityView):
    kind = "run"


def created_payload(entity: Entity, project: Project) -> dict[str, Any]:
    """An entity as Mem0's create endpoints answer it."""
    return {
        "id": entity.pk,
        entity.scope_field: entity.name,
        "name": entity.metadata.get(services.DISPLAY_NAME_KEY) or entity.name,
        "metadata": entity.metadata,
        "created_at": iso(entity.created_at),
        "updated_at": iso(entity.updated_at),
        "graph_entities": [],
        "is_deleted": False,
        "project": project.pk,
    }


def _kind(kind: str) -> str:
    if kind not in Entity.Kind.values:
        raise InvalidRequest(f"Invalid entity type {kind!r}; use one of user, agent, app, run.")
    return kind


@docs.entity_by_name
class EntityByNameView(ProjectAPIView):
    """GET / DELETE /v2/entities/{type}/{name}/ (name = the id used on memories)."""

    # Both find the entity by its name as given or in its normal form (get_entity), then go on
    # with the name it is stored under.

    def get(self, request: Request, kind: str, name: str) -> Response:
        name = services.get_entity(self.project, _kind(kind), name).name
        entity = listing.entity_list(self.project, cap=settings.MEMDASH_COUNT_CAP).get(
            kind=kind, name=name
        )
        self.log_read("entity.get", scope={f"{kind}_id": name}, total=1)
        return Response([entity_payload(entity)])

    def delete(self, request: Request, kind: str, name: str) -> Response:
        if normal_id(name) != name:  # else the delete's own statements look the name up
            name = services.get_entity(self.project, _kind(kind), name).name
        event = entity_deletes.delete_entity_named(
            self.project, _kind(kind), name, actor=self.actor
        )
        return Response(delete_response(event, "Entity deleted successfully."))


@docs.entity_by_id
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
