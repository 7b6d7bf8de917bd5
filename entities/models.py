"""Entities: the users, agents, apps and runs that memories are about."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from entities.querysets import EntityQuerySet


class Entity(models.Model):
    """One user, agent, app or run of a project, created or touched whenever a memory is written.

    Its identity is (project, kind, name); `name` is the id callers use (`user_id="alex"`). The
    numeric primary key is what the deprecated `/v1/entities/{type}/{id}/` path takes.
    """

    class Kind(models.TextChoices):
        USER = "user"
        AGENT = "agent"
        APP = "app"
        RUN = "run"

    project = models.ForeignKey(
        "memdash.Project", on_delete=models.CASCADE, related_name="entities"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=255)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Last time a memory was written for this entity ("last activity" in lists).
    updated_at = models.DateTimeField(default=timezone.now)

    objects = EntityQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "entities"
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "kind", "name"], name="entity_unique_in_project"
            )
        ]
        indexes = [
            models.Index(
                fields=["project", "kind", "-updated_at", "-id"], name="entity_recent_idx"
            ),
            models.Index(
                fields=["project", "-updated_at", "-id"], name="entity_project_recent_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def scope_field(self) -> str:
        """The Memory column that holds this entity's name (user_id, agent_id, ...)."""
        return f"{self.kind}_id"
