# An erasure finds every history row of an entity, those of deleted memories included, every
# add whose group chat the entity spoke in, and the tombstones it made. Adds recorded before this kept their speakers
# only in their payload: copy them into metadata. The indexes are built CONCURRENTLY so existing
# deployments keep writing (hence atomic = False).

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

BATCH = 2000


def speakers(payload):
    """A frozen copy of memories.events.speakers as of this migration."""
    messages = payload.get("messages") if isinstance(payload, dict) else None
    if not isinstance(messages, list):
        return []
    return sorted(
        {
            message["name"].strip().lower()
            for message in messages
            if isinstance(message, dict)
            and isinstance(message.get("name"), str)
            and message["name"].strip()
        }
    )


def copy_speakers(apps, schema_editor):
    Event = apps.get_model("memories", "Event")
    pending = []
    adds = Event.objects.filter(event_type="ADD").only("id", "payload", "metadata")
    for event in adds.iterator(chunk_size=BATCH):
        names = speakers(event.payload)
        if names and "speakers" not in (event.metadata or {}):
            event.metadata = {**(event.metadata or {}), "speakers": names}
            pending.append(event)
        if len(pending) >= BATCH:
            Event.objects.bulk_update(pending, ["metadata"])
            pending = []
    Event.objects.bulk_update(pending, ["metadata"])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("memories", "0007_erasure"),
    ]

    operations = [
        migrations.RunPython(copy_speakers, migrations.RunPython.noop),
        *(
            AddIndexConcurrently(
                model_name="memoryhistory",
                index=models.Index(
                    condition=models.Q((f"{field}__isnull", False)),
                    fields=["project", field],
                    name=f"history_{field[:-3]}_idx",
                ),
            )
            for field in ("user_id", "agent_id", "app_id", "run_id")
        ),
        AddIndexConcurrently(
            model_name="memoryhistory",
            index=models.Index(
                condition=models.Q(("erasure_id__isnull", False)),
                fields=["erasure_id"],
                name="history_erasure_idx",
            ),
        ),
    ]
