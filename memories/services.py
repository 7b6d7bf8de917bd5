"""Operations that change memories. The API, the dashboard and the workers all call these.

Every change writes its MemoryHistory rows in the same transaction (memories.history), and
every add, update and delete is recorded as an Event (memories.events), so `GET /v1/event/{id}/`
and the activity page can show it (feedback and re-embedding change no memory text and record
none). An inference add's changes are applied by memories.pipeline, with the same history
helpers. The input limits (text length, metadata size, message count) are checked here, before
anything is written, so every surface refuses the same input the same way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.errors import (
    EmbeddingError,
    ImmutableMemoryError,
    InvalidRequest,
    NotFound,
    UpstreamFailed,
    UpstreamUnavailable,
)
from core.keyset import capped_count
from entities.models import Entity
from entities.services import touch_entities
from memories import (
    embeddings,
    erasure,
    events,
    holds,
    listing,
    llm,
    pii,
    pipeline,
    profiles,
    trash,
    wildcards,
)
from memories.attribution import (
    ALL_IDS_MARK,
    AddInput,
    Attributed,
    Message,
    Scope,
    attribute,
    memory_hash,
    owner_of,
)
from memories.history import added_result, delete_with_history, history_row, updated_result
from memories.models import SCOPE_FIELDS, Event, Memory, MemoryHistory
from memories.webhooks import notify
from tenancy.models import Attribution, Project

UNSET: Any = object()
# Memories one chunk of a delete removes (each chunk is its own transaction).
DELETE_CHUNK = 5000
# A delete that reports its progress moves its bar about this many times: its chunks are
# smaller when it is small (a 5k delete in 500-row chunks, not one 5k chunk that jumps from 0
# to done), never smaller than PROGRESS_CHUNK_FLOOR rows (a chunk's own cost, one
# transaction and one progress UPDATE, stays small beside its rows').
PROGRESS_STEPS = 20
PROGRESS_CHUNK_FLOOR = 500


# --- input limits ------------------------------------------------------------------------------


def check_text(text: str, where: str) -> None:
    """Refuse a memory text over MEMDASH_MAX_MEMORY_CHARS (never truncated)."""
    limit = settings.MEMDASH_MAX_MEMORY_CHARS
    if len(text) > limit:
        raise InvalidRequest(
            f"{where} has {len(text)} characters; the limit is {limit} (MEMDASH_MAX_MEMORY_CHARS)"
        )


def check_metadata(metadata: dict[str, Any] | None, where: str = "metadata") -> None:
    """Refuse metadata over MEMDASH_MAX_METADATA_BYTES as JSON.

    An add copies it onto every memory it creates (and their history rows), so an unbounded
    object would multiply: 2 MB of metadata on 200 messages is 400 MB stored.
    """
    if metadata is None:
        return
    limit = settings.MEMDASH_MAX_METADATA_BYTES
    size = len(json.dumps(metadata, ensure_ascii=False).encode())
    if size > limit:
        raise InvalidRequest(
            f"{where}: is {size:,} bytes as JSON; at most {limit:,} (MEMDASH_MAX_METADATA_BYTES)"
        )


def check_message_count(count: int) -> None:
    """Refuse more than MEMDASH_MAX_MESSAGES messages in one add."""
    if count > settings.MEMDASH_MAX_MESSAGES:
        raise InvalidRequest(
            f"messages: has {count} messages; at most {settings.MEMDASH_MAX_MESSAGES} are allowed"
        )


def check_messages(messages: Sequence[Message]) -> None:
    """Refuse too many messages, or a text message over the text limit."""
    check_message_count(len(messages))
    for index, message in enumerate(messages):
        if isinstance(message.content, str):
            check_text(message.content, f"messages: [{index}].content")


# --- add -----------------------------------------------------------------------------------------


@dataclass
class AddOutcome:
    event: Event
    added: list[Memory] = field(default_factory=list)
    skipped_duplicates: int = 0


def submit_add(
    project: Project,
    add: AddInput,
    *,
    actor: str,
    infer: bool,
    run_inline: bool,
    payload: dict[str, Any] | None = None,
) -> Event:
    """Perform an add: verbatim now (`infer=False`), or with inference, in this call
    (`run_inline`) or queued for a worker.

    Returns the add's Event: SUCCEEDED, or PENDING when queued. An inline run that the LLM or
    the embedder cannot complete fails its Event and raises UpstreamUnavailable (try again
    later) or UpstreamFailed (the LLM answered nonsense); both messages name the Event.
    """
    add = dataclasses.replace(add, scope=project_scope(project, add.scope))
    if not infer:
        return add_memories(
            project,
            messages=add.messages,
            scope=add.scope,
            actor=actor,
            metadata=add.metadata,
            immutable=add.immutable,
            expiration_date=add.expiration_date,
            created_at=add.created_at,
            payload=payload,
        ).event
    check_messages(add.messages)
    check_metadata(add.metadata)
    event = open_add_event(project, add, actor=actor)
    if not run_inline:
        events.submit(event)
        return event
    try:
        finished = pipeline.run_add_event(event.pk)
    except (llm.LLMTransientError, EmbeddingError) as exc:
        events.fail(event.pk, str(exc))
        raise UpstreamUnavailable(f"{exc} (event {event.pk})") from exc
    except llm.LLMError as exc:
        raise UpstreamFailed(f"{exc} (event {event.pk})") from exc
    return finished or event


def project_scope(project: Project, scope: Scope) -> Scope:
    """The call's scope under the project's attribution setting (tenancy.models.Attribution)."""
    return dataclasses.replace(scope, all_ids=project.attribution == Attribution.ALL_IDS)


def open_add_event(project: Project, add: AddInput, *, actor: str) -> Event:
    """Record an inference add as a PENDING Event (run by pipeline.run_add_event)."""
    llm.require_configured()
    about = events.about_add(add.scope.as_dict(), add.messages)
    with transaction.atomic():
        # The entities of the call and its speakers; the pipeline checks again when it writes.
        erasure.guard_writes(
            project, [add.scope.as_dict(), *({"user_id": s} for s in about.get("speakers", []))]
        )
        return events.open_event(
            project,
            Event.Type.ADD,
            actor=actor,
            payload=add.to_payload(),
            metadata={"infer": True, **about},
            pending=True,
        )


def add_memories(
    project: Project,
    *,
    messages: Sequence[Message],
    scope: Scope,
    actor: str,
    metadata: dict[str, Any] | None = None,
    immutable: bool = False,
    expiration_date: dt.date | None = None,
    created_at: dt.datetime | None = None,
    payload: dict[str, Any] | None = None,
) -> AddOutcome:
    """Store each user/assistant message verbatim as a memory (`infer=false`).

    Exact duplicates (same text in the same scope) are skipped, both against stored memories and
    within the call. Returns the added memories and the SUCCEEDED Event that records the call.
    """
    if scope.is_empty:
        raise InvalidRequest("At least one of user_id, agent_id, app_id or run_id is required.")
    check_messages(messages)
    check_metadata(metadata)
    scope = project_scope(project, scope)
    if scope.all_ids:
        payload = {**(payload or {}), **ALL_IDS_MARK}
    # Refuses personal data (pii_mode reject), or redacts it everywhere the add records it.
    screening = pii.screen_messages(project, messages)
    messages = screening.messages(messages)
    now = timezone.now()
    created_at = created_at or now
    candidates = attribute(messages, scope)
    # attribute() keeps the order of the messages it keeps: the positions of those are the
    # exact provenance of each verbatim memory (a text repeated in the call has them all).
    positions = [i for i, message in enumerate(messages) if owner_of(message, scope) is not None]

    unique: list[Attributed] = []
    sources: dict[tuple[str | None, ...], list[int]] = {}
    for item, position in zip(candidates, positions, strict=True):
        key = (memory_hash(item.text), *item.scope.values())
        if key not in sources:
            sources[key] = []
            unique.append(item)
        sources[key].append(position)
    seen = set(sources)
    existing = _existing_keys(project, {str(k[0]) for k in seen})
    fresh = [
        item for item in unique if (memory_hash(item.text), *item.scope.values()) not in existing
    ]
    vectors = embeddings.embed([item.text for item in fresh])
    model_name = embeddings.get_embedder().name if fresh else ""

    with transaction.atomic():
        erasure.guard_writes(project, [item.scope for item in candidates])
        event = events.open_event(
            project,
            Event.Type.ADD,
            actor=actor,
            payload=screening.payload(payload),
            metadata={"infer": False, **events.about_add(scope.as_dict(), messages)},
            at=now,
        )
        memories = [
            Memory(
                project=project,
                memory=item.text,
                hash=memory_hash(item.text),
                metadata=metadata,
                immutable=immutable,
                expiration_date=expiration_date,
                created_at=created_at,
                updated_at=created_at,
                embedding=vector,
                embedding_model=model_name,
                role=item.role,
                actor_id=item.actor_id,
                source_event=event,
                pii_kinds=screening.kinds(item.text),
                source_messages=sources[(memory_hash(item.text), *item.scope.values())],
                **item.scope,
            )
            for item, vector in zip(fresh, vectors, strict=True)
        ]
        Memory.objects.bulk_create(memories)
        input_messages = [m.as_dict() for m in messages]
        MemoryHistory.objects.bulk_create(
            [
                screening.note(
                    history_row(
                        memory,
                        MemoryHistory.Action.ADD,
                        old=None,
                        actor=actor,
                        event=event,
                        input=input_messages,
                    )
                )
                for memory in memories
            ]
        )
        touch_entities(project, (m.scope() for m in memories), at=now)
        events.finish(event, results=[added_result(m) for m in memories])
        notify.on_commit(project.pk, [notify.memory_change("ADD", m) for m in memories])
    return AddOutcome(
        event=event, added=memories, skipped_duplicates=len(candidates) - len(memories)
    )


def _existing_keys(project: Project, hashes: set[str]) -> set[tuple[str | None, ...]]:
    if not hashes:
        return set()
    rows = (
        Memory.objects.for_project(project)
        .filter(hash__in=hashes)
        .values_list("hash", *SCOPE_FIELDS)
    )
    return set(rows)


# --- update --------------------------------------------------------------------------------------


MAX_REASON_CHARS = 500


def update_memory(
    memory: Memory,
    *,
    actor: str,
    text: str | None = None,
    metadata: dict[str, Any] | None = UNSET,
    expiration_date: dt.date | None = UNSET,
    created_at: dt.datetime | None = None,
    categories: list[str] | None = UNSET,
    reason: str = "",
) -> Memory:
    """Change a memory's text, metadata, expiry, categories or timestamp, with an UPDATE
    history row that keeps `reason` (the dashboard asks editors why; the API sends none)."""
    if memory.immutable:
        raise ImmutableMemoryError(
            f"Memory {memory.id} is immutable and cannot be updated; delete it and add a new one."
        )
    if text is not None:
        check_text(text, "text")
    if metadata is not UNSET:
        check_metadata(metadata)
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidRequest(
            f"The reason has {len(reason)} characters; at most {MAX_REASON_CHARS}."
        )
    old_text = memory.memory
    fields = ["updated_at"]
    screening = pii.screen(memory.project, [text] if text is not None and text != old_text else [])
    if text is not None and text != memory.memory:
        text = screening.stored(text)
        memory.memory = text
        memory.hash = memory_hash(text)
        memory.embedding = embeddings.embed_one(text)
        memory.embedding_model = embeddings.get_embedder().name
        memory.pii_kinds = screening.kinds(text)
        fields += ["memory", "hash", "embedding", "embedding_model", "pii_kinds"]
    if metadata is not UNSET:
        memory.metadata = metadata
        fields.append("metadata")
    expiry_change: dict[str, Any] = {}
    if expiration_date is not UNSET:
        # The history row keeps no expiry: the Event does, for the history's diff.
        expiry_change = {
            "expiration_date": {
                "from": str(memory.expiration_date) if memory.expiration_date else None,
                "to": str(expiration_date) if expiration_date else None,
            }
        }
        memory.expiration_date = expiration_date
        fields.append("expiration_date")
    if categories is not UNSET:
        memory.categories = list(categories) if categories else None
        fields.append("categories")
    if created_at is not None:
        memory.created_at = created_at
        fields.append("created_at")
    memory.updated_at = timezone.now()
    with transaction.atomic():
        erasure.guard_writes(memory.project, [memory.scope()])
        event = events.open_event(
            memory.project,
            Event.Type.UPDATE,
            actor=actor,
            payload={
                "memory_id": str(memory.id),
                "fields": [f for f in fields if f != "updated_at"],
                **expiry_change,
            },
            metadata=events.named_entities(memory.scope()),
            at=memory.updated_at,
        )
        memory.save(update_fields=fields)
        screening.note(
            history_row(
                memory,
                MemoryHistory.Action.UPDATE,
                old=old_text,
                actor=actor,
                event=event,
                reason=reason,
            )
        ).save()
        # An edit is activity of the memory's entities ("Last activity" on their pages).
        touch_entities(memory.project, [memory.scope()], at=memory.updated_at)
        events.finish(event, results=[updated_result(memory)])
        notify.on_commit(memory.project_id, [notify.memory_change("UPDATE", memory)])
    return memory


def restore_version(
    memory: Memory, version: MemoryHistory, *, actor: str, reason: str = ""
) -> Memory:
    """Bring back the text, metadata and categories a memory had at a past history row: an
    UPDATE like any other, whose reason names the version restored unless one is given."""
    if version.memory_id != memory.id or version.project_id != memory.project_id:
        raise NotFound("No such version of this memory.")
    if version.erased_at is not None:
        raise InvalidRequest("This version was erased; there is nothing of it to restore.")
    if version.new_memory is None:
        raise InvalidRequest("This history entry has no text to restore (it records a deletion).")
    when = version.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    return update_memory(
        memory,
        actor=actor,
        text=version.new_memory,
        metadata=version.metadata,
        categories=version.categories,
        reason=reason.strip() or f"Restored the version of {when}",
    )


@dataclass(frozen=True)
class BatchUpdate:
    memory_id: Any
    text: str | None = None
    metadata: dict[str, Any] | None = UNSET


def batch_update(project: Project, updates: Sequence[BatchUpdate], *, actor: str) -> Event:
    """Update up to 1000 memories, all or nothing."""
    for index, update in enumerate(updates):
        if update.text is not None:
            check_text(update.text, f"memories[{index}].text")
        if update.metadata is not UNSET:
            check_metadata(update.metadata, f"memories[{index}].metadata")
    memories = _fetch_all(project, [u.memory_id for u in updates])
    for memory in memories.values():
        if memory.immutable:
            raise ImmutableMemoryError(
                f"Memory {memory.id} is immutable and cannot be updated; nothing was changed."
            )
    texts = [u.text for u in updates if u.text is not None]
    screening = pii.screen(project, texts)
    vectors = iter(embeddings.embed([screening.stored(text) for text in texts]))
    model_name = embeddings.get_embedder().name if texts else ""
    now = timezone.now()
    changed: list[Memory] = []
    history: list[MemoryHistory] = []
    with transaction.atomic():
        erasure.guard_writes(project, [m.scope() for m in memories.values()])
        event = events.open_event(
            project,
            Event.Type.UPDATE,
            actor=actor,
            payload={"memory_ids": [str(u.memory_id) for u in updates]},
            metadata=events.shared_entities(memories.values()),
            at=now,
        )
        for update in updates:
            memory = memories[str(update.memory_id)]
            old_text = memory.memory
            if update.text is not None:
                memory.memory = screening.stored(update.text)
                memory.hash = memory_hash(memory.memory)
                memory.embedding = next(vectors)
                memory.embedding_model = model_name
                memory.pii_kinds = screening.kinds(memory.memory)
            if update.metadata is not UNSET:
                memory.metadata = update.metadata
            memory.updated_at = now
            changed.append(memory)
            history.append(
                screening.note(
                    history_row(
                        memory, MemoryHistory.Action.UPDATE, old=old_text, actor=actor, event=event
                    )
                )
            )
        Memory.objects.bulk_update(
            changed,
            [
                "memory",
                "hash",
                "embedding",
                "embedding_model",
                "metadata",
                "pii_kinds",
                "updated_at",
            ],
            batch_size=500,
        )
        MemoryHistory.objects.bulk_create(history)
        notify.on_commit(project.pk, [notify.memory_change("UPDATE", m) for m in changed])
        events.finish(event, results=[updated_result(m) for m in changed])
    return event


def record_feedback(memory: Memory, *, feedback: str | None, reason: str | None) -> Memory:
    """Store a caller's feedback on a memory (POSITIVE, NEGATIVE, VERY_NEGATIVE, or none)."""
    memory.feedback = feedback
    memory.feedback_reason = reason
    memory.save(update_fields=["feedback", "feedback_reason"])
    return memory


# --- delete --------------------------------------------------------------------------------------


def delete_memory(memory: Memory, *, actor: str) -> Event:
    """Delete one memory (its history stays, plus a DELETE row); Locked under a legal hold."""
    named = Memory.objects.filter(pk=memory.pk)
    holds.refuse_held(memory.project, named)
    return delete_memories(
        memory.project,
        named,
        actor=actor,
        payload={"memory_id": str(memory.id)},
        metadata=events.named_entities(memory.scope()),
    )


def batch_delete(project: Project, memory_ids: Sequence[Any], *, actor: str) -> Event:
    """Delete up to 1000 memories by id, all or nothing (Locked if a legal hold covers one)."""
    memories = _fetch_all(project, memory_ids)
    named = Memory.objects.for_project(project).filter(pk__in=list(memories))
    holds.refuse_held(project, named)
    return delete_memories(
        project,
        named,
        actor=actor,
        payload={"memory_ids": list(memories)},
        metadata=events.shared_entities(memories.values()),
    )


def delete_memories(
    project: Project,
    memories: QuerySet[Memory],
    *,
    actor: str,
    payload: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    event: Event | None = None,
    keep: bool = True,
    event_type: str = Event.Type.DELETE,
) -> Event:
    """Delete every memory of `memories` (scoped to `project` here) that no legal hold covers,
    in SQL, into the trash (memories.trash) unless `keep` is false or the trash is off.

    Each deleted memory leaves a DELETE history row; nothing else is touched. Works in chunks so
    a delete of a million rows never holds one giant transaction (inside an outer transaction
    the chunks simply share it). The returned Event (of `event_type`, unless `event` is given)
    carries in `results` the number deleted and, when a hold kept some, the number skipped
    (`held`).
    """
    # A worker's delete (the PENDING Event it claimed is given) reports its progress, counted
    # once here; a delete within the request is done before anyone could watch it.
    reports_progress = event is not None
    if event is None:
        event = events.open_event(
            project,
            event_type,
            actor=actor,
            payload=payload,
            metadata=metadata or events.entities_of_delete(payload or {}),
        )
    scoped, held = holds.without_held(project, memories.filter(project=project).order_by())
    collect = notify.has_subscribers(project.pk)
    expected = scoped.count() if reports_progress else None
    chunk = DELETE_CHUNK
    if expected is not None:
        chunk = progress_chunk(expected)
        events.heartbeat(event, done=0, total=expected)
    total = 0
    deleted_rows: list[tuple[Any, str]] = []
    try:
        while True:
            with transaction.atomic():
                now = timezone.now()
                rows = delete_with_history(
                    scoped,
                    limit=chunk,
                    actor=actor,
                    event=event,
                    at=now,
                    trash_until=trash.trash_until(now) if keep else None,
                )
                # The heartbeat, in the chunk's transaction: a long delete is not stale. The
                # same UPDATE records the progress (one statement per chunk).
                events.heartbeat(event, done=total + len(rows), total=expected)
            total += len(rows)
            if collect and len(deleted_rows) <= notify.PER_MEMORY_LIMIT:
                deleted_rows += rows
            if len(rows) < chunk:
                break
    except Exception as exc:
        if not transaction.get_connection().in_atomic_block:
            events.fail(event.pk, str(exc), results={"deleted": total})
        raise
    if collect:
        if total <= notify.PER_MEMORY_LIMIT:
            changes = [
                notify.memory_change("DELETE", Memory(pk=pk, memory=text))
                for pk, text in deleted_rows
            ]
        else:
            changes = [notify.bulk_delete_change(total, str(event.pk))]
        notify.on_commit(project.pk, changes)
    events.finish(
        event,
        results={"deleted": total, **({"held": held} if held else {})},
        done=total if reports_progress else None,
    )
    return event


def progress_chunk(expected: int) -> int:
    """The chunk size of a delete of `expected` rows that reports its progress."""
    return max(PROGRESS_CHUNK_FLOOR, min(DELETE_CHUNK, expected // PROGRESS_STEPS))


def delete_matching(
    project: Project, filters: dict[str, Any], *, actor: str, source: str | None = None
) -> Event:
    """Delete every memory of `project` that `filters` matches (the filter language).

    The Event's payload is the filter itself, so a worker rebuilds exactly the set that was
    counted and confirmed. `source` ("dashboard") is recorded beside it. A filter that spans
    every user, agent, app or run (memories.wildcards) makes a DELETE_ALL Event whose payload
    names what it spanned (`wildcard`); its memories go to the trash like any others.
    """
    payload: dict[str, Any] = {"filters": filters}
    if source:
        payload["source"] = source
    event_type = Event.Type.DELETE
    if spanned := wildcards.spanned_fields(filters):
        payload["wildcard"] = spanned
        event_type = Event.Type.DELETE_ALL
    return _delete_or_schedule(
        project,
        listing.matching(project, filters),
        actor=actor,
        payload=payload,
        event_type=event_type,
    )


def _delete_or_schedule(
    project: Project,
    memories: QuerySet[Memory],
    *,
    actor: str,
    payload: dict[str, Any],
    event_type: str = Event.Type.DELETE,
) -> Event:
    """Delete now if the set is small; otherwise record a PENDING event (of `event_type`) for a
    worker.

    `payload` lets the worker rebuild the same set (run_delete_event): {"filters": {...}}, or
    {"entity_type", "entity_id"}.
    """
    limit = settings.MEMDASH_SYNC_DELETE_LIMIT
    size, capped = capped_count(memories.filter(project=project), limit)
    if not capped:
        return delete_memories(
            project, memories, actor=actor, payload=payload, event_type=event_type
        )
    event = events.open_event(
        project,
        event_type,
        actor=actor,
        payload=payload,
        metadata=events.entities_of_delete(payload),
        pending=True,
    )
    events.submit(event)
    return event


def delete_entity(project: Project, entity: Entity, *, actor: str) -> Event:
    """Delete an entity and every memory scoped to it (each leaves a DELETE history row).

    Small entities go at once; large ones become a PENDING DELETE event that a worker runs (it
    removes the entity after its memories, in run_delete_event). Returns the Event.
    """
    memories = Memory.objects.for_project(project).for_entity(entity.kind, entity.name)
    event = _delete_or_schedule(
        project,
        memories,
        actor=actor,
        payload={"entity_type": entity.kind, "entity_id": entity.name},
    )
    # An entity whose memories a legal hold kept stays, with them.
    if event.status == Event.Status.SUCCEEDED and not (event.results or {}).get("held"):
        entity.delete()
        profiles.forget(project, entity.kind, entity.name)
    return event


def run_delete_event(event_id: Any) -> Event | None:
    """Worker side of a scheduled delete (DELETE or DELETE_ALL). Safe to run twice: it deletes
    whatever still matches."""
    event = events.claim(event_id, kinds=(Event.Type.DELETE, Event.Type.DELETE_ALL))
    if event is None:
        return None
    payload = event.payload
    project = event.project
    if "entity_type" in payload:
        memories = Memory.objects.for_project(project).for_entity(
            payload["entity_type"], payload["entity_id"]
        )
    else:
        memories = listing.matching(project, payload["filters"])
    delete_memories(project, memories, actor=event.actor, event=event)
    event.refresh_from_db()
    if "entity_type" in payload and not (event.results or {}).get("held"):
        Entity.objects.for_project(project).filter(
            kind=payload["entity_type"], name=payload["entity_id"]
        ).delete()
        profiles.forget(project, payload["entity_type"], payload["entity_id"])
    event.refresh_from_db()
    return event


def _fetch_all(project: Project, memory_ids: Iterable[Any]) -> dict[str, Memory]:
    """Load memories by id for a batch; any unknown id aborts the whole batch with a 404."""
    wanted = [str(i) for i in memory_ids]
    if len(set(wanted)) != len(wanted):
        raise InvalidRequest("The batch names the same memory_id more than once.")
    found = {
        str(m.id): m
        for m in Memory.objects.for_project(project).filter(pk__in=wanted).select_related("project")
    }
    missing = [i for i in wanted if i not in found]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise NotFound(f"{len(missing)} memory id(s) not found: {shown}. Nothing was changed.")
    return found


# --- embeddings ----------------------------------------------------------------------------------


def reembed_memories(
    *, only_stale: bool = True, batch_size: int = 256, dry_run: bool = False
) -> tuple[int, str]:
    """Recompute embeddings with the configured embedder, in keyset-ordered batches.

    With `only_stale`, only memories embedded by another model are touched, so an interrupted
    run can simply be started again. Returns (memories re-embedded, model name).
    """
    model = embeddings.get_embedder().name
    pending = Memory.objects.all()
    if only_stale:
        pending = pending.exclude(embedding_model=model)
    if dry_run:
        return pending.count(), model
    done = 0
    last_id = None
    while True:
        batch = pending.order_by("id")
        if last_id is not None:
            batch = batch.filter(id__gt=last_id)
        rows = list(batch.only("id", "memory")[:batch_size])
        if not rows:
            return done, model
        for memory, vector in zip(rows, embeddings.embed([m.memory for m in rows]), strict=True):
            memory.embedding = vector
            memory.embedding_model = model
        Memory.objects.bulk_update(rows, ["embedding", "embedding_model"])
        done += len(rows)
        last_id = rows[-1].id


# --- personal data -------------------------------------------------------------------------------


def backfill_pii_kinds(
    *,
    project: Project | None = None,
    batch_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Fill `pii_kinds` of the memories no screening has seen (null), in keyset-ordered batches.

    Flags only: no text is changed, whatever the project's pii_mode. Each batch is one UPDATE
    that skips rows changed since they were read (another hash, or kinds already set by a
    write), so it can run beside writers; a stopped run simply starts again where it was.
    Returns (memories screened, memories with personal data); `progress` gets both after each
    batch.
    """
    pending = Memory.objects.filter(pii_kinds__isnull=True)
    if project is not None:
        pending = pending.for_project(project)
    screened = flagged = 0
    last_id = None
    while True:
        batch = pending.order_by("id")
        if last_id is not None:
            batch = batch.filter(id__gt=last_id)
        rows = list(batch.values_list("id", "hash", "memory")[:batch_size])
        if not rows:
            return screened, flagged
        found = [(pk, digest, pii.kinds_in(text)) for pk, digest, text in rows]
        # Only the table name is spliced in (a constant); every value is a parameter.
        values = ", ".join(["(%s::uuid, %s, %s::varchar[])"] * len(found))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Memory._meta.db_table} AS m SET pii_kinds = v.kinds "
                f"FROM (VALUES {values}) AS v (id, hash, kinds) "
                "WHERE m.id = v.id AND m.hash = v.hash AND m.pii_kinds IS NULL",
                [value for row in found for value in row],
            )
        screened += len(rows)
        flagged += sum(1 for _, _, kinds in found if kinds)
        last_id = rows[-1][0]
        if progress is not None:
            progress(screened, flagged)
