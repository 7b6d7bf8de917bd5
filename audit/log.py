"""Writing the audit log: one row per read of memory content, one per change.

A row is written in the request that does the read, before its answer leaves: a process killed
after answering has already committed the row, and one killed before never acknowledged the
read. The log holds no secrets: no API key, password, session id or webhook secret is ever
passed in (callers give names and ids), and free text is only the search query and the filter
as given.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from audit.context import Context, current

logger = logging.getLogger(__name__)

ENTITY_FIELDS = ("user_id", "agent_id", "app_id", "run_id")
COLUMNS = (
    "project_id", "kind", "action", "surface", "actor_type", "actor_id", "actor_name",
    "actor_label", "role", "ip", "user_agent", "request_id", "path", "entities", "filters",
    "query", "memory_ids", "total", "target", "details",
)  # fmt: skip
INSERT = f"INSERT INTO audit_log ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
MAX_QUERY_CHARS = 2000
REDACTED = "[erased]"
REDACT = """
    UPDATE audit_log SET
        query = CASE WHEN query IS NULL THEN NULL ELSE %(marker)s END,
        filters = CASE WHEN filters IS NULL THEN NULL ELSE to_jsonb(%(marker)s::text) END,
        path = CASE WHEN %(name)s <> '' THEN replace(path, %(name)s, %(marker)s) ELSE path END
    WHERE project_id = %(project)s
      AND (entities && %(entities)s::text[] OR memory_ids && %(memories)s::uuid[])
      AND (query IS DISTINCT FROM %(marker)s AND query IS NOT NULL
           OR filters IS DISTINCT FROM to_jsonb(%(marker)s::text) AND filters IS NOT NULL
           OR %(name)s <> '' AND strpos(path, %(name)s) > 0)
"""


def entity_keys(*scopes: Mapping[str, Any] | None) -> list[str]:
    """ "user:maria"-style keys of every plain entity id in `scopes` (a bare "*" names nobody)."""
    keys: set[str] = set()
    for scope in scopes:
        for name in ENTITY_FIELDS:
            value = (scope or {}).get(name)
            if isinstance(value, str) and value and value != "*":
                keys.add(f"{name[:-3]}:{value}")
    return sorted(keys)


def filter_entities(filters: Any) -> list[str]:
    """The entity ids a filter names anywhere (under AND, OR or NOT, plain or in `in` lists),
    as "user:maria": what a read asked about, and whose an export of a filter is, whatever it
    matched."""
    keys: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in ENTITY_FIELDS:
                    for name in _values(value):
                        keys.add(f"{key[:-3]}:{name}")
                else:
                    walk(value)

    walk(filters)
    return sorted(keys)


def _values(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        if value and value != "*":
            yield value
    elif isinstance(value, list):
        for item in value:
            yield from _values(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _values(item)


def event_reads(events: Iterable[Any]) -> dict[str, Any]:
    """What a read of Events (objects or payloads) returned, for `read`: the entities they are
    about (their metadata, group-chat speakers included) and the memories in their results."""
    keys: set[str] = set()
    ids: list[dict[str, Any]] = []
    count = 0
    for event in events:
        count += 1
        fields = event if isinstance(event, Mapping) else vars(event)
        metadata = fields.get("metadata") or {}
        keys.update(entity_keys(metadata))
        keys.update(f"user:{name}" for name in metadata.get("speakers") or [] if name)
        results = fields.get("results")
        for entry in results if isinstance(results, list) else []:
            if isinstance(entry, Mapping) and entry.get("id"):
                ids.append({"id": entry["id"]})
    return {"memories": ids, "extra_entities": sorted(keys), "total": count}


def _insert(context: Context, row: dict[str, Any]) -> None:
    actor = context.actor
    values = {
        "project_id": row.get("project_id", context.project_id),
        "kind": row["kind"],
        "action": row["action"],
        "surface": context.surface,
        "actor_type": actor.type,
        "actor_id": actor.id,
        "actor_name": actor.name[:200],
        "actor_label": actor.label[:200],
        "role": actor.role,
        "ip": context.ip,
        "user_agent": context.user_agent,
        "request_id": context.request_id,
        "path": context.path,
        "entities": row.get("entities") or [],
        "filters": json.dumps(row["filters"]) if row.get("filters") is not None else None,
        "query": (row.get("query") or None) and str(row["query"])[:MAX_QUERY_CHARS],
        "memory_ids": row.get("memory_ids") or [],
        "total": row.get("total"),
        "target": str(row.get("target") or "")[:300],
        "details": json.dumps(row["details"]) if row.get("details") is not None else None,
    }
    with connection.cursor() as cursor:
        cursor.execute(INSERT, [values[c] for c in COLUMNS])


def read(
    action: str,
    *,
    project_id: int,
    memories: Iterable[Any] = (),
    total: int | None = None,
    scope: Mapping[str, Any] | None = None,
    filters: Any = None,
    query: str | None = None,
    extra_entities: Iterable[str] = (),
) -> None:
    """Log a read of memory content: what was asked (`scope`: entity ids; `filters` as given;
    `query`) and what came back (`memories`: Memory objects or memory payloads; the first
    MEMDASH_ACCESS_LOG_IDS of their ids are kept, with `total`). The entities of the row are
    those asked for and those of the memories returned, so "who read maria's memories" finds
    a search by wildcard too."""
    if not settings.MEMDASH_ACCESS_LOG:
        return
    ids: list[str] = []
    keys: set[str] = set(entity_keys(scope)) | set(filter_entities(filters)) | set(extra_entities)
    count = 0
    for memory in memories:
        count += 1
        fields = memory if isinstance(memory, Mapping) else vars(memory)
        keys.update(entity_keys(fields))
        if len(ids) < settings.MEMDASH_ACCESS_LOG_IDS:
            ids.append(str(fields.get("id")))
    _insert(
        current(),
        {
            "project_id": project_id,
            "kind": "read",
            "action": action,
            "entities": sorted(keys),
            "filters": filters,
            "query": query,
            "memory_ids": ids,
            "total": count if total is None else total,
        },
    )


def change(
    action: str,
    *,
    project_id: int | None,
    target: str = "",
    details: Mapping[str, Any] | None = None,
    entities: Iterable[str] = (),
    context: Context | None = None,
) -> None:
    """Log a change that is not a memory change (keys, members, settings, webhooks, logins,
    exports, erasures). `details` holds names, roles and before/after values, never secrets."""
    _insert(
        context or current(),
        {
            "project_id": project_id,
            "kind": "change",
            "action": action,
            "target": target,
            "details": dict(details) if details is not None else None,
            "entities": sorted(set(entities)),
        },
    )


def redact(
    project_id: int, *, entities: Iterable[str], memory_ids: Iterable[Any], name: str = ""
) -> int:
    """An erasure's redaction of the log's rows about its subject (those naming one of
    `entities` or one of `memory_ids`): the free text the requests gave (query, filters, and
    `name` inside the path) becomes "[erased]". The entity keys stay: pseudonymous references
    that still answer "who read this subject's memories". The one UPDATE the append-only
    trigger lets through, flagged for this transaction only; returns the rows redacted."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL memdash.audit_redaction = 'on'")
        cursor.execute(
            REDACT,
            {
                "marker": REDACTED,
                "name": name,
                "project": project_id,
                "entities": sorted(set(entities)),
                "memories": sorted({str(pk) for pk in memory_ids}),
            },
        )
        redacted = cursor.rowcount
        # SET LOCAL lasts until the outermost transaction ends, not this savepoint: close the
        # exception again, so nothing a caller does after this in its transaction gets it.
        cursor.execute("SET LOCAL memdash.audit_redaction = 'off'")
        return redacted
