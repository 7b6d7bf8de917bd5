# Erasure of a data subject: the Erasure record, history tombstones, the ERASE Event type.

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("memdash", "0002_compliance_role"),
        ("memories", "0006_event_metadata_gin"),
    ]

    operations = [
        migrations.CreateModel(
            name="Erasure",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("subject_type", models.CharField(max_length=10)),
                ("subject", models.JSONField(blank=True, null=True)),
                ("aliases", models.JSONField(blank=True, default=list)),
                ("subject_hash", models.CharField(max_length=64)),
                ("mentions", models.JSONField(blank=True, default=list)),
                ("reference", models.CharField(blank=True, default="", max_length=200)),
                ("reason", models.TextField(blank=True, default="")),
                ("requested_by", models.CharField(blank=True, default="", max_length=200)),
                ("confirmed_by", models.CharField(blank=True, default="", max_length=200)),
                ("counts", models.JSONField(blank=True, default=dict)),
                ("receipt", models.JSONField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("completed_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.AddField(
            model_name="memoryhistory",
            name="content_hash",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="memoryhistory",
            name="erased_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="memoryhistory",
            name="erasure_id",
            field=models.UUIDField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="event",
            name="event_type",
            field=models.CharField(
                choices=[
                    ("ADD", "Add"),
                    ("UPDATE", "Update"),
                    ("DELETE", "Delete"),
                    ("CATEGORIZE", "Categorize"),
                    ("ERASE", "Erase"),
                ],
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="erasure",
            name="event",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="erasure",
                to="memories.event",
            ),
        ),
        migrations.AddField(
            model_name="erasure",
            name="project",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="erasures",
                to="memdash.project",
            ),
        ),
        migrations.AddIndex(
            model_name="erasure",
            index=models.Index(fields=["project", "-created_at", "-id"], name="erasure_recent_idx"),
        ),
        migrations.AddIndex(
            model_name="erasure",
            index=models.Index(fields=["project", "subject_hash"], name="erasure_subject_idx"),
        ),
    ]
