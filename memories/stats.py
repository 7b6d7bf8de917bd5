"""A project at a glance: its numbers (GET /v1/stats/) and the values its dashboard filters can
take (GET /v1/entities/filters/).

Both must answer at once at a million memories, so nothing here counts without a bound. Every
number is exact up to MEMDASH_COUNT_CAP: a COUNT over a LIMITed subquery stops reading after
cap + 1 index entries (core.keyset.capped_count). Past the cap the number is PostgreSQL's planner
estimate (EXPLAIN reads no rows; accurate for these plain scopes), never less than cap + 1, and
its key is listed in `estimated` so a reader knows which numbers are approximate. A full stats
answer therefore reads at most about 11 x (cap + 1) index entries, whatever the project's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import QuerySet

from audit.models import AuditEntry
from core.keyset import capped_count, planner_estimate
from entities.models import Entity
from memories.models import Event, Memory
from memories.pipeline import category_choices
from tenancy.models import Project

# How many values each filter offers (most recently active entities first): a dashboard
# dropdown of 10,000 users helps nobody, and the answer stays small at any project size.
FILTER_OPTION_LIMIT = 100
# Kinds Mem0's stats report, with memdash's apps beside them.
STATS_KINDS = ("user", "agent", "app", "run")


@dataclass
class _Counter:
    """Counts queries exactly up to `cap`, estimates beyond, and remembers which it estimated."""

    cap: int
    estimated: list[str] = field(default_factory=list)

    def __call__(self, key: str, queryset: QuerySet[Any]) -> int:
        count, more = capped_count(queryset, self.cap)
        if not more:
            return count
        self.estimated.append(key)
        return max(self.cap + 1, planner_estimate(queryset))


def project_stats(project: Project, *, cap: int) -> dict[str, Any]:
    """Mem0's stats of `project`: memories, retrievals (the access log's reads; API ones are
    those made through the API), adds (ADD Events), and per kind of entity how many have
    memories and how many memories each has on average.

    Retrievals count what the access log still holds (MEMDASH_ACCESS_LOG_DAYS). memdash has
    no retrieval quota, so `total_retrieval_events_limit` is null.
    """
    count = _Counter(cap)
    memories = Memory.objects.for_project(project)
    reads = AuditEntry.objects.filter(project_id=project.pk, kind=AuditEntry.Kind.READ)
    stats: dict[str, Any] = {
        "total_memories": count("total_memories", memories),
        "total_retrieval_events": count("total_retrieval_events", reads),
        "total_add_events": count(
            "total_add_events", Event.objects.for_project(project).filter(event_type=Event.Type.ADD)
        ),
        "total_api_retrieval_events": count(
            "total_api_retrieval_events", reads.filter(surface="api")
        ),
        "total_retrieval_events_limit": None,
    }
    for kind in STATS_KINDS:
        column = f"{kind}_id"
        with_memories = count(
            f"total_{kind}s_with_memories", _entities_with_memories(project, kind)
        )
        scoped = count(f"memories_with_{column}", memories.filter(**{f"{column}__isnull": False}))
        stats[f"total_{kind}s_with_memories"] = with_memories
        stats[f"memories_per_{kind}"] = round(scoped / with_memories, 2) if with_memories else 0
    stats["estimated"] = count.estimated
    return stats


def _entities_with_memories(project: Project, kind: str) -> QuerySet[Entity]:
    """The project's entities of `kind` that have at least one memory: one probe of the scope's
    btree per entity (every memory's entity exists: memories.services touches it on write)."""
    has_memory = Memory.objects.filter(
        project=models.OuterRef("project_id"), **{f"{kind}_id": models.OuterRef("name")}
    )
    return Entity.objects.for_project(project).of_kind(kind).filter(models.Exists(has_memory))


def filter_definitions(project: Project) -> dict[str, Any]:
    """The filters the Platform dashboard offers, filled from the project's data: event types,
    categories (the project's own, else the default catalogue), and the most recently active
    entities of each kind, at most FILTER_OPTION_LIMIT values per list."""
    names = {kind: _recent_names(project, kind) for kind in Entity.Kind.values}
    categories = [name for name, _ in category_choices(project, None)][:FILTER_OPTION_LIMIT]
    event_types = list(Event.Type.values)
    parameters = [
        _parameter("user_id", "User", "select", "Select a user", names["user"]),
        _parameter("agent_id", "Agent", "select", "Select an agent", names["agent"]),
        _parameter("app_id", "App", "select", "Select an app", names["app"]),
        _parameter("run_id", "Run", "select", "Select a run", names["run"]),
        _parameter("categories", "Categories", "multiselect", "Select categories", categories),
        _parameter("event_type", "Event type", "select", "Select an event type", event_types),
        _parameter("start_date", "Created from", "date", "YYYY-MM-DD", []),
        _parameter("end_date", "Created until", "date", "YYYY-MM-DD", []),
        _parameter("keywords", "Keywords", "text", "Words in the memory", []),
    ]
    return {
        "event_type": event_types,
        "categories": categories,
        "users": names["user"],
        "agents": names["agent"],
        "apps": names["app"],
        "runs": names["run"],
        "parameters": parameters,
        "option_limit": FILTER_OPTION_LIMIT,
    }


def _recent_names(project: Project, kind: str) -> list[str]:
    """The names of the most recently active entities of `kind` (entity_recent_idx)."""
    rows = (
        Entity.objects.for_project(project)
        .of_kind(kind)
        .order_by("-updated_at", "-id")
        .values_list("name", flat=True)
    )
    return list(rows[:FILTER_OPTION_LIMIT])


def _parameter(
    name: str, label: str, kind: str, placeholder: str, options: list[str]
) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": kind,
        "placeholder": placeholder,
        "options": options,
    }
