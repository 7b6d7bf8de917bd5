"""Reusable, composable reads. Views, services and serializers go through these."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils import timezone


def utc_today() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date()


class MemoryQuerySet(models.QuerySet):
    def for_project(self, project) -> MemoryQuerySet:
        """Memories of one project: every read starts here."""
        return self.filter(project=project)

    def unexpired(self, today: dt.date | None = None) -> MemoryQuerySet:
        """Hide memories whose expiration_date has passed (the date itself still counts, UTC)."""
        today = today or utc_today()
        return self.filter(Q(expiration_date__isnull=True) | Q(expiration_date__gte=today))

    def visible(self, *, show_expired: bool) -> MemoryQuerySet:
        return self if show_expired else self.unexpired()

    def matching(self, q: Q) -> MemoryQuerySet:
        """Apply a compiled filter (memories.filters.compile_filters(...).q)."""
        return self.filter(q)

    def for_entity(self, kind: str, name: str) -> MemoryQuerySet:
        return self.filter(**{f"{kind}_id": name})

    def newest_first(self) -> MemoryQuerySet:
        return self.order_by("-created_at", "-id")

    def without_vectors(self) -> MemoryQuerySet:
        """Leave out `embedding` and `search_vector`, which no response shows.

        The embedding is ~80% of a row (1.5 KB) and is parsed into a numpy array on load: on a
        page of 100 memories it costs more than everything else the page reads.
        """
        return self.defer("embedding", "search_vector")


class HistoryQuerySet(models.QuerySet):
    def for_memory(self, memory_id) -> HistoryQuerySet:
        return self.filter(memory_id=memory_id).order_by("created_at", "id")


class EventQuerySet(models.QuerySet):
    def for_project(self, project) -> EventQuerySet:
        return self.filter(project=project)
