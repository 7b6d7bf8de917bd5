"""Operations that change memories. The API and the dashboard both call these.

Every change writes its MemoryHistory rows in the same transaction, and every operation is
recorded as an Event, so `GET /v1/event/{id}/` and the activity page can show it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from entities.services import touch_entities
from memdash.errors import ImmutableMemoryError, InvalidRequest, NotFound
from memories import embeddings, webhooks
from memories.models import SCOPE_FIELDS, Event, Memory, MemoryHistory

# Message roles that speak for an agent. The group-chat docs also use "agent".
ASSISTANT_ROLES = {"assistant", "agent"}
UNSET: Any = object()


def memory_hash(text: str) -> str:
    """Mem0's content hash: md5 of the memory text (used for exact-duplicate detection)."""
    return hashlib.md5(text.encode()).hexdigest()


@dataclass(frozen=True)
class Scope:
    """The entity ids one add call carries (top-level user_id, agent_id, app_id, run_id)."""

    user_id: str | None = None
    agent_id: str | None = None
    app_id: str | None = None
    run_id: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in SCOPE_FIELDS}

    @property
    def is_empty(self) -> bool:
        return not any(self.as_dict().values())


@dataclass(frozen=True)
class Message:
    role: str
    content: str
    name: str | None = None


@dataclass
class Attributed:
    """A message's text and the entity ids it belongs to, after the attribution rules."""

    text: str
    scope: dict[str, str | None]
    role: str
    actor_id: str | None


def attribute(messages: Sequence[Message], scope: Scope) -> list[Attributed]:
    """Decide whose memory each message is (Mem0's rules, as the seed documents show).

    - system messages are never stored;
    - a message's `name` makes the speaker the entity, lower-cased (group chats): a user's name
      becomes its user_id, an assistant's its agent_id;
    - user messages belong to user_id; in an agent_id-only call they are input to the agent;
    - assistant messages belong to agent_id, and are dropped when the call has none;
    - app_id and run_id are copied to every memory of the call.
    """
    attributed = []
    for message in messages:
        role = "assistant" if message.role in ASSISTANT_ROLES else message.role
        if role not in ("user", "assistant"):
            continue
        speaker = message.name.strip().lower() if message.name and message.name.strip() else None
        ids: dict[str, str | None] = dict.fromkeys(SCOPE_FIELDS)
        if role == "user":
            if speaker:
                ids["user_id"] = speaker
            elif scope.user_id:
                ids["user_id"] = scope.user_id
            elif scope.agent_id:
                ids["agent_id"] = scope.agent_id
        elif speaker:
            ids["agent_id"] = speaker
        elif scope.agent_id:
            ids["agent_id"] = scope.agent_id
        else:
            continue
        ids["app_id"] = scope.app_id
        ids["run_id"] = scope.run_id
        if not any(ids.values()):
            continue
        attributed.append(Attributed(message.content, ids, role, message.name))
    return attributed


@dataclass
class AddOutcome:
    event: Event
    added: list[Memory] = field(default_factory=list)
    skipped_duplicates: int = 0


def add_memories(
    project,
    *,
    messages: Sequence[Message],
    scope: Scope,
    actor: str,
    metadata: dict | None = None,
    immutable: bool = False,
    expiration_date: dt.date | None = None,
    created_at: dt.datetime | None = None,
    payload: dict | None = None,
) -> AddOutcome:
    """Store each user/assistant message verbatim as a memory (`infer=false`).

    Exact duplicates (same text in the same scope) are skipped, both against stored memories and
    within the call. Returns the added memories and the SUCCEEDED Event that records the call.
    """
    if scope.is_empty:
        raise InvalidRequest("At least one of user_id, agent_id, app_id or run_id is required.")
    now = timezone.now()
    created_at = created_at or now
    candidates = attribute(messages, scope)

    unique: list[Attributed] = []
    seen: set[tuple] = set()
    for item in candidates:
        key = (memory_hash(item.text), *item.scope.values())
        if key not in seen:
            seen.add(key)
            unique.append(item)
    existing = _existing_keys(project, {k[0] for k in seen})
    fresh = [
        item for item in unique if (memory_hash(item.text), *item.scope.values()) not in existing
    ]
    vectors = embeddings.embed([item.text for item in fresh])
    model_name = embeddings.get_embedder().name if fresh else ""

    with transaction.atomic():
        event = Event.objects.create(
            project=project,
            event_type=Event.Type.ADD,
            status=Event.Status.RUNNING,
            payload=payload or {},
            metadata={"infer": False, **named_entities(scope.as_dict())},
            actor=actor,
            created_at=now,
            started_at=now,
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
                **item.scope,
            )
            for item, vector in zip(fresh, vectors, strict=True)
        ]
        Memory.objects.bulk_create(memories)
        input_messages = [_message_dict(m) for m in messages]
        MemoryHistory.objects.bulk_create(
            [
                history_row(
                    memory,
                    MemoryHistory.Action.ADD,
                    old=None,
                    new=memory.memory,
                    actor=actor,
                    event=event,
                    input=input_messages,
                )
                for memory in memories
            ]
        )
        touch_entities(project, (m.scope() for m in memories), at=now)
        finish_event(event, results=[added_result(m) for m in memories])
        webhooks.notify_on_commit(project.pk, [webhooks.memory_change("ADD", m) for m in memories])
    return AddOutcome(
        event=event, added=memories, skipped_duplicates=len(candidates) - len(memories)
    )


def _existing_keys(project, hashes: set[str]) -> set[tuple]:
    if not hashes:
        return set()
    rows = (
        Memory.objects.for_project(project)
        .filter(hash__in=hashes)
        .values_list("hash", *SCOPE_FIELDS)
    )
    return set(rows)


def added_result(memory: Memory, event: str = "ADD") -> dict:
    """One entry of an add response (both Mem0 shapes: `memory` and `data.memory`)."""
    return {
        "id": str(memory.id),
        "memory": memory.memory,
        "data": {"memory": memory.memory},
        "event": event,
    }


def update_memory(
    memory: Memory,
    *,
    actor: str,
    text: str | None = None,
    metadata: dict | None = UNSET,
    expiration_date: dt.date | None = UNSET,
    created_at: dt.datetime | None = None,
) -> Memory:
    """Change a memory's text, metadata, expiry or timestamp, with an UPDATE history row."""
    if memory.immutable:
        raise ImmutableMemoryError(
            f"Memory {memory.id} is immutable and cannot be updated; delete it and add a new one."
        )
    old_text = memory.memory
    fields = ["updated_at"]
    if text is not None and text != memory.memory:
        memory.memory = text
        memory.hash = memory_hash(text)
        memory.embedding = embeddings.embed_one(text)
        memory.embedding_model = embeddings.get_embedder().name
        fields += ["memory", "hash", "embedding", "embedding_model"]
    if metadata is not UNSET:
        memory.metadata = metadata
        fields.append("metadata")
    if expiration_date is not UNSET:
        memory.expiration_date = expiration_date
        fields.append("expiration_date")
    if created_at is not None:
        memory.created_at = created_at
        fields.append("created_at")
    memory.updated_at = timezone.now()
    with transaction.atomic():
        event = Event.objects.create(
            project_id=memory.project_id,
            event_type=Event.Type.UPDATE,
            status=Event.Status.RUNNING,
            payload={
                "memory_id": str(memory.id),
                "fields": [f for f in fields if f != "updated_at"],
            },
            metadata=named_entities(memory.scope()),
            actor=actor,
            started_at=memory.updated_at,
        )
        memory.save(update_fields=fields)
        MemoryHistory.objects.create(
            **_history_fields(
                memory,
                MemoryHistory.Action.UPDATE,
                old=old_text,
                new=memory.memory,
                actor=actor,
                event=event,
            )
        )
        finish_event(
            event, results=[{"id": str(memory.id), "memory": memory.memory, "event": "UPDATE"}]
        )
        webhooks.notify_on_commit(memory.project_id, [webhooks.memory_change("UPDATE", memory)])
    return memory


@dataclass(frozen=True)
class BatchUpdate:
    memory_id: Any
    text: str | None = None
    metadata: dict | None = UNSET


def batch_update(project, updates: Sequence[BatchUpdate], *, actor: str) -> Event:
    """Update up to 1000 memories, all or nothing."""
    memories = _fetch_all(project, [u.memory_id for u in updates])
    for memory in memories.values():
        if memory.immutable:
            raise ImmutableMemoryError(
                f"Memory {memory.id} is immutable and cannot be updated; nothing was changed."
            )
    texts = [u.text for u in updates if u.text is not None]
    vectors = iter(embeddings.embed(texts))
    model_name = embeddings.get_embedder().name if texts else ""
    now = timezone.now()
    changed: list[Memory] = []
    history: list[MemoryHistory] = []
    with transaction.atomic():
        event = Event.objects.create(
            project=project,
            event_type=Event.Type.UPDATE,
            status=Event.Status.RUNNING,
            payload={"memory_ids": [str(u.memory_id) for u in updates]},
            metadata=shared_entities(memories.values()),
            actor=actor,
            started_at=now,
        )
        for update in updates:
            memory = memories[str(update.memory_id)]
            old_text = memory.memory
            if update.text is not None:
                memory.memory = update.text
                memory.hash = memory_hash(update.text)
                memory.embedding = next(vectors)
                memory.embedding_model = model_name
            if update.metadata is not UNSET:
                memory.metadata = update.metadata
            memory.updated_at = now
            changed.append(memory)
            history.append(
                history_row(
                    memory,
                    MemoryHistory.Action.UPDATE,
                    old=old_text,
                    new=memory.memory,
                    actor=actor,
                    event=event,
                )
            )
        Memory.objects.bulk_update(
            changed,
            ["memory", "hash", "embedding", "embedding_model", "metadata", "updated_at"],
            batch_size=500,
        )
        MemoryHistory.objects.bulk_create(history)
        webhooks.notify_on_commit(
            project.pk, [webhooks.memory_change("UPDATE", m) for m in changed]
        )
        finish_event(
            event,
            results=[{"id": str(m.id), "memory": m.memory, "event": "UPDATE"} for m in changed],
        )
    return event


def delete_memory(memory: Memory, *, actor: str) -> Event:
    """Delete one memory (its history stays, plus a DELETE row)."""
    return delete_memories(
        memory.project,
        Memory.objects.filter(pk=memory.pk),
        actor=actor,
        payload={"memory_id": str(memory.id)},
        metadata=named_entities(memory.scope()),
    )


def batch_delete(project, memory_ids: Sequence[Any], *, actor: str) -> Event:
    """Delete up to 1000 memories by id, all or nothing."""
    memories = _fetch_all(project, memory_ids)
    return delete_memories(
        project,
        Memory.objects.for_project(project).filter(pk__in=list(memories)),
        actor=actor,
        payload={"memory_ids": list(memories)},
        metadata=shared_entities(memories.values()),
    )


def delete_memories(
    project,
    memories: QuerySet,
    *,
    actor: str,
    payload: dict | None = None,
    metadata: dict | None = None,
    event: Event | None = None,
) -> Event:
    """Delete every memory of `memories` (scoped to `project` here), in SQL.

    Each deleted memory leaves a DELETE history row; nothing else is touched. Works in chunks so
    a delete of a million rows never holds one giant transaction (inside an outer transaction
    the chunks simply share it). The returned Event carries the number deleted in `results`.
    """
    if event is None:
        event = Event.objects.create(
            project=project,
            event_type=Event.Type.DELETE,
            status=Event.Status.RUNNING,
            payload=payload or {},
            metadata=metadata or entities_of_delete(payload or {}),
            actor=actor,
            started_at=timezone.now(),
        )
    scoped = memories.filter(project=project).order_by()
    collect = webhooks.has_subscribers(project.pk)
    total = 0
    deleted_rows: list[tuple] = []
    try:
        while True:
            with transaction.atomic():
                rows = _delete_chunk(scoped, actor=actor, event=event, at=timezone.now())
                # Heartbeat for the stale-event sweeper, in the chunk's transaction.
                Event.objects.filter(pk=event.pk).update(updated_at=timezone.now())
            total += len(rows)
            if collect and len(deleted_rows) <= webhooks.PER_MEMORY_LIMIT:
                deleted_rows += rows
            if len(rows) < DELETE_CHUNK:
                break
    except Exception as exc:
        if not transaction.get_connection().in_atomic_block:
            finish_event(
                event, results={"deleted": total}, status=Event.Status.FAILED, error=str(exc)
            )
        raise
    if collect:
        if total <= webhooks.PER_MEMORY_LIMIT:
            changes = [
                webhooks.memory_change("DELETE", Memory(pk=pk, memory=text))
                for pk, text in deleted_rows
            ]
        else:
            changes = [webhooks.bulk_delete_change(total, str(event.pk))]
        webhooks.notify_on_commit(project.pk, changes)
    finish_event(event, results={"deleted": total})
    return event


DELETE_CHUNK = 5000


def _delete_chunk(memories: QuerySet, *, actor: str, event: Event, at: dt.datetime) -> list[tuple]:
    """Delete up to DELETE_CHUNK memories and write their DELETE history rows in one statement.

    Returns (memory_id, text) of each deleted memory.
    """
    # The id subquery is compiled by the ORM (its parameters stay parameters); only table and
    # column names, which are constants here, are spliced into the statement.
    ids_sql, ids_params = memories.values("id")[:DELETE_CHUNK].query.sql_with_params()
    memory_table = Memory._meta.db_table
    history_table = MemoryHistory._meta.db_table
    statement = f"""
        WITH doomed AS (
            DELETE FROM {memory_table} WHERE id IN ({ids_sql})
            RETURNING id, project_id, memory, user_id, agent_id, app_id, run_id, categories, metadata
        )
        INSERT INTO {history_table}
            (id, project_id, memory_id, event, old_memory, new_memory, input,
             user_id, agent_id, app_id, run_id, categories, metadata, actor, source_event_id, created_at)
        SELECT gen_random_uuid(), project_id, id, 'DELETE', memory, NULL, NULL,
               user_id, agent_id, app_id, run_id, categories, metadata, %s, %s, %s
        FROM doomed
        RETURNING memory_id, old_memory
    """
    with connection.cursor() as cursor:
        cursor.execute(statement, [*ids_params, actor, event.pk, at])
        return cursor.fetchall()


def delete_or_schedule(project, memories: QuerySet, *, actor: str, payload: dict) -> Event:
    """Delete now if the set is small; otherwise record a PENDING DELETE event for a worker.

    `payload` must let the worker rebuild the same set: {"filters": {...}} (entity ids and
    optional metadata, as DELETE /v1/memories/ takes them) or {"entity_type", "entity_id"}.
    """
    limit = settings.MEMDASH_SYNC_DELETE_LIMIT
    if memories.filter(project=project).order_by()[: limit + 1].count() <= limit:
        return delete_memories(project, memories, actor=actor, payload=payload)
    from memories.tasks import enqueue

    event = Event.objects.create(
        project=project,
        event_type=Event.Type.DELETE,
        status=Event.Status.PENDING,
        payload=payload,
        metadata=entities_of_delete(payload),
        actor=actor,
    )
    enqueue(event)
    return event


def named_entities(ids: dict) -> dict[str, str]:
    """The entity ids an Event is about, as its `metadata` (what Activity filters by entity).

    Every Event type records them the same way, so one GIN index answers "what happened to
    user X" without reading payloads.
    """
    return {
        field: value
        for field in SCOPE_FIELDS
        if isinstance(value := ids.get(field), str) and value and value != "*"
    }


def shared_entities(memories: Iterable[Memory]) -> dict[str, str]:
    """The entity ids every one of `memories` has (a batch's Event is about those)."""
    shared: dict[str, str] | None = None
    for memory in memories:
        ids = named_entities(memory.scope())
        shared = ids if shared is None else {k: v for k, v in shared.items() if ids.get(k) == v}
    return shared or {}


def entities_of_delete(payload: dict) -> dict[str, str]:
    """The entities a delete payload names: an entity delete's, or the plain entity ids its
    filter requires (at the top level or anywhere down a chain of ANDs; OR and NOT name none)."""
    if payload.get("entity_type") in ("user", "agent", "app", "run"):
        return named_entities({f"{payload['entity_type']}_id": payload.get("entity_id")})
    return _required_entities(payload.get("filters"))


def _required_entities(filters: Any) -> dict[str, str]:
    if not isinstance(filters, dict):
        return {}
    found = named_entities(filters)
    parts = filters.get("AND")
    for part in parts if isinstance(parts, list) else []:
        found = {**_required_entities(part), **found}
    return found


def run_delete_event(event_id) -> Event | None:
    """Worker side of delete_or_schedule. Safe to run twice: it deletes whatever still matches."""
    from entities.models import Entity
    from memories.filters import compile_filters
    from memories.pipeline import claim

    event = claim(event_id, kinds=(Event.Type.DELETE,))
    if event is None:
        return None
    payload = event.payload
    project = event.project
    if "entity_type" in payload:
        memories = Memory.objects.for_project(project).for_entity(
            payload["entity_type"], payload["entity_id"]
        )
    else:
        memories = Memory.objects.for_project(project).matching(
            compile_filters(payload["filters"]).q
        )
    delete_memories(project, memories, actor=event.actor, event=event)
    if "entity_type" in payload:
        Entity.objects.for_project(project).filter(
            kind=payload["entity_type"], name=payload["entity_id"]
        ).delete()
    event.refresh_from_db()
    return event


def record_feedback(memory: Memory, *, feedback: str | None, reason: str | None) -> Memory:
    memory.feedback = feedback
    memory.feedback_reason = reason
    memory.save(update_fields=["feedback", "feedback_reason"])
    return memory


def _fetch_all(project, memory_ids: Iterable[Any]) -> dict[str, Memory]:
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


def _history_fields(
    memory: Memory,
    action: str,
    *,
    old: str | None,
    new: str | None,
    actor: str,
    event: Event | None,
    input: list | None = None,
) -> dict:
    return {
        "project_id": memory.project_id,
        "memory_id": memory.id,
        "event": action,
        "old_memory": old,
        "new_memory": new,
        "input": input,
        "categories": memory.categories,
        "metadata": memory.metadata,
        "actor": actor,
        "source_event": event,
        **memory.scope(),
    }


def history_row(memory: Memory, action: str, **kwargs) -> MemoryHistory:
    return MemoryHistory(**_history_fields(memory, action, **kwargs))


def _message_dict(message: Message) -> dict:
    data = {"role": message.role, "content": message.content}
    if message.name:
        data["name"] = message.name
    return data


def finish_event(
    event: Event, *, results: Any, status: str = Event.Status.SUCCEEDED, error: str | None = None
) -> None:
    now = timezone.now()
    event.status = status
    event.results = results
    event.error = error
    event.completed_at = now
    event.updated_at = now
    event.save(update_fields=["status", "results", "error", "completed_at", "updated_at"])


def max_memory_chars() -> int:
    return settings.MEMDASH_MAX_MEMORY_CHARS


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
