"""Two of Mem0's paginated reads under /v1/memories/: one entity's memories
(GET /v1/memories/{entity_type}/{entity_id}/) and the project's history
(GET /v1/memories/events/)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from audit import log as audit_log
from core.api.pagination import paginate
from core.errors import InvalidRequest
from core.text import normal_id, quoted
from entities.models import Entity
from memories import listing
from memories.api import docs, params
from memories.api.serializers import history_payload, memory_payload
from tenancy.api.base import ProjectAPIView

MAX_ENTITY_ID_CHARS = 255


def entity_scope(kind: str, name: str) -> dict[str, str]:
    """The scope an entity path names ({"user_id": "alex"}); InvalidRequest for a bad type or id."""
    if kind not in Entity.Kind.values:
        raise InvalidRequest(
            f"Invalid entity type {quoted(kind)}; use one of {', '.join(Entity.Kind.values)}."
        )
    if not name.strip() or len(name) > MAX_ENTITY_ID_CHARS:
        raise InvalidRequest(
            f"entity_id must be 1 to {MAX_ENTITY_ID_CHARS} characters, got {len(name)}."
        )
    return {f"{kind}_id": name}


@docs.entity_memories
class EntityMemoriesView(ProjectAPIView):
    """GET /v1/memories/{entity_type}/{entity_id}/: the entity's memories, newest first, in
    pages of 100 (page / page_size like every list; show_expired to include expired ones).

    Items are memory objects plus Mem0's `input` (the messages that added the memory) and
    `is_updated` (whether it was changed since). An unknown entity has no memories: an empty
    page, as for a list filter that matches nothing.
    """

    def get(self, request: Request, kind: str, name: str) -> Response:
        query = request.query_params
        # As every filter reads ids: stripped and NFC-normalised (core.text.normal_id).
        name = normal_id(name)
        scope = entity_scope(kind, name)
        show_expired = params.flag(query.get("show_expired"), "show_expired")
        memories = listing.entity_memories(self.project, kind, name, show_expired=show_expired)
        page = paginate(
            request, memories, source=query, order_key="created_at", serialize=memory_payload
        )
        origins = listing.memory_origins(self.project, [item["id"] for item in page["results"]])
        for item in page["results"]:
            origin = origins.get(item["id"])
            item["input"] = origin["input"] if origin else None
            item["is_updated"] = origin["is_updated"] if origin else False
        self.log_read("memories.list", memories=page["results"], total=page["count"], scope=scope)
        return Response(page)


@docs.history_events
class HistoryEventsView(ProjectAPIView):
    """GET /v1/memories/events/: every change of the project's memories (history entries),
    newest first; `page` and `limit` (Mem0's page size name; `page_size` works too)."""

    def get(self, request: Request) -> Response:
        query = request.query_params
        source: dict[str, Any] = {
            "page": query.get("page"),
            "page_size": query.get("limit") or query.get("page_size"),
        }
        page = paginate(
            request,
            listing.history_list(self.project),
            source=source,
            order_key="created_at",
            serialize=history_payload,
        )
        rows = page["results"]
        self.log_read(
            "history.list",
            memories=[{**row, "id": row["memory_id"]} for row in rows],
            total=len(rows),
            extra_entities=audit_log.entity_keys(*rows),
        )
        return Response(page)
