"""Reusable, composable reads of single models. Lists go through memories.listing."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import models

from memories.filters import unexpired_q
from tenancy.models import Project

if TYPE_CHECKING:
    from memories.models import Event, Memory, MemoryHistory


class MemoryQuerySet(models.QuerySet["Memory"]):
    def for_project(self, project: Project) -> MemoryQuerySet:
        """Memories of one project: every read starts here."""
        return self.filter(project=project)

    def unexpired(self, today: dt.date | None = None) -> MemoryQuerySet:
        """Hide memories whose expiration_date has passed (memories.filters.unexpired_q)."""
        return self.filter(unexpired_q(today))

    def for_entity(self, kind: str, name: str) -> MemoryQuerySet:
        """Memories scoped to one entity, matched exactly (the column of its kind)."""
        return self.filter(**{f"{kind}_id": name})

    def newest_first(self) -> MemoryQuerySet:
        return self.order_by("-created_at", "-id")

    def without_vectors(self) -> MemoryQuerySet:
        """Leave out `embedding` and `search_vector`, which no response shows.

        The embedding is ~80% of a row (1.5 KB) and is parsed into a numpy array on load: on a
        page of 100 memories it costs more than everything else the page reads.
        """
        return self.defer("embedding", "search_vector")


class HistoryQuerySet(models.QuerySet["MemoryHistory"]):
    def for_memory(self, memory_id: Any) -> HistoryQuerySet:
        return self.filter(memory_id=memory_id).order_by("created_at", "id")


class EventQuerySet(models.QuerySet["Event"]):
    def for_project(self, project: Project) -> EventQuerySet:
        return self.filter(project=project)
