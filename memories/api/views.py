"""The Mem0-compatible memory API: /v1/ and /v2/ (seed era) and /v3/ (current SDKs).

Views parse and shape; memories.services and memories.search do the work. Which era a path
belongs to decides its scoping rules and response shapes (see memories.api.params).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from audit import log as audit_log
from core.api.pagination import DEFAULT_PAGE_SIZE, paginate, paginate_list, parse_positive_int
from core.errors import InvalidRequest, NotFound
from core.text import quoted
from memories import listing, past, services
from memories.api import docs, params
from memories.api.serializers import (
    AddRequest,
    BatchRequest,
    FeedbackRequest,
    UpdateRequest,
    event_payload,
    history_payload,
    memory_payload,
    past_payload,
)
from memories.models import Event, Memory
from memories.querysets import MemoryQuerySet
from memories.search import search_memories
from tenancy.api.base import ProjectAPIView
from tenancy.models import Project, Role

LEGACY_LIST_LIMIT = 200
DEFAULT_TOP_K = 10
MAX_TOP_K = 1000
# Default score thresholds per era. /v1/ never had one; memdash's local embedder scores related
# texts lower than Mem0's hosted model did, so /v2/ uses the /v3/ default rather than 0.3.
DEFAULT_THRESHOLD = {"v1": 0.0, "v2": 0.1, "v3": 0.1}


def parse_uuid(value: Any, *, label: str = "memory_id") -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise InvalidRequest(f"{label} should be a valid UUID, got {quoted(value)}") from exc


class MemoryLookupMixin(ProjectAPIView):
    def get_memory(self, memory_id: Any) -> Memory:
        return listing.get_memory(self.project, parse_uuid(memory_id))


# --- add -------------------------------------------------------------------------------------------


QUEUED = "Memory processing has been queued for background execution"


class AddMixin(ProjectAPIView):
    def run_add(self, data: dict[str, Any], *, run_inline: bool) -> tuple[dict[str, Any], Event]:
        """Validate an add and submit it (memories.services.submit_add).

        Returns the validated request and its Event (SUCCEEDED, or PENDING when queued).
        """
        serializer = AddRequest(data=data)
        serializer.is_valid(raise_exception=True)
        attrs = serializer.validated_data
        event = services.submit_add(
            self.project,
            AddRequest.to_add(attrs),
            actor=self.actor,
            infer=attrs["infer"],
            run_inline=run_inline,
            payload=_recorded_payload(data),
        )
        return attrs, event


def _recorded_payload(data: dict) -> dict:
    """What an Event keeps of the request: everything but credentials-like ids."""
    return {k: v for k, v in data.items() if k not in ("org_id", "project_id")}


@docs.memories_v1
class MemoriesV1View(AddMixin):
    """/v1/memories/: legacy add (POST), legacy list (GET) and delete by entity (DELETE)."""

    def post(self, request: Request) -> Response:
        body = self.body()
        # The seed-era docs' curl examples answer with results, so without async_mode the
        # server runs inference in the request (mem0ai 1.0.x sends async_mode=true itself).
        attrs, event = self.run_add(
            body, run_inline=not params.flag(body.get("async_mode"), "async_mode")
        )
        results: Any = event.results
        if event.status == Event.Status.PENDING:
            results = [{"message": QUEUED, "status": "PENDING", "event_id": str(event.id)}]
        if attrs.get("output_format") == "v1.1":
            # Graph memory is not part of memdash: `relations` is always empty, as on the Platform.
            return Response({"results": results, "relations": []})
        return Response(results)

    def get(self, request: Request) -> Response:
        query = request.query_params
        if query.get("version") == "v2":
            # The seed's curl examples send a JSON body with `filters` on this GET.
            data = {**self.body(), **{k: v for k, v in query.items() if k not in ("version",)}}
            filters = params.legacy_filter(data, require_entity=False)
        else:
            data = query
            filters = params.legacy_filter(query, require_entity=True)
        memories = listed(self.project, filters, data)
        fields = params.field_list(data.get("fields"))
        if query.get("page") and query.get("page_size"):
            return Response(_log_page(self, _page(request, memories, query, fields=fields), data))
        limit = parse_positive_int(
            query.get("limit"), "limit", default=DEFAULT_PAGE_SIZE, maximum=LEGACY_LIST_LIMIT
        )
        return Response(
            _log_list(self, [memory_payload(m, fields=fields) for m in memories[:limit]], data)
        )

    def delete(self, request: Request) -> Response:
        filters = params.delete_filters(request.query_params)
        event = services.delete_matching(self.project, filters, actor=self.actor)
        return Response(delete_response(event, "Memories deleted successfully!"))


def delete_response(event: Event, done_message: str) -> dict[str, Any]:
    """A delete's answer: done now, or running as an event (poll GET /v1/event/{id}/)."""
    if event.status == Event.Status.SUCCEEDED:
        results = event.results or {}
        answer = {"message": done_message, "event_id": str(event.id), "deleted": results["deleted"]}
        if results.get("held"):
            # memdash's legal holds: what a hold kept is said, never silently left.
            answer["held"] = results["held"]
            answer["message"] += f" {results['held']} memories under a legal hold were kept."
        return answer
    return {"message": "Delete in progress. This may take some time.", "event_id": str(event.id)}


@docs.add_v3
class AddV3View(AddMixin):
    """POST /v3/memories/add/: the current SDKs' add. Inference always runs in the background."""

    def post(self, request: Request) -> Response:
        _attrs, event = self.run_add(self.body(), run_inline=False)
        if event.status == Event.Status.PENDING:
            return Response({"message": QUEUED, "status": "PENDING", "event_id": str(event.id)})
        return Response(
            {
                "message": "Memories stored successfully",
                "status": event.status,
                "event_id": str(event.id),
                "results": event.results,
            }
        )


# --- list ------------------------------------------------------------------------------------------


def listed(project: Project, filters: dict[str, Any], source: Mapping[str, Any]) -> MemoryQuerySet:
    """The list a read asks for: `filters`, and expired memories only with `show_expired`."""
    show_expired = params.flag(source.get("show_expired"), "show_expired")
    return listing.memory_list(project, filters, show_expired=show_expired)


def _log_list(view: ProjectAPIView, payloads: list[dict], source: Mapping[str, Any]) -> list[dict]:
    """A list's answer, once its read is in the access log."""
    view.log_read("memories.list", memories=payloads, scope=source, filters=source.get("filters"))
    return payloads


def _log_page(view: ProjectAPIView, page: dict[str, Any], source: Mapping[str, Any]) -> dict:
    """A page's answer, once its read (and the list's total) is in the access log."""
    view.log_read(
        "memories.list",
        memories=page["results"],
        total=page["count"],
        scope=source,
        filters=source.get("filters"),
    )
    return page


def _page(
    request: Request,
    memories: MemoryQuerySet,
    source: Mapping[str, Any],
    *,
    fields: list[str] | None = None,
) -> dict[str, Any]:
    return paginate(
        request,
        memories,
        source=source,
        order_key="created_at",
        serialize=lambda m: memory_payload(m, fields=fields),
    )


@docs.list_v2
class ListV2View(ProjectAPIView):
    """POST /v2/memories/: seed-era list (bare list; paginated when page and page_size are given)."""

    required_roles = {"POST": Role.VIEWER}

    def post(self, request: Request) -> Response:
        data = {**self.body(), **request.query_params.dict()}
        memories = listed(self.project, params.legacy_filter(data, require_entity=False), data)
        fields = params.field_list(data.get("fields"))
        if data.get("page") and data.get("page_size"):
            return Response(_log_page(self, _page(request, memories, data, fields=fields), data))
        return Response(
            _log_list(
                self, [memory_payload(m, fields=fields) for m in memories[:DEFAULT_PAGE_SIZE]], data
            )
        )


@docs.list_v3
class ListV3View(ProjectAPIView):
    """POST /v3/memories/: the current SDKs' get_all, always paginated."""

    required_roles = {"POST": Role.VIEWER}

    def post(self, request: Request) -> Response:
        body = self.body()
        source = {**body, **request.query_params.dict()}
        if body.get("as_of") is not None:
            return Response(_log_page(self, self.as_of(request, body, source), body))
        memories = listed(self.project, params.current_filter(body), body)
        page = _page(request, memories, source, fields=params.field_list(body.get("fields")))
        return Response(_log_page(self, page, body))

    def as_of(self, request: Request, body: dict[str, Any], source: dict[str, Any]) -> dict:
        """memdash's `as_of`: the memories as they were at a moment (memories.past)."""
        moment = past.parse_moment(body["as_of"])
        filters = body.get("filters") or {}
        if not isinstance(filters, dict):
            raise InvalidRequest("filters must be an object")
        rows = past.memories_as_of(self.project, moment, filters)
        page = paginate_list(request, rows, source=source, serialize=past_payload)
        page["as_of"] = moment.isoformat()
        return page


# --- search ----------------------------------------------------------------------------------------


IGNORED_SEARCH_SWITCHES = ("rerank", "filter_memories", "only_metadata_based_search")


class SearchMixin(ProjectAPIView):
    def run_search(self, body: dict[str, Any], filters: dict[str, Any], *, era: str) -> list[dict]:
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            raise InvalidRequest("query is required and must be a non-empty string")
        top_k = parse_positive_int(
            body.get("top_k", body.get("limit")), "top_k", default=DEFAULT_TOP_K, maximum=MAX_TOP_K
        )
        threshold = params.number(
            body.get("threshold"), "threshold", default=DEFAULT_THRESHOLD[era], low=0.0, high=1.0
        )
        # Platform switches memdash has no use for (it has no reranker, and ranks metadata and
        # text together); still booleans, so a typo'd value is an error rather than ignored.
        for name in IGNORED_SEARCH_SWITCHES:
            params.flag(body.get(name), name)
        hits = search_memories(
            self.project,
            query=query.strip(),
            filters=filters,
            top_k=top_k,
            threshold=threshold,
            show_expired=params.flag(body.get("show_expired"), "show_expired"),
            keyword=params.flag(body.get("keyword_search"), "keyword_search", default=True),
        )
        fields = params.field_list(body.get("fields"))
        results = [memory_payload(hit.memory, score=hit.score, fields=fields) for hit in hits]
        self.log_read(
            "memories.search",
            memories=[hit.memory for hit in hits],
            scope=body,
            filters=body.get("filters"),
            query=query,
        )
        return results


@docs.search_v1
class SearchV1View(SearchMixin):
    """POST /v1/memories/search/: top-level ids (or `filters` with version v2); v1.0 returns a
    bare list, v1.1 {"results": [...]}."""

    required_roles = {"POST": Role.VIEWER}

    def post(self, request: Request) -> Response:
        body = self.body()
        results = self.run_search(body, params.legacy_filter(body, require_entity=False), era="v1")
        if body.get("output_format") == "v1.1":
            return Response({"results": results, "relations": []})
        if request.query_params.get("version") == "v2":
            return Response({"results": results})
        return Response(results)


@docs.search_v2
class SearchV2View(SearchMixin):
    """POST /v2/memories/search/: seed-era search, bare list."""

    required_roles = {"POST": Role.VIEWER}

    def post(self, request: Request) -> Response:
        body = self.body()
        return Response(
            self.run_search(body, params.legacy_filter(body, require_entity=False), era="v2")
        )


@docs.search_v3
class SearchV3View(SearchMixin):
    """POST /v3/memories/search/: the current SDKs' search, {"results": [...]}."""

    required_roles = {"POST": Role.VIEWER}

    def post(self, request: Request) -> Response:
        body = self.body()
        return Response({"results": self.run_search(body, params.current_filter(body), era="v3")})


# --- one memory ------------------------------------------------------------------------------------


@docs.memory_detail
class MemoryDetailView(MemoryLookupMixin):
    """GET / PUT / DELETE /v1/memories/{id}/. `get` ignores expiry."""

    def get(self, request: Request, memory_id: str) -> Response:
        memory = self.get_memory(memory_id)
        self.log_read("memory.get", memories=[memory])
        return Response(memory_payload(memory))

    def put(self, request: Request, memory_id: str) -> Response:
        memory = self.get_memory(memory_id)
        serializer = UpdateRequest(data=self.body())
        serializer.is_valid(raise_exception=True)
        attrs = serializer.validated_data
        services.update_memory(
            memory,
            actor=self.actor,
            text=attrs.get("text"),
            metadata=attrs.get("metadata", services.UNSET),
            expiration_date=attrs.get("expiration_date", services.UNSET),
            created_at=attrs.get("timestamp"),
        )
        return Response(memory_payload(memory))

    patch = put

    def delete(self, request: Request, memory_id: str) -> Response:
        memory = self.get_memory(memory_id)
        services.delete_memory(memory, actor=self.actor)
        body: dict[str, Any] = {"message": "Memory deleted successfully!"}
        if params.flag(request.query_params.get("delete_linked"), "delete_linked"):
            body["cascade_count"] = 0
        return Response(body)


@docs.memory_history
class MemoryHistoryView(MemoryLookupMixin):
    """GET /v1/memories/{id}/history/: every change, oldest first. Works after deletion too."""

    def get(self, request: Request, memory_id: str) -> Response:
        rows = listing.memory_history(self.project, parse_uuid(memory_id))
        payload = [history_payload(row) for row in rows]
        if not payload:
            raise NotFound("Memory not found!")
        self.log_read(
            "memory.history",
            memories=[{**row, "id": row["memory_id"]} for row in payload[:1]],
            extra_entities=audit_log.entity_keys(*payload),
        )
        return Response(payload)


@docs.batch
class BatchView(ProjectAPIView):
    """PUT / DELETE /v1/batch/: up to 1000 memories, all or nothing."""

    def put(self, request: Request) -> Response:
        serializer = BatchRequest(data=self.body(), verb="updated")
        serializer.is_valid(raise_exception=True)
        items = serializer.validated_data["memories"]
        updates = [
            services.BatchUpdate(
                memory_id=item["memory_id"],
                text=item.get("text"),
                metadata=item.get("metadata", services.UNSET),
            )
            for item in items
        ]
        services.batch_update(self.project, updates, actor=self.actor)
        return Response({"message": f"Successfully updated {len(items)} memories"})

    def delete(self, request: Request) -> Response:
        serializer = BatchRequest(data=self.body(), verb="deleted")
        serializer.is_valid(raise_exception=True)
        ids = [item["memory_id"] for item in serializer.validated_data["memories"]]
        services.batch_delete(self.project, ids, actor=self.actor)
        return Response({"message": f"Successfully deleted {len(ids)} memories"})


@docs.feedback
class FeedbackView(MemoryLookupMixin):
    """POST /v1/feedback/: POSITIVE / NEGATIVE / VERY_NEGATIVE, or null to clear."""

    required_roles = {"POST": Role.VIEWER}

    def post(self, request: Request) -> Response:
        serializer = FeedbackRequest(data=self.body())
        serializer.is_valid(raise_exception=True)
        attrs = serializer.validated_data
        memory = self.get_memory(attrs["memory_id"])
        services.record_feedback(
            memory, feedback=attrs.get("feedback"), reason=attrs.get("feedback_reason")
        )
        return Response(
            {
                "id": str(memory.id),
                "feedback": memory.feedback,
                "feedback_reason": memory.feedback_reason,
            }
        )


# --- events ----------------------------------------------------------------------------------------


@docs.event_detail
class EventDetailView(ProjectAPIView):
    def get(self, request: Request, event_id: str) -> Response:
        event = listing.get_event(self.project, parse_uuid(event_id, label="event_id"))
        self.log_read("event.get", **audit_log.event_reads([event]))
        return Response(event_payload(event))


@docs.event_list
class EventListView(ProjectAPIView):
    def get(self, request: Request) -> Response:
        query = request.query_params
        events = listing.event_list(
            self.project,
            event_type=query.get("event_type") or query.get("type"),
            status=query.get("status"),
            entity=query.get("entity"),
            actor=query.get("actor"),
            since=query.get("since"),
            until=query.get("until"),
        )
        page = paginate(
            request, events, source=query, order_key="created_at", serialize=event_payload
        )
        self.log_read("events.list", **audit_log.event_reads(page["results"]), filters=query.dict())
        return Response(page)
