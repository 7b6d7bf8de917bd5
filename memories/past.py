"""Point in time: which memories existed at a moment, and with what text, rebuilt from history.

Every change of a memory is a history row carrying the text after it (ADD, UPDATE, RESTORE) or
its end (DELETE), with the memory's scope, categories and metadata at that moment. The newest
row of each memory at or before the moment says whether it existed then and what it said; no
snapshot is kept beside the history.

Limits, by design:
- an erasure leaves no past: its tombstones have no text and no scope, so erased memories are
  absent from every moment, before the erasure too;
- a moment narrows by entity ids (immutable on a memory, so the newest row within them is the
  memory's newest row), then by the metadata and categories the memory had at that moment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Min, OuterRef, Q, Subquery

from core.errors import InvalidRequest
from memories.filters import ENTITY_FIELDS, compile_filters, parse_when
from memories.models import MemoryHistory
from tenancy.models import Project

ALIVE = (MemoryHistory.Action.ADD, MemoryHistory.Action.UPDATE, MemoryHistory.Action.RESTORE)
# What the memory had at the moment besides its scope, and may be asked about.
SNAPSHOT_KEYS = ("metadata", "categories")


@dataclass(frozen=True)
class PastMemory:
    """A memory as it was at a moment: its text then, since when it existed (`created_at`)
    and when it last changed before the moment (`updated_at`)."""

    id: Any
    memory: str
    user_id: str | None
    agent_id: str | None
    app_id: str | None
    run_id: str | None
    metadata: Any
    categories: list[str] | None
    created_at: dt.datetime
    updated_at: dt.datetime
    changed_by: str

    def scope(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in ENTITY_FIELDS}


def parse_moment(value: Any) -> dt.datetime:
    """`as_of`: a date (its end) or an ISO time, in UTC unless it says otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest("as_of must be a date (YYYY-MM-DD) or an ISO 8601 time")
    moment, whole_day = parse_when(value.strip(), "as_of")
    if whole_day:
        moment += dt.timedelta(days=1) - dt.timedelta(microseconds=1)
    return moment


def memories_as_of(
    project: Project, moment: dt.datetime, filters: dict[str, Any] | None = None
) -> list[PastMemory]:
    """The memories of `project` that existed at `moment` and match `filters` (entity ids,
    then `metadata` and `categories` as they were), newest first."""
    scope, snapshot = _split(filters or {})
    rows = MemoryHistory.objects.filter(project=project, created_at__lte=moment).filter(scope)
    newest = rows.order_by("memory_id", "-created_at", "-id").distinct("memory_id").values("pk")
    first = (
        MemoryHistory.objects.filter(memory_id=OuterRef("memory_id"), created_at__lte=moment)
        .values("memory_id")
        .annotate(first=Min("created_at"))
        .values("first")
    )
    alive = (
        MemoryHistory.objects.filter(pk__in=newest, event__in=ALIVE, erased_at=None)
        .filter(snapshot)
        .annotate(first_at=Subquery(first))
        .order_by("-first_at", "-memory_id")
    )
    return [
        PastMemory(
            id=row.memory_id,
            memory=row.new_memory or "",
            user_id=row.user_id,
            agent_id=row.agent_id,
            app_id=row.app_id,
            run_id=row.run_id,
            metadata=row.metadata,
            categories=row.categories,
            created_at=row.first_at,  # type: ignore[attr-defined]
            updated_at=row.created_at,
            changed_by=row.actor,
        )
        for row in alive
    ]


def _split(filters: dict[str, Any]) -> tuple[Q, Q]:
    """The filter as (entity ids, snapshot conditions); InvalidRequest for anything else."""
    parts = filters.get("AND") if set(filters) == {"AND"} else [filters]
    if not isinstance(parts, list):
        raise InvalidRequest("AND takes a list of conditions")
    scope: dict[str, Any] = {}
    snapshot: dict[str, Any] = {}
    for part in parts:
        if not isinstance(part, dict):
            raise InvalidRequest("each condition of AND is an object")
        for key, value in part.items():
            if key in ENTITY_FIELDS:
                scope.setdefault("AND", []).append({key: value})
            elif key in SNAPSHOT_KEYS:
                snapshot.setdefault("AND", []).append({key: value})
            else:
                raise InvalidRequest(
                    f"a view as of a moment narrows by {', '.join(ENTITY_FIELDS)}, metadata and "
                    f"categories (combined with AND), not by {key!r}"
                )
    return (
        compile_filters(scope).q if scope else Q(),
        compile_filters(snapshot).q if snapshot else Q(),
    )
