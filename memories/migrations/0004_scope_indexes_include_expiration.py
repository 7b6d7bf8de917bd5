# Scope indexes carry expiration_date so capped counts ("unexpired rows of this scope") are
# index-only scans. Rebuilt one at a time, concurrently: writes are never blocked, and each
# scope is without its index only while its replacement builds.

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models

SCOPES = {
    "memory_recent_idx": ["project", "-created_at", "-id"],
    "memory_user_idx": ["project", "user_id", "-created_at", "-id"],
    "memory_agent_idx": ["project", "agent_id", "-created_at", "-id"],
    "memory_app_idx": ["project", "app_id", "-created_at", "-id"],
    "memory_run_idx": ["project", "run_id", "-created_at", "-id"],
}


def _rebuild(name, fields):
    return [
        RemoveIndexConcurrently(model_name="memory", name=name),
        AddIndexConcurrently(
            model_name="memory",
            index=models.Index(fields=fields, include=("expiration_date",), name=name),
        ),
    ]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("memdash", "0001_initial"),
        ("memories", "0003_events_attempts_and_webhooks"),
    ]

    operations = [op for name, fields in SCOPES.items() for op in _rebuild(name, fields)]
