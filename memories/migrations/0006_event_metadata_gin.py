# Activity filters Events by entity through `metadata`, which now holds the entity ids of every
# Event type. Deletes recorded before this kept them only in their payload: copy them over.
# The index is built CONCURRENTLY so existing deployments keep writing (hence atomic = False).

import django.contrib.postgres.indexes
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations

BATCH = 2000
SCOPE_FIELDS = ("user_id", "agent_id", "app_id", "run_id")


def named(ids):
    return {f: v for f in SCOPE_FIELDS if isinstance(v := ids.get(f), str) and v and v != "*"}


def entities_of_delete(payload):
    """A frozen copy of memories.services.entities_of_delete as of this migration."""
    if payload.get("entity_type") in ("user", "agent", "app", "run"):
        return named({f"{payload['entity_type']}_id": payload.get("entity_id")})
    return required(payload.get("filters"))


def required(filters):
    if not isinstance(filters, dict):
        return {}
    found = named(filters)
    parts = filters.get("AND")
    for part in parts if isinstance(parts, list) else []:
        found = {**required(part), **found}
    return found


def copy_delete_entities(apps, schema_editor):
    Event = apps.get_model("memories", "Event")
    pending = []
    deletes = Event.objects.filter(event_type="DELETE", metadata={}).only("id", "payload")
    for event in deletes.iterator(chunk_size=BATCH):
        named = entities_of_delete(event.payload if isinstance(event.payload, dict) else {})
        if named:
            event.metadata = named
            pending.append(event)
        if len(pending) >= BATCH:
            Event.objects.bulk_update(pending, ["metadata"])
            pending = []
    Event.objects.bulk_update(pending, ["metadata"])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("memories", "0005_memory_text_upper_trgm"),
    ]

    operations = [
        migrations.RunPython(copy_delete_entities, migrations.RunPython.noop),
        AddIndexConcurrently(
            model_name="event",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["metadata"], name="event_metadata_gin", opclasses=["jsonb_path_ops"]
            ),
        ),
    ]
