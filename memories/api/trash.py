"""The trash, memdash's own API (no Mem0 equivalent; memories.trash).

- `GET /v1/trash/` (viewers): trashed memories, newest deletes first, narrowed by entity ids
  (`user_id`, `agent_id`, `app_id`, `run_id`) or a `filters` body of the filter language on
  `POST /v1/trash/list/`; paged like every list. Reading it is a read of memory content: an
  access-log row.
- `POST /v1/trash/restore/`, `POST /v1/trash/purge/` (editors): `{"memory_ids": [...]}`.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from core.api.pagination import paginate
from core.errors import InvalidRequest
from memories import trash
from memories.api import docs
from memories.api.serializers import iso, memory_payload
from memories.api.views import parse_uuid
from memories.filters import ENTITY_FIELDS, compile_filters
from memories.models import TrashedMemory
from tenancy.api.base import ProjectAPIView
from tenancy.models import Role


def trashed_payload(row: TrashedMemory) -> dict[str, Any]:
    """A trashed memory: the memory object as reads give it, and when it went to the trash."""
    return {
        **memory_payload(row),  # type: ignore[arg-type]  # the same columns as a Memory
        "trashed_at": iso(row.trashed_at),
        "trashed_by": row.trashed_by,
        "purge_after": iso(row.purge_after),
    }


class _TrashListing(ProjectAPIView):
    required_roles = {"GET": Role.VIEWER, "POST": Role.VIEWER}

    def answer(self, request: Request, filters: dict[str, Any], source: Any) -> Response:
        page = paginate(
            request,
            trash.trashed(self.project, filters),
            source=source,
            order_key="trashed_at",
            serialize=trashed_payload,
        )
        self.log_read(
            "trash.list",
            memories=page["results"],
            total=page["count"],
            scope=filters,
            filters=filters or None,
        )
        return Response(page)


@docs.trash_list
class TrashView(_TrashListing):
    def get(self, request: Request) -> Response:
        query = request.query_params
        filters = {name: query[name] for name in ENTITY_FIELDS if query.get(name)}
        return self.answer(request, filters, query)


@docs.trash_filter
class TrashListView(_TrashListing):
    def post(self, request: Request) -> Response:
        body = self.body()
        filters = body.get("filters") or {}
        if not isinstance(filters, dict):
            raise InvalidRequest("filters must be an object of the filter language")
        compile_filters(filters)
        return self.answer(request, filters, body)


def _memory_ids(body: dict[str, Any]) -> list[str]:
    ids = body.get("memory_ids")
    if not isinstance(ids, list) or not ids:
        raise InvalidRequest("memory_ids must be a non-empty list of memory ids")
    return [str(parse_uuid(pk)) for pk in ids]


@docs.trash_restore
class TrashRestoreView(ProjectAPIView):
    required_roles = {"POST": Role.EDITOR}

    def post(self, request: Request) -> Response:
        event = trash.restore(self.project, _memory_ids(self.body()), actor=self.actor)
        return Response({"event_id": str(event.pk), **(event.results or {})})


@docs.trash_purge
class TrashPurgeView(ProjectAPIView):
    required_roles = {"POST": Role.EDITOR}

    def post(self, request: Request) -> Response:
        event = trash.purge(self.project, _memory_ids(self.body()), actor=self.actor)
        return Response({"event_id": str(event.pk), **(event.results or {})})
