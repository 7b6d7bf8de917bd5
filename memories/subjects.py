"""Data subjects: whom an erasure or a full export is for, and where their data lies.

A subject is an entity (a user, agent, app or run) or what a filter of the filter language
matches. Its data: its memories; their history rows (and, for an entity, every history row that
carries its id, deleted memories' included); and the Events about it (those naming it in their
metadata, and those its history rows came from). memories.erasure takes this data out,
memories.exports hands it over; both find it here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from core.errors import InvalidRequest
from core.text import quoted
from entities.models import Entity
from entities.services import get_entity
from memories import listing
from memories.filters import compile_filters
from memories.models import Event, Memory, MemoryHistory, TrashedMemory
from memories.querysets import MemoryQuerySet
from tenancy.models import Project


@dataclass(frozen=True)
class Subject:
    """Whom an erasure is for: an entity (`entity_type`, `entity_id`), or a filter."""

    entity_type: str | None = None
    entity_id: str | None = None
    filters: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, data: Any) -> Subject:
        """A subject as the API sends it: {"entity_type", "entity_id"} or {"filters": {...}}."""
        if not isinstance(data, dict):
            raise InvalidRequest("the subject is {entity_type, entity_id} or {filters}")
        if data.get("filters") is not None:
            if data.get("entity_type") or data.get("entity_id"):
                raise InvalidRequest(
                    "name an entity (entity_type, entity_id) or a filter, not both"
                )
            filters = data["filters"]
            if not isinstance(filters, dict) or not filters:
                raise InvalidRequest("filters must be a non-empty object of the filter language")
            compile_filters(filters)
            return cls(filters=filters)
        kind, name = data.get("entity_type"), data.get("entity_id")
        if kind not in Entity.Kind.values:
            raise InvalidRequest(
                f"entity_type must be one of {', '.join(Entity.Kind.values)}, got {quoted(kind)}"
            )
        if not isinstance(name, str) or not name:
            raise InvalidRequest("entity_id must be a non-empty string")
        return cls(entity_type=kind, entity_id=name)

    def as_json(self) -> dict[str, Any]:
        if self.filters is not None:
            return {"filters": self.filters}
        return {"entity_type": self.entity_type, "entity_id": self.entity_id}

    @property
    def type(self) -> str:
        return self.entity_type or "filter"

    @property
    def field(self) -> str | None:
        """The memory column holding an entity subject's id."""
        return f"{self.entity_type}_id" if self.entity_type else None

    def digest(self, project: Project) -> str:
        """The salted hash an erasure keeps of its subject (and writes look erasures up by)."""
        if self.filters is not None:
            text = "filter:" + json.dumps(self.filters, sort_keys=True, separators=(",", ":"))
        else:
            text = f"{self.entity_type}:{self.entity_id}"
        return salted_hash(f"{project.public_id}:{text}")

    @property
    def scope(self) -> dict[str, str]:
        """An entity subject as the scope of a write ({"user_id": "maria"}); {} for a filter."""
        return {self.field: str(self.entity_id)} if self.field else {}

    def memories(self, project: Project) -> MemoryQuerySet:
        """Every memory of the subject, expired ones included."""
        if self.filters is not None:
            return listing.matching(project, self.filters)
        return Memory.objects.for_project(project).filter(**{str(self.field): self.entity_id})

    def trashed(self, project: Project) -> QuerySet[TrashedMemory]:
        """The subject's memories in the trash (memories.trash): deleted, but still held."""
        rows = TrashedMemory.objects.filter(project=project)
        if self.filters is not None:
            return rows.filter(compile_filters(self.filters).q)
        return rows.filter(**{str(self.field): self.entity_id})


def salted_hash(text: str) -> str:
    """HMAC-SHA256 of `text` under MEMDASH_ERASURE_SALT, in hex."""
    return hmac.new(
        settings.MEMDASH_ERASURE_SALT.encode(), text.encode(), hashlib.sha256
    ).hexdigest()


def check_subject(project: Project, subject: Subject) -> None:
    """NotFound for an entity subject the project does not have (a filter may match nothing)."""
    entity = subject.entity_type is not None and subject.entity_id is not None
    if entity and not subject.memories(project).exists() and not subject.trashed(project).exists():
        get_entity(project, str(subject.entity_type), str(subject.entity_id))


# --- where its data lies -----------------------------------------------------------------------


def history_q(subject: Subject, memory_ids: QuerySet[Memory, Any]) -> Q:
    """History rows of the subject: its id on the row (entities), or one of its memories
    (`memory_ids`: a values("pk") subquery)."""
    wanted = Q(memory_id__in=memory_ids)
    if subject.field is not None:
        wanted |= Q(**{subject.field: subject.entity_id})
    return wanted


def about_q(subject: Subject) -> Q:
    """Events that name an entity subject in their metadata (memories.events.about_add)."""
    if subject.field is None:
        return Q(pk__in=[])
    return Q(metadata__contains={subject.field: subject.entity_id}) | Q(
        metadata__contains={"speakers": [subject.entity_id]}
    )


def events_q(subject: Subject, history: QuerySet[MemoryHistory]) -> Q:
    """Events about the subject, or the source of one of its history rows (`history`), erasures
    aside (they hold no personal data)."""
    sources = history.exclude(source_event=None).values("source_event_id")
    return (about_q(subject) | Q(pk__in=sources)) & ~Q(event_type=Event.Type.ERASE)


def history_of(project: Project, subject: Subject) -> QuerySet[MemoryHistory]:
    """The subject's history rows that are not tombstones yet (its trashed memories' too)."""
    memory_ids = subject.memories(project).values("pk")
    trashed = subject.trashed(project).values("pk")
    return MemoryHistory.objects.filter(project=project, erased_at=None).filter(
        history_q(subject, memory_ids) | Q(memory_id__in=trashed)
    )


def events_of(project: Project, subject: Subject) -> QuerySet[Event]:
    return Event.objects.for_project(project).filter(
        events_q(subject, history_of(project, subject))
    )
