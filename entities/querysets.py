"""Reusable reads of entities (their memory counts are memories.listing.entity_list)."""

from __future__ import annotations

from django.db import models


class EntityQuerySet(models.QuerySet):
    def for_project(self, project) -> EntityQuerySet:
        """Entities of one project: the only way views reach entities."""
        return self.filter(project=project)

    def of_kind(self, kind: str | None) -> EntityQuerySet:
        return self.filter(kind=kind) if kind else self

    def named_like(self, text: str | None) -> EntityQuerySet:
        return self.filter(name__icontains=text) if text else self
