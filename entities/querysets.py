"""Reusable reads of entities (their memory counts are memories.listing.entity_list)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from tenancy.models import Project

if TYPE_CHECKING:
    from entities.models import Entity


class EntityQuerySet(models.QuerySet["Entity"]):
    def for_project(self, project: Project) -> EntityQuerySet:
        """Entities of one project: the only way views reach entities."""
        return self.filter(project=project)

    def of_kind(self, kind: str | None) -> EntityQuerySet:
        return self.filter(kind=kind) if kind else self

    def named_like(self, text: str | None) -> EntityQuerySet:
        return self.filter(name__icontains=text) if text else self
