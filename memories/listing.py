"""Every list the API and the dashboard show: memories, Events and entities.

A list of memories is a filter of the filter language in (memories.filters builds and compiles
it; expiry is its `expired` key) and a queryset out: the project's scope, the compiled filter,
the order its keyset cursors follow, and no vector columns. Both surfaces page, count and
delete from these querysets, so what one shows is what the other would.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypedDict, cast

from django.db import models
from django.db.models import Q, QuerySet

from audit.query import parse_moment
from core.errors import InvalidRequest, NotFound
from core.keyset import keyset_page
from core.text import quoted
from entities.models import Entity
from memories.filters import UNEXPIRED, all_of, compile_filters
from memories.models import SCOPE_FIELDS, Event, Memory, MemoryHistory
from memories.querysets import MemoryQuerySet
from tenancy.models import ApiKey, Project

if TYPE_CHECKING:
    # Type checkers only: django-stubs-ext is a development dependency.
    from django_stubs_ext import WithAnnotations

    class MemoryCount(TypedDict):
        memory_count: int

    # An entity of entity_list, with its memory count.
    CountedEntity = WithAnnotations[Entity, MemoryCount]


class MemoryOrigin(TypedDict):
    """Where a listed memory came from (memory_origins)."""

    input: Any
    is_updated: bool


SORT_KEYS = ("created_at", "updated_at")
MAX_ENTITY_CHARS = 255


# --- memories ----------------------------------------------------------------------------------


def visible(filters: dict[str, Any], *, show_expired: bool) -> dict[str, Any]:
    """`filters` as a list applies it: expired memories are left out unless asked for."""
    return filters if show_expired else all_of(filters, UNEXPIRED)


def matching(project: Project, filters: dict[str, Any] | None) -> MemoryQuerySet:
    """The project's memories that `filters` matches (unordered, every column)."""
    return Memory.objects.for_project(project).filter(compile_filters(filters).q)


def memory_list(
    project: Project,
    filters: dict[str, Any],
    *,
    show_expired: bool,
    order_key: str = "created_at",
) -> MemoryQuerySet:
    """A list of memories as pages show it: what `filters` matches (expired memories only with
    `show_expired`), newest first by `order_key` (then id, the order of keyset cursors, served
    by the scope indexes), without the vector columns."""
    if order_key not in SORT_KEYS:
        raise ValueError(f"lists are ordered by one of {SORT_KEYS}, not {order_key!r}")
    listed = matching(project, visible(filters, show_expired=show_expired))
    return listed.order_by(f"-{order_key}", "-id").without_vectors()


def get_memory(project: Project, memory_id: uuid.UUID) -> Memory:
    """One of the project's memories, without its vector columns; NotFound (a 404 on both
    surfaces) for another project's or an unknown id."""
    memory = (
        Memory.objects.for_project(project)
        .select_related("project", "source_event")
        .without_vectors()
        .filter(pk=memory_id)
        .first()
    )
    if memory is None:
        raise NotFound("Memory not found!")
    return memory


def memory_history(project: Project, memory_id: uuid.UUID) -> QuerySet[MemoryHistory]:
    """Every change of one memory, oldest first; it outlives the memory (history is kept)."""
    return MemoryHistory.objects.filter(project=project).for_memory(memory_id)


# --- events ------------------------------------------------------------------------------------


def get_event(project: Project, event_id: uuid.UUID) -> Event:
    """One of the project's Events; NotFound for another project's or an unknown id."""
    event = Event.objects.for_project(project).filter(pk=event_id).first()
    if event is None:
        raise NotFound("Event not found or you don't have permission to access it.")
    return event


def event_list(
    project: Project,
    *,
    event_type: str | None = None,
    status: str | None = None,
    entity: str | None = None,
    actor: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> QuerySet[Event]:
    """The project's Events, newest first, of a type, a status, about an entity (any kind), by
    an actor (an API key's name or prefix, a username, or a label such as "api-key:m0-abc"),
    and between two dates (a bare `until` date includes its day).

    Values are case-insensitive for type and status; empty ones are ignored; anything else
    unknown is an InvalidRequest naming the allowed values.
    """
    events = Event.objects.for_project(project)
    if event_type:
        if event_type.upper() not in Event.Type.values:
            raise InvalidRequest(
                f"event_type must be one of {', '.join(Event.Type.values)}, got {quoted(event_type)}"
            )
        events = events.filter(event_type=event_type.upper())
    if status:
        if status.upper() not in Event.Status.values:
            raise InvalidRequest(
                f"status must be one of {', '.join(Event.Status.values)}, got {quoted(status)}"
            )
        events = events.filter(status=status.upper())
    if entity:
        if len(entity) > MAX_ENTITY_CHARS:
            raise InvalidRequest(f"entity has {len(entity)} characters; at most {MAX_ENTITY_CHARS}")
        # Events record the entities they are about in `metadata` (GIN-indexed), whatever
        # their type (memories.events.named_entities, and an add's group-chat speakers).
        about = Q(metadata__contains={"speakers": [entity]})
        for field in SCOPE_FIELDS:
            about |= Q(metadata__contains={field: entity})
        events = events.filter(about)
    if actor:
        events = events.filter(actor__in=actor_labels(project, actor))
    start = parse_moment(since or None, "since", end_of_day=False)
    end = parse_moment(until or None, "until", end_of_day=True)
    if start and end and start > end:
        raise InvalidRequest("since is after until")
    if start:
        events = events.filter(created_at__gte=start)
    if end:
        events = events.filter(created_at__lte=end)
    return events.order_by("-created_at", "-id")


def actor_labels(project: Project, actor: str) -> list[str]:
    """The labels history rows and Events may name `actor` by: its keys' (by name or prefix),
    a user's, or the label itself."""
    if len(actor) > MAX_ENTITY_CHARS:
        raise InvalidRequest(f"actor has {len(actor)} characters; at most {MAX_ENTITY_CHARS}")
    keys = ApiKey.objects.filter(project=project).filter(Q(name=actor) | Q(prefix=actor))
    return [actor, f"user:{actor}", *(key.actor for key in keys)]


# --- entities ----------------------------------------------------------------------------------


class _CappedCount(models.Subquery):
    """COUNT(*) over a LIMITed subquery: stops reading at the limit."""

    template = "(SELECT count(*) FROM (%(subquery)s) _capped)"
    output_field = models.IntegerField()


def entity_list(
    project: Project, *, kind: str | None = None, name_contains: str | None = None, cap: int
) -> QuerySet[CountedEntity]:
    """The project's entities, most recently active first, each with `memory_count`: its
    memories counted up to `cap` + 1 (a count above `cap` means "more than cap").

    The count is one correlated subquery per row, over the scope's btree
    (project, <kind>_id, ...); CASE evaluates only the branch of the row's kind.
    """
    entities = Entity.objects.for_project(project).of_kind(kind).named_like(name_contains)
    branches = []
    for entity_kind in Entity.Kind.values:
        rows = (
            Memory.objects.filter(
                project=models.OuterRef("project_id"),
                **{f"{entity_kind}_id": models.OuterRef("name")},
            )
            .order_by()
            .values("id")[: cap + 1]
        )
        branches.append(models.When(kind=entity_kind, then=_CappedCount(rows)))
    counted = entities.annotate(
        memory_count=models.Case(
            *branches, default=models.Value(0), output_field=models.IntegerField()
        )
    )
    # The Django plugin types the annotation with a TypedDict of its own making; same shape.
    return cast("QuerySet[CountedEntity]", counted.order_by("-updated_at", "-id"))


def entity_totals(project: Project) -> dict[str, int]:
    """How many entities of each kind the project has."""
    rows = (
        Entity.objects.for_project(project)
        .values_list("kind")
        .annotate(n=models.Count("id"))
        .order_by()
    )
    return dict(rows)


def entity_chunks(
    project: Project, *, kind: str | None = None, cap: int, size: int
) -> Iterator[list[CountedEntity]]:
    """Every entity of the project (of `kind`), in entity_list's order and counts, `size` at a
    time: keyset chunks over (updated_at, id), so the millionth entity costs what the first
    does and no chunk holds more than `size` rows in memory."""
    entities = entity_list(project, kind=kind, cap=cap)
    cursor: str | None = None
    while True:
        window = keyset_page(entities, key="updated_at", size=size, older=cursor)
        if window.rows:
            yield window.rows
        if window.older is None:
            return
        cursor = window.older


# --- one entity's memories, the project's history ------------------------------------------------


def entity_memories(
    project: Project, kind: str, name: str, *, show_expired: bool
) -> MemoryQuerySet:
    """One entity's memories as lists show them: newest first, expired ones only with
    `show_expired` (GET /v1/memories/{entity_type}/{entity_id}/)."""
    return memory_list(project, {f"{kind}_id": name}, show_expired=show_expired)


def memory_origins(project: Project, memory_ids: Iterable[Any]) -> dict[str, MemoryOrigin]:
    """For each of a page's memories: the input messages of the change that added it, and
    whether it was changed since (one query over history_memory_idx)."""
    origins: dict[str, MemoryOrigin] = {}
    rows = (
        MemoryHistory.objects.filter(project=project, memory_id__in=list(memory_ids))
        .order_by("memory_id", "created_at", "id")
        .values_list("memory_id", "event", "input")
    )
    for memory_id, event, given in rows:
        origin = origins.setdefault(str(memory_id), {"input": None, "is_updated": False})
        if event == MemoryHistory.Action.ADD and origin["input"] is None:
            origin["input"] = given
        elif event == MemoryHistory.Action.UPDATE:
            origin["is_updated"] = True
    return origins


def history_list(project: Project) -> QuerySet[MemoryHistory]:
    """Every change of the project's memories, newest first (GET /v1/memories/events/),
    served by history_recent_idx."""
    return MemoryHistory.objects.filter(project=project).order_by("-created_at", "-id")
