"""Who a message belongs to: the vocabulary every write shares (what an add asked for, scope,
messages, attribution, content hashes).

Mem0's rules, as the seed documents show them, decide whose memory each message of an add
becomes; verbatim adds (memories.services) and the extraction pipeline (memories.pipeline)
apply the same rules, so a fact always lands where its message would have.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from memories.models import SCOPE_FIELDS

# Message roles that speak for an agent. The group-chat docs also use "agent".
ASSISTANT_ROLES = {"assistant", "agent"}


# How an add's recorded payload says it was made with "all ids" attribution.
ALL_IDS_MARK = {"attribution": "all_ids"}


def memory_hash(text: str) -> str:
    """Mem0's content hash: md5 of the memory text (used for exact-duplicate detection)."""
    return hashlib.md5(text.encode()).hexdigest()


@dataclass(frozen=True)
class Scope:
    """The entity ids one add call carries (top-level user_id, agent_id, app_id, run_id), and
    whether every memory of the call carries all of them (the project's attribution setting,
    tenancy.models.Attribution; recorded with the add so a queued add and a later erasure read
    the call as it was made)."""

    user_id: str | None = None
    agent_id: str | None = None
    app_id: str | None = None
    run_id: str | None = None
    all_ids: bool = False

    def as_dict(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in SCOPE_FIELDS}

    @property
    def is_empty(self) -> bool:
        return not any(self.as_dict().values())


@dataclass(frozen=True)
class Message:
    """One message of an add call. `content` is text, or a multimodal part (inference only)."""

    role: str
    content: Any
    name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The message as history rows and Event payloads record it."""
        data = {"role": self.role, "content": self.content}
        if self.name:
            data["name"] = self.name
        return data


@dataclass
class Attributed:
    """A message's text and the entity ids it belongs to, after the attribution rules."""

    text: str
    scope: dict[str, str | None]
    role: str
    actor_id: str | None


def attribute(messages: Sequence[Message], scope: Scope) -> list[Attributed]:
    """Decide whose memory each message is (Mem0's rules, as its guides show them).

    - system messages are never stored;
    - a message's `name` makes the speaker the entity, lower-cased (group chats): a user's name
      becomes its user_id, an assistant's its agent_id;
    - user messages belong to user_id; in an agent_id-only call they are input to the agent;
    - assistant messages belong to agent_id, and are dropped when the call has none;
    - app_id and run_id are copied to every memory of the call;
    - with `scope.all_ids` (the project's "all ids" attribution), every user and assistant
      message carries every id of the call, a named speaker in place of its side's id.
    """
    attributed = []
    for message in messages:
        ids = owner_of(message, scope)
        if ids is not None:
            role = "assistant" if message.role in ASSISTANT_ROLES else message.role
            attributed.append(Attributed(message.content, ids, role, message.name))
    return attributed


def owner_of(message: Message, scope: Scope) -> dict[str, str | None] | None:
    """The entity ids `message` of a call with `scope` belongs to (attribute's rules), or None
    for a message that belongs to nobody (system messages, an assistant's without agent_id)."""
    role = "assistant" if message.role in ASSISTANT_ROLES else message.role
    if role not in ("user", "assistant"):
        return None
    name = message.name
    speaker = name.strip().lower() if isinstance(name, str) and name.strip() else None
    if scope.all_ids:
        every = scope.as_dict()
        if speaker:
            every["user_id" if role == "user" else "agent_id"] = speaker
        return every if any(every.values()) else None
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
        return None
    ids["app_id"] = scope.app_id
    ids["run_id"] = scope.run_id
    return ids if any(ids.values()) else None


def recorded_scope(payload: dict[str, Any]) -> Scope:
    """The scope an add's recorded payload names (top-level ids and its attribution)."""
    ids = {name: payload.get(name) or None for name in SCOPE_FIELDS}
    return Scope(**ids, all_ids=payload.get("attribution") == ALL_IDS_MARK["attribution"])


def speakers(messages: Sequence[Message]) -> list[str]:
    """The entity ids the named messages of a call speak as (group chats), lower-cased."""
    return sorted(
        {m.name.strip().lower() for m in messages if isinstance(m.name, str) and m.name.strip()}
    )


@dataclass
class AddInput:
    """What an add asked for (an inference add stores it as its Event's payload)."""

    messages: list[Message]
    scope: Scope
    metadata: dict[str, Any] | None = None
    immutable: bool = False
    expiration_date: dt.date | None = None
    created_at: dt.datetime | None = None
    custom_categories: list[dict[str, str]] | None = None
    custom_instructions: str | None = None
    agent_custom_instructions: str | None = None
    includes: str | None = None
    excludes: str | None = None

    def to_payload(self) -> dict[str, Any]:
        return {
            "messages": [m.as_dict() for m in self.messages],
            **{k: v for k, v in self.scope.as_dict().items() if v},
            **(ALL_IDS_MARK if self.scope.all_ids else {}),
            "infer": True,
            "metadata": self.metadata,
            "immutable": self.immutable,
            "expiration_date": self.expiration_date.isoformat() if self.expiration_date else None,
            "timestamp": self.created_at.isoformat() if self.created_at else None,
            "custom_categories": self.custom_categories,
            "custom_instructions": self.custom_instructions,
            "agent_custom_instructions": self.agent_custom_instructions,
            "includes": self.includes,
            "excludes": self.excludes,
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> AddInput:
        return cls(
            messages=[Message(m["role"], m["content"], m.get("name")) for m in data["messages"]],
            scope=recorded_scope(data),
            metadata=data.get("metadata"),
            immutable=bool(data.get("immutable")),
            expiration_date=dt.date.fromisoformat(data["expiration_date"])
            if data.get("expiration_date")
            else None,
            created_at=dt.datetime.fromisoformat(data["timestamp"])
            if data.get("timestamp")
            else None,
            custom_categories=data.get("custom_categories"),
            custom_instructions=data.get("custom_instructions"),
            agent_custom_instructions=data.get("agent_custom_instructions"),
            includes=data.get("includes"),
            excludes=data.get("excludes"),
        )
