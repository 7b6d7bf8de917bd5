# PII detection (memories.pii): the kinds found in each memory's text, and on history rows the
# spans a redact-mode write replaced. Existing memories get null ("not screened yet") at no
# cost; `manage.py backfill_pii` screens them. The GIN index is built CONCURRENTLY so existing
# deployments keep writing (hence atomic = False).

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("memories", "0010_trash_holds"),
    ]

    operations = [
        migrations.AddField(
            model_name="memory",
            name="pii_kinds",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(max_length=30), blank=True, null=True, size=None
            ),
        ),
        migrations.AddField(
            model_name="memoryhistory",
            name="pii_redacted",
            field=models.JSONField(blank=True, null=True),
        ),
        AddIndexConcurrently(
            model_name="memory",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["pii_kinds"], name="memory_pii_kinds_gin"
            ),
        ),
    ]
