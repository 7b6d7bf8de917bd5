"""Expected payloads for the SDK tests: what the official clients hand back from memdash.

The Python clients return the JSON unchanged (snake_case); the npm client camel-cases every key
except those under `metadata` (and a few other user-keyed objects), so `camel()` turns an
expected payload into its npm form.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

from tests.conftest import ANY_TIMESTAMP, ANY_UUID

# 2024-07-20T12:00:00Z, a Saturday. Memories added with `timestamp=JULY_20_2024 + n` have fully
# predictable created_at, updated_at and structured_attributes, and a predictable order.
JULY_20_2024 = 1721476800
JULY_20_2024_ATTRIBUTES = {
    "year": 2024,
    "month": 7,
    "day": 20,
    "hour": 12,
    "minute": 0,
    "day_of_week": "saturday",
    "week_of_year": 29,
    "day_of_year": 202,
    "quarter": 3,
    "is_weekend": True,
}
MINUTE = 60
DAY = 86400


class _AnyEntityId:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.isdigit()

    def __repr__(self) -> str:
        return "ANY_ENTITY_ID"


ANY_ENTITY_ID = _AnyEntityId()


def iso(timestamp: int) -> str:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).isoformat()


def calendar(timestamp: int) -> dict:
    """structured_attributes of a memory created at `timestamp` (UTC calendar facts)."""
    moment = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    return {
        "year": moment.year,
        "month": moment.month,
        "day": moment.day,
        "hour": moment.hour,
        "minute": moment.minute,
        "day_of_week": moment.strftime("%A").lower(),
        "week_of_year": moment.isocalendar()[1],
        "day_of_year": moment.timetuple().tm_yday,
        "quarter": (moment.month - 1) // 3 + 1,
        "is_weekend": moment.weekday() >= 5,
    }


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def memory(
    text: str,
    *,
    at: int = JULY_20_2024,
    id: Any = ANY_UUID,
    user_id: str | None = None,
    agent_id: str | None = None,
    app_id: str | None = None,
    run_id: str | None = None,
    actor_id: str | None = None,
    role: str = "user",
    metadata: dict | None = None,
    immutable: bool = False,
    expiration_date: str | None = None,
    updated_at: Any = None,
    score: Any = None,
) -> dict:
    """Mem0's memory object as memdash serves it (get, list, search, update)."""
    data = {
        "id": id,
        "memory": text,
        "user_id": user_id,
        "agent_id": agent_id,
        "app_id": app_id,
        "run_id": run_id,
        "session_id": run_id,
        "actor_id": actor_id,
        "role": role,
        "hash": md5(text),
        "metadata": metadata,
        "categories": None,
        "immutable": immutable,
        "expiration_date": expiration_date,
        "created_at": iso(at),
        "updated_at": iso(at) if updated_at is None else updated_at,
        "structured_attributes": calendar(at),
        "replaced_by": None,
        "synthesized": None,
        "lifecycle_state": None,
    }
    if score is not None:
        data["score"] = score
    return data


def added(text: str, id: Any = ANY_UUID) -> dict:
    """One entry of an add response's `results`."""
    return {"id": id, "memory": text, "data": {"memory": text}, "event": "ADD"}


def add_response(*texts: str) -> dict:
    """The synchronous answer to an `infer=False` add on /v3/memories/add/."""
    return {
        "message": "Memories stored successfully",
        "status": "SUCCEEDED",
        "event_id": ANY_UUID,
        "results": [added(text) for text in texts],
    }


def history_entry(
    memory_id: Any,
    event: str,
    *,
    old: str | None,
    new: str | None,
    actor: str,
    input: list | None = None,
    user_id: str | None = None,
    agent_id: str | None = None,
    app_id: str | None = None,
    run_id: str | None = None,
    metadata: dict | None = None,
) -> dict:
    return {
        "id": ANY_UUID,
        "memory_id": memory_id,
        "input": input,
        "old_memory": old,
        "new_memory": new,
        "user_id": user_id,
        "agent_id": agent_id,
        "app_id": app_id,
        "run_id": run_id,
        "session_id": run_id,
        "categories": None,
        "event": event,
        "metadata": metadata,
        "actor": actor,
        "event_id": ANY_UUID,
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
    }


def entity(name: str, kind: str, total_memories: int) -> dict:
    """One entry of `users()`."""
    return {
        "id": ANY_ENTITY_ID,
        "name": name,
        "type": kind,
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
        "owner": None,
        "metadata": {},
        "total_memories": total_memories,
    }


def page(results: list, *, count: int | None = None, next: str | None = None, previous=None):
    return {
        "count": len(results) if count is None else count,
        "next": next,
        "previous": previous,
        "results": results,
    }


# Keys whose values the npm client passes through untouched.
_OPAQUE = {"metadata", "custom_categories", "structured_data_schema", "profile"}
_SNAKE = re.compile(r"_([a-z])")


def camel(value: Any) -> Any:
    """An expected payload as the npm client returns it."""
    if isinstance(value, list):
        return [camel(item) for item in value]
    if isinstance(value, dict):
        return {
            _SNAKE.sub(lambda m: m.group(1).upper(), key): item if key in _OPAQUE else camel(item)
            for key, item in value.items()
        }
    return value
