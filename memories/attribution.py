"""Who a message belongs to: the vocabulary every write shares (scope, messages, attribution,
content hashes).

Mem0's rules, as the seed documents show them, decide whose memory each message of an add
becomes; verbatim adds (memories.services) and the extraction pipeline (memories.pipeline)
apply the same rules, so a fact always lands where its message would have.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from memories.models import SCOPE_FIELDS

# Message roles that speak for an agent. The group-chat docs also use "agent".
ASSISTANT_ROLES = {"assistant", "agent"}


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
