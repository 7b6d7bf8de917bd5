"""History rows and the result entries of operations: how every change is recorded.

MemoryHistory rows are written only through these helpers, in the transaction that makes the
change (see the model's docstring); `delete_with_history` deletes and records in one statement.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import GeneratedField, QuerySet

from memories.models import Event, Memory, MemoryHistory, TrashedMemory


def history_row(
    memory: Memory,
    action: str,
    *,
    old: str | None,
    actor: str,
    event: Event | None,
    input: list[dict[str, Any]] | None = None,
    reason: str = "",
) -> MemoryHistory:
    """An unsaved history row for a change of `memory`: its text, scope, categories and
    metadata as they are now (none of its text for a DELETE), `old` its text before, `input`
    the messages that caused the change, `reason` why a person made it."""
    new = None if action == MemoryHistory.Action.DELETE else memory.memory
    return MemoryHistory(
        project_id=memory.project_id,
        memory_id=memory.id,
        event=action,
        old_memory=old,
        new_memory=new,
        input=input,
        categories=memory.categories,
        metadata=memory.metadata,
        actor=actor,
        source_event=event,
        reason=reason,
        **memory.scope(),
    )


@dataclass
class RowChanges:
    """What an UPDATE row changed besides the text, against the row before it."""

    metadata_added: list[tuple[str, Any]] = field(default_factory=list)
    metadata_removed: list[tuple[str, Any]] = field(default_factory=list)
    metadata_changed: list[tuple[str, Any, Any]] = field(default_factory=list)
    categories_added: list[str] = field(default_factory=list)
    categories_removed: list[str] = field(default_factory=list)
    # (before, after) as ISO dates or None, when the row's update changed the expiry.
    expiry: tuple[str | None, str | None] | None = None
    expiry_changed: bool = False

    @property
    def metadata(self) -> bool:
        return bool(self.metadata_added or self.metadata_removed or self.metadata_changed)

    @property
    def categories(self) -> bool:
        return bool(self.categories_added or self.categories_removed)

    @property
    def any(self) -> bool:
        return self.metadata or self.categories or self.expiry_changed


def row_changes(row: MemoryHistory, before: MemoryHistory | None) -> RowChanges:
    """Metadata keys added, removed and changed, categories added and removed, and the expiry
    change of `row`, compared with `before` (the memory's previous row; None for the first).

    Rows keep the metadata and categories as they were after the change; the expiry is not on
    the row, so it comes from the update's Event (update_memory records it there).
    """
    changes = RowChanges()
    event = row.source_event if row.source_event_id else None
    payload = event.payload if event is not None and isinstance(event.payload, dict) else {}
    # An update Event names the fields it set: only those changed, whatever rows between
    # (a write that keeps no history, such as a categorization) make the two rows differ.
    fields = payload.get("fields") if isinstance(payload.get("fields"), list) else None
    if before is not None and before.event != MemoryHistory.Action.DELETE:
        old_meta = before.metadata if isinstance(before.metadata, dict) else {}
        new_meta = row.metadata if isinstance(row.metadata, dict) else {}
        if fields is not None and "metadata" not in fields:
            old_meta = new_meta
        changes.metadata_added = [(k, new_meta[k]) for k in new_meta if k not in old_meta]
        changes.metadata_removed = [(k, old_meta[k]) for k in old_meta if k not in new_meta]
        changes.metadata_changed = [
            (k, old_meta[k], new_meta[k])
            for k in new_meta
            if k in old_meta and old_meta[k] != new_meta[k]
        ]
        old_cats, new_cats = before.categories or [], row.categories or []
        if fields is not None and "categories" not in fields:
            old_cats = new_cats
        changes.categories_added = [c for c in new_cats if c not in old_cats]
        changes.categories_removed = [c for c in old_cats if c not in new_cats]
    if "expiration_date" in (fields or []):
        changes.expiry_changed = True
        expiry = payload.get("expiration_date")
        if isinstance(expiry, dict):
            changes.expiry = (expiry.get("from"), expiry.get("to"))
    return changes


def with_changes(rows: list[MemoryHistory], older: MemoryHistory | None) -> list[MemoryHistory]:
    """`rows` (newest first, one page of a memory's history) each given `.changes`, its
    RowChanges; `older` is the row just before the page's last one."""
    for index, row in enumerate(rows):
        before = rows[index + 1] if index + 1 < len(rows) else older
        row.changes = row_changes(row, before)  # type: ignore[attr-defined]
    return rows


def added_result(memory: Memory, event: str = "ADD") -> dict[str, Any]:
    """One entry of an add response (both Mem0 shapes: `memory` and `data.memory`)."""
    return {
        "id": str(memory.id),
        "memory": memory.memory,
        "data": {"memory": memory.memory},
        "event": event,
    }


def updated_result(memory: Memory) -> dict[str, Any]:
    """One entry of an update's Event results."""
    return {"id": str(memory.id), "memory": memory.memory, "event": "UPDATE"}


def delete_with_history(
    memories: QuerySet[Memory],
    *,
    limit: int,
    actor: str,
    event: Event,
    at: dt.datetime,
    trash_until: dt.datetime | None = None,
) -> list[tuple[uuid.UUID, str]]:
    """Delete up to `limit` memories and write their DELETE history rows in one statement;
    with `trash_until`, the same statement keeps each memory in the trash until then.

    Returns (memory_id, text) of each deleted memory.
    """
    # The id subquery is compiled by the ORM (its parameters stay parameters); only table and
    # column names, which are constants here, are spliced into the statement.
    ids_sql, ids_params = memories.values("id")[:limit].query.sql_with_params()
    memory_table = Memory._meta.db_table
    history_table = MemoryHistory._meta.db_table
    returned = "id, project_id, memory, user_id, agent_id, app_id, run_id, categories, metadata"
    kept = ""
    kept_params: list[Any] = []
    if trash_until is not None:
        returned = "*"
        columns = ", ".join(trash_columns())
        kept = f"""
        , trashed AS (
            INSERT INTO {TrashedMemory._meta.db_table}
                ({columns}, trashed_at, trashed_by, trash_event_id, purge_after)
            SELECT {columns}, %s, %s, %s, %s FROM doomed
        )"""
        kept_params = [at, actor, event.pk, trash_until]
    statement = f"""
        WITH doomed AS (
            DELETE FROM {memory_table} WHERE id IN ({ids_sql})
            RETURNING {returned}
        ){kept}
        INSERT INTO {history_table}
            (id, project_id, memory_id, event, old_memory, new_memory, input,
             user_id, agent_id, app_id, run_id, categories, metadata, actor, source_event_id, created_at)
        SELECT gen_random_uuid(), project_id, id, 'DELETE', memory, NULL, NULL,
               user_id, agent_id, app_id, run_id, categories, metadata, %s, %s, %s
        FROM doomed
        RETURNING memory_id, old_memory
    """
    with connection.cursor() as cursor:
        cursor.execute(statement, [*ids_params, *kept_params, actor, event.pk, at])
        deleted: list[tuple[uuid.UUID, str]] = cursor.fetchall()
    return deleted


@cache
def trash_columns() -> tuple[str, ...]:
    """The columns a memory takes into the trash and back: all it has that the trash has too
    (the generated keyword column aside: PostgreSQL computes it)."""
    trash = {f.column for f in TrashedMemory._meta.concrete_fields}
    return tuple(
        str(f.column)
        for f in Memory._meta.concrete_fields
        if f.column in trash and not isinstance(f, GeneratedField)
    )
