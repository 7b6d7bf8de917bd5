"""The benchmark dataset: N synthetic memories in a dedicated project, loaded fast.

Rows go in with PostgreSQL's binary COPY (memories, their ADD history rows), in chunks of
one transaction each. A big load drops the tables' secondary indexes first and rebuilds them
afterwards (HNSW last, with a large maintenance_work_mem), which is several times faster than
maintaining them row by row; the DDL comes from the models' own Meta.indexes, so the rebuilt
indexes are exactly the migrated ones, and a crashed run's missing indexes are recreated by
the next one.

Embeddings: a pool of distinct facts is embedded with the real embedder, and each memory gets a
pool vector plus a little Gaussian noise, re-normalised, so the HNSW graph sees clusters of
near-paraphrases instead of exact duplicates.

This drops and rebuilds indexes of the memory tables: run it on a development database, never
on a shared or production one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import struct
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone
from psycopg.adapt import Dumper
from psycopg.pq import Format

from bench import corpus
from entities.models import Entity
from memories import embeddings
from memories.models import EMBEDDING_DIMENSIONS, Event, Memory, MemoryHistory
from tenancy.models import Project
from tenancy.services import get_or_create_project

BENCH_ORGANIZATION = "bench"
# Standard deviation per dimension of the noise added to pool vectors: cosine ~0.9 to the fact.
NOISE = 0.015
CHUNK = 20_000
# Loads at least this big (and at least as big as what the table already holds) rebuild indexes.
REBUILD_MIN_ROWS = 50_000
APPS = {"support-web": 50, "mobile-app": 25, "voice-assistant": 15, "email-bot": 7, "internal": 3}
SOURCES = ["chat", "email", "import", "voice"]
ACTOR = "benchmark-seed"
# The defaults every benchmark command seeds with, so that they share one dataset per size
# (a project records what it was seeded with and is reseeded when asked for anything else).
DEFAULT_POOL = 4000
DEFAULT_SEED = 42
Log = Callable[[str], None]


def default_users(memories: int) -> int:
    """About 100 memories per user, as the budgets' 1M memories across 10k users."""
    return max(1, memories // 100)


def project_name(memories: int) -> str:
    return f"bench-{memories}"


@dataclass
class Dataset:
    """A seeded benchmark project and what the measurements need to know about it."""

    project: Project
    memories: int
    users: list[str]
    agents: list[str]
    apps: list[str]
    facts: list[corpus.Fact]
    reused: bool
    seconds: float
    steps: dict[str, float] = field(default_factory=dict)
    vectors: np.ndarray | None = None

    def pool_vectors(self) -> np.ndarray:
        """One stored vector per fact (read back from the project rather than re-embedded)."""
        if self.vectors is None:
            rows = dict(
                Memory.objects.for_project(self.project)
                .order_by("memory")
                .distinct("memory")
                .values_list("memory", "embedding")
            )
            missing = [f.text for f in self.facts if f.text not in rows]
            rows.update(zip(missing, embeddings.embed(missing), strict=True))
            self.vectors = np.asarray([rows[f.text] for f in self.facts], dtype=np.float32)
        return self.vectors


def prepare(
    *,
    memories: int,
    users: int,
    pool: int,
    seed: int,
    reseed: bool = False,
    keep_others: bool = False,
    log: Log = print,
) -> Dataset:
    """Seed (or reuse) the project holding `memories` benchmark memories across `users` users."""
    rng = random.Random(seed)
    facts = corpus.facts(min(pool, memories), rng)
    user_names = [f"user-{i:06d}" for i in range(users)]
    agent_names = [f"agent-{i:03d}" for i in range(max(1, min(50, users // 200)))]
    marker = {"memories": memories, "users": users, "pool": len(facts), "seed": seed}
    existing = Project.objects.filter(
        organization__name=BENCH_ORGANIZATION, name=project_name(memories)
    ).first()
    ensure_indexes(log)
    stale = Project.objects.filter(organization__name=BENCH_ORGANIZATION)
    if keep_others:
        stale = stale.filter(name=project_name(memories))
    recorded = (existing.options or {}).get("benchmark", {}) if existing else {}
    if existing and not reseed and _same(recorded, marker):
        stale = stale.exclude(pk=existing.pk)
        if stale.exists():
            drop_projects(list(stale), log)
        return Dataset(
            project=existing,
            memories=memories,
            users=user_names,
            agents=agent_names,
            apps=list(APPS),
            facts=facts,
            reused=True,
            seconds=recorded.get("seconds", 0.0),
            steps=recorded.get("steps", {}),
        )

    started = time.perf_counter()
    steps: dict[str, float] = {}
    with _step(steps, "drop old benchmark projects", log):
        drop_projects(list(stale), log)
    remaining = Memory.objects.count()
    rebuild = memories >= REBUILD_MIN_ROWS and memories >= remaining
    project = get_or_create_project(project_name(memories), organization=BENCH_ORGANIZATION)
    with _step(steps, "embed fact pool", log):
        vectors = np.asarray(embeddings.embed([f.text for f in facts]), dtype=np.float32)
    model_name = embeddings.get_embedder().name
    generator = Generator(
        project=project,
        facts=facts,
        vectors=vectors,
        users=user_names,
        agents=agent_names,
        seed=seed,
        model_name=model_name,
    )
    with _maybe_without_indexes(rebuild, steps, log):
        with _step(steps, f"copy {memories:,} memories + {memories:,} history rows", log):
            for start in range(0, memories, CHUNK):
                count = min(CHUNK, memories - start)
                with transaction.atomic():
                    generator.copy_chunk(count)
                if memories > CHUNK:
                    log(f"  copied {start + count:,} / {memories:,}")
        with _step(steps, "entities", log):
            generator.write_entities()
    with _step(steps, "vacuum analyze", log):
        vacuum_analyze()
    seconds = round(time.perf_counter() - started, 1)
    project.options = {
        **(project.options or {}),
        "benchmark": {**marker, "seconds": seconds, "steps": steps},
    }
    project.save(update_fields=["options", "updated_at"])
    return Dataset(
        project=project,
        memories=memories,
        users=user_names,
        agents=agent_names,
        apps=list(APPS),
        facts=facts,
        reused=False,
        seconds=seconds,
        steps=steps,
        vectors=vectors,
    )


def _same(recorded: dict, marker: dict) -> bool:
    return all(recorded.get(key) == value for key, value in marker.items())


@contextmanager
def _step(steps: dict[str, float], name: str, log: Log) -> Iterator[None]:
    log(f"{name} ...")
    started = time.perf_counter()
    yield
    steps[name] = round(time.perf_counter() - started, 1)
    log(f"{name}: {steps[name]:.1f} s")


# --- removing old datasets ------------------------------------------------------------------


def drop_projects(projects: list[Project], log: Log) -> None:
    """Delete benchmark projects and all their rows, in SQL (the ORM would load every row)."""
    if not projects:
        return
    ids = [p.pk for p in projects]
    log("dropping " + ", ".join(p.name for p in projects))
    tables = [
        Memory._meta.db_table,
        MemoryHistory._meta.db_table,
        Event._meta.db_table,
        Entity._meta.db_table,
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {table} WHERE project_id = ANY(%s)", [ids])
        Project.objects.filter(pk__in=ids).delete()


# --- indexes --------------------------------------------------------------------------------

REBUILT_MODELS = (Memory, MemoryHistory)


def _index_names(model: type[Model]) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s", [model._meta.db_table]
        )
        return {row[0] for row in cursor.fetchall()}


def ensure_indexes(log: Log) -> None:
    """Create any index the models declare but the database lacks (after a crashed load)."""
    missing = [
        (model, index)
        for model in REBUILT_MODELS
        for index in model._meta.indexes
        if index.name not in _index_names(model)
    ]
    if missing:
        log(
            "recreating indexes missing after an interrupted load: "
            + ", ".join(i.name for _, i in missing)
        )
        _create_indexes(missing, {}, log)


@contextmanager
def _maybe_without_indexes(rebuild: bool, steps: dict[str, float], log: Log) -> Iterator[None]:
    if not rebuild:
        yield
        return
    indexes = [(model, index) for model in REBUILT_MODELS for index in model._meta.indexes]
    with connection.schema_editor(atomic=False) as editor:
        for model, index in indexes:
            editor.remove_index(model, index)
    # Reclaim space of the dropped projects while the table has no indexes to clean.
    vacuum(analyze=False)
    try:
        yield
    finally:
        _create_indexes(indexes, steps, log)


def _create_indexes(indexes: list, steps: dict[str, float], log: Log) -> None:
    # The HNSW graph of a million 384-dim vectors needs a few GB to build in memory; a quarter
    # of the machine's RAM at most. The leader builds too, so one worker per other core.
    ram_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    memory = f"{max(64, min(4096, ram_mb // 4))}MB"
    workers = max(0, min(4, (os.cpu_count() or 1) - 1))
    hnsw_last = sorted(indexes, key=lambda pair: pair[1].__class__.__name__ == "HnswIndex")
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = %s", [memory])
        cursor.execute("SET max_parallel_maintenance_workers = %s", [workers])
    try:
        with connection.schema_editor(atomic=False) as editor:
            for model, index in hnsw_last:
                with _step(steps, f"index {index.name}", log):
                    editor.add_index(model, index)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET maintenance_work_mem")
            cursor.execute("RESET max_parallel_maintenance_workers")


def vacuum(*, analyze: bool) -> None:
    tables = [Memory._meta.db_table, MemoryHistory._meta.db_table]
    with connection.cursor() as cursor:
        for table in tables:
            if connection.in_atomic_block:
                # VACUUM cannot run in a transaction (tests); statistics are what matters there.
                if analyze:
                    cursor.execute(f"ANALYZE {table}")
            else:
                cursor.execute(f"VACUUM {'(ANALYZE) ' if analyze else ''}{table}")


def vacuum_analyze() -> None:
    """Set the visibility map (index-only scans) and refresh planner statistics."""
    vacuum(analyze=True)


# --- generating rows ------------------------------------------------------------------------


class _VectorBinaryDumper(Dumper):
    """Passes through pgvector's binary format (big-endian dims, unused, float32s)."""

    format = Format.BINARY

    def dump(self, obj: bytes) -> bytes:
        return obj


MEMORY_COLUMNS = [
    ("id", "uuid"),
    ("project_id", "int8"),
    ("user_id", "varchar"),
    ("agent_id", "varchar"),
    ("app_id", "varchar"),
    ("run_id", "varchar"),
    ("role", "varchar"),
    ("memory", "text"),
    ("hash", "varchar"),
    ("metadata", "jsonb"),
    ("categories", "varchar[]"),
    ("immutable", "bool"),
    ("expiration_date", "date"),
    ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
    ("embedding", "vector"),
    ("embedding_model", "varchar"),
    ("source_event_id", "uuid"),
]
HISTORY_COLUMNS = [
    ("id", "uuid"),
    ("project_id", "int8"),
    ("memory_id", "uuid"),
    ("event", "varchar"),
    ("new_memory", "text"),
    ("input", "jsonb"),
    ("user_id", "varchar"),
    ("agent_id", "varchar"),
    ("app_id", "varchar"),
    ("run_id", "varchar"),
    ("categories", "varchar[]"),
    ("metadata", "jsonb"),
    ("actor", "varchar"),
    ("source_event_id", "uuid"),
    ("created_at", "timestamptz"),
]


def copy_rows(table: str, columns: list[tuple[str, str]], rows: Iterable[tuple[Any, ...]]) -> None:
    """Binary COPY of `rows` (tuples in `columns` order) into `table`."""
    names = ", ".join(name for name, _ in columns)
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor
        cursor.execute("SELECT 'vector'::regtype::oid")
        vector_oid = cursor.fetchone()[0]
        dumper = type("VectorDumper", (_VectorBinaryDumper,), {"oid": vector_oid})
        cursor.adapters.register_dumper(None, dumper)
        types = [vector_oid if kind == "vector" else kind for _, kind in columns]
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)


class Generator:
    """Random but reproducible memories: who, what, when, with what metadata."""

    def __init__(
        self,
        *,
        project: Project,
        facts: list[corpus.Fact],
        vectors: npt.NDArray[np.float32],
        users: list[str],
        agents: list[str],
        seed: int,
        model_name: str,
    ) -> None:
        self.project = project
        self.facts = facts
        self.vectors = vectors
        self.users = users
        self.agents = agents
        self.model_name = model_name
        self.np = np.random.default_rng(seed)
        self.now = timezone.now()
        self.today = self.now.date()
        # Some people talk to the agent far more than others: log-normal activity.
        weights = self.np.lognormal(0.0, 1.0, len(users))
        self.user_p = weights / weights.sum()
        # Draw templates evenly, whatever the number of facts each template produced.
        per_template: dict[str, int] = {}
        for fact in facts:
            per_template[fact.template] = per_template.get(fact.template, 0) + 1
        fact_weights = np.array([1.0 / per_template[f.template] for f in facts])
        self.fact_p = fact_weights / fact_weights.sum()
        self.apps = list(APPS)
        app_weights = np.array(list(APPS.values()), dtype=float)
        self.app_p = app_weights / app_weights.sum()
        self.categories = sorted({f.category for f in facts} | {"misc"})
        self.entities: set[tuple[str, str]] = set()
        self.events: list[uuid.UUID] = []
        self.header = struct.pack(">HH", EMBEDDING_DIMENSIONS, 0)

    def copy_chunk(self, count: int, *, app_id: str | None = None) -> None:
        """COPY `count` memories (and their ADD history rows); `app_id` puts them all in one app."""
        rng = self.np
        event = Event.objects.create(
            project=self.project,
            event_type=Event.Type.ADD,
            status=Event.Status.SUCCEEDED,
            payload={"benchmark_seed": count},
            metadata={"infer": False},
            actor=ACTOR,
            started_at=self.now,
            completed_at=self.now,
        )
        self.events.append(event.pk)
        fact_ix = rng.choice(len(self.facts), size=count, p=self.fact_p)
        user_ix = rng.choice(len(self.users), size=count, p=self.user_p)
        agent_ix = rng.integers(0, len(self.agents), size=count)
        app_ix = rng.choice(len(self.apps), size=count, p=self.app_p)
        has_app = rng.random(count) < 0.7
        run_ix = rng.integers(0, 6, size=count)
        has_run = rng.random(count) < 0.25
        meta_roll = rng.random(count)
        source_ix = rng.integers(0, len(SOURCES), size=count)
        priority = rng.integers(1, 6, size=count)
        category_roll = rng.random(count)
        extra_category = rng.integers(0, len(self.categories), size=count)
        expiring = rng.random(count) < 0.08
        expires_in = rng.integers(-90, 366, size=count)
        age_seconds = rng.uniform(0, 365 * 86400, size=count)
        edited = rng.random(count) < 0.1
        edited_after = rng.uniform(0, 30 * 86400, size=count)
        immutable = rng.random(count) < 0.02
        noisy = self.vectors[fact_ix] + rng.normal(0.0, NOISE, (count, EMBEDDING_DIMENSIONS))
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        packed = noisy.astype(">f4")

        memory_rows = []
        history_rows = []
        project_id = self.project.pk
        for i in range(count):
            fact = self.facts[fact_ix[i]]
            if fact.role == "assistant":
                user_id, agent_id = None, self.agents[agent_ix[i]]
                self.entities.add(("agent", agent_id))
            else:
                user_id, agent_id = self.users[user_ix[i]], None
                self.entities.add(("user", user_id))
            app = app_id or (self.apps[app_ix[i]] if has_app[i] else None)
            run_id = f"run-{user_id or agent_id}-{run_ix[i]}" if has_run[i] else None
            if app:
                self.entities.add(("app", app))
            if run_id:
                self.entities.add(("run", run_id))
            if meta_roll[i] < 0.6:
                metadata = {"source": SOURCES[source_ix[i]], "priority": int(priority[i])}
                if meta_roll[i] < 0.2:
                    metadata["topic"] = fact.category
            else:
                metadata = None
            if category_roll[i] < 0.85:
                categories = [fact.category]
            elif category_roll[i] < 0.95:
                categories = sorted({fact.category, self.categories[extra_category[i]]})
            else:
                categories = None
            created = self.now - dt.timedelta(seconds=float(age_seconds[i]))
            updated = (
                min(self.now, created + dt.timedelta(seconds=float(edited_after[i])))
                if edited[i]
                else created
            )
            expiration = self.today + dt.timedelta(days=int(expires_in[i])) if expiring[i] else None
            memory_id = uuid.uuid4()
            memory_rows.append(
                (
                    memory_id,
                    project_id,
                    user_id,
                    agent_id,
                    app,
                    run_id,
                    fact.role,
                    fact.text,
                    hashlib.md5(fact.text.encode()).hexdigest(),
                    metadata,
                    categories,
                    bool(immutable[i]),
                    expiration,
                    created,
                    updated,
                    self.header + packed[i].tobytes(),
                    self.model_name,
                    event.pk,
                )
            )
            history_rows.append(
                (
                    uuid.uuid4(),
                    project_id,
                    memory_id,
                    MemoryHistory.Action.ADD.value,
                    fact.text,
                    [{"role": fact.role, "content": fact.text}],
                    user_id,
                    agent_id,
                    app,
                    run_id,
                    categories,
                    metadata,
                    ACTOR,
                    event.pk,
                    created,
                )
            )
        copy_rows(Memory._meta.db_table, MEMORY_COLUMNS, memory_rows)
        copy_rows(MemoryHistory._meta.db_table, HISTORY_COLUMNS, history_rows)

    def write_entities(self) -> None:
        first = self.now - dt.timedelta(days=365)
        Entity.objects.bulk_create(
            [
                Entity(
                    project=self.project,
                    kind=kind,
                    name=name,
                    created_at=first,
                    updated_at=self.now,
                )
                for kind, name in sorted(self.entities)
            ],
            batch_size=5000,
            ignore_conflicts=True,
        )
