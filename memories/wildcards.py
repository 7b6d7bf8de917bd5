"""Wildcard deletes: deletes by filter that span every user, agent, app or run of a project.

Mem0's API reference documents `DELETE /v1/memories/?user_id=*` ("Pass `*` to delete memories
for all users"), and the SDKs send it for `delete_all(user_id="*")`, so memdash keeps it with
the Platform's answers. What it adds is that such a delete is never an ordinary one in the
record: memories.services opens it as a DELETE_ALL Event whose payload says what it spanned
(`"wildcard": ["user_id"]`), Activity flags it, and its memories go to the trash like any
ordinary delete's (memories.trash), so it can be undone until MEMDASH_TRASH_DAYS pass.

A filter spans an entity field when the field is given a bare "*" (any id; `{"eq": "*"}` is the
literal id "*", see memories.filters) or an `in` list holding one, at the top level or under
AND/OR. Under NOT it narrows instead, so it does not count. A filter that names no entity at
all and no memory ids (the dashboard's "delete all matching" with no entity pill) spans all
four fields: it reaches every owner's memories.
"""

from __future__ import annotations

from typing import Any

from memories.filters import CAMEL_CASE_ALIASES, ENTITY_FIELDS
from memories.models import Event

# How Activity names what a wildcard delete spanned.
PLURALS = {"user_id": "users", "agent_id": "agents", "app_id": "apps", "run_id": "runs"}


def spanned_fields(filters: dict[str, Any]) -> list[str]:
    """The entity fields (in ENTITY_FIELDS order) whose every id `filters` reaches; empty for
    a delete of named entities or memories."""
    found: set[str] = set()
    mentioned: set[str] = set()
    _walk(filters, found, mentioned)
    if not mentioned:
        return list(ENTITY_FIELDS)
    return [name for name in ENTITY_FIELDS if name in found]


def describe(fields: list[str]) -> str:
    """ "all users", "all users and agents", "all users, agents, apps and runs"."""
    names = [PLURALS[name] for name in ENTITY_FIELDS if name in fields]
    if len(names) < 2:
        return f"all {''.join(names)}"
    return f"all {', '.join(names[:-1])} and {names[-1]}"


def recorded_span(event: Event) -> list[str] | None:
    """The entity fields a DELETE_ALL Event spanned (as its payload records them); None for
    any other Event."""
    if event.event_type != Event.Type.DELETE_ALL:
        return None
    recorded = (event.payload or {}).get("wildcard")
    fields = [name for name in ENTITY_FIELDS if isinstance(recorded, list) and name in recorded]
    return fields or list(ENTITY_FIELDS)


def flag(event: Event) -> str | None:
    """How Activity flags a wildcard delete ("Wildcard delete: all users"); None for any other
    Event."""
    spanned = recorded_span(event)
    return None if spanned is None else flag_for(spanned)


def flag_for(fields: list[str]) -> str:
    """The flag of a wildcard delete that spanned `fields`."""
    return f"Wildcard delete: {describe(fields)}"


def _walk(node: Any, found: set[str], mentioned: set[str], *, negated: bool = False) -> None:
    """Collect the fields given a wildcard outside NOT (`found`) and the keys that name
    entities or memories anywhere (`mentioned`: under NOT they still scope the filter)."""
    if isinstance(node, list):
        for part in node:
            _walk(part, found, mentioned, negated=negated)
        return
    if not isinstance(node, dict):
        return
    for raw_key, value in node.items():
        key = CAMEL_CASE_ALIASES.get(raw_key, raw_key)
        if key in ("AND", "OR", "NOT"):
            _walk(value, found, mentioned, negated=negated or key == "NOT")
        elif key in ENTITY_FIELDS or key == "memory_ids":
            if isinstance(value, str) and not value.strip():
                continue  # an empty id is no id (memories.filters)
            mentioned.add(key)
            if key != "memory_ids" and not negated and _is_wildcard(value):
                found.add(key)


def _is_wildcard(condition: Any) -> bool:
    """A bare "*", or an `in` list holding one ({"eq": "*"} is the literal id). Spaces around
    it do not hide it: the filter language reads ids stripped."""

    def bare(item: Any) -> bool:
        return isinstance(item, str) and item.strip() == "*"

    if isinstance(condition, dict):
        listed = condition.get("in")
        return isinstance(listed, list) and any(bare(item) for item in listed)
    return bare(condition)
