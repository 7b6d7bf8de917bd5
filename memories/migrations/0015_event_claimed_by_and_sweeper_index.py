# Stale events are recovered within two minutes (memories.events): each Event records the process
# that claimed it, and the sweeper's query every 30 s (unfinished events by heartbeat) gets a
# partial index, built CONCURRENTLY so existing deployments keep writing (hence atomic = False).

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("memories", "0014_event_type_delete_all"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="claimed_by",
            field=models.CharField(blank=True, db_default="", default="", max_length=300),
        ),
        AddIndexConcurrently(
            model_name="event",
            index=models.Index(
                condition=models.Q(("status__in", ["PENDING", "RUNNING"])),
                fields=["updated_at"],
                name="event_unfinished_idx",
            ),
        ),
    ]
