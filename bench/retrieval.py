"""The retrieval benchmark: LoCoMo conversations stored verbatim, their questions searched.

Each conversation becomes one user scope (user_id = its sample_id) of a throwaway project. Every
turn is stored as it was said ("Speaker: text") through memories.services.add_memories, the path
of the API's add with `infer=false`, with its `dia_id` and session date in metadata and the
session's date as created_at. Every question of categories 1-4 is then searched in that scope
through memories.search.search_memories (the API's search), and a question counts as found at
k when its evidence turns (their `dia_id`s) are among the first k results: "any" when at least
one is, "all" when every one is. No LLM is involved anywhere.

The data (LoCoMo, CC BY-NC 4.0) is read from the given path at run time and never copied.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.results import percentile
from bench.seeding import drop_projects
from memories import services
from memories.attribution import Message, Scope
from memories.models import Memory
from memories.search import search_memories
from tenancy.models import Project
from tenancy.services import get_or_create_project

# LoCoMo's categories 1-4 (harnesses name them differently); 5 (adversarial: the answer is not
# in the conversation) has no evidence to find and is left out.
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
CUTOFFS = (1, 5, 10)
TOP_K = max(CUTOFFS)
SESSION_KEY = re.compile(r"session_(\d+)$")
# "1:56 pm on 8 May, 2023"
SESSION_DATE_FORMAT = "%I:%M %p on %d %B, %Y"
# A few evidence lists are typed by hand: "D8:6; D9:17", "D:11:26".
EVIDENCE_ID = re.compile(r"D:?(\d+):(\d+)")

Log = Callable[[str], None]


class DatasetError(ValueError):
    """The file is not a list of LoCoMo-format conversations."""


@dataclass(frozen=True)
class Turn:
    dia_id: str
    speaker: str
    text: str
    session: int
    session_date: str

    @property
    def memory_text(self) -> str:
        return f"{self.speaker}: {self.text}"

    @property
    def said_at(self) -> dt.datetime | None:
        try:
            when = dt.datetime.strptime(self.session_date.strip(), SESSION_DATE_FORMAT)
        except ValueError:
            return None
        return when.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Question:
    text: str
    evidence: frozenset[str]
    category: int


@dataclass
class Conversation:
    sample_id: str
    turns: list[Turn]
    questions: list[Question]
    # Questions of categories 1-4 left out because none of their evidence ids is a turn.
    without_evidence: int = 0


@dataclass
class Outcome:
    """One searched question: the evidence it needed, the dia_ids found in rank order."""

    category: int
    evidence: frozenset[str]
    found: list[str]
    ms: float

    def hit(self, k: int, *, every: bool) -> bool:
        top = set(self.found[:k])
        return self.evidence <= top if every else bool(self.evidence & top)


@dataclass
class Run:
    conversations: int = 0
    turns: int = 0
    stored: int = 0
    store_seconds: float = 0.0
    without_evidence: int = 0
    outcomes: list[Outcome] = field(default_factory=list)


def load(path: Path, limit: int | None = None) -> list[Conversation]:
    """The conversations of a LoCoMo-format file (the first `limit` of them)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: {exc}") from exc
    if not isinstance(data, list):
        raise DatasetError(f"{path}: expected a JSON list of conversations")
    try:
        return [_conversation(entry) for entry in data[:limit]]
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(f"{path}: not LoCoMo-shaped ({exc!r})") from exc


def _conversation(entry: dict[str, Any]) -> Conversation:
    talk = entry["conversation"]
    turns: list[Turn] = []
    for key, value in talk.items():
        match = SESSION_KEY.match(key)
        if match is None or not isinstance(value, list):
            continue
        session = int(match[1])
        when = str(talk.get(f"{key}_date_time", ""))
        turns.extend(
            Turn(str(t["dia_id"]), str(t["speaker"]), str(t["text"]), session, when) for t in value
        )
    turns.sort(key=lambda t: t.session)
    known = {t.dia_id for t in turns}
    questions, without_evidence = [], 0
    for qa in entry["qa"]:
        category = int(qa["category"])
        if category not in CATEGORIES:
            continue
        evidence = frozenset(
            f"D{m[1]}:{m[2]}" for e in qa.get("evidence", []) for m in EVIDENCE_ID.finditer(e)
        )
        if evidence & known:
            questions.append(Question(str(qa["question"]), evidence & known, category))
        else:
            without_evidence += 1
    return Conversation(str(entry["sample_id"]), turns, questions, without_evidence)


def run(conversations: list[Conversation], *, keep: bool, log: Log) -> Run:
    """Store and search every conversation, each in a project of its own (dropped afterwards
    unless `keep`)."""
    result = Run()
    for conversation in conversations:
        project = get_or_create_project(
            f"bench-retrieval-{conversation.sample_id}-{uuid.uuid4().hex[:6]}",
            organization="bench",
        )
        try:
            started = time.perf_counter()
            result.stored += store(project, conversation)
            result.store_seconds += time.perf_counter() - started
            outcomes = search(project, conversation)
        finally:
            if not keep:
                drop_projects([project], log=lambda message: None)
        log(
            f"{conversation.sample_id}: {len(conversation.turns)} turns, "
            f"{len(outcomes)} questions" + (f" (kept in project {project.name})" if keep else "")
        )
        result.conversations += 1
        result.turns += len(conversation.turns)
        result.without_evidence += conversation.without_evidence
        result.outcomes.extend(outcomes)
    return result


def store(project: Project, conversation: Conversation) -> int:
    """Add every turn verbatim (`infer=false`), one add per turn as its metadata is its own;
    returns the memories written (an exact repeat of a speaker's line is skipped, as any add)."""
    scope = Scope(user_id=conversation.sample_id)
    written = 0
    for turn in conversation.turns:
        outcome = services.add_memories(
            project,
            messages=[Message("user", turn.memory_text)],
            scope=scope,
            actor="benchmark",
            metadata={
                "dia_id": turn.dia_id,
                "session": turn.session,
                "session_date": turn.session_date,
            },
            created_at=turn.said_at,
        )
        written += len(outcome.added)
    return written


def search(project: Project, conversation: Conversation) -> list[Outcome]:
    filters = {"user_id": conversation.sample_id}
    outcomes = []
    for question in conversation.questions:
        started = time.perf_counter()
        hits = search_memories(
            project, query=question.text, filters=filters, top_k=TOP_K, threshold=0.0
        )
        ms = (time.perf_counter() - started) * 1000
        found = [_dia_id(hit.memory) for hit in hits]
        outcomes.append(Outcome(question.category, question.evidence, found, ms))
    return outcomes


def _dia_id(memory: Memory) -> str:
    return str((memory.metadata or {}).get("dia_id", ""))


# --- the report ---------------------------------------------------------------------------------


def recall(outcomes: list[Outcome]) -> dict[str, float | int]:
    """Evidence recall at every cutoff, any and all, over `outcomes`."""
    figures: dict[str, float | int] = {"questions": len(outcomes)}
    for every, name in ((False, "any"), (True, "all")):
        for k in CUTOFFS:
            hits = sum(o.hit(k, every=every) for o in outcomes)
            figures[f"{name}@{k}"] = round(hits / len(outcomes), 3) if outcomes else 0.0
    return figures


def summary(result: Run) -> dict[str, Any]:
    latencies = [o.ms for o in result.outcomes]
    per_category = {
        f"{number} {name}": recall([o for o in result.outcomes if o.category == number])
        for number, name in CATEGORIES.items()
    }
    return {
        "conversations": result.conversations,
        "turns": result.turns,
        "memories": result.stored,
        "store_seconds": round(result.store_seconds, 1),
        "questions_without_evidence": result.without_evidence,
        "top_k": TOP_K,
        "overall": recall(result.outcomes),
        "categories": per_category,
        "search_ms_p50": round(statistics.median(latencies), 1) if latencies else None,
        "search_ms_p95": round(percentile(latencies, 0.95), 1) if latencies else None,
    }


def format_report(figures: dict[str, Any]) -> str:
    columns = [f"{name}@{k}" for name in ("any", "all") for k in CUTOFFS]
    lines = [
        "LoCoMo evidence recall (turns stored verbatim, infer=false; search top_k="
        f"{figures['top_k']}, threshold 0, no LLM)",
        f"  {figures['conversations']} conversations, {figures['turns']} turns "
        f"({figures['memories']} memories, stored in {figures['store_seconds']} s), "
        f"{figures['overall']['questions']} questions"
        + (
            f" ({figures['questions_without_evidence']} left out: no evidence turn)"
            if figures["questions_without_evidence"]
            else ""
        ),
        "",
        f"  {'category':<16}{'questions':>10}" + "".join(f"{c:>8}" for c in columns),
    ]
    rows = [*figures["categories"].items(), ("overall", figures["overall"])]
    for name, row in rows:
        lines.append(
            f"  {name:<16}{row['questions']:>10}" + "".join(f"{row[c]:>8.3f}" for c in columns)
        )
    lines += [
        "",
        f"  search latency (embedding included): p50 {figures['search_ms_p50']} ms, "
        f"p95 {figures['search_ms_p95']} ms",
    ]
    return "\n".join(lines)
