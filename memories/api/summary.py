"""Summary API: Mem0's `POST /v1/summary/` (mem0ai 2.x `get_summary(filters)`).

The body is `{"filters": {...}}` (the filter language, with /v1/'s implicit null scoping of the
entity ids it does not name, as lists have) or `{}`: the SDK's `get_summary()` with no filters,
which summarises the whole project. Either way only the newest
memories.summaries.MAX_SUMMARY_MEMORIES are read, and the answer says which.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from memories import summaries
from memories.api import docs, params
from memories.api.serializers import iso
from tenancy.api.base import ProjectAPIView
from tenancy.models import Role


def summary_payload(summary: summaries.Summary) -> dict[str, Any]:
    return {
        "summary": summary.text,
        "memory_count": len(summary.memories),
        "memory_ids": [str(m.pk) for m in summary.memories],
        "truncated": summary.truncated,
        "max_memories": summaries.MAX_SUMMARY_MEMORIES,
        "filters": summary.filters,
        "generated_at": iso(summary.generated_at),
    }


@docs.summary
class SummaryView(ProjectAPIView):
    """POST /v1/summary/: a read, written by the LLM in the request."""

    required_roles = {"POST": Role.VIEWER}

    def post(self, request: Request) -> Response:
        body = self.body()
        named = params.combine(body.get("filters"), params.param_filters(body, entities=True))
        filters = params.legacy_filter(body, require_entity=False) if named else {}
        summary = summaries.summarise(self.project, filters)
        self.log_read(
            "memories.summary",
            memories=summary.memories,
            scope=body,
            filters=body.get("filters"),
        )
        return Response(summary_payload(summary))
