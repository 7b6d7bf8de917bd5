"""Memory extraction: conversations in, facts out, deduplicated and kept up to date.

An add with inference is an Event. `run_add_event` takes it from PENDING to SUCCEEDED or
FAILED in two phases:

1. plan (no writes): format the messages, ask the LLM for facts, attribute each fact to the
   entity of the message it came from (the same rules as verbatim adds), embed the facts,
   fetch similar memories of the same scope, ask the LLM to decide ADD / UPDATE / DELETE / NONE
   per fact (existing memories shown under short temporary ids), and categorize the results;
2. apply: one transaction that locks the event, writes every change with its history row, and
   marks the event SUCCEEDED.

A retried or duplicated task finds the event already finished (or waits on its lock and then
does), or running under a live attempt, so it never writes twice; a task killed mid-way leaves
nothing half-written, and the stale-event sweeper runs it again. An attempt whose event was
taken over while it ran (its heartbeat stopped, yet it lived) writes nothing: only the attempt
the event is on applies its plan.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import EmbeddingError, MemdashError
from entities.services import touch_entities
from memories import embeddings, erasure, events, llm, pii, prompts, search
from memories.attribution import AddInput, Message, attribute, memory_hash
from memories.categories import DEFAULT_CATEGORIES
from memories.history import added_result, history_row
from memories.models import SCOPE_FIELDS, Category, Event, Memory, MemoryHistory
from memories.webhooks import notify
from tenancy.models import Project

logger = logging.getLogger(__name__)

RECENT_FOR_FORGET = 50


# --- running an event ----------------------------------------------------------------------------


def run_add_event(event_id: Any) -> Event | None:
    """Run the extraction pipeline for an ADD event. Safe to call twice.

    Raises LLMTransientError / EmbeddingError for the caller to retry; any other failure marks
    the event FAILED and is re-raised.
    """
    event = events.claim(event_id, kinds=(Event.Type.ADD,))
    if event is None:
        return Event.objects.filter(pk=event_id).first()
    usage = llm.Usage()
    try:
        add = AddInput.from_payload(event.payload)
        plan = build_plan(event, add, usage)
        events.heartbeat(event)
        return apply_plan(event, add, plan, usage)
    except (llm.LLMTransientError, EmbeddingError):
        raise
    except llm.LLMError as exc:
        events.fail(event.pk, str(exc))
        raise
    except MemdashError as exc:  # refused, e.g. while an erasure of the entity runs
        events.fail(event.pk, exc.detail)
        raise
    except Exception as exc:
        logger.exception("add pipeline failed for event %s", event.pk)
        events.fail(event.pk, f"internal error: {type(exc).__name__}: {exc}")
        raise


# --- 1. plan -------------------------------------------------------------------------------------


@dataclass
class Change:
    event: str  # ADD / UPDATE / DELETE
    scope: dict[str, str | None]
    text: str | None = None
    target: Memory | None = None
    role: str | None = None
    actor_id: str | None = None
    categories: list[str] | None = None
    embedding: list[float] | None = None
    # 0-based positions in the add's messages of the message(s) the text came from.
    source_messages: list[int] | None = None

    @property
    def new_text(self) -> str:
        """The text an ADD or UPDATE writes (a DELETE has none)."""
        if self.text is None:
            raise ValueError(f"a {self.event} change has no text")
        return self.text


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    ignored: list[dict] = field(default_factory=list)
    facts: int = 0
    # The texts the changes write, screened for personal data (memories.pii).
    screening: pii.Screening = field(default_factory=pii.Screening)


def transcript(messages: list[Message]) -> str:
    lines = []
    for number, message in enumerate(messages, start=1):
        speaker = f"{message.name} ({message.role})" if message.name else message.role
        content = (
            message.content
            if isinstance(message.content, str)
            else _describe_attachment(message.content)
        )
        lines.append(f"[{number}] {speaker}: {content}")
    return "\n".join(lines)


def _describe_attachment(content: Any) -> str:
    # Multimodal parts are not fetched (the server may have no network); the LLM sees what
    # kind of attachment was sent and any text part.
    parts = content if isinstance(content, list) else [content]
    described = []
    for part in parts:
        if isinstance(part, dict) and part.get("type") == "text":
            described.append(str(part.get("text", "")))
        elif isinstance(part, dict):
            kind = part.get("type", "attachment")
            url = (part.get(kind) or {}).get("url") if isinstance(part.get(kind), dict) else None
            described.append(
                f"[{kind}{': ' + url if url and not str(url).startswith('data:') else ''}]"
            )
    return " ".join(described)


def build_plan(event: Event, add: AddInput, usage: llm.Usage) -> Plan:
    project = event.project
    instructions = [
        add.custom_instructions
        if add.custom_instructions is not None
        else project.custom_instructions
    ]
    if add.scope.agent_id:
        instructions.append(
            add.agent_custom_instructions
            if add.agent_custom_instructions is not None
            else project.agent_custom_instructions
        )
    system, user = prompts.extract_prompt(
        transcript(add.messages),
        today=timezone.now().date(),
        observed_at=add.created_at,
        instructions=[i for i in instructions if i],
        includes=add.includes,
        excludes=add.excludes,
    )
    facts = prompts.parse_facts(
        llm.chat_json(task=prompts.EXTRACT, system=system, user=user, usage=usage),
        message_count=len(add.messages),
    )
    plan = Plan(facts=len(facts))

    # Each fact belongs to whoever the message it came from belongs to.
    groups: dict[tuple, list[tuple[prompts.Fact, Message]]] = {}
    for fact in facts:
        message = add.messages[fact.message - 1]
        owners = attribute([Message(message.role, fact.text, message.name)], add.scope)
        if not owners:
            plan.ignored.append(
                {
                    "fact": fact.text,
                    "reason": f"message {fact.message} belongs to no entity of this call",
                }
            )
            continue
        key = tuple(owners[0].scope[name] for name in SCOPE_FIELDS)
        groups.setdefault(key, []).append((fact, message))
    if not groups:
        return plan

    vectors = iter(embeddings.embed([fact.text for items in groups.values() for fact, _ in items]))
    for key, items in groups.items():
        scope = dict(zip(SCOPE_FIELDS, key, strict=True))
        fact_vectors = [next(vectors) for _ in items]
        plan.changes += _decide(project, scope, items, fact_vectors, plan, usage)

    _categorize(project, add, plan, usage)
    written = [c for c in plan.changes if c.event in ("ADD", "UPDATE")]
    # Refuses personal data (pii_mode reject) before anything is written, or redacts it.
    plan.screening = pii.screen(project, [c.new_text for c in written])
    for change in written:
        change.text = plan.screening.stored(change.new_text)
    fresh = embeddings.embed([c.new_text for c in written])
    for change, vector in zip(written, fresh, strict=True):
        change.embedding = vector
    return plan


def _decide(
    project: Project,
    scope: dict[str, str | None],
    items: list[tuple[prompts.Fact, Message]],
    vectors: list[list[float]],
    plan: Plan,
    usage: llm.Usage,
) -> list[Change]:
    """Decisions for the facts of one scope, against that scope's similar memories."""
    in_scope = (
        Memory.objects.for_project(project)
        .unexpired()
        .filter(**{k: v for k, v in scope.items() if v})
    )
    candidates: dict[str, Memory] = {}
    for vector in vectors:
        for memory in search.nearest(in_scope, vector, settings.MEMDASH_PIPELINE_CANDIDATES):
            candidates.setdefault(str(memory.pk), memory)
    if any(fact.forget for fact, _ in items):
        # "Forget all my food preferences" is rarely similar to the facts it covers.
        for memory in in_scope.newest_first().without_vectors()[:RECENT_FOR_FORGET]:
            candidates.setdefault(str(memory.pk), memory)

    role, actor_id = items[0][1].role, items[0][1].name
    if not candidates:
        decisions = [
            prompts.Decision("ADD", None, fact.text) for fact, _ in items if not fact.forget
        ]
        temp_ids: dict[str, Memory] = {}
    else:
        # Real ids are replaced by "0", "1", ... so the LLM cannot garble or invent UUIDs.
        temp_ids = {str(i): memory for i, memory in enumerate(candidates.values())}
        existing = [{"id": temp, "text": memory.memory} for temp, memory in temp_ids.items()]
        system, user = prompts.decide_prompt(existing, [fact for fact, _ in items])
        decisions = prompts.parse_decisions(
            llm.chat_json(task=prompts.DECIDE, system=system, user=user, usage=usage)
        )

    changes: list[Change] = []
    facts = [fact for fact, _ in items]
    touched: set[str] = set()
    known_hashes = {memory.hash for memory in candidates.values()}
    known_hashes |= set(
        in_scope.filter(hash__in=[memory_hash(d.text) for d in decisions if d.text]).values_list(
            "hash", flat=True
        )
    )
    for decision in decisions:
        if decision.event == "NONE":
            continue
        if decision.event == "ADD":
            digest = memory_hash(decision.new_text)
            if digest in known_hashes:
                plan.ignored.append({"text": decision.text, "reason": "already remembered"})
                continue
            known_hashes.add(digest)
            changes.append(
                Change(
                    "ADD",
                    scope,
                    text=decision.text,
                    role=role,
                    actor_id=actor_id,
                    source_messages=source_messages_of(decision.new_text, facts),
                )
            )
            continue
        target = temp_ids.get(decision.temp_id or "")
        if target is None:
            plan.ignored.append(
                {"decision": decision.event, "id": decision.temp_id, "reason": "unknown memory id"}
            )
            continue
        if str(target.pk) in touched:
            plan.ignored.append(
                {
                    "decision": decision.event,
                    "id": decision.temp_id,
                    "reason": "memory already changed",
                }
            )
            continue
        if target.immutable:
            plan.ignored.append(
                {
                    "decision": decision.event,
                    "memory_id": str(target.pk),
                    "reason": "memory is immutable",
                }
            )
            continue
        if decision.event == "UPDATE" and decision.text == target.memory:
            continue
        touched.add(str(target.pk))
        changes.append(Change(decision.event, scope, text=decision.text, target=target))
    return changes


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


def source_messages_of(text: str, facts: list[prompts.Fact]) -> list[int]:
    """The 0-based positions of the messages a decision's text came from.

    Facts carry the number of their message (the extraction prompt asks for it, parse_facts
    validates it), but the decision step rewrites facts without saying which: a text equal to a
    fact is that fact's; otherwise the facts sharing the most words with it (an ADD reworded, an
    UPDATE merging several facts); with no word in common, every fact of the group, since the
    decision can only have come from one of them.
    """
    if not facts:
        return []
    wanted = " ".join(text.split()).casefold()
    exact = [f for f in facts if " ".join(f.text.split()).casefold() == wanted]
    if exact:
        picked = exact
    else:
        words = _words(text)
        overlap = [(len(words & _words(f.text)), f) for f in facts]
        best = max(score for score, _ in overlap)
        picked = [f for score, f in overlap if score == best] if best else facts
    return sorted({fact.message - 1 for fact in picked})


def _categorize(project: Project, add: AddInput, plan: Plan, usage: llm.Usage) -> None:
    changed = [c for c in plan.changes if c.event in ("ADD", "UPDATE")]
    if not changed:
        return
    allowed = category_choices(project, add.custom_categories)
    system, user = prompts.categorize_prompt([c.new_text for c in changed], allowed)
    reply = llm.chat_json(task=prompts.CATEGORIZE, system=system, user=user, usage=usage)
    for change, names in zip(
        changed,
        prompts.parse_categories(reply, count=len(changed), allowed={n for n, _ in allowed}),
        strict=True,
    ):
        change.categories = names


def category_choices(
    project: Project, custom: list[dict[str, str]] | None
) -> list[tuple[str, str]]:
    """Per-call custom categories replace the project's, which replace the default catalogue."""
    if custom:
        return [(name, description) for item in custom for name, description in item.items()]
    own = [(c.name, c.description) for c in Category.objects.filter(project=project)]
    if own:
        return own
    defaults = [(c.name, c.description) for c in Category.objects.filter(project__isnull=True)]
    return defaults or list(DEFAULT_CATEGORIES)


# --- 2. apply ------------------------------------------------------------------------------------


def apply_plan(event: Event, add: AddInput, plan: Plan, usage: llm.Usage) -> Event:
    """Write the plan in one transaction, unless another delivery of the task already did."""
    writer = _Writer(event, add, plan.screening)
    with transaction.atomic():
        locked = Event.objects.select_for_update().get(pk=event.pk)
        # Finished by another delivery, or re-queued or taken over since this attempt claimed
        # it (its worker looked dead): the attempt that holds the event writes, not this one.
        if locked.status != Event.Status.RUNNING or locked.attempts != event.attempts:
            return locked
        targets = Memory.objects.select_for_update().in_bulk(
            [c.target.pk for c in plan.changes if c.target is not None]
        )
        erasure.guard_writes(
            event.project,
            [c.scope for c in plan.changes if c.event == "ADD"]
            + [m.scope() for m in targets.values()],
        )
        for change in plan.changes:
            if change.event == "ADD":
                writer.add(change)
            elif change.target is None or (memory := targets.get(change.target.pk)) is None:
                continue  # deleted since the plan was made
            elif change.event == "UPDATE":
                writer.update(memory, change)
            else:
                writer.delete(memory)
        Memory.objects.bulk_create(writer.new_memories)
        MemoryHistory.objects.bulk_create(writer.history)
        # An update by a later add is activity of the memory's entities as much as an add.
        touch_entities(
            event.project,
            (m.scope() for m in [*writer.new_memories, *writer.updated]),
            at=writer.now,
        )
        events.finish(
            locked,
            results=writer.results,
            details={"llm": usage.as_dict(), "facts": plan.facts, "ignored": plan.ignored},
        )
        pii.redact_event_payload(locked, plan.screening)
        notify.on_commit(event.project_id, writer.notifications)
    return locked


class _Writer:
    """Collects the rows, results and webhook notifications of one plan's changes."""

    def __init__(self, event: Event, add: AddInput, screening: pii.Screening):
        self.event = event
        self.add_input = add
        self.screening = screening
        self.now = timezone.now()
        self.model_name = embeddings.get_embedder().name
        self.input_messages = screening.message_dicts(event.payload["messages"])
        self.new_memories: list[Memory] = []
        self.updated: list[Memory] = []
        self.history: list[MemoryHistory] = []
        self.results: list[dict] = []
        self.notifications: list[dict] = []

    def _record(self, memory: Memory, action: str, *, old: str | None, result: dict) -> None:
        self.history.append(
            self.screening.note(
                history_row(
                    memory,
                    action,
                    old=old,
                    actor="pipeline",
                    event=self.event,
                    input=self.input_messages,
                )
            )
        )
        self.results.append(result)
        self.notifications.append(notify.memory_change(action, memory))
        if action != "DELETE" and memory.categories:
            self.notifications.append(notify.categorize_change(memory))

    def add(self, change: Change) -> None:
        add = self.add_input
        created_at = add.created_at or self.now
        memory = Memory(
            project=self.event.project,
            memory=change.new_text,
            hash=memory_hash(change.new_text),
            metadata=add.metadata,
            categories=change.categories,
            immutable=add.immutable,
            expiration_date=add.expiration_date,
            created_at=created_at,
            updated_at=created_at,
            embedding=change.embedding,
            embedding_model=self.model_name,
            role=change.role,
            actor_id=change.actor_id,
            source_event=self.event,
            pii_kinds=self.screening.kinds(change.new_text),
            source_messages=change.source_messages,
            **change.scope,
        )
        self.new_memories.append(memory)
        self._record(memory, "ADD", old=None, result=added_result(memory))

    def update(self, memory: Memory, change: Change) -> None:
        old = memory.memory
        memory.memory = change.new_text
        memory.hash = memory_hash(change.new_text)
        memory.embedding = change.embedding
        memory.embedding_model = self.model_name
        memory.categories = change.categories or memory.categories
        memory.pii_kinds = self.screening.kinds(change.new_text)
        memory.updated_at = self.now
        memory.save(
            update_fields=[
                "memory",
                "hash",
                "embedding",
                "embedding_model",
                "categories",
                "pii_kinds",
                "updated_at",
            ]
        )
        self.updated.append(memory)
        self._record(
            memory,
            "UPDATE",
            old=old,
            result={**added_result(memory, "UPDATE"), "previous_memory": old},
        )

    def delete(self, memory: Memory) -> None:
        self._record(memory, "DELETE", old=memory.memory, result=added_result(memory, "DELETE"))
        memory.delete()
