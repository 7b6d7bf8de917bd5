"""Timing the real read and write paths against a seeded benchmark project.

Every API measurement goes through the whole Django stack in-process (DRF's APIClient with a
real API key: middleware, authentication, parsing, the filter language, the query, the
serialization); only the network is missing. Latencies are wall-clock per call, after a
warm-up, with inputs drawn at random (users, queries, ids) so caches see realistic variety.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from unittest import mock

from django.db import connection, transaction
from django.db.models import Count, ExpressionWrapper, FloatField
from django.test import override_settings
from django.utils import timezone
from pgvector.django import CosineDistance
from rest_framework.test import APIClient

from bench import auditing, compliance, corpus
from bench.results import BenchmarkError, Result, percentile
from bench.seeding import Dataset, Generator, Log, vacuum
from core.api.pagination import DEFAULT_PAGE_SIZE
from memories import embeddings, listing, pii, retention, search, services
from memories.attribution import Message, Scope
from memories.models import Event, Memory, MemoryHistory, RetentionPolicy, TrashedMemory
from tenancy.models import ApiKey, Project, Role
from tenancy.services import create_api_key

if TYPE_CHECKING:
    from rest_framework.response import _MonkeyPatchedResponse

GROUPS = ("search", "list", "get", "history", "add", "delete", "compliance", "audit")
KEY_NAME = "benchmark"
ACTOR = "benchmark"
DELETE_APP = "bench-delete"
# memdash's budgets (README "Benchmark it"), set for 1M memories across 10k users.
SEARCH_P95_MS = 30.0
# The vector stage's top 10 must hold this share of the exact cosine top 10 at every scope.
RECALL_AT_10 = 0.95
RECALL_QUERIES = 50
LIST_P95_MS = 50.0
ADD_PER_S = 300.0
# PII detection (memories.pii) costs at most this share of infer=false add throughput.
PII_COST_SHARE = 0.10
DELETE_100K_S = 30.0
# memdash's budget for a retention policy's deletes (memories with history, per second).
RETENTION_RATE = 5_000
RETENTION_POLICY = "bench retention"

# A decoded API response body.
JSON = dict[str, Any] | list[Any]


@dataclass
class Options:
    iterations: int = 200
    warmup: int = 5
    warm: bool = False
    add_calls: int = 25
    add_batch: int = 20
    delete_count: int = 10_000
    subject_memories: int = 10_000
    audit_rows: int = auditing.DEFAULT_ROWS
    reseed: bool = False
    groups: tuple[str, ...] = GROUPS
    seed: int = 42


@dataclass
class _Bench:
    dataset: Dataset
    options: Options
    log: Log
    client: APIClient
    rng: random.Random
    results: list[Result] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    # --- helpers ----------------------------------------------------------------------------

    def timed_calls(
        self,
        name: str,
        group: str,
        call: Callable[[], Any],
        *,
        rows: Callable[[Any], int] | None = None,
        budget_ms: float | None = None,
        budget_label: str = "",
    ) -> Result:
        if self.options.warm:
            # Replay the exact inputs of the timed pass once, untimed: the caches then hold
            # what an active user's next request finds (a long-running server's steady state).
            state = self.rng.getstate()
            for _ in range(self.options.iterations):
                call()
            self.rng.setstate(state)
        else:
            for _ in range(min(self.options.warmup, self.options.iterations)):
                call()
        gc.collect()
        samples: list[float] = []
        counted: list[int] = []
        for _ in range(self.options.iterations):
            started = time.perf_counter()
            outcome = call()
            samples.append((time.perf_counter() - started) * 1000)
            if rows:
                counted.append(rows(outcome))
        p95_ms = round(percentile(samples, 0.95), 2)
        result = Result(
            name=name,
            group=group,
            calls=len(samples),
            p50_ms=round(statistics.median(samples), 2),
            p95_ms=p95_ms,
            max_ms=round(max(samples), 2),
            rows_per_call=round(statistics.mean(counted), 1) if counted else None,
        )
        if budget_ms is not None:
            result.budget = budget_label or f"p95 <= {budget_ms:g} ms"
            result.ok = p95_ms <= budget_ms
        self.results.append(result)
        self.log(f"  {name}: p50 {result.p50_ms} ms, p95 {result.p95_ms} ms")
        return result

    def post(self, path: str, body: dict[str, Any]) -> JSON:
        response = self.client.post(path, body, format="json")
        return self._json(response, path, body)

    def get(self, path: str) -> JSON:
        return self._json(self.client.get(path), path, None)

    @staticmethod
    def _json(response: _MonkeyPatchedResponse, path: str, body: dict[str, Any] | None) -> JSON:
        if response.status_code != 200:
            raise BenchmarkError(
                f"{path} {body!r} answered {response.status_code}: {response.content[:500]!r}"
            )
        return response.json()

    def user(self) -> str:
        return self.rng.choice(self.dataset.users)

    def agent(self) -> str:
        return self.rng.choice(self.dataset.agents)

    def query(self) -> str:
        return self.rng.choice(self.queries)

    # --- measurements -----------------------------------------------------------------------

    def search(self) -> None:
        path = "/v3/memories/search/"
        hits = len_of("results")
        self.timed_calls(
            "search: one user",
            "search",
            lambda: self.post(path, {"query": self.query(), "filters": {"user_id": self.user()}}),
            rows=hits,
            budget_ms=SEARCH_P95_MS,
        )
        self.timed_calls(
            "search: one user + category",
            "search",
            lambda: self.post(
                path,
                {
                    "query": self.query(),
                    "filters": {
                        "AND": [
                            {"user_id": self.user()},
                            {"categories": {"in": [self.category()]}},
                        ]
                    },
                },
            ),
            rows=hits,
            budget_ms=SEARCH_P95_MS,
        )
        self.timed_calls(
            f"search: one agent ({self.agent_share()})",
            "search",
            lambda: self.post(path, {"query": self.query(), "filters": {"agent_id": self.agent()}}),
            rows=hits,
            budget_ms=SEARCH_P95_MS,
        )
        biggest_app = self.dataset.apps[0]
        self.timed_calls(
            f"search: one app ({biggest_app}, {self.app_share(biggest_app)})",
            "search",
            lambda: self.post(path, {"query": self.query(), "filters": {"app_id": biggest_app}}),
            rows=hits,
        )
        self.timed_calls(
            'search: all users (user_id "*")',
            "search",
            lambda: self.post(path, {"query": self.query(), "filters": {"user_id": "*"}}),
            rows=hits,
        )
        self.recall("one user", lambda: {"user_id": self.user()})
        self.recall(f"one agent ({self.agent_share()})", lambda: {"agent_id": self.agent()})
        self.recall(
            f"one app ({biggest_app}, {self.app_share(biggest_app)})",
            lambda: {"app_id": biggest_app},
        )
        self.recall('whole project (user_id "*")', lambda: {"user_id": "*"})

    def recall(self, scope_name: str, filters: Callable[[], dict[str, Any]]) -> Result:
        """Recall@10 of search's vector stage (exact or HNSW, as search chooses it for the scope,
        with search's candidate pool) against the exact cosine top 10 of the same scope, over
        RECALL_QUERIES random queries; a query answered with fewer rows than the scope's top 10
        holds counts as short."""
        project = self.dataset.project
        pool = max(10 * 4, search.MIN_CANDIDATES)
        shares: list[float] = []
        short = 0
        for _ in range(min(RECALL_QUERIES, self.options.iterations)):
            scope = listing.matching(project, listing.visible(filters(), show_expired=False))
            vector = embeddings.embed_one(self.query())
            found = [m.pk for m in search.nearest(scope, vector, pool)[:10]]
            # "+ 0" keeps the HNSW index out of the ORDER BY: the exact answer, scanned.
            exact_distance = ExpressionWrapper(
                CosineDistance("embedding", vector) + 0.0, output_field=FloatField()
            )
            exact = list(
                scope.annotate(exact=exact_distance)
                .order_by("exact")
                .values_list("pk", flat=True)[:10]
            )
            if not exact:
                continue
            shares.append(len(set(found) & set(exact)) / len(exact))
            short += len(found) < len(exact)
        value = round(statistics.mean(shares), 3) if shares else None
        result = Result(
            name=f"recall@10 vs exact cosine: {scope_name}",
            group="search",
            calls=len(shares),
            rate=value,
            rate_unit="recall@10",
            budget=f"recall >= {RECALL_AT_10:g}, none short",
            ok=value is not None and value >= RECALL_AT_10 and short == 0,
            note=f"{short} of {len(shares)} queries answered short" if short else "",
        )
        self.results.append(result)
        self.log(f"  {result.name}: {value} ({short} short)")
        return result

    def listing(self) -> None:
        path = "/v3/memories/"
        found = len_of("results")
        app = self.dataset.apps[0]
        app_rows = (
            Memory.objects.for_project(self.dataset.project).unexpired().filter(app_id=app).count()
        )
        deep = max(1, min(20, (app_rows - 1) // DEFAULT_PAGE_SIZE + 1))
        busy = self.busy_users(minimum=51)
        month_ago = (timezone.now() - dt.timedelta(days=30)).date().isoformat()
        quarter_ago = (timezone.now() - dt.timedelta(days=90)).date().isoformat()
        cases: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            ("list: one user, page 1", lambda: {"filters": {"user_id": self.user()}}),
            (
                "list: one user (51+ memories), page 2 of 50",
                lambda: {
                    "filters": {"user_id": self.rng.choice(busy)},
                    "page": 2,
                    "page_size": 50,
                },
            ),
            (
                "list: one user + metadata",
                lambda: {
                    "filters": {
                        "AND": [{"user_id": self.user()}, {"metadata": {"source": "email"}}]
                    }
                },
            ),
            (
                "list: one user + last 90 days",
                lambda: {
                    "filters": {
                        "AND": [{"user_id": self.user()}, {"created_at": {"gte": quarter_ago}}]
                    }
                },
            ),
            (f"list: one app ({app}), page 1", lambda: {"filters": {"app_id": app}}),
            (
                f"list: one app ({app}), page {deep}",
                lambda: {"filters": {"app_id": app}, "page": deep},
            ),
            (
                "list: all users + category",
                lambda: {
                    "filters": {
                        "AND": [{"user_id": "*"}, {"categories": {"in": [self.category()]}}]
                    }
                },
            ),
            (
                "list: all users + metadata (1 in 20)",
                lambda: {
                    "filters": {
                        "AND": [
                            {"user_id": "*"},
                            {"metadata": {"source": "voice", "priority": self.rng.randint(1, 5)}},
                        ]
                    }
                },
            ),
            (
                "list: all users + last 30 days",
                lambda: {
                    "filters": {"AND": [{"user_id": "*"}, {"created_at": {"gte": month_ago}}]}
                },
            ),
        ]
        if not busy:
            cases = [case for case in cases if "page 2 of 50" not in case[0]]
        for name, body in cases:

            def call(body: Callable[[], dict[str, Any]] = body) -> JSON:
                return self.post(path, body())

            self.timed_calls(name, "list", call, rows=found, budget_ms=LIST_P95_MS)

    def get_one(self) -> None:
        ids = self.sample_ids()
        self.timed_calls(
            "get: GET /v1/memories/{id}/",
            "get",
            lambda: self.get(f"/v1/memories/{self.rng.choice(ids)}/"),
            rows=lambda body: 1,
        )

    def history(self) -> None:
        ids = self.sample_ids()
        self.timed_calls(
            "history: GET /v1/memories/{id}/history/",
            "history",
            lambda: self.get(f"/v1/memories/{self.rng.choice(ids)}/history/"),
            rows=len,
        )

    def add(self) -> None:
        calls, batch = self.options.add_calls, self.options.add_batch
        # Every fact the templates make (more than the seeded pool): some repeat a text the user
        # already has and are skipped as duplicates, as in real traffic.
        facts = corpus.facts(10**6, random.Random(self.options.seed))
        added_ids: list[str] = []
        event_ids: list[str] = []

        def messages() -> list[dict[str, str]]:
            return [{"role": "user", "content": f.text} for f in self.rng.sample(facts, batch)]

        def via_api() -> int:
            body = {"messages": messages(), "user_id": self.user(), "infer": False}
            data = self.post("/v3/memories/add/", body)
            if not isinstance(data, dict):
                raise BenchmarkError(f"/v3/memories/add/ answered {data!r}, not an object")
            added_ids.extend(r["id"] for r in data["results"])
            event_ids.append(data["event_id"])
            return len(data["results"])

        def via_service() -> int:
            outcome = services.add_memories(
                self.dataset.project,
                messages=[Message(role=m["role"], content=m["content"]) for m in messages()],
                scope=Scope(user_id=self.user()),
                actor=ACTOR,
            )
            added_ids.extend(str(m.id) for m in outcome.added)
            event_ids.append(str(outcome.event.id))
            return len(outcome.added)

        pool = self.dataset.pool_vectors()

        def precomputed(texts: list[str]) -> list[list[float]]:
            return [pool[self.rng.randrange(len(pool))].tolist() for _ in texts]

        def storage_only() -> int:
            with mock.patch.object(embeddings, "embed", precomputed):
                return via_service()

        variants = [
            (f"add infer=false: POST /v3/memories/add/ ({batch} per call)", via_api, True),
            (f"add infer=false: services.add_memories ({batch} per call)", via_service, True),
            (f"add, embeddings precomputed: storage only ({batch} per call)", storage_only, False),
        ]
        samples: dict[str, list[float]] = {name: [] for name, _, _ in variants}
        added: dict[str, int] = dict.fromkeys(samples, 0)
        try:
            for _, call, _ in variants:
                call()  # warm-up
            # Interleaved, rotating the order, so that no variant alone pays for cold caches.
            for round_ in range(calls):
                shift = round_ % len(variants)
                for name, call, _ in variants[shift:] + variants[:shift]:
                    begun = time.perf_counter()
                    added[name] += call()
                    samples[name].append((time.perf_counter() - begun) * 1000)
            for name, _, budgeted in variants:
                elapsed = sum(samples[name]) / 1000
                rate = round(added[name] / elapsed, 1)
                result = Result(
                    name=name,
                    group="add",
                    calls=calls,
                    p50_ms=round(statistics.median(samples[name]), 1),
                    p95_ms=round(percentile(samples[name], 0.95), 1),
                    max_ms=round(max(samples[name]), 1),
                    rows_per_call=round(added[name] / calls, 1),
                    rate=rate,
                    rate_unit="memories/s",
                )
                if budgeted:
                    result.budget = f">= {ADD_PER_S:g} memories/s"
                    result.ok = rate >= ADD_PER_S
                else:
                    result.note = "the database's share of an add: embed() patched to pool vectors"
                self.results.append(result)
                self.log(f"  {name}: {result.rate} memories/s")
        finally:
            purge(self.dataset.project, memory_ids=added_ids, event_ids=event_ids)
        self.pii_cost(facts)

    def pii_cost(self, facts: list[corpus.Fact]) -> None:
        """PII detection's share of infer=false add throughput: the same adds through the API
        with MEMDASH_PII_DETECTION on and off, interleaved (the order alternating), for two
        mixes of texts: the corpus's facts, of which almost none holds a digit or an "@" (they
        skip the analyzer), and the same facts each followed by a number or an address (half of
        them personal data, half near-misses), so that every text goes through the analyzer."""
        calls, batch = self.options.add_calls, self.options.add_batch
        rng = random.Random(self.options.seed + 1)
        # (shape of each text, budgeted): the corpus is the add workload the budget is for; the
        # second mix is the worst case, every text through the analyzer, shown beside it.
        mixes = {
            "corpus facts": (lambda text: text, True),
            "facts + a number or an email each": (lambda text: f"{text}, {_numbered(rng)}", False),
        }
        added_ids: list[str] = []
        event_ids: list[str] = []

        def add(texts: list[str], on: bool) -> tuple[float, int]:
            body = {
                "messages": [{"role": "user", "content": text} for text in texts],
                "user_id": self.user(),
                "infer": False,
            }
            with override_settings(MEMDASH_PII_DETECTION=on):
                begun = time.perf_counter()
                data = self.post("/v3/memories/add/", body)
                elapsed = time.perf_counter() - begun
            if not isinstance(data, dict):
                raise BenchmarkError(f"/v3/memories/add/ answered {data!r}, not an object")
            added_ids.extend(r["id"] for r in data["results"])
            event_ids.append(data["event_id"])
            return elapsed, len(data["results"])

        try:
            for mix, (shape, budgeted) in mixes.items():
                warmup, *inputs = [
                    [shape(f.text) for f in rng.sample(facts, batch)] for _ in range(calls + 1)
                ]
                # The analyzer loads on first use, once per process (a second or two): here.
                pii.kinds_in("call 415 555 0100")
                for on in (True, False):
                    add(warmup, on)
                seconds = {True: 0.0, False: 0.0}
                added = {True: 0, False: 0}
                samples: dict[bool, list[float]] = {True: [], False: []}
                # Per input, seconds per memory with detection on over off.
                ratios: list[float] = []
                for i, texts in enumerate(inputs):
                    per_memory = {}
                    for on in (True, False) if i % 2 == 0 else (False, True):
                        elapsed, count = add(texts, on)
                        seconds[on] += elapsed
                        added[on] += count
                        samples[on].append(elapsed * 1000)
                        per_memory[on] = elapsed / max(count, 1)
                    ratios.append(per_memory[True] / per_memory[False])
                rates = {on: added[on] / seconds[on] for on in (True, False)}
                for on in (True, False):
                    self.results.append(
                        Result(
                            name=f"add infer=false, PII detection {'on' if on else 'off'}: "
                            f"{mix} ({batch} per call)",
                            group="add",
                            calls=calls,
                            p50_ms=round(statistics.median(samples[on]), 1),
                            p95_ms=round(percentile(samples[on], 0.95), 1),
                            max_ms=round(max(samples[on]), 1),
                            rows_per_call=round(added[on] / calls, 1),
                            rate=round(rates[on], 1),
                            rate_unit="memories/s",
                        )
                    )
                # The throughput lost, from the median of the paired ratios: one stalled call (a
                # checkpoint, a busy neighbour) moves a ratio of sums, not a median.
                share = 1 - 1 / statistics.median(ratios)
                cost = Result(
                    name=f"PII detection's cost: {mix}",
                    group="add",
                    calls=calls,
                    rate=round(share * 100, 1),
                    rate_unit="% of add throughput",
                    note=(
                        f"{rates[True]:.1f} memories/s on vs {rates[False]:.1f} off (all calls); "
                        f"the share is 1 - 1 / the median of the {calls} paired ratios of time per "
                        "memory (on / off), each input sent once each way, the order alternating"
                        + ("" if budgeted else "; the worst case, not budgeted")
                    ),
                )
                if budgeted:
                    cost.budget = f"<= {PII_COST_SHARE:.0%} of add throughput"
                    cost.ok = share <= PII_COST_SHARE
                self.results.append(cost)
                self.log(
                    f"  PII detection, {mix}: {rates[True]:.1f} memories/s on, "
                    f"{rates[False]:.1f} off ({share:+.1%})"
                )
        finally:
            purge(self.dataset.project, memory_ids=added_ids, event_ids=event_ids)

    def delete(self) -> None:
        project, count = self.dataset.project, self.options.delete_count
        purge_app(project, DELETE_APP)
        generator = Generator(
            project=project,
            facts=self.dataset.facts,
            vectors=self.dataset.pool_vectors(),
            users=self.dataset.users,
            agents=self.dataset.agents,
            seed=self.options.seed + 1,
            model_name=embeddings.get_embedder().name,
        )
        started = time.perf_counter()
        for start in range(0, count, 20_000):
            with transaction.atomic():
                generator.copy_chunk(min(20_000, count - start), app_id=DELETE_APP)
        seeded = time.perf_counter() - started
        self.results.append(
            Result(
                name=f"insert {count:,} memories (+ history) by COPY, all indexes live",
                group="delete",
                seconds=round(seeded, 2),
                rate=round(count / seeded, 1),
                rate_unit="memories/s",
                note="setup for the delete below; not budgeted",
            )
        )
        self.log(f"  seeded {count:,} memories to delete in {seeded:.1f} s")
        started = time.perf_counter()
        event = services.delete_memories(
            project, Memory.objects.for_project(project).filter(app_id=DELETE_APP), actor=ACTOR
        )
        elapsed = time.perf_counter() - started
        # delete_memories records {"deleted": n} on the Event it returns; None is caught below.
        deleted = event.results["deleted"] if event.results is not None else None
        if deleted != count:
            raise BenchmarkError(f"delete_memories deleted {deleted}, expected {count}")
        budget = DELETE_100K_S * count / 100_000
        self.results.append(
            Result(
                name=f"delete {count:,} memories with history: services.delete_memories",
                group="delete",
                calls=1,
                seconds=round(elapsed, 2),
                rate=round(count / elapsed, 1),
                rate_unit="memories/s",
                budget=f"<= {budget:g} s (100k in {DELETE_100K_S:g} s)",
                ok=elapsed <= budget,
            )
        )
        self.log(f"  deleted {count:,} in {elapsed:.1f} s")
        purge_app(project, DELETE_APP)
        Event.objects.filter(pk__in=[*generator.events, event.pk]).delete()
        self.retention(generator, count)
        if not connection.in_atomic_block:
            started = time.perf_counter()
            vacuum(analyze=True)
            self.results.append(
                Result(
                    name="vacuum after the delete (HNSW repair included)",
                    group="delete",
                    seconds=round(time.perf_counter() - started, 2),
                    note="autovacuum's later cost of a big delete; not budgeted",
                )
            )

    def retention(self, generator: Generator, count: int) -> None:
        """A retention policy over the same kind of set: final deletes (no trash), in batches."""
        project = self.dataset.project
        generator.events.clear()
        for start in range(0, count, 20_000):
            with transaction.atomic():
                generator.copy_chunk(min(20_000, count - start), app_id=DELETE_APP)
        Memory.objects.for_project(project).filter(app_id=DELETE_APP).update(
            created_at=timezone.now() - dt.timedelta(days=400)
        )
        RetentionPolicy.objects.filter(project=project, name=RETENTION_POLICY).delete()
        policy = RetentionPolicy.objects.create(
            project=project,
            name=RETENTION_POLICY,
            filters={"app_id": DELETE_APP},
            rule=RetentionPolicy.Rule.CREATED,
            days=365,
            created_by=ACTOR,
        )
        started = time.perf_counter()
        event = retention.enforce(policy)
        elapsed = time.perf_counter() - started
        deleted = (event.results or {}).get("deleted")
        if deleted != count:
            raise BenchmarkError(f"retention deleted {deleted}, expected {count}")
        rate = count / elapsed
        self.results.append(
            Result(
                name=f"retention: a policy deletes {count:,} memories with history (final)",
                group="delete",
                calls=1,
                seconds=round(elapsed, 2),
                rate=round(rate, 1),
                rate_unit="memories/s",
                budget=f">= {RETENTION_RATE:,} memories/s",
                ok=rate >= RETENTION_RATE,
                note="retention.enforce: the ordinary chunked delete, without the trash",
            )
        )
        self.log(f"  retention deleted {count:,} in {elapsed:.1f} s")
        policy.delete()
        purge_app(project, DELETE_APP)
        Event.objects.filter(pk__in=[*generator.events, event.pk]).delete()

    def compliance(self) -> None:
        self.results.extend(
            compliance.measure(
                self.dataset,
                count=self.options.subject_memories,
                iterations=self.options.iterations,
                seed=self.options.seed,
                log=self.log,
            )
        )

    def audit(self) -> None:
        self.results.extend(
            auditing.measure(
                self.dataset,
                post=self.post,
                queries=self.queries,
                rows=self.options.audit_rows,
                iterations=self.options.iterations,
                warmup=self.options.warmup,
                seed=self.options.seed,
                reseed=self.options.reseed,
                log=self.log,
            )
        )

    # --- inputs -----------------------------------------------------------------------------

    def category(self) -> str:
        return self.rng.choice(self.dataset.facts).category

    def busy_users(self, minimum: int) -> list[str]:
        """Users with at least `minimum` visible memories (a second page of 50 needs 51)."""
        rows = (
            Memory.objects.for_project(self.dataset.project)
            .unexpired()
            .filter(user_id__isnull=False)
            .values("user_id")
            .annotate(n=Count("id"))
            .filter(n__gte=minimum)
            .values_list("user_id", flat=True)
        )
        # Never None (filtered out above), but the column is nullable.
        return [user for user in rows if user is not None]

    def agent_share(self) -> str:
        scope = Memory.objects.for_project(self.dataset.project).filter(agent_id__isnull=False)
        return f"~{scope.count() // len(self.dataset.agents):,} rows each"

    def app_share(self, app: str) -> str:
        scope = Memory.objects.for_project(self.dataset.project)
        share = scope.filter(app_id=app).count() / max(1, self.dataset.memories)
        return f"{share:.0%} of rows"

    def sample_ids(self) -> list[str]:
        if not self.ids:
            rows = Memory.objects.for_project(self.dataset.project).order_by("?")[:2000]
            self.ids = [str(pk) for pk in rows.values_list("id", flat=True)]
        return self.ids


def _numbered(rng: random.Random) -> str:
    """A number or an address of the kind memories mention: personal data or a near-miss."""
    n = rng.randrange(100)
    return rng.choice(
        [
            f"call (415) 555-01{n:02d}",
            f"email guest.{n}@example.com",
            f"order 2024-11-{n:04d}",
            f"flight at 14:{n % 60:02d} on 2025-03-{n % 28 + 1:02d}",
            f"room {n + 100}, budget $1,{n:03d}",
            f"version 2.{n}.1",
        ]
    )


def len_of(key: str) -> Callable[[Any], int]:
    return lambda body: len(body[key])


def purge(project: Project, *, memory_ids: list[str], event_ids: list[str]) -> None:
    """Remove what the add measurements wrote (memories, their history, their Events)."""
    with transaction.atomic():
        Memory.objects.for_project(project).filter(pk__in=memory_ids).delete()
        MemoryHistory.objects.filter(project=project, memory_id__in=memory_ids).delete()
        Event.objects.filter(project=project, pk__in=event_ids).delete()


def purge_app(project: Project, app_id: str) -> None:
    """Remove every memory and history row of one app (the delete measurement's set)."""
    tables = (Memory._meta.db_table, MemoryHistory._meta.db_table, TrashedMemory._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"DELETE FROM {table} WHERE project_id = %s AND app_id = %s", [project.pk, app_id]
            )


def run(dataset: Dataset, options: Options, log: Log) -> list[Result]:
    """Run the selected measurement groups and return their results."""
    ApiKey.objects.filter(project=dataset.project, name=KEY_NAME).delete()
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {create_api_key(dataset.project, role=Role.ADMIN, name=KEY_NAME)}"
    )
    bench = _Bench(
        dataset=dataset, options=options, log=log, client=client, rng=random.Random(options.seed)
    )
    steps = {
        "search": bench.search,
        "list": bench.listing,
        "get": bench.get_one,
        "history": bench.history,
        "add": bench.add,
        "delete": bench.delete,
        "compliance": bench.compliance,
        "audit": bench.audit,
    }
    bench.queries = corpus.questions(500, bench.rng)
    for group in GROUPS:
        if group in options.groups:
            log(f"measuring {group} ...")
            steps[group]()
    return bench.results
