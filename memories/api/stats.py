"""GET /v1/stats/: the project's numbers, as Mem0's dashboard shows them (memories.stats)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response

from memories import stats
from memories.api import docs
from tenancy.api.base import ProjectAPIView


@docs.stats
class StatsView(ProjectAPIView):
    """Counts only (no memory content, so no access-log row); exact up to MEMDASH_COUNT_CAP,
    estimated beyond and then named in `estimated`."""

    def get(self, request: Request) -> Response:
        return Response(stats.project_stats(self.project, cap=settings.MEMDASH_COUNT_CAP))
