# Profiles (memories.profiles): settings per project, a profile per user, the jobs writing them.

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
import django.db.models.deletion
import django.utils.timezone
import uuid
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("memdash", "0003_project_pii_mode"),
        ("memories", "0012_retention_trash_pii"),
    ]

    operations = [
        migrations.CreateModel(
            name="ProfileSettings",
            fields=[
                (
                    "project",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="profile_settings",
                        serialize=False,
                        to="memdash.project",
                    ),
                ),
                ("enabled", models.BooleanField(default=False)),
                ("schema", models.JSONField(blank=True, null=True)),
                ("custom_instructions", models.TextField(blank=True, null=True)),
                ("version", models.PositiveIntegerField(default=1)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "verbose_name_plural": "profile settings",
            },
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
                    ("EXPORT", "Export"),
                    ("DOWNLOAD", "Download"),
                    ("RESTORE", "Restore"),
                    ("PURGE", "Purge"),
                    ("PROFILE", "Profile"),
                ],
                max_length=10,
            ),
        ),
        migrations.CreateModel(
            name="Profile",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("entity_type", models.CharField(default="user", max_length=10)),
                ("entity_id", models.CharField(max_length=255)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("succeeded", "Succeeded"),
                            ("failed", "Failed"),
                            ("insufficient_data", "Insufficient Data"),
                        ],
                        max_length=20,
                    ),
                ),
                ("profile", models.JSONField(blank=True, default=dict)),
                ("error", models.TextField(blank=True, null=True)),
                (
                    "memory_ids",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.UUIDField(), blank=True, default=list, size=None
                    ),
                ),
                ("memories_digest", models.CharField(blank=True, default="", max_length=64)),
                ("settings_version", models.PositiveIntegerField(default=0)),
                ("generation_count", models.PositiveIntegerField(default=0)),
                ("generated_at", models.DateTimeField(blank=True, null=True)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "event",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="memories.event",
                    ),
                ),
                (
                    "project",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="memdash.project",
                    ),
                ),
            ],
            options={
                "ordering": ["entity_type", "entity_id"],
                "indexes": [
                    django.contrib.postgres.indexes.GinIndex(
                        fields=["memory_ids"], name="profile_memories_gin"
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("project", "entity_type", "entity_id"), name="profile_unique_entity"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ProfileJob",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "operation",
                    models.CharField(
                        choices=[("trigger", "Trigger"), ("sample", "Sample")], max_length=10
                    ),
                ),
                ("entity_type", models.CharField(default="user", max_length=10)),
                (
                    "entity_ids",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.CharField(max_length=255),
                        blank=True,
                        default=list,
                        size=None,
                    ),
                ),
                ("idempotency_key", models.CharField(blank=True, default="", max_length=255)),
                ("request_digest", models.CharField(max_length=64)),
                ("succeeded", models.PositiveIntegerField(default=0)),
                ("failed", models.PositiveIntegerField(default=0)),
                ("skipped", models.PositiveIntegerField(default=0)),
                ("requested_by", models.CharField(blank=True, default="", max_length=200)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "event",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="profile_job",
                        to="memories.event",
                    ),
                ),
                (
                    "project",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="memdash.project",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(
                        fields=["project", "-created_at", "-id"], name="profile_job_recent_idx"
                    ),
                    django.contrib.postgres.indexes.GinIndex(
                        fields=["entity_ids"], name="profile_job_entities_gin"
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("idempotency_key", ""), _negated=True),
                        fields=("project", "idempotency_key"),
                        name="profile_job_idempotency_key",
                    )
                ],
            },
        ),
    ]
