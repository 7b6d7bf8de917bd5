"""The mark of a project whose deletion has begun (memories.projects sets it).

From the moment it is set, the project's API keys are refused with 410 Gone
(tenancy.authentication), so no client reads or writes a half-deleted project, and the
organization's project lists leave the project out (tenancy.services.reachable_projects).
It lives in Project.options, the one free-form column, so it needs no migration. A module of
its own, importing nothing but the models: authentication loads while DRF's settings do.
"""

from __future__ import annotations

from typing import Any

from tenancy.models import Project

DELETION_MARK = "deletion"


def deletion_under_way(project: Project) -> dict[str, Any] | None:
    """`{"event_id", "started_at"}` of the deletion under way for `project`, or None."""
    mark = (project.options or {}).get(DELETION_MARK)
    return mark if isinstance(mark, dict) else None
