"""The audit benchmark: what the access log costs a read, and the audit query over a year of log.

1. The access log's cost. A user-scoped search (`POST /v3/memories/search/`) and a user's list
   page 1 (`POST /v3/memories/`) through the whole API stack, with settings.MEMDASH_ACCESS_LOG on
   and off in one run, interleaved: each input is sent twice in a row, once each way, the order
   alternating from one input to the next, so that machine noise and warm caches hit both sides
   alike. Budget: the log adds at most 1 ms to the p50. The log's own call (audit.log.read: one
   INSERT, committed on its own) is timed alone beside them. The rows the "on" calls write go
   to the 100k dataset's project and stay there (the log is append-only).

2. The audit query at scale. A dedicated project (organization `bench-audit`, project
   `audit-<rows>`; not in the `bench` organization, whose other projects seeding drops) holds
   `rows` log rows (1M by default) spread over the 12 months before it was seeded, in monthly
   partitions made for them (audit.partitions.ensure_partitions), with what a year of use
   leaves: API keys and dashboard members as actors, 1,000 users as entities (a few very
   active), a few memory ids per read, reads and changes in realistic shares, and the members'
   logins besides (those belong to no project). Rows go in by one binary COPY, in time order
   as a live log appends them, then VACUUM ANALYZE. Then it times audit.query.entries as the
   API and the dashboard run it (one user and one month: first 50, keyset pages, capped
   count; the whole log; one memory id) and shows each query's plan (EXPLAIN ANALYZE,
   BUFFERS). Budget: p95 <= 150 ms.

The log is append-only, so the seeded rows cannot be deleted: they stay and are reused by the
next run (the project records what it was seeded with; its row count is checked). `--reseed`,
or a project whose rows no longer match (a retention purge dropped some of its months), renames
the old project `...-retired-<id>` and seeds a new one; the old rows stay until retention
(MEMDASH_ACCESS_LOG_DAYS) drops their months.
"""

from __future__ import annotations

import datetime as dt
import gc
import ipaddress
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit import log as audit_log
from audit import partitions
from audit import query as audit_query
from audit.models import AuditEntry
from bench import corpus
from bench.results import BenchmarkError, Result, percentile
from bench.seeding import Dataset, Log, copy_rows
from core.keyset import capped_count, keyset_page
from tenancy.models import Project
from tenancy.services import get_or_create_project

GROUP = "audit"
ORGANIZATION = "bench-audit"
DEFAULT_ROWS = 1_000_000
SEED_VERSION = 1
MONTHS = 12
USERS = 1_000
KEYS = 40
MEMBERS = 12
IDS_PER_USER = 40
APPS = ("support-web", "mobile-app", "voice-assistant", "email-bot", "internal")
CHANGE_SHARE = 0.08
LOGINS_PER_ROW = 0.01
PAGE = 50
# memdash's budgets for the audit log.
LOG_COST_P50_MS = 1.0
QUERY_P95_MS = 150.0

# What a year of use looks like: how often each read and change happens (relative weights).
READ_WEIGHTS = {
    "memories.search": 36, "memories.list": 22, "memory.get": 16, "memory.history": 5,
    "events.list": 4, "event.get": 3, "entity.get": 4, "entities.list": 3, "person.page": 4,
    "export.download": 1, "erasure.preview": 0.5,
}  # fmt: skip
CHANGE_WEIGHTS = {
    "key.create": 10, "key.change": 8, "key.revoke": 4, "key.delete": 3, "member.add": 8,
    "member.role": 5, "member.remove": 3, "settings.change": 10, "webhook.create": 4,
    "webhook.change": 4, "webhook.delete": 2, "export.create": 25, "erasure.confirm": 7,
    "erasure.done": 7,
}  # fmt: skip
# (ids per read: lowest, highest) by action; reads not listed return no memory ids.
IDS_RETURNED = {
    "memories.search": (3, 10), "memories.list": (1, 10), "memory.get": (1, 1),
    "memory.history": (1, 1), "person.page": (3, 10), "events.list": (1, 3), "event.get": (1, 3),
}  # fmt: skip
API_PATHS = {
    "memories.search": "/v3/memories/search/", "memories.list": "/v3/memories/",
    "memory.get": "/v1/memories/{id}/", "memory.history": "/v1/memories/{id}/history/",
    "events.list": "/v1/events/", "event.get": "/v1/event/{uuid}/",
    "entity.get": "/v1/entities/{user}/", "entities.list": "/v1/entities/",
    "export.download": "/v1/exports/{uuid}/", "erasure.preview": "/v1/erasures/preview/",
}  # fmt: skip
DASHBOARD_PATHS = {
    "memories.search": "/memories/", "memories.list": "/memories/",
    "memory.get": "/memories/{id}/", "memory.history": "/memories/{id}/",
    "events.list": "/activity/", "event.get": "/activity/{uuid}/",
    "entity.get": "/entities/", "entities.list": "/entities/",
    "person.page": "/people/user/{user}/", "export.download": "/exports/{uuid}/download/",
    "erasure.preview": "/compliance/erasure/",
}  # fmt: skip
COLUMNS = [
    ("at", "timestamptz"),
    ("project_id", "int4"),
    ("kind", "varchar"),
    ("action", "varchar"),
    ("surface", "varchar"),
    ("actor_type", "varchar"),
    ("actor_id", "varchar"),
    ("actor_name", "varchar"),
    ("actor_label", "varchar"),
    ("role", "varchar"),
    ("ip", "inet"),
    ("user_agent", "varchar"),
    ("request_id", "varchar"),
    ("path", "varchar"),
    ("entities", "text[]"),
    ("filters", "jsonb"),
    ("query", "text"),
    ("memory_ids", "uuid[]"),
    ("total", "int4"),
    ("target", "varchar"),
    ("details", "jsonb"),
]
SDK_AGENTS = ("mem0-python/1.0.11", "mem0-python/2.1.0", "mem0-node/2.1.3", "python-httpx/0.28.1")
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"

JSON = dict[str, Any] | list[Any]
Post = Callable[[str, dict[str, Any]], JSON]


def project_name(rows: int) -> str:
    return f"audit-{rows}"


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(month: dt.date) -> dt.date:
    return partitions.next_month(month) - dt.timedelta(days=1)


# --- seeding -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Actor:
    type: str
    id: str
    name: str
    label: str
    role: str
    ip: ipaddress.IPv4Address
    user_agent: str


class LogSeeder:
    """Reproducible access-log and audit-trail rows of one project (see the module docstring).

    Who exists (users and their activity, memory ids, keys, members) depends on the seed only,
    so a reused project's users, busiest users and memory ids are known without reading rows.
    """

    def __init__(self, *, seed: int) -> None:
        self.py = random.Random(seed)
        self.np = np.random.default_rng(seed)
        self.users = [f"u{i}" for i in range(USERS)]
        # Some people are read about far more than others: log-normal activity.
        weights = self.np.lognormal(0.0, 1.0, USERS)
        self.user_p = weights / weights.sum()
        self.busiest = [self.users[i] for i in np.argsort(-weights)[:10]]
        self.pools = [
            [uuid.UUID(bytes=self.py.randbytes(16), version=4) for _ in range(IDS_PER_USER)]
            for _ in range(USERS)
        ]
        self.keys = [
            _Actor(
                "key",
                str(1000 + i),
                f"service-{i:02d}",
                f"api-key:m0-{self.py.randbytes(4).hex()}",
                self.py.choice(["admin", "admin", "member", "member", "viewer"]),
                ipaddress.IPv4Address(f"10.0.{i // 200}.{i % 200 + 10}"),
                self.py.choice(SDK_AGENTS),
            )
            for i in range(KEYS)
        ]
        key_weights = self.np.lognormal(0.0, 1.2, KEYS)
        self.key_p = key_weights / key_weights.sum()
        self.members = [
            _Actor(
                "user",
                str(500 + i),
                f"bench-audit-member-{i:02d}",
                f"user:bench-audit-member-{i:02d}",
                ["admin", "compliance", "member", "viewer"][i % 4],
                ipaddress.IPv4Address(f"192.168.7.{i + 20}"),
                BROWSER,
            )
            for i in range(MEMBERS)
        ]
        self.questions = corpus.questions(300, self.py)
        self.reads = list(audit_query.READS)
        self.read_weights = [READ_WEIGHTS.get(a, 1.0) for a in self.reads]
        self.changes = [a for a in audit_query.CHANGES if a not in audit_query.LOGINS]
        self.change_weights = [CHANGE_WEIGHTS.get(a, 1.0) for a in self.changes]

    @property
    def member_names(self) -> list[str]:
        return [m.name for m in self.members]

    def memory_ids(self, count: int) -> list[uuid.UUID]:
        """`count` memory ids the log names, drawn as reads draw them (by user activity)."""
        users = self.np.choice(USERS, size=count, p=self.user_p)
        return [self.pools[u][self.py.randrange(IDS_PER_USER)] for u in users]

    def rows(
        self, project_id: int, *, count: int, logins: int, start: dt.datetime, end: dt.datetime
    ) -> Iterator[tuple[Any, ...]]:
        """`count` rows of the project and `logins` login rows (no project), oldest first."""
        total = count + logins
        offsets = np.sort(self.np.uniform(0.0, (end - start).total_seconds(), total))
        login_at = np.zeros(total, dtype=bool)
        login_at[self.np.choice(total, size=logins, replace=False)] = True
        users = self.np.choice(USERS, size=total, p=self.user_p)
        keys = self.np.choice(KEYS, size=total, p=self.key_p)
        py = self.py
        for i in range(total):
            at = start + dt.timedelta(seconds=float(offsets[i]))
            if login_at[i]:
                yield self._login(at)
            elif py.random() < CHANGE_SHARE:
                yield self._change(project_id, at, int(users[i]))
            else:
                yield self._read(project_id, at, int(users[i]), self.keys[keys[i]])

    def _row(
        self,
        at: dt.datetime,
        project_id: int | None,
        kind: str,
        action: str,
        actor: _Actor | None,
        path: str,
        *,
        entities: Iterable[str] = (),
        filters: Any = None,
        query: str | None = None,
        memory_ids: Sequence[uuid.UUID] = (),
        total: int | None = None,
        target: str = "",
        details: dict[str, Any] | None = None,
    ) -> tuple[Any, ...]:
        surface = "api" if actor and actor.type == "key" else "dashboard"
        return (
            at,
            project_id,
            kind,
            action,
            surface,
            actor.type if actor else "anonymous",
            actor.id if actor else "",
            actor.name if actor else "",
            actor.label if actor else "",
            actor.role if actor else "",
            actor.ip if actor else ipaddress.IPv4Address("203.0.113.9"),
            actor.user_agent if actor else BROWSER,
            self.py.randbytes(16).hex(),
            path,
            sorted(entities),
            filters,
            query,
            list(memory_ids),
            total,
            target,
            details,
        )

    def _read(self, project_id: int, at: dt.datetime, user: int, key: _Actor) -> tuple[Any, ...]:
        py = self.py
        action = py.choices(self.reads, self.read_weights)[0]
        by_member = action in ("person.page", "erasure.preview") or py.random() < 0.15
        actor = py.choice(self.members) if by_member else key
        low, high = IDS_RETURNED.get(action, (0, 0))
        wanted = py.randint(low, high)
        name = self.users[user]
        shape = py.random()
        entities: set[str] = set()
        ids: list[uuid.UUID] = []
        filters: Any = None
        if shape < 0.85 or action == "person.page":
            # One user's memories (the usual read).
            entities.add(f"user:{name}")
            ids = py.sample(self.pools[user], wanted)
            filters = {"user_id": name}
            if py.random() < 0.3:
                app = py.choice(APPS)
                entities.add(f"app:{app}")
                filters = {"AND": [{"user_id": name}, {"app_id": app}]}
            if py.random() < 0.1:
                entities.add(f"run:run-{name}-{py.randrange(6)}")
        elif shape < 0.95:
            # Across users (user_id "*"): the entities are those of the memories returned.
            others = self.np.choice(USERS, size=max(1, wanted), p=self.user_p)
            entities.update(f"user:{self.users[u]}" for u in others)
            ids = [self.pools[u][py.randrange(IDS_PER_USER)] for u in others[:wanted]]
            filters = {"user_id": "*"}
        else:
            agent = f"agent-{py.randrange(20):03d}"
            entities.add(f"agent:{agent}")
            ids = [uuid.UUID(bytes=py.randbytes(16), version=4) for _ in range(wanted)]
            filters = {"agent_id": agent}
        paths = API_PATHS if actor.type == "key" else DASHBOARD_PATHS
        path = paths.get(action, DASHBOARD_PATHS.get(action, "/")).format(
            id=ids[0] if ids else uuid.UUID(int=0),
            uuid=uuid.UUID(bytes=py.randbytes(16)),
            user=name,
        )
        listing = action in ("memories.search", "memories.list")
        return self._row(
            at,
            project_id,
            "read",
            action,
            actor,
            path,
            entities=entities,
            filters=filters if listing else None,
            query=py.choice(self.questions) if action == "memories.search" else None,
            memory_ids=ids,
            total=len(ids) + (py.randrange(300) if action == "memories.list" else 0),
        )

    def _change(self, project_id: int, at: dt.datetime, user: int) -> tuple[Any, ...]:
        py = self.py
        action = py.choices(self.changes, self.change_weights)[0]
        by_key = action == "export.create" and py.random() < 0.5
        actor = self.keys[py.randrange(KEYS)] if by_key else py.choice(self.members[:4])
        entities: list[str] = []
        details: dict[str, Any] | None = None
        family = action.split(".")[0]
        if family == "key":
            target = py.choice(self.keys).name
            details = {"role": py.choice(["admin", "member", "viewer"])}
        elif family == "member":
            target = py.choice(self.members).name
            details = {"role": py.choice(["admin", "compliance", "member", "viewer"])}
        elif family in ("export", "erasure"):
            target = str(uuid.UUID(bytes=py.randbytes(16), version=4))
            entities = [f"user:{self.users[user]}"]
            details = {"subject": entities[0]} if family == "erasure" else {"kind": "subject"}
        elif family == "webhook":
            target = str(uuid.UUID(bytes=py.randbytes(16), version=4))
            details = {"url": "https://hooks.example.com/memdash", "events": ["memory.add"]}
        else:
            target = "project settings"
            details = {"custom_instructions": {"before": "", "after": "Keep it short."}}
        return self._row(
            at,
            project_id,
            "change",
            action,
            actor,
            "/v1/keys/" if actor.type == "key" else "/settings/",
            entities=entities,
            target=target,
            details=details,
        )

    def _login(self, at: dt.datetime) -> tuple[Any, ...]:
        member = self.py.choice(self.members)
        roll = self.py.random()
        if roll < 0.05:
            return self._row(
                at, None, "change", "login.failed", None, "/login/", target=member.name
            )
        action = "login" if roll < 0.7 else "logout"
        return self._row(at, None, "change", action, member, f"/{action}/", target=member.name)


@dataclass
class AuditData:
    """The seeded log of the audit project, and what the measurements draw from."""

    project: Project
    rows: int
    logins: int
    months: list[dt.date]  # the full months the rows cover, oldest first
    seeder: LogSeeder
    reused: bool
    seconds: float
    analyze_seconds: float = 0.0
    retired: list[str] = field(default_factory=list)


def _project_rows(project: Project) -> int:
    return AuditEntry.objects.filter(project_id=project.pk).count()


def prepare(*, rows: int, seed: int, reseed: bool, log: Log) -> AuditData:
    """Seed (or reuse) `bench-audit / audit-<rows>` with `rows` log rows over 12 months."""
    name = project_name(rows)
    marker = {"audit_rows": rows, "seed": seed, "version": SEED_VERSION}
    seeder = LogSeeder(seed=seed)
    retired: list[str] = []
    existing = Project.objects.filter(organization__name=ORGANIZATION, name=name).first()
    if existing is not None:
        recorded = (existing.options or {}).get("benchmark", {})
        same = all(recorded.get(k) == v for k, v in marker.items())
        found = _project_rows(existing) if same and not reseed else None
        if found == rows:
            first = dt.date.fromisoformat(recorded["first_month"])
            return AuditData(
                project=existing,
                rows=rows,
                logins=recorded.get("logins", 0),
                months=[add_months(first, i) for i in range(MONTHS)],
                seeder=seeder,
                reused=True,
                seconds=recorded.get("seconds", 0.0),
                analyze_seconds=recorded.get("analyze_seconds", 0.0),
            )
        why = (
            "--reseed"
            if reseed
            else f"it holds {found:,} rows, not {rows:,}"
            if found is not None
            else "it was seeded differently"
        )
        # Its rows cannot be deleted (append-only): they stay until retention drops their months.
        existing.name = f"{name}-retired-{existing.pk}"
        existing.save(update_fields=["name", "updated_at"])
        retired.append(existing.name)
        log(f"  retired {name} ({why}) as {existing.name}; its log rows stay")

    started = time.perf_counter()
    now = timezone.now()
    first = add_months(partitions.month_start(now), -MONTHS)
    start = dt.datetime(first.year, first.month, 1, tzinfo=dt.UTC)
    made = partitions.ensure_partitions(now=now, months_back=MONTHS)
    if made:
        log(f"  created partitions {', '.join(made)}")
    logins = int(rows * LOGINS_PER_ROW)
    with transaction.atomic():
        # One transaction: a crash leaves no half-seeded project behind (nothing could delete it).
        project = get_or_create_project(name, organization=ORGANIZATION)
        stream = seeder.rows(project.pk, count=rows, logins=logins, start=start, end=now)
        copy_rows("audit_log", COLUMNS, _progress(stream, rows + logins, log))
        project.options = {
            **(project.options or {}),
            "benchmark": {
                **marker,
                "first_month": first.isoformat(),
                "logins": logins,
                "seeded_at": now.isoformat(),
            },
        }
        project.save(update_fields=["options", "updated_at"])
    copied = time.perf_counter() - started
    analyzed = time.perf_counter()
    _vacuum_analyze()
    analyze_seconds = round(time.perf_counter() - analyzed, 1)
    seconds = round(time.perf_counter() - started, 1)
    project.options["benchmark"].update(seconds=seconds, analyze_seconds=analyze_seconds)
    project.save(update_fields=["options", "updated_at"])
    log(f"  seeded {rows:,} log rows (+{logins:,} logins) in {copied:.1f} s, vacuumed after")
    return AuditData(
        project=project,
        rows=rows,
        logins=logins,
        months=[add_months(first, i) for i in range(MONTHS)],
        seeder=seeder,
        reused=False,
        seconds=seconds,
        analyze_seconds=analyze_seconds,
        retired=retired,
    )


def _progress(rows: Iterable[tuple[Any, ...]], total: int, log: Log) -> Iterator[tuple[Any, ...]]:
    step = max(100_000, total // 10)
    for n, row in enumerate(rows, 1):
        yield row
        if n % step == 0:
            log(f"  copied {n:,} / {total:,} log rows")


def _vacuum_analyze() -> None:
    """Visibility map (index-only scans) and planner statistics of every partition."""
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            cursor.execute("ANALYZE audit_log")  # VACUUM cannot run in a transaction (tests)
        else:
            cursor.execute("VACUUM (ANALYZE) audit_log")


def log_table() -> dict[str, Any]:
    """audit_log as a whole: rows (exact), size and partitions."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM audit_log")
        rows = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*), coalesce(sum(pg_total_relation_size(i.inhrelid)), 0) "
            "FROM pg_inherits i WHERE i.inhparent = 'audit_log'::regclass"
        )
        count, size = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM audit_log_default")
        default_rows = cursor.fetchone()[0]
    return {"rows": rows, "mb": round(size / 2**20), "partitions": count, "default": default_rows}


# --- measuring -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stats:
    p50_ms: float
    p95_ms: float
    max_ms: float


def _stats(samples: list[float]) -> _Stats:
    return _Stats(
        p50_ms=round(statistics.median(samples), 2),
        p95_ms=round(percentile(samples, 0.95), 2),
        max_ms=round(max(samples), 2),
    )


def _rows_of(project_id: int, action: str) -> int:
    return AuditEntry.objects.filter(project_id=project_id, action=action).count()


@dataclass
class _Audit:
    dataset: Dataset
    post: Post
    queries: list[str]
    iterations: int
    warmup: int
    rng: random.Random
    log: Log
    results: list[Result] = field(default_factory=list)

    # --- 1. the access log's cost ------------------------------------------------------------

    def log_cost(self) -> None:
        users = self.dataset.users
        cases: list[tuple[str, str, str, Callable[[], dict[str, Any]]]] = [
            (
                "search: one user",
                "/v3/memories/search/",
                "memories.search",
                lambda: {
                    "query": self.rng.choice(self.queries),
                    "filters": {"user_id": self.rng.choice(users)},
                },
            ),
            (
                "list: one user, page 1",
                "/v3/memories/",
                "memories.list",
                lambda: {"filters": {"user_id": self.rng.choice(users)}},
            ),
        ]
        for label, path, action, make in cases:
            self._paired(label, path, action, [make() for _ in range(self.iterations)])
        self._read_alone()

    def _paired(self, label: str, path: str, action: str, bodies: list[dict[str, Any]]) -> None:
        project_id = self.dataset.project.pk
        for body in bodies[: self.warmup]:
            for on in (True, False):
                with override_settings(MEMDASH_ACCESS_LOG=on):
                    self.post(path, body)
        before = _rows_of(project_id, action)
        samples: dict[bool, list[float]] = {True: [], False: []}
        hits: list[int] = []
        gc.collect()
        for i, body in enumerate(bodies):
            for on in (True, False) if i % 2 == 0 else (False, True):
                with override_settings(MEMDASH_ACCESS_LOG=on):
                    started = time.perf_counter()
                    answer = self.post(path, body)
                    samples[on].append((time.perf_counter() - started) * 1000)
                if on and isinstance(answer, dict):
                    hits.append(len(answer.get("results", [])))
        written = _rows_of(project_id, action) - before
        if written != len(bodies):
            raise BenchmarkError(
                f"{path} wrote {written} access-log rows for {len(bodies)} calls with the log on "
                "(and as many off, which must write none)"
            )
        rows = round(statistics.mean(hits), 1) if hits else None
        logged, unlogged = _stats(samples[True]), _stats(samples[False])
        for state, figures in (("on", logged), ("off", unlogged)):
            self.results.append(
                Result(
                    name=f"{label}, access log {state}",
                    group=GROUP,
                    calls=len(bodies),
                    p50_ms=figures.p50_ms,
                    p95_ms=figures.p95_ms,
                    max_ms=figures.max_ms,
                    rows_per_call=rows,
                )
            )
        p50 = round(logged.p50_ms - unlogged.p50_ms, 2)
        p95 = round(logged.p95_ms - unlogged.p95_ms, 2)
        paired = statistics.median(
            a - b for a, b in zip(samples[True], samples[False], strict=True)
        )
        cost = Result(
            name=f"{label}: the access log's cost (on - off)",
            group=GROUP,
            calls=len(bodies),
            p50_ms=p50,
            p95_ms=p95,
            budget=f"p50 +<= {LOG_COST_P50_MS:g} ms",
            ok=p50 <= LOG_COST_P50_MS,
            note=(
                f"p50 {logged.p50_ms:.2f} ms on vs {unlogged.p50_ms:.2f} ms off: {p50:+.2f} ms "
                f"(p95 {p95:+.2f} ms); median of the paired differences {paired:+.2f} ms; "
                f"{len(bodies)} inputs, each sent once each way, the order alternating; the log "
                "on wrote one row per call, off none"
            ),
        )
        self.results.append(cost)
        self.log(
            f"  {label}: p50 {logged.p50_ms} ms on, {unlogged.p50_ms} ms off "
            f"({p50:+.2f} ms; paired {paired:+.2f} ms)"
        )

    def _read_alone(self) -> None:
        """audit.log.read by itself: the Python side and one INSERT, committed on its own."""
        user = self.dataset.users[0]
        query = self.queries[0]
        body: dict[str, Any] = {"query": query, "filters": {"user_id": user}}
        answer = self.post("/v3/memories/search/", body)
        results = answer.get("results", []) if isinstance(answer, dict) else []
        project_id = self.dataset.project.pk

        def call() -> None:
            audit_log.read(
                "memories.search",
                project_id=project_id,
                memories=results,
                scope={"user_id": user},
                filters={"user_id": user},
                query=query,
            )

        with override_settings(MEMDASH_ACCESS_LOG=True):
            for _ in range(self.warmup):
                call()
            gc.collect()
            samples = []
            for _ in range(self.iterations):
                started = time.perf_counter()
                call()
                samples.append((time.perf_counter() - started) * 1000)
        committed = "in the test's transaction" if connection.in_atomic_block else "a commit each"
        figures = _stats(samples)
        self.results.append(
            Result(
                name=f"audit.log.read alone: one search's row ({len(results)} memories)",
                group=GROUP,
                calls=len(samples),
                p50_ms=figures.p50_ms,
                p95_ms=figures.p95_ms,
                max_ms=figures.max_ms,
                rows_per_call=1,
                note=f"one INSERT ({committed}); what each 'on' call adds; not budgeted",
            )
        )

    # --- 2. the audit query at scale ---------------------------------------------------------

    def query(self, data: AuditData) -> None:
        project_id = data.project.pk
        members = data.seeder.member_names
        cap = settings.MEMDASH_DASHBOARD_COUNT_CAP
        users = data.seeder.users
        months = data.months

        def month_filter(user: str | None, month: dt.date) -> audit_query.AuditFilter:
            params = {"since": month.isoformat(), "until": month_end(month).isoformat()}
            return audit_query.parse({**params, **({"entity": f"user:{user}"} if user else {})})

        def one_user_one_month() -> tuple[str, dt.date]:
            return self.rng.choice(users), self.rng.choice(months)

        def first_50(user: str, month: dt.date) -> int:
            return len(list(audit_query.entries(project_id, month_filter(user, month))[:PAGE]))

        def page_1(user: str | None, month: dt.date | None) -> int:
            selected = month_filter(user, month) if month else audit_query.AuditFilter()
            rows = audit_query.entries(project_id, selected, members=members)
            return len(keyset_page(rows, key="at", size=PAGE).rows)

        def counted(user: str | None, month: dt.date) -> int:
            rows = audit_query.entries(project_id, month_filter(user, month), members=members)
            return capped_count(rows, cap)[0]

        def page_2(user: str, month: dt.date, cursor: str) -> int:
            rows = audit_query.entries(project_id, month_filter(user, month), members=members)
            return len(keyset_page(rows, key="at", size=PAGE, older=cursor).rows)

        def all_time(user: str) -> int:
            selected = audit_query.parse({"entity": f"user:{user}"})
            return len(list(audit_query.entries(project_id, selected)[:PAGE]))

        def by_memory(memory_id: str) -> int:
            selected = audit_query.parse({"memory_id": memory_id})
            return len(list(audit_query.entries(project_id, selected)[:PAGE]))

        n = self.iterations
        middle = months[len(months) // 2]
        example_user = "u42"
        pairs = [one_user_one_month() for _ in range(n)]
        self._query(
            "audit query: one user, one month, first 50 (entries()[:50])",
            first_50,
            pairs,
            (example_user, middle),
        )
        self._query(
            "audit query: one user, one month, keyset page 1 (dashboard: members' logins too)",
            page_1,
            pairs,
            (example_user, middle),
        )
        second = self._second_pages(data, project_id, members, month_filter)
        if second:
            self._query(
                "audit query: a busy user, one month, keyset page 2 (older cursor)",
                page_2,
                second,
                second[0],
            )
        else:
            self.log("  no user has a second page in a month: page 2 not measured")
        self._query(
            f"audit query: one user, one month, capped count (cap {cap:,})",
            counted,
            pairs,
            (example_user, middle),
        )
        busiest = [
            (self.rng.choice(data.seeder.busiest), self.rng.choice(months)) for _ in range(n)
        ]
        self._query(
            "audit query: one of the 10 busiest users, one month, keyset page 1",
            page_1,
            busiest,
            (data.seeder.busiest[0], middle),
        )
        self._query(
            "audit query: one user, all time, first 50",
            all_time,
            [(self.rng.choice(users),) for _ in range(n)],
            (example_user,),
        )
        self._query(
            "audit query: one of the 10 busiest users, all time, first 50",
            all_time,
            [(self.rng.choice(data.seeder.busiest),) for _ in range(n)],
            (data.seeder.busiest[0],),
        )
        ids = [str(pk) for pk in data.seeder.memory_ids(n)]
        self._query(
            "audit query: one memory id, all time, first 50 (Accessed by)",
            by_memory,
            [(pk,) for pk in ids],
            (ids[0],),
        )
        self._query(
            "audit query: whole log, one month, keyset page 1",
            page_1,
            [(None, self.rng.choice(months)) for _ in range(n)],
            (None, middle),
        )
        self._query(
            f"audit query: whole log, one month, capped count (cap {cap:,})",
            counted,
            [(None, self.rng.choice(months)) for _ in range(n)],
            (None, middle),
        )
        self._query(
            "audit query: whole log, no filter, keyset page 1 (the Audit page)",
            page_1,
            [(None, None)] * n,
            (None, None),
        )

    def _second_pages(
        self,
        data: AuditData,
        project_id: int,
        members: list[str],
        month_filter: Callable[[str | None, dt.date], audit_query.AuditFilter],
    ) -> list[tuple[str, dt.date, str]]:
        """(user, month, older cursor) of first pages that have a second page (untimed)."""
        found: list[tuple[str, dt.date, str]] = []
        candidates = [(u, m) for u in data.seeder.busiest for m in data.months]
        self.rng.shuffle(candidates)
        for user, month in candidates:
            rows = audit_query.entries(project_id, month_filter(user, month), members=members)
            page = keyset_page(rows, key="at", size=PAGE)
            if page.older:
                found.append((user, month, page.older))
        return [found[i % len(found)] for i in range(self.iterations)] if found else []

    def _query(
        self,
        name: str,
        call: Callable[..., int],
        inputs: Sequence[tuple[Any, ...]],
        example: tuple[Any, ...],
    ) -> None:
        for args in inputs[: self.warmup]:
            call(*args)
        gc.collect()
        samples: list[float] = []
        rows: list[int] = []
        for args in inputs:
            started = time.perf_counter()
            rows.append(call(*args))
            samples.append((time.perf_counter() - started) * 1000)
        figures = _stats(samples)
        shape, text = explain(lambda: call(*example))
        shown = ", ".join("all" if a is None else str(a) for a in example[:2])
        result = Result(
            name=name,
            group=GROUP,
            calls=len(samples),
            rows_per_call=round(statistics.mean(rows), 1),
            budget=f"p95 <= {QUERY_P95_MS:g} ms",
            ok=figures.p95_ms <= QUERY_P95_MS,
            note=f"plan ({shown}): {shape}",
            plan=text,
            p50_ms=figures.p50_ms,
            p95_ms=figures.p95_ms,
            max_ms=figures.max_ms,
        )
        self.results.append(result)
        self.log(f"  {name}: p50 {result.p50_ms} ms, p95 {result.p95_ms} ms\n    plan: {shape}")


# --- plans ---------------------------------------------------------------------------------------


def explain(call: Callable[[], Any]) -> tuple[str, str]:
    """The plan of the last query `call` runs, executed (EXPLAIN ANALYZE, BUFFERS): a one-line
    shape (nodes, partitions scanned, indexes, time, buffers) and the full text plan."""
    with CaptureQueriesContext(connection) as queries:
        call()
    sql = queries.captured_queries[-1]["sql"]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        text = "\n".join(row[0] for row in cursor.fetchall())
    if isinstance(plan, str):  # pragma: no cover - psycopg decodes json itself
        import json

        plan = json.loads(plan)
    return plan_shape(plan[0], _parent_indexes(), _partition_count()), text


def _parent_indexes() -> dict[str, str]:
    """Each partition's index -> the audit_log index it is a partition of."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, p.relname FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "JOIN pg_index x ON x.indexrelid = p.oid "
            "WHERE x.indrelid = 'audit_log'::regclass"
        )
        return dict(cursor.fetchall())


def _partition_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'audit_log'::regclass")
        return int(cursor.fetchone()[0])


def plan_shape(explained: dict[str, Any], indexes: dict[str, str], partition_count: int) -> str:
    """`Limit > Sort > Append[2 partitions: Bitmap Heap Scan > Bitmap Index Scan (entities_gin)]`
    style, with what was scanned and what it cost."""
    scanned: set[str] = set()
    used: set[str] = set()
    removed = 0

    def label(node: dict[str, Any]) -> str:
        nonlocal removed
        kind = node["Node Type"]
        if node.get("Relation Name"):
            scanned.add(node["Relation Name"])
        index = node.get("Index Name")
        text = kind
        if index:
            parent = indexes.get(index, index)
            used.add(parent)
            text += f" ({parent})"
        if kind == "Sort" and node.get("Sort Method"):
            text += f" ({node['Sort Method']})"
        if node.get("Parent Relationship") == "InitPlan":
            text = "InitPlan " + text
        removed += int(node.get("Subplans Removed", 0))
        return text

    def walk(node: dict[str, Any]) -> str:
        text = label(node)
        children = node.get("Plans", [])
        if len(children) == 1:
            return f"{text} > {walk(children[0])}"
        if not children:
            return text
        shapes = [walk(child) for child in children]
        grouped: dict[str, int] = {}
        for shape in shapes:
            grouped[shape] = grouped.get(shape, 0) + 1
        inner = "; ".join(
            f"{count}x {shape}" if count > 1 else shape for shape, count in grouped.items()
        )
        return f"{text} [{inner}]"

    root = explained["Plan"]
    shape = walk(root)
    parts = sorted(name for name in scanned if name.startswith("audit_log_"))
    hit, read = root.get("Shared Hit Blocks", 0), root.get("Shared Read Blocks", 0)
    pruned = f"{len(parts)} of {partition_count} partitions scanned"
    if parts and len(parts) <= 3:
        pruned += f" ({', '.join(parts)})"
    if removed:
        pruned += f", {removed} removed at run time"
    return (
        f"{shape}; {pruned}; indexes: {', '.join(sorted(used)) or 'none'}; "
        f"{explained.get('Execution Time', 0):.1f} ms, buffers hit {hit:,} read {read:,}"
    )


# --- the group -----------------------------------------------------------------------------------


def measure(
    dataset: Dataset,
    *,
    post: Post,
    queries: list[str],
    rows: int,
    iterations: int,
    warmup: int,
    seed: int,
    reseed: bool,
    log: Log,
) -> list[Result]:
    """The access log's cost on reads, then the audit query over `rows` seeded log rows."""
    bench = _Audit(
        dataset=dataset,
        post=post,
        queries=queries,
        iterations=iterations,
        warmup=min(warmup, iterations),
        rng=random.Random(seed),
        log=log,
    )
    log("  the access log's cost, on and off interleaved ...")
    bench.log_cost()
    log(f"  seeding (or reusing) {rows:,} audit log rows ...")
    data = prepare(rows=rows, seed=seed, reseed=reseed, log=log)
    table = log_table()
    seeded = (
        f"reused (seeded earlier in {data.seconds:.0f} s)"
        if data.reused
        else f"seeded now in {data.seconds:.1f} s (VACUUM ANALYZE {data.analyze_seconds:.1f} s)"
    )
    note = (
        f"setup, not budgeted; {seeded}; {USERS:,} users, {KEYS} keys and {MEMBERS} members "
        f"as actors, months {data.months[0]:%Y-%m} to {data.months[-1]:%Y-%m} and this one's "
        f"start; audit_log now holds {table['rows']:,} rows ({table['mb']:,} MB, "
        f"{table['partitions']} partitions, {table['default']:,} rows in the default one); the "
        "seeded rows stay (append-only) and are reused"
    )
    if data.retired:
        note += f"; retired {', '.join(data.retired)} (its rows stay too)"
    bench.results.append(
        Result(
            name=(
                f"seed the audit log: {data.rows:,} rows of {ORGANIZATION}/{data.project.name} "
                f"over {MONTHS} months (+{data.logins:,} logins)"
            ),
            group=GROUP,
            seconds=data.seconds,
            rate=round((data.rows + data.logins) / data.seconds, 1) if data.seconds else None,
            rate_unit="rows/s",
            note=note,
        )
    )
    log("  the audit query ...")
    bench.query(data)
    return bench.results
