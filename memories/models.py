"""Memories, their history, categories and the Events (jobs) that change them."""

from __future__ import annotations

import json
import secrets
import uuid

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone
from pgvector.django import HnswIndex, VectorField

from memories.filters import is_expired
from memories.querysets import EventQuerySet, HistoryQuerySet, MemoryQuerySet

EMBEDDING_DIMENSIONS = 384
SCOPE_FIELDS = ("user_id", "agent_id", "app_id", "run_id")
# Text-search configuration of the generated keyword column; changing it needs a migration.
TEXT_SEARCH_CONFIG = "english"


WEBHOOK_NAME_CHARS = 200
WEBHOOK_URL_CHARS = 2000


def new_webhook_secret() -> str:
    return secrets.token_hex(32)


class Event(models.Model):
    """One operation on memories (an add, a batch, a delete by filter, an entity delete).

    Synchronous operations are recorded already SUCCEEDED; asynchronous ones move
    PENDING -> RUNNING -> SUCCEEDED | FAILED. This is what `GET /v1/event/{id}/` serves.
    """

    class Type(models.TextChoices):
        ADD = "ADD"
        UPDATE = "UPDATE"
        DELETE = "DELETE"
        CATEGORIZE = "CATEGORIZE"
        # The erasure of a data subject (memories.erasure); its payload holds no personal data.
        ERASE = "ERASE"
        # Making an export (memories.exports), and every download of one.
        EXPORT = "EXPORT"
        DOWNLOAD = "DOWNLOAD"
        # Bringing memories back from the trash, and removing them from it for good.
        RESTORE = "RESTORE"
        PURGE = "PURGE"
        # A profile job (memories.profiles): user profiles written by the LLM.
        PROFILE = "PROFILE"
        # A delete by filter that spans every user, agent, app or run (memories.wildcards):
        # kept apart from DELETE so Activity and the event list show it for what it is.
        DELETE_ALL = "DELETE_ALL"

    class Status(models.TextChoices):
        PENDING = "PENDING"
        RUNNING = "RUNNING"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(
        "memdash.Project", on_delete=models.CASCADE, related_name="events", db_index=False
    )
    event_type = models.CharField(max_length=10, choices=Type.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    payload = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    results = models.JSONField(null=True, blank=True)
    error = models.TextField(null=True, blank=True)
    actor = models.CharField(max_length=200, blank=True, default="")
    # How many times a worker has started this event (a crashed worker's event is re-run).
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # Doubles as the heartbeat of a RUNNING event, touched every MEMDASH_EVENT_HEARTBEAT_SECONDS
    # by the process running it (memories.events): stale ones are recovered.
    updated_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The process that claimed it last, "<pid>@<hostname>/<pid namespace>": a worker starting on
    # the same machine can tell that process is gone and re-queue the event without waiting.
    # A database default too, for rows written in SQL (tests/memories/bulk.py).
    claimed_by = models.CharField(max_length=300, blank=True, default="", db_default="")
    # How far a long run has got, {"done": n, "total": m}, written as it goes so the dashboard
    # can poll one row (null for events that do not report progress).
    progress = models.JSONField(null=True, blank=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "-created_at", "-id"], name="event_recent_idx"),
            models.Index(fields=["project", "status", "-created_at"], name="event_status_idx"),
            models.Index(fields=["project", "event_type", "-created_at"], name="event_type_idx"),
            # The stale-event sweeper's query, every 30 s: the few unfinished events, by heartbeat.
            models.Index(
                fields=["updated_at"],
                name="event_unfinished_idx",
                condition=models.Q(status__in=["PENDING", "RUNNING"]),
            ),
            # Activity's "what happened to user X": metadata holds every Event's entity ids.
            GinIndex(fields=["metadata"], opclasses=["jsonb_path_ops"], name="event_metadata_gin"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.status} ({self.id})"

    @property
    def latency_ms(self) -> float | None:
        if self.started_at and self.completed_at:
            return round((self.completed_at - self.started_at).total_seconds() * 1000, 2)
        return None


class MemoryContent(models.Model):
    """What a memory holds, shared by live memories and the trash (memories.trash), so a memory
    goes into the trash and back column for column (memories.history.trash_columns)."""

    user_id = models.CharField(max_length=255, null=True, blank=True)
    agent_id = models.CharField(max_length=255, null=True, blank=True)
    app_id = models.CharField(max_length=255, null=True, blank=True)
    run_id = models.CharField(max_length=255, null=True, blank=True)
    # Group chats: the speaker's name as given (`actor_id`) and the message role.
    actor_id = models.CharField(max_length=255, null=True, blank=True)
    role = models.CharField(max_length=20, null=True, blank=True)
    memory = models.TextField()
    hash = models.CharField(max_length=32)
    metadata = models.JSONField(null=True, blank=True)
    categories = ArrayField(models.CharField(max_length=100), null=True, blank=True)
    immutable = models.BooleanField(default=False)
    expiration_date = models.DateField(null=True, blank=True)
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    embedding_model = models.CharField(max_length=100)
    source_event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    feedback = models.CharField(max_length=20, null=True, blank=True)
    feedback_reason = models.TextField(null=True, blank=True)
    # The kinds of personal data found when the text was written (memories.pii): "phone",
    # "email", "us_ssn"...; [] for none found, null when no screening has seen the text yet.
    pii_kinds = ArrayField(models.CharField(max_length=30), null=True, blank=True)
    # Which messages of the source event's input this memory was extracted from (0-based
    # positions in the add's `messages`); null when unknown (written directly, or before this
    # was recorded).
    source_messages = ArrayField(models.PositiveSmallIntegerField(), null=True, blank=True)

    class Meta:
        abstract = True

    def scope(self) -> dict[str, str | None]:
        return {field: getattr(self, field) for field in SCOPE_FIELDS}


class Memory(MemoryContent):
    """One remembered fact, scoped to a project and to any of user / agent / app / run."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Every index below starts with project, so the FK's own index would be redundant.
    project = models.ForeignKey(
        "memdash.Project", on_delete=models.CASCADE, related_name="memories", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    search_vector = models.GeneratedField(
        expression=SearchVector("memory", config=TEXT_SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    objects = MemoryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Keyset pagination: every scoped list reads (scope, created_at desc, id desc).
            # expiration_date rides along so that the capped counts of lists and search
            # ("unexpired rows of this scope") are index-only scans instead of heap reads.
            models.Index(
                fields=["project", "-created_at", "-id"],
                name="memory_recent_idx",
                include=["expiration_date"],
            ),
            models.Index(fields=["project", "-updated_at", "-id"], name="memory_updated_idx"),
            models.Index(
                fields=["project", "user_id", "-created_at", "-id"],
                name="memory_user_idx",
                include=["expiration_date"],
            ),
            models.Index(
                fields=["project", "agent_id", "-created_at", "-id"],
                name="memory_agent_idx",
                include=["expiration_date"],
            ),
            models.Index(
                fields=["project", "app_id", "-created_at", "-id"],
                name="memory_app_idx",
                include=["expiration_date"],
            ),
            models.Index(
                fields=["project", "run_id", "-created_at", "-id"],
                name="memory_run_idx",
                include=["expiration_date"],
            ),
            models.Index(fields=["project", "hash"], name="memory_hash_idx"),
            models.Index(fields=["source_event"], name="memory_source_event_idx"),
            GinIndex(fields=["metadata"], opclasses=["jsonb_path_ops"], name="memory_metadata_gin"),
            GinIndex(fields=["categories"], name="memory_categories_gin"),
            GinIndex(fields=["pii_kinds"], name="memory_pii_kinds_gin"),
            GinIndex(fields=["search_vector"], name="memory_fts_gin"),
            GinIndex(fields=["memory"], opclasses=["gin_trgm_ops"], name="memory_text_trgm"),
            # Django compiles `icontains` (the filter language's `keywords`, the dashboard's
            # keyword box) to UPPER(memory) LIKE UPPER(...), which only an index on the
            # same expression serves.
            GinIndex(
                OpClass(Upper("memory"), name="gin_trgm_ops"),
                name="memory_text_upper_trgm",
            ),
            HnswIndex(
                fields=["embedding"],
                name="memory_embedding_hnsw",
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.memory[:80]

    def get_absolute_url(self) -> str:
        return reverse("memories:detail", args=[self.id])

    @property
    def is_expired(self) -> bool:
        """Whether the `expired` filter key counts this memory as expired (today, UTC)."""
        return is_expired(self.expiration_date)


class MemoryHistory(models.Model):
    """One ADD / UPDATE / DELETE of a memory.

    `memory_id` is a plain UUID, not a foreign key: history outlives the memory it describes.
    Rows are written only by memories.services (and the pipeline's apply step), in the
    transaction that makes the change.

    An erasure (memories.erasure) turns a row into a tombstone: it keeps the id, the memory id,
    the kind, the time and the actor, replaces the texts, inputs, scope and snapshots with
    nothing, and keeps only `content_hash`, a salted hash of the old content.
    """

    class Action(models.TextChoices):
        ADD = "ADD"
        UPDATE = "UPDATE"
        DELETE = "DELETE"
        # Back from the trash (memories.trash), with the text it had when it was deleted.
        RESTORE = "RESTORE"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(
        "memdash.Project", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    memory_id = models.UUIDField()
    event = models.CharField(max_length=10, choices=Action.choices)
    old_memory = models.TextField(null=True, blank=True)
    new_memory = models.TextField(null=True, blank=True)
    # The messages that caused the change (pipeline and infer=false adds), else null.
    input = models.JSONField(null=True, blank=True)
    user_id = models.CharField(max_length=255, null=True, blank=True)
    agent_id = models.CharField(max_length=255, null=True, blank=True)
    app_id = models.CharField(max_length=255, null=True, blank=True)
    run_id = models.CharField(max_length=255, null=True, blank=True)
    categories = ArrayField(models.CharField(max_length=100), null=True, blank=True)
    metadata = models.JSONField(null=True, blank=True)
    # Who made the change: "api-key:m0-abc", "user:alice", "pipeline".
    actor = models.CharField(max_length=200, blank=True, default="")
    source_event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Set when an erasure made this row a tombstone (a plain id: the Erasure outlives nothing
    # here, and the receipt's digest is computed over these rows).
    erased_at = models.DateTimeField(null=True, blank=True)
    erasure_id = models.UUIDField(null=True, blank=True)
    content_hash = models.CharField(max_length=64, null=True, blank=True)
    # Spans a redact-mode write replaced in `new_memory`, per kind ({"phone": 1}): never the
    # values (memories.pii).
    pii_redacted = models.JSONField(null=True, blank=True)
    # Why a person made this change, as they gave it on an edit or a restore ("" for none).
    reason = models.TextField(blank=True, default="", db_default="")

    objects = HistoryQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "memory history"
        indexes = [
            models.Index(fields=["memory_id", "created_at"], name="history_memory_idx"),
            # An erasure finds every row of an entity, the deleted memories' included.
            *(
                models.Index(
                    fields=["project", field],
                    name=f"history_{field[:-3]}_idx",
                    condition=models.Q(**{f"{field}__isnull": False}),
                )
                for field in SCOPE_FIELDS
            ),
            models.Index(fields=["project", "-created_at"], name="history_recent_idx"),
            models.Index(
                fields=["erasure_id"],
                name="history_erasure_idx",
                condition=models.Q(erasure_id__isnull=False),
            ),
            models.Index(fields=["source_event"], name="history_source_event_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.memory_id}"


class Category(models.Model):
    """A memory category. Rows without a project form the default catalogue."""

    project = models.ForeignKey(
        "memdash.Project",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="categories",
    )
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="category_unique_in_project"),
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(project__isnull=True),
                name="default_category_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Webhook(models.Model):
    """A URL notified (HTTP POST, HMAC-signed) when memories of a project change."""

    class EventType(models.TextChoices):
        MEMORY_ADD = "memory_add"
        MEMORY_UPDATE = "memory_update"
        MEMORY_DELETE = "memory_delete"
        MEMORY_CATEGORIZE = "memory_categorize"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(
        "memdash.Project", on_delete=models.CASCADE, related_name="webhooks"
    )
    name = models.CharField(max_length=WEBHOOK_NAME_CHARS)
    url = models.URLField(max_length=WEBHOOK_URL_CHARS)
    event_types = ArrayField(models.CharField(max_length=40), default=list)
    is_active = models.BooleanField(default=True)
    # Signs every delivery (X-Memdash-Signature); shown to admins so receivers can verify.
    secret = models.CharField(max_length=64, default=new_webhook_secret, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.name} -> {self.url}"


# A delivery's last error is cut to this many characters: enough for "connection refused" or
# "answered 503", too little to carry a body a receiver or proxy echoed back.
WEBHOOK_ERROR_CHARS = 300


class WebhookDelivery(models.Model):
    """The log of one change sent to one webhook: its outcome after each attempt.

    The body is deliberately not stored: it can hold memory text (personal data), which an
    erasure must be able to remove from everywhere; the log keeps only what happened to it.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    # The Celery task's id, the same across its retries (and a redelivery after a crash): the
    # task finds its row by it instead of starting another.
    task_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=WEBHOOK_ERROR_CHARS, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["webhook", "-created_at"], name="webhookdelivery_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.webhook_id}: {self.status}"


class Erasure(models.Model):
    """The erasure of a data subject: an entity, or the memories a filter matches.

    While it is pending or running it knows its subject, to find the data and to refuse writes
    for it (memories.erasure); once done it keeps a salted hash of the subject, the counts and
    the signed receipt, nothing that names the subject.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(
        "memdash.Project", on_delete=models.CASCADE, related_name="erasures", db_index=False
    )
    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="erasure")
    # user / agent / app / run, or "filter".
    subject_type = models.CharField(max_length=10)
    # {"entity_type", "entity_id"} or {"filters": {...}}, and the aliases searched for mentions;
    # both emptied when the erasure is done.
    subject = models.JSONField(null=True, blank=True)
    aliases = models.JSONField(default=list, blank=True)
    subject_hash = models.CharField(max_length=64)
    # The mentions by other entities to erase too: "all", or a list of memory ids.
    mentions = models.JSONField(default=list, blank=True)
    reference = models.CharField(max_length=200, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    requested_by = models.CharField(max_length=200, blank=True, default="")
    confirmed_by = models.CharField(max_length=200, blank=True, default="")
    counts = models.JSONField(default=dict, blank=True)
    receipt = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "-created_at", "-id"], name="erasure_recent_idx"),
            models.Index(fields=["project", "subject_hash"], name="erasure_subject_idx"),
        ]

    def __str__(self) -> str:
        return f"erasure {self.id} ({self.subject_type})"


class Export(models.Model):
    """A copy of memories handed out (memories.exports): a Platform export (a schema filled
    from the memories a filter matches) or the full export of a data subject (a zip).

    It remembers the memories it copied and the entities its request names, so that an erasure
    can delete every export holding the subject's data; its content is purged at `expires_at`.
    """

    class Kind(models.TextChoices):
        PLATFORM = "platform"
        SUBJECT = "subject"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(
        "memdash.Project", on_delete=models.CASCADE, related_name="exports", db_index=False
    )
    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="export")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # Platform: the request's filters. Subject: {"entity_type", "entity_id"} or {"filters"}.
    request = models.JSONField(default=dict)
    # Platform exports are found again by their filters (sha256 of their canonical JSON).
    filters_key = models.CharField(max_length=64, blank=True, default="")
    # "user:maria" for every entity id the request names; a subject export's subject hash.
    entity_keys = ArrayField(models.CharField(max_length=270), default=list, blank=True)
    subject_hash = models.CharField(max_length=64, blank=True, default="")
    schema = models.JSONField(null=True, blank=True)
    instructions = models.TextField(blank=True, default="")
    # Filled in by the worker: the memories copied, and the content.
    memory_ids = ArrayField(models.UUIDField(), default=list, blank=True)
    result = models.JSONField(null=True, blank=True)
    llm_used = models.BooleanField(null=True, blank=True)
    archive = models.BinaryField(null=True, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    requested_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    # Set when the content was purged (expired); the row stays as a record that it existed.
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["project", "kind", "-created_at", "-id"], name="export_recent_idx"
            ),
            models.Index(fields=["project", "filters_key"], name="export_filters_idx"),
            models.Index(fields=["project", "subject_hash"], name="export_subject_idx"),
            GinIndex(fields=["entity_keys"], name="export_entities_gin"),
            GinIndex(fields=["memory_ids"], name="export_memories_gin"),
            models.Index(
                fields=["expires_at"],
                name="export_expiry_idx",
                condition=models.Q(purged_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} export {self.id}"

    @property
    def is_expired(self) -> bool:
        return self.purged_at is not None or self.expires_at <= timezone.now()


class TrashedMemory(MemoryContent):
    """A deleted memory kept for MEMDASH_TRASH_DAYS so it can be restored (memories.trash).

    Every column of the memory as it was (its embedding too, so a restore needs no model), in a
    table of its own: no read of memories can see it by accident. `search_vector` is not kept:
    PostgreSQL computes it again when the memory goes back.
    """

    id = models.UUIDField(primary_key=True, editable=False)
    project = models.ForeignKey(
        "memdash.Project", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    # The delete that put it here: when, by whom, which Event; purged after `purge_after`.
    trashed_at = models.DateTimeField()
    trashed_by = models.CharField(max_length=200, blank=True, default="")
    trash_event_id = models.UUIDField(null=True, blank=True)
    purge_after = models.DateTimeField()

    class Meta:
        ordering = ["-trashed_at", "-id"]
        indexes = [
            models.Index(fields=["project", "-trashed_at", "-id"], name="trash_recent_idx"),
            models.Index(fields=["purge_after"], name="trash_purge_idx"),
            *(
                models.Index(
                    fields=["project", field, "-trashed_at"],
                    name=f"trash_{field[:-3]}_idx",
                    condition=models.Q(**{f"{field}__isnull": False}),
                )
                for field in SCOPE_FIELDS
            ),
        ]

    def __str__(self) -> str:
        return self.memory[:80]


class LegalHold(models.Model):
    """Data kept for a lawsuit or an investigation (memories.holds): the memories of an entity,
    or those a filter matches, cannot be deleted, erased, purged or removed by retention while
    the hold is active. Released holds stay as the record of what was held, and when."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(
        "memdash.Project", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # An entity (`entity_type`, `entity_id`), or a filter of the filter language.
    entity_type = models.CharField(max_length=10, null=True, blank=True)
    entity_id = models.CharField(max_length=255, null=True, blank=True)
    filters = models.JSONField(null=True, blank=True)
    name = models.CharField(max_length=200)
    reason = models.TextField(blank=True, default="")
    placed_by = models.CharField(max_length=200)
    placed_at = models.DateTimeField(default=timezone.now)
    released_by = models.CharField(max_length=200, blank=True, default="")
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-placed_at", "-id"]
        indexes = [
            models.Index(
                fields=["project"],
                name="hold_active_idx",
                condition=models.Q(released_at__isnull=True),
            ),
            models.Index(fields=["project", "-placed_at"], name="hold_recent_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.released_at is None

    @property
    def subject(self) -> str:
        """What it holds, in words: "user maria", or the filter as JSON."""
        if self.entity_type:
            return f"{self.entity_type} {self.entity_id}"
        return json.dumps(self.filters, ensure_ascii=False, sort_keys=True)


class RetentionPolicy(models.Model):
    """How long memories are kept (memories.retention): those a filter matches (or all of the
    project's) are deleted `days` after they were created, last updated, or (a run's memories)
    after the run's last activity. Enforced by Celery beat in batches; legal holds win."""

    class Rule(models.TextChoices):
        CREATED = "created", "days after creation"
        UPDATED = "updated", "days after the last update"
        RUN_ACTIVITY = "run_activity", "days after the run's last activity"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(
        "memdash.Project", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    name = models.CharField(max_length=200)
    # Where it applies, in the filter language; null: every memory of the project.
    filters = models.JSONField(null=True, blank=True)
    rule = models.CharField(max_length=20, choices=Rule.choices)
    days = models.PositiveIntegerField()
    enabled = models.BooleanField(default=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_event_id = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="retention_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class ProfileSettings(models.Model):
    """A project's profile settings (memories.profiles): whether profiles are generated, and the
    JSON Schema and custom instructions of user profiles.

    `version` goes up whenever the schema or the instructions change; a profile written under an
    older version is regenerated by the next job that names its user.
    """

    project = models.OneToOneField(
        "memdash.Project",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="profile_settings",
    )
    enabled = models.BooleanField(default=False)
    # Null: the built-in schema (memories.profiles.DEFAULT_SCHEMA).
    schema = models.JSONField(null=True, blank=True)
    custom_instructions = models.TextField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "profile settings"

    def __str__(self) -> str:
        return f"profile settings of project {self.project_id}"


class Profile(models.Model):
    """One user's profile: an object shaped by the project's schema, written by the LLM from the
    user's newest memories (memories.profiles).

    A failed generation keeps the last good profile and records why in `error`. `memory_ids`
    are the memories the last generation read; `memories_digest` and `settings_version` tell
    a later job whether anything changed since (if nothing did, the user is skipped).
    """

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        INSUFFICIENT_DATA = "insufficient_data"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(
        "memdash.Project", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    entity_type = models.CharField(max_length=10, default="user")
    entity_id = models.CharField(max_length=255)
    status = models.CharField(max_length=20, choices=Status.choices)
    profile = models.JSONField(default=dict, blank=True)
    error = models.TextField(null=True, blank=True)
    memory_ids = ArrayField(models.UUIDField(), default=list, blank=True)
    memories_digest = models.CharField(max_length=64, blank=True, default="")
    settings_version = models.PositiveIntegerField(default=0)
    generation_count = models.PositiveIntegerField(default=0)
    # The last successful generation (null until one succeeds).
    generated_at = models.DateTimeField(null=True, blank=True)
    # The last generation attempt, whatever its outcome.
    updated_at = models.DateTimeField(default=timezone.now)
    # The job (its Event) that last wrote this row.
    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        ordering = ["entity_type", "entity_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "entity_type", "entity_id"], name="profile_unique_entity"
            )
        ]
        indexes = [
            # An erasure finds the profiles written from the memories it removes.
            GinIndex(fields=["memory_ids"], name="profile_memories_gin"),
        ]

    def __str__(self) -> str:
        return f"profile of {self.entity_type} {self.entity_id}"


class ProfileJob(models.Model):
    """A request to generate profiles: one user (`trigger`) or a sample of users (`sample`),
    run by a worker as a PROFILE Event. The users are chosen when the job is created, so its
    total is known at once.

    A job created with an Idempotency-Key is found again by it: the same key with the same
    request is the same job; `request_digest` tells a different request apart.
    """

    class Operation(models.TextChoices):
        TRIGGER = "trigger"
        SAMPLE = "sample"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(
        "memdash.Project", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="profile_job")
    operation = models.CharField(max_length=10, choices=Operation.choices)
    entity_type = models.CharField(max_length=10, default="user")
    entity_ids = ArrayField(models.CharField(max_length=255), default=list, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True, default="")
    request_digest = models.CharField(max_length=64)
    # Filled in by the worker as it goes; completed = succeeded + failed + skipped.
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    requested_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="profile_job_idempotency_key",
            )
        ]
        indexes = [
            models.Index(fields=["project", "-created_at", "-id"], name="profile_job_recent_idx"),
            # "Is a job for this user still running?" (a profile's `pending` status).
            GinIndex(fields=["entity_ids"], name="profile_job_entities_gin"),
        ]

    def __str__(self) -> str:
        return f"profile {self.operation} job {self.id}"

    @property
    def total(self) -> int:
        return len(self.entity_ids)

    @property
    def completed(self) -> int:
        return self.succeeded + self.failed + self.skipped
