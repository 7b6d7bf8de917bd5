"""The compliance benchmark: a data subject's erasure preview, erasure and exports, timed.

Every run seeds one data subject in a project of its own (`bench / bench-compliance`, dropped
again afterwards: the erasure takes the subject out, so each run needs a fresh one), with what
a year of real use leaves behind:

- `subject_memories` memories of user `erasure-subject`, written by add calls of 10 messages
  (one ADD Event each, the call's messages recorded on every ADD history row, as
  memories.services.add_memories records them); a tenth of them later changed by an update
  (an UPDATE Event and history row each), and a fiftieth more added then deleted (their ADD and
  DELETE history rows stay, the memory does not);
- one add in twenty a group chat, where a neighbour's lines became the neighbour's memories
  (the subject's lines stay in their recorded input: the erasure redacts them there);
- neighbours: a fifth as many memories of 50 other users, one in twenty of them mentioning the
  subject by an alias (the mentions the preview lists).

Rows go in by binary COPY (bench.seeding), embeddings are the dataset's pool vectors plus noise;
the memory tables keep every index live (the big dataset shares them), then ANALYZE, as
autovacuum would have by the time an officer erases someone.

Then, in the order a compliance officer works (access request first, erasure later): the
subject's full export (a zip), a deterministic Platform export of the subject's memories (no
LLM configured), the erasure preview (which finds the two exports), and the erasure itself
(confirmation and worker run, in-process: the Celery task that start() queues is not sent).
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import random
import statistics
import struct
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import numpy as np
import numpy.typing as npt
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from bench import corpus
from bench.results import BenchmarkError, Result, percentile
from bench.seeding import (
    BENCH_ORGANIZATION,
    HISTORY_COLUMNS,
    MEMORY_COLUMNS,
    NOISE,
    Dataset,
    Log,
    copy_rows,
    drop_projects,
    vacuum,
)
from entities.models import Entity
from memories import embeddings, erasure, events, exports, llm
from memories.models import EMBEDDING_DIMENSIONS, Event, Export, Memory, MemoryHistory
from memories.subjects import Subject
from tenancy.models import Project
from tenancy.services import get_or_create_project

GROUP = "compliance"
PROJECT_NAME = "bench-compliance"
SUBJECT_ID = "erasure-subject"  # lower case: group chats' speaker names are lower-cased
ALIAS = "Maria Keller"
ACTOR = "bench"
SEED_ACTOR = "api-key:bench-seed"
APP = "support-web"
ADD_BATCH = 10
UPDATED_SHARE = 0.10
DELETED_SHARE = 0.02
GROUP_CHAT_SHARE = 0.05
NEIGHBOURS = 50
NEIGHBOUR_SHARE = 0.2
MENTION_EVERY = 20
PREVIEW_CALLS = 5
# memdash's budgets for a subject with 10k memories (and their history); larger subjects get
# proportionally more time, smaller ones no less.
BUDGET_SIZE = 10_000
PREVIEW_S = 1.0
ERASE_S = 10.0
EXPORT_S = 10.0
MEMORY_ROW_COLUMNS = [*MEMORY_COLUMNS, ("actor_id", "varchar")]


@dataclass
class Seeded:
    """What was seeded for the subject, to check the measurements against."""

    project: Project
    memories: int = 0
    history: int = 0
    events: int = 0
    deleted: int = 0
    updated: int = 0
    neighbour_memories: int = 0
    mentions: int = 0
    seconds: float = 0.0
    analyze_seconds: float = 0.0


def budget(seconds_per_10k: float, count: int) -> float:
    return seconds_per_10k * max(count, BUDGET_SIZE) / BUDGET_SIZE


def budget_label(seconds_per_10k: float, count: int, *, p95: bool = False) -> str:
    limit = budget(seconds_per_10k, count)
    prefix = "p95 " if p95 else ""
    if count <= BUDGET_SIZE:
        return f"{prefix}<= {limit:g} s (10k memories)"
    return f"{prefix}<= {limit:g} s (10k in {seconds_per_10k:g} s)"


# --- seeding -------------------------------------------------------------------------------------


def _texts(count: int, rng: random.Random) -> list[str]:
    """`count` distinct texts a user would say: the corpus' user facts, then pairs of them."""
    facts = [f for f in corpus.facts(10**6, rng) if f.role == "user"]
    rng.shuffle(facts)
    texts = [f.text for f in facts[:count]]
    seen = set(texts)
    while len(texts) < count:
        text = corpus.combined(rng.choice(facts), rng.choice(facts))
        if text not in seen:
            seen.add(text)
            texts.append(text)
    return texts


@dataclass
class _Rows:
    memories: list[tuple[Any, ...]] = field(default_factory=list)
    history: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    entities: set[tuple[str, str]] = field(default_factory=set)


class SubjectSeeder:
    """Reproducible rows of one data subject and their neighbours (see the module docstring)."""

    def __init__(
        self, project: Project, pool: npt.NDArray[np.float32], *, count: int, seed: int
    ) -> None:
        self.project = project
        self.pool = pool
        self.count = count
        self.rng = random.Random(seed)
        self.np = np.random.default_rng(seed)
        self.now = timezone.now()
        self.model_name = embeddings.get_embedder().name
        self.header = struct.pack(">HH", EMBEDDING_DIMENSIONS, 0)
        self.rows = _Rows()
        self.memory_index: dict[uuid.UUID, int] = {}
        self.neighbours = [f"neighbour-{i:03d}" for i in range(NEIGHBOURS)]

    def seed(self) -> Seeded:
        subject_total = self.count + int(self.count * DELETED_SHARE)
        neighbour_total = max(20, int(self.count * NEIGHBOUR_SHARE))
        updated = int(self.count * UPDATED_SHARE)
        calls = -(-subject_total // ADD_BATCH)
        # Enough texts whichever calls turn out to be group chats (two neighbour lines each).
        texts = iter(_texts(subject_total + updated + neighbour_total + 2 * calls, self.rng))
        seeded = Seeded(project=self.project)
        # The subject's adds: (text, is kept) per memory, the deleted ones spread among them.
        kept = [True] * self.count + [False] * (subject_total - self.count)
        self.rng.shuffle(kept)
        subject_memories: list[tuple[uuid.UUID, str, dict[str, Any]]] = []
        for start in range(0, subject_total, ADD_BATCH):
            batch = [(next(texts), keep) for keep in kept[start : start + ADD_BATCH]]
            chat = self.rng.random() < GROUP_CHAT_SHARE
            added = self._subject_add(batch, texts, chat=chat, index=start // ADD_BATCH)
            subject_memories.extend(added)
            seeded.neighbour_memories += 2 if chat else 0
        for memory_id, text, scope in self.rng.sample(subject_memories, updated):
            self._update(memory_id, text, next(texts), scope)
        seeded.updated = updated
        seeded.deleted = subject_total - self.count
        mentions = 0
        for start in range(0, neighbour_total, ADD_BATCH):
            lines: list[str] = []
            for i in range(start, min(neighbour_total, start + ADD_BATCH)):
                text = next(texts)
                if i % MENTION_EVERY == 0:
                    text = f"{text}, as {ALIAS} suggested"
                    mentions += 1
                lines.append(text)
            self._neighbour_add(self.neighbours[(start // ADD_BATCH) % NEIGHBOURS], lines)
        seeded.neighbour_memories += neighbour_total
        seeded.mentions = mentions
        seeded.analyze_seconds = self._write()
        seeded.memories = self.count
        seeded.history = sum(1 for row in self.rows.history if row[6] == SUBJECT_ID)
        seeded.events = len(self.rows.events)
        return seeded

    # --- one operation each -----------------------------------------------------------------

    def _moment(self) -> dt.datetime:
        return self.now - dt.timedelta(seconds=self.rng.uniform(3600, 365 * 86400))

    def _event(self, kind: str, at: dt.datetime, **fields: Any) -> uuid.UUID:
        event = Event(
            id=uuid.uuid4(),
            project=self.project,
            event_type=kind,
            status=Event.Status.SUCCEEDED,
            actor=SEED_ACTOR,
            attempts=0,
            created_at=at,
            updated_at=at,
            started_at=at,
            completed_at=at,
            **fields,
        )
        self.rows.events.append(event)
        return event.id

    def _vector(self) -> bytes:
        vector = self.pool[self.np.integers(0, len(self.pool))] + self.np.normal(
            0.0, NOISE, EMBEDDING_DIMENSIONS
        )
        vector /= np.linalg.norm(vector)
        return self.header + vector.astype(">f4").tobytes()

    def _subject_add(
        self, batch: list[tuple[str, bool]], texts: Iterator[str], *, chat: bool, index: int
    ) -> list[tuple[uuid.UUID, str, dict[str, Any]]]:
        """One add call of the subject (a group chat with a neighbour when `chat`)."""
        at = self._moment()
        metadata = (
            {"source": self.rng.choice(["chat", "email", "voice"]), "priority": index % 5 + 1}
            if self.rng.random() < 0.6
            else None
        )
        lines: list[tuple[str, str, bool]] = [(SUBJECT_ID, text, keep) for text, keep in batch]
        if chat:
            neighbour = self.rng.choice(self.neighbours)
            scope = {"run_id": f"chat-{index:05d}"}
            lines += [(neighbour, next(texts), True), (neighbour, next(texts), True)]
            messages = [{"role": "user", "content": t, "name": who} for who, t, _ in lines]
            about = {"run_id": scope["run_id"], "speakers": sorted({SUBJECT_ID, neighbour})}
        else:
            scope = {"user_id": SUBJECT_ID, **({"app_id": APP} if index % 2 else {})}
            messages = [{"role": "user", "content": t} for _, t, _ in lines]
            about = dict(scope)
        ids = [uuid.uuid4() for _ in lines]
        event_id = self._event(
            Event.Type.ADD,
            at,
            payload={"messages": messages, **scope, "infer": False, "metadata": metadata},
            metadata={"infer": False, **about},
            results=[
                {"id": str(i), "memory": t, "data": {"memory": t}, "event": "ADD"}
                for i, (_, t, _) in zip(ids, lines, strict=True)
            ],
        )
        added = []
        for memory_id, (who, text, keep) in zip(ids, lines, strict=True):
            owner = {"user_id": who, "app_id": scope.get("app_id"), "run_id": scope.get("run_id")}
            self._entities(owner)
            category = [self.rng.choice(["food", "travel", "work", "health", "hobbies"])]
            self._history(
                memory_id, "ADD", None, text, owner, event_id, at, metadata, category, messages
            )
            if keep:
                self._memory(memory_id, text, owner, event_id, at, metadata, category, chat)
            else:
                deleted_at = at + dt.timedelta(days=1)
                delete = self._event(
                    Event.Type.DELETE,
                    deleted_at,
                    payload={"memory_id": str(memory_id)},
                    metadata={"user_id": who},
                    results={"deleted": 1},
                )
                self._history(
                    memory_id, "DELETE", text, None, owner, delete, deleted_at, metadata, category
                )
            if who == SUBJECT_ID and keep:
                added.append((memory_id, text, owner))
        return added

    def _neighbour_add(self, neighbour: str, batch: list[str]) -> None:
        at = self._moment()
        scope = {"user_id": neighbour}
        messages = [{"role": "user", "content": text} for text in batch]
        ids = [uuid.uuid4() for _ in batch]
        event_id = self._event(
            Event.Type.ADD,
            at,
            payload={"messages": messages, **scope, "infer": False},
            metadata={"infer": False, **scope},
            results=[
                {"id": str(i), "memory": t, "data": {"memory": t}, "event": "ADD"}
                for i, t in zip(ids, batch, strict=True)
            ],
        )
        self._entities(scope)
        for memory_id, text in zip(ids, batch, strict=True):
            self._history(memory_id, "ADD", None, text, scope, event_id, at, None, None, messages)
            self._memory(memory_id, text, scope, event_id, at, None, None, False)

    def _update(self, memory_id: uuid.UUID, old: str, new: str, scope: dict[str, Any]) -> None:
        """memories.services.update_memory of a seeded memory: new text, an UPDATE row."""
        rows = self.rows.memories
        index = self.memory_index[memory_id]
        row = list(rows[index])
        at = min(self.now, row[13] + dt.timedelta(days=self.rng.uniform(1, 60)))
        row[7], row[8], row[14], row[15] = new, _md5(new), at, self._vector()
        rows[index] = tuple(row)
        event_id = self._event(
            Event.Type.UPDATE,
            at,
            payload={
                "memory_id": str(memory_id),
                "fields": ["memory", "hash", "embedding", "embedding_model"],
            },
            metadata={k: v for k, v in scope.items() if v},
            results=[{"id": str(memory_id), "memory": new, "event": "UPDATE"}],
        )
        self._history(memory_id, "UPDATE", old, new, scope, event_id, at, row[9], row[10])

    # --- rows -------------------------------------------------------------------------------

    def _entities(self, scope: dict[str, Any]) -> None:
        for name, value in scope.items():
            if value:
                self.rows.entities.add((name[:-3], value))

    def _memory(
        self,
        memory_id: uuid.UUID,
        text: str,
        scope: dict[str, Any],
        event_id: uuid.UUID,
        at: dt.datetime,
        metadata: dict[str, Any] | None,
        categories: list[str] | None,
        named: bool,
    ) -> None:
        self.memory_index[memory_id] = len(self.rows.memories)
        self.rows.memories.append(
            (
                memory_id,
                self.project.pk,
                scope.get("user_id"),
                None,
                scope.get("app_id"),
                scope.get("run_id"),
                "user",
                text,
                _md5(text),
                metadata,
                categories,
                False,
                None,
                at,
                at,
                self._vector(),
                self.model_name,
                event_id,
                scope.get("user_id") if named else None,
            )
        )

    def _history(
        self,
        memory_id: uuid.UUID,
        action: str,
        old: str | None,
        new: str | None,
        scope: dict[str, Any],
        event_id: uuid.UUID,
        at: dt.datetime,
        metadata: dict[str, Any] | None,
        categories: list[str] | None,
        messages: list[dict[str, Any]] | None = None,
    ) -> None:
        self.rows.history.append(
            (
                uuid.uuid4(),
                self.project.pk,
                memory_id,
                action,
                new,
                messages,
                scope.get("user_id"),
                None,
                scope.get("app_id"),
                scope.get("run_id"),
                categories,
                metadata,
                SEED_ACTOR,
                event_id,
                at,
                old,
            )
        )

    def _write(self) -> float:
        """Insert every row; the seconds the ANALYZE afterwards took."""
        with transaction.atomic():
            Event.objects.bulk_create(self.rows.events, batch_size=2000)
            copy_rows(Memory._meta.db_table, MEMORY_ROW_COLUMNS, self.rows.memories)
            copy_rows(
                MemoryHistory._meta.db_table,
                [*HISTORY_COLUMNS, ("old_memory", "text")],
                self.rows.history,
            )
            Entity.objects.bulk_create(
                [
                    Entity(
                        project=self.project,
                        kind=kind,
                        name=name,
                        created_at=self.now,
                        updated_at=self.now,
                    )
                    for kind, name in sorted(self.rows.entities)
                ],
                batch_size=2000,
                ignore_conflicts=True,
            )
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for model in (Memory, MemoryHistory, Event):
                cursor.execute(f"ANALYZE {model._meta.db_table}")
        return round(time.perf_counter() - started, 2)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def seed_subject(dataset: Dataset, *, count: int, seed: int, log: Log) -> Seeded:
    """A fresh `bench / bench-compliance` with the data subject (an older one is dropped)."""
    drop_projects(
        list(Project.objects.filter(organization__name=BENCH_ORGANIZATION, name=PROJECT_NAME)),
        log,
    )
    project = get_or_create_project(PROJECT_NAME, organization=BENCH_ORGANIZATION)
    pool = dataset.pool_vectors()
    started = time.perf_counter()
    seeded = SubjectSeeder(project, pool, count=count, seed=seed).seed()
    seeded.seconds = round(time.perf_counter() - started, 2)
    return seeded


# --- measuring -----------------------------------------------------------------------------------


@contextmanager
def in_process() -> Iterator[list[Any]]:
    """Nothing queued for a worker (the benchmark runs each Event itself), and no LLM: the
    Platform export is the deterministic one. Yields the Events start()/create() queued."""
    queued: list[Any] = []
    with (
        mock.patch.object(events, "enqueue", queued.append),
        override_settings(OPENAI_API_KEY=None, OPENAI_BASE_URL=None),
    ):
        if llm.is_configured():
            raise BenchmarkError("an LLM is still configured: the Platform export would use it")
        yield queued


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    gc.collect()
    started = time.perf_counter()
    outcome = call()
    return outcome, time.perf_counter() - started


def _succeeded(event: Event | None, what: str) -> Event:
    if event is None or event.status != Event.Status.SUCCEEDED:
        detail = "not claimed" if event is None else f"{event.status}: {event.error}"
        raise BenchmarkError(f"{what} did not succeed ({detail})")
    return event


def _check(actual: Any, expected: Any, what: str) -> None:
    if actual != expected:
        raise BenchmarkError(f"{what}: {actual!r}, expected {expected!r}")


def measure(dataset: Dataset, *, count: int, iterations: int, seed: int, log: Log) -> list[Result]:
    """Seed the subject, then time its exports, the erasure preview and the erasure."""
    results: list[Result] = []
    log(f"  seeding a data subject with {count:,} memories ...")
    seeded = seed_subject(dataset, count=count, seed=seed, log=log)
    rows = seeded.memories + seeded.history
    results.append(
        Result(
            name=(
                f"seed a subject: {seeded.memories:,} memories, {seeded.history:,} history "
                f"rows, {seeded.events:,} Events (COPY, all indexes live, ANALYZE)"
            ),
            group=GROUP,
            seconds=seeded.seconds,
            rate=round(rows / seeded.seconds, 1),
            rate_unit="rows/s",
            note=(
                f"setup, not budgeted (ANALYZE {seeded.analyze_seconds:.1f} s of it): "
                f"{seeded.updated:,} memories updated, "
                f"{seeded.deleted:,} deleted (history kept), {seeded.neighbour_memories:,} "
                f"neighbours' memories ({seeded.mentions} mention {ALIAS!r})"
            ),
        )
    )
    log(f"  seeded in {seeded.seconds:.1f} s")
    try:
        with in_process():
            bench = _Compliance(seeded, count, iterations, log, results)
            bench.subject_export()
            bench.platform_export()
            bench.preview()
            bench.erase()
    finally:
        drop_projects([seeded.project], log)
    if not connection.in_atomic_block:
        # The embedded server rarely lives long enough for autovacuum: without this, every run
        # would leave its subject's dead rows (and HNSW entries) for the other groups to skip.
        started = time.perf_counter()
        vacuum(analyze=True)
        results.append(
            Result(
                name="vacuum after dropping the subject's project (HNSW repair included)",
                group=GROUP,
                seconds=round(time.perf_counter() - started, 2),
                note="cleanup between runs; not budgeted",
            )
        )
    return results


@dataclass
class _Compliance:
    seeded: Seeded
    count: int
    iterations: int
    log: Log
    results: list[Result]

    @property
    def project(self) -> Project:
        return self.seeded.project

    @property
    def subject(self) -> Subject:
        return Subject(entity_type="user", entity_id=SUBJECT_ID)

    def _budgeted(self, result: Result, seconds_per_10k: float, measured_s: float) -> Result:
        result.budget = budget_label(seconds_per_10k, self.count, p95=result.p95_ms is not None)
        result.ok = measured_s <= budget(seconds_per_10k, self.count)
        self.results.append(result)
        return result

    def subject_export(self) -> None:
        def make() -> Event:
            export = exports.create_subject(self.project, self.subject, actor=ACTOR)
            return _succeeded(exports.run(export.event_id), "the subject export")

        event, seconds = _timed(make)
        done = event.results or {}
        _check(done.get("memories"), self.seeded.memories, "subject export memories")
        _check(done.get("history"), self.seeded.history, "subject export history rows")
        rows = done["memories"] + done["history"] + done["events"]
        self._budgeted(
            Result(
                name=(
                    f"subject export of {self.count:,} memories: exports.create_subject + run "
                    "(zip of JSON and CSV)"
                ),
                group=GROUP,
                calls=1,
                seconds=round(seconds, 2),
                rows_per_call=rows,
                rate=round(rows / seconds, 1),
                rate_unit="rows/s",
                note=(
                    f"{done['memories']:,} memories, {done['history']:,} history rows, "
                    f"{done['events']:,} Events; zip of {done['size'] / 2**20:.1f} MB"
                ),
            ),
            EXPORT_S,
            seconds,
        )
        self.log(f"  subject export: {seconds:.2f} s")

    def platform_export(self) -> None:
        filters = {"user_id": SUBJECT_ID}

        def make() -> Event:
            export = exports.create_platform(
                self.project,
                filters=filters,
                lookup_filters=filters,
                schema={"type": "object"},
                instructions="",
                actor=ACTOR,
            )
            return _succeeded(exports.run(export.event_id), "the Platform export")

        event, seconds = _timed(make)
        done = event.results or {}
        _check(done.get("llm_used"), False, "Platform export llm_used")
        _check(done.get("memories"), self.seeded.memories, "Platform export memories")
        size = Export.objects.filter(event=event).values_list("size", flat=True).first() or 0
        self._budgeted(
            Result(
                name=(
                    f"Platform export of {self.count:,} memories: exports.create_platform + run "
                    "(no LLM: deterministic)"
                ),
                group=GROUP,
                calls=1,
                seconds=round(seconds, 2),
                rows_per_call=done["memories"],
                rate=round(done["memories"] / seconds, 1),
                rate_unit="memories/s",
                note=f"a JSON result of {size / 2**20:.1f} MB stored in the export row",
            ),
            EXPORT_S,
            seconds,
        )
        self.log(f"  Platform export: {seconds:.2f} s")

    def preview(self) -> None:
        def call() -> erasure.Preview:
            return erasure.preview(self.project, self.subject, aliases=[ALIAS])

        call()  # warm-up
        samples = []
        found = None
        for _ in range(max(1, min(PREVIEW_CALLS, self.iterations))):
            found, seconds = _timed(call)
            samples.append(seconds * 1000)
        assert found is not None
        _check(found.memories, self.seeded.memories, "preview memories")
        _check(found.history, self.seeded.history, "preview history rows")
        _check(found.exports, 2, "preview exports")
        p95_ms = percentile(samples, 0.95)
        p50_ms = statistics.median(samples)
        self._budgeted(
            Result(
                name=f"erasure preview of a subject with {self.count:,} memories (one alias)",
                group=GROUP,
                calls=len(samples),
                p50_ms=round(p50_ms, 1),
                p95_ms=round(p95_ms, 1),
                max_ms=round(max(samples), 1),
                rows_per_call=found.memories,
                rate=round(found.memories / (p50_ms / 1000), 1),
                rate_unit="memories/s",
                note=(
                    "after 1 warm-up call; "
                    f"counts: {found.memories:,} memories, {found.history:,} history rows, "
                    f"{found.events:,} Events, {found.inputs:,} inputs, {found.exports} exports, "
                    f"{found.mention_count} mentions"
                ),
            ),
            PREVIEW_S,
            p95_ms / 1000,
        )
        self.log(f"  preview: p50 {p50_ms:.0f} ms, p95 {p95_ms:.0f} ms")

    def erase(self) -> None:
        phases: dict[str, float] = {}

        def make() -> Event:
            begun = time.perf_counter()
            confirmed = erasure.start(
                self.project,
                self.subject,
                actor=ACTOR,
                aliases=[ALIAS],
                mentions_to_erase="all",
                reference="bench",
            )
            phases["start"] = time.perf_counter() - begun
            return _succeeded(erasure.run(confirmed.event_id), "the erasure")

        event, seconds = _timed(make)
        counts = (event.results or {}).get("counts", {})
        expected = self.seeded.memories + self.seeded.mentions
        _check(counts.get("memories"), expected, "erased memories")
        _check(counts.get("exports"), 2, "erased exports")
        left = Memory.objects.for_project(self.project).filter(user_id=SUBJECT_ID).exists()
        _check(left, False, "subject memories left after the erasure")
        rows = counts["memories"] + counts["history"]
        self._budgeted(
            Result(
                name=(
                    f"erase a subject with {self.count:,} memories: erasure.start + run "
                    "(mentions too)"
                ),
                group=GROUP,
                calls=1,
                seconds=round(seconds, 2),
                rows_per_call=rows,
                rate=round(rows / seconds, 1),
                rate_unit="rows/s",
                note=(
                    f"start {phases['start']:.2f} s, run {seconds - phases['start']:.2f} s; "
                    f"{counts['memories']:,} memories deleted, {counts['history']:,} history "
                    f"rows tombstoned, {counts['events']:,} Events and {counts['inputs']:,} "
                    f"inputs redacted, {counts['exports']} exports deleted"
                ),
            ),
            ERASE_S,
            seconds,
        )
        self.log(f"  erase: {seconds:.2f} s")
