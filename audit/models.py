"""The audit log as Django reads it. The table is created and partitioned by this app's
migration (Django cannot declare partitions), so the model is unmanaged: Django neither creates
nor flushes it, and writes go through audit.log with plain SQL."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models


class AuditEntry(models.Model):
    """One read of memory content (kind "read": the access log) or one change that is not a
    memory change (kind "change": the audit trail)."""

    class Kind(models.TextChoices):
        READ = "read"
        CHANGE = "change"

    id = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField()
    # A plain id, not a foreign key: the log outlives what it names, and nothing cascades into it.
    project_id = models.IntegerField(null=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    action = models.CharField(max_length=40)
    surface = models.CharField(max_length=10)
    actor_type = models.CharField(max_length=10)
    actor_id = models.CharField(max_length=64)
    actor_name = models.CharField(max_length=200)
    actor_label = models.CharField(max_length=200)
    role = models.CharField(max_length=10)
    ip = models.GenericIPAddressField(null=True)
    user_agent = models.CharField(max_length=500)
    request_id = models.CharField(max_length=64)
    path = models.CharField(max_length=500)
    entities = ArrayField(models.TextField())
    filters = models.JSONField(null=True)
    query = models.TextField(null=True)
    memory_ids = ArrayField(models.UUIDField())
    total = models.IntegerField(null=True)
    target = models.CharField(max_length=300)
    details = models.JSONField(null=True)

    class Meta:
        managed = False
        db_table = "audit_log"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label or self.actor_type} at {self.at}"
