"""The prompts memdash sends its LLM (extraction, and filling an export's schema), and the
parsing of what comes back.

Each system prompt starts with a `# Task:` line naming its step, so provider logs (and the
scripted LLM of the test suite) can tell the three calls apart. Every reply is validated here:
a reply of the wrong shape raises LLMResponseError and the operation fails with nothing written.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from memories.llm import LLMResponseError

EXTRACT = "extract facts"
DECIDE = "update memories"
CATEGORIZE = "categorize memories"
FILL_EXPORT = "fill export schema"

MAX_FACTS = 50
MAX_FACT_CHARS = 2000


# --- 1. extraction ---------------------------------------------------------------------------------

EXTRACT_SYSTEM = """# Task: extract facts
You read a conversation and pull out the facts worth remembering about its participants, for
the long-term memory of an AI assistant.

Answer with one JSON object, nothing else:
{"facts": [{"text": "<fact>", "message": <number of the message it comes from>}]}

How to write facts:
- One self-contained fact per entry, short and specific, in the present tense, without the
  speaker's name when the fact is about the speaker ("Is vegetarian", "Allergic to nuts",
  "Planning a trip to Japan next month", "Prefers React for the frontend").
- Facts about a person come from that person's own messages. Facts about an assistant
  (its name, persona, plans, preferences) come from the assistant's messages.
- Skip greetings, small talk, questions that reveal nothing, and an assistant repeating what
  the user said.
- When a speaker asks to forget or delete something, add
  {"text": "<what should be forgotten>", "message": <n>, "forget": true}.
- Write facts in the language of the conversation.
- When nothing is worth remembering, answer {"facts": []}."""


def extract_prompt(
    transcript: str,
    *,
    today: dt.date,
    observed_at: dt.datetime | None,
    instructions: list[str],
    includes: str | None,
    excludes: str | None,
) -> tuple[str, str]:
    system = EXTRACT_SYSTEM
    extra = [i for i in instructions if i and i.strip()]
    if includes:
        extra.append(f"Only remember information of this kind: {includes}")
    if excludes:
        extra.append(f"Never remember information of this kind: {excludes}")
    if extra:
        system += (
            "\n\nThe operator of this memory store adds these instructions (follow them):\n"
            + "\n".join(f"- {line.strip()}" for line in extra)
        )
    when = (
        f"\nThe conversation took place on {observed_at.date().isoformat()}." if observed_at else ""
    )
    user = f"Today is {today.isoformat()}.{when}\n\nConversation:\n{transcript}"
    return system, user


@dataclass
class Fact:
    text: str
    message: int
    forget: bool = False


def parse_facts(reply: dict, *, message_count: int) -> list[Fact]:
    items = reply.get("facts")
    if not isinstance(items, list):
        raise LLMResponseError('fact extraction reply has no "facts" list')
    facts: list[Fact] = []
    for index, item in enumerate(items[:MAX_FACTS]):
        if not isinstance(item, dict):
            raise LLMResponseError(f"fact {index} of the extraction reply is not an object")
        text = item.get("text")
        if not isinstance(text, str) or not text.strip():
            raise LLMResponseError(f"fact {index} of the extraction reply has no text")
        number = item.get("message")
        if (
            isinstance(number, bool)
            or not isinstance(number, int | str)
            or not str(number).strip().isdigit()
        ):
            raise LLMResponseError(f"fact {index} of the extraction reply has no message number")
        number = int(number)
        if not 1 <= number <= message_count:
            # An invented message number cannot be attributed to anyone: drop the fact.
            continue
        facts.append(
            Fact(
                text=text.strip()[:MAX_FACT_CHARS],
                message=number,
                forget=item.get("forget") is True,
            )
        )
    return facts


# --- 2. decisions ----------------------------------------------------------------------------------

DECIDE_SYSTEM = """# Task: update memories
You keep the memory of one person or agent up to date. You get the EXISTING MEMORIES (each with
an id) and NEW FACTS just learned. Decide, for each new fact, what changes.

Answer with one JSON object, nothing else:
{"memory": [{"event": "ADD" | "UPDATE" | "DELETE" | "NONE", "id": "<id>", "text": "<text>"}]}

- ADD: the fact is new. Give "text"; leave out "id".
- UPDATE: the fact changes or refines an existing memory. Give that memory's "id" and the full
  new "text" (merge what is still true).
- DELETE: an existing memory is no longer true (the fact contradicts it), or a fact marked
  "forget" asks to remove it. Give its "id". Delete every memory a forget request covers.
- NONE: the fact is already known. Give the "id" of the memory that knows it.
- Only use ids from EXISTING MEMORIES. Never invent ids. A forget request is never ADDed."""


def decide_prompt(existing: list[dict], facts: list[Fact]) -> tuple[str, str]:
    new = [{"text": f.text, **({"forget": True} if f.forget else {})} for f in facts]
    user = (
        "EXISTING MEMORIES:\n"
        + json.dumps(existing, ensure_ascii=False, indent=1)
        + "\n\nNEW FACTS:\n"
        + json.dumps(new, ensure_ascii=False, indent=1)
    )
    return DECIDE_SYSTEM, user


@dataclass
class Decision:
    event: str
    temp_id: str | None
    text: str | None

    @property
    def new_text(self) -> str:
        """The text an ADD or UPDATE writes (parse_decisions refuses those without one)."""
        if self.text is None:
            raise LLMResponseError(f"a {self.event} decision has no text")
        return self.text


def parse_decisions(reply: dict) -> list[Decision]:
    items = reply.get("memory")
    if not isinstance(items, list):
        raise LLMResponseError('update reply has no "memory" list')
    decisions = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise LLMResponseError(f"decision {index} of the update reply is not an object")
        event = str(item.get("event", "")).upper()
        if event not in ("ADD", "UPDATE", "DELETE", "NONE"):
            raise LLMResponseError(
                f"decision {index} of the update reply has an unknown event {item.get('event')!r}"
            )
        temp_id = item.get("id")
        temp_id = str(temp_id) if temp_id is not None else None
        text = item.get("text")
        if event in ("ADD", "UPDATE") and (not isinstance(text, str) or not text.strip()):
            raise LLMResponseError(f"decision {index} ({event}) of the update reply has no text")
        decisions.append(
            Decision(
                event, temp_id, text.strip()[:MAX_FACT_CHARS] if isinstance(text, str) else None
            )
        )
    return decisions


# --- 3. categories ---------------------------------------------------------------------------------

CATEGORIZE_SYSTEM = """# Task: categorize memories
Assign each memory to the categories that describe it, choosing only from the allowed list.

Answer with one JSON object, nothing else:
{"categories": [["<name>", ...], ...]}
One list per memory, in the order given; an empty list when no category fits."""


def categorize_prompt(texts: list[str], categories: list[tuple[str, str]]) -> tuple[str, str]:
    allowed = "\n".join(
        f"- {name}: {description}" if description else f"- {name}"
        for name, description in categories
    )
    memories = "\n".join(f"{i + 1}. {text}" for i, text in enumerate(texts))
    return CATEGORIZE_SYSTEM, f"Allowed categories:\n{allowed}\n\nMemories:\n{memories}"


def parse_categories(reply: dict, *, count: int, allowed: set[str]) -> list[list[str]]:
    lists = reply.get("categories")
    if not isinstance(lists, list):
        raise LLMResponseError('categorization reply has no "categories" list')
    result: list[list[str]] = []
    for index in range(count):
        names: Any = lists[index] if index < len(lists) else []
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list):
            raise LLMResponseError(f"categories for memory {index + 1} are not a list")
        # Names outside the allowed list are dropped rather than failing the whole add.
        picked = []
        for name in names:
            if isinstance(name, str) and name.strip() in allowed and name.strip() not in picked:
                picked.append(name.strip())
        result.append(picked)
    return result


# --- exports ---------------------------------------------------------------------------------------

FILL_EXPORT_SYSTEM = """# Task: fill export schema
You turn the memories an AI assistant keeps about someone into one JSON object that follows a
JSON Schema, for a structured export of those memories.

Answer with the JSON object only, valid against the schema:
- Use only what the memories say; leave a field null (or out, when it is not required) when they
  say nothing about it. Never invent values.
- When memories contradict each other, the newest one wins (each memory has its date).
- Follow the export instructions, when there are any, unless they contradict the schema."""


def fill_export_prompt(
    schema: dict[str, Any], memories: list[dict[str, Any]], instructions: str, problem: str = ""
) -> tuple[str, str]:
    parts = [f"JSON Schema:\n{json.dumps(schema, ensure_ascii=False)}"]
    if instructions.strip():
        parts.append(f"Export instructions:\n{instructions.strip()}")
    parts.append(f"Memories (newest first):\n{json.dumps(memories, ensure_ascii=False)}")
    if problem:
        parts.append(f"Your previous answer did not follow the schema: {problem}. Correct it.")
    return FILL_EXPORT_SYSTEM, "\n\n".join(parts)


# --- summaries -------------------------------------------------------------------------------------

SUMMARISE = "summarise memories"
MAX_SUMMARY_CHARS = 20_000

SUMMARISE_SYSTEM = """# Task: summarise memories
You read the memories an AI assistant keeps (about users, agents, apps or runs) and write a
short summary of what they say, for a person who wants the gist without reading them all.

Answer with one JSON object, nothing else:
{"summary": "<the summary, in plain prose>"}

- Use only what the memories say; never invent facts.
- Group related memories; lead with what matters most; keep it to a few short paragraphs.
- When memories contradict each other, the newest one wins (each memory has its date).
- Follow the custom instructions, when there are any."""


def summary_prompt(memories: list[dict[str, Any]], instructions: str) -> tuple[str, str]:
    parts = []
    if instructions.strip():
        parts.append(f"Custom instructions:\n{instructions.strip()}")
    parts.append(f"Memories (newest first):\n{json.dumps(memories, ensure_ascii=False)}")
    return SUMMARISE_SYSTEM, "\n\n".join(parts)


def parse_summary(reply: dict) -> str:
    text = reply.get("summary")
    if not isinstance(text, str) or not text.strip():
        raise LLMResponseError('summary reply has no "summary" text')
    return text.strip()[:MAX_SUMMARY_CHARS]


# --- profiles --------------------------------------------------------------------------------------

WRITE_PROFILE = "write user profile"

WRITE_PROFILE_SYSTEM = """# Task: write user profile
You turn the memories an AI assistant keeps about one user into their profile: one JSON object
that follows a JSON Schema, so that the assistant can know the user at a glance.

Answer with the JSON object only, valid against the schema:
- Each property's description says what belongs in it.
- Use only what the memories say; leave a field null (or out, when it is not required) when they
  say nothing about it. Never invent values.
- When memories contradict each other, the newest one wins (each memory has its date).
- Follow the custom instructions, when there are any, unless they contradict the schema."""


def profile_prompt(
    schema: dict[str, Any], memories: list[dict[str, Any]], instructions: str, problem: str = ""
) -> tuple[str, str]:
    parts = [f"JSON Schema:\n{json.dumps(schema, ensure_ascii=False)}"]
    if instructions.strip():
        parts.append(f"Custom instructions:\n{instructions.strip()}")
    parts.append(
        f"Memories of the user (newest first):\n{json.dumps(memories, ensure_ascii=False)}"
    )
    if problem:
        parts.append(f"Your previous answer did not follow the schema: {problem}. Correct it.")
    return WRITE_PROFILE_SYSTEM, "\n\n".join(parts)
