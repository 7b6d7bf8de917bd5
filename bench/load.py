"""The load benchmark: N concurrent API clients for T seconds against a real gunicorn.

Each client is one agent with a user of its own: it calls the paths mem0ai 2.x calls
(/v3/memories/add/ with infer=false, which is stored in the request; /v3/memories/search/,
/v3/memories/ and /v1/memories/{id}/): it adds memories, searches, lists, gets, updates and deletes its own memories, picking each call
by the mix's weights, one call at a time over a keep-alive connection as an SDK client does.
Clients own their user, so every acknowledged write has exactly one expected outcome, and the
check afterwards (`verify`) reads the database: every acknowledged add or update is there with
its last acknowledged text, every acknowledged delete is gone. A call that failed is counted as
an error and left out of the check (its outcome is unknown to the client as well).

The server is started as `make run` starts it (testkit.web.WebServer: gunicorn with the same
configuration), or given with --url. Nothing is timed in-process: latencies are wall-clock at the
client, so they include HTTP, gunicorn's queueing and the client's own share of the CPU (on a
2-core machine the load generator competes with the server; the report says so).
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench import corpus
from bench.results import percentile
from memories.models import Memory

# The mix: what share of calls each operation gets (printed with the results).
DEFAULT_MIX = {"add": 20, "search": 30, "list": 15, "get": 15, "update": 10, "delete": 10}
OPERATIONS = tuple(DEFAULT_MIX)
# Memories each client adds before the clock starts, so reads have something to find.
DEFAULT_PRELOAD = 5
# A call slower than this is an error (the client gives up, as an SDK's timeout would).
CALL_TIMEOUT = 30.0
PRELOAD_TIMEOUT = 300.0


def parse_mix(text: str) -> dict[str, int]:
    """ "add=20,search=30,..." -> weights; unknown or negative names are refused."""
    mix: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, weight = part.partition("=")
        if name not in OPERATIONS or not weight.isdigit():
            raise ValueError(
                f"mix entry {part!r}: expected name=weight with a name of {', '.join(OPERATIONS)}"
            )
        mix[name] = int(weight)
    if not any(mix.values()):
        raise ValueError("the mix gives every operation a weight of 0")
    return mix


@functools.cache
def _facts() -> list[corpus.Fact]:
    return corpus.facts(2_000, random.Random(7))


@dataclass
class Client:
    """One simulated SDK client: its user, its memories and what the server acknowledged."""

    number: int
    rng: random.Random
    # Acknowledged state: memory id -> last acknowledged text; ids acknowledged as deleted.
    live: dict[str, str] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    # Ids whose last write failed: their state is unknown, so the check skips them.
    unknown: set[str] = field(default_factory=set)
    added: int = 0
    # Preloaded and warmed up: the clock starts once every client is.
    ready: bool = False

    @property
    def user_id(self) -> str:
        return f"load-user-{self.number}"

    def text(self) -> str:
        self.added += 1
        fact = self.rng.choice(_facts())
        return f"{fact.text} (note {self.added} of client {self.number})"


@dataclass
class Outcome:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_samples: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def record_error(self, operation: str, what: str) -> None:
        self.errors[operation] += 1
        if len(self.error_samples) < 10:
            self.error_samples.append(f"{operation}: {what}")


class Failed(Exception):
    """A call that did not succeed (status or transport): counted, never retried."""


async def _call(
    http: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None = None
) -> Any:
    try:
        response = await http.request(method, path, json=body)
    except httpx.HTTPError as exc:
        raise Failed(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code >= 300:
        raise Failed(f"{response.status_code} {response.text[:200]}")
    return response.json()


async def _add(http: httpx.AsyncClient, client: Client) -> None:
    text = client.text()
    body = {"messages": [{"role": "user", "content": text}], "user_id": client.user_id}
    answer = await _call(http, "POST", "/v3/memories/add/", {**body, "infer": False})
    if "results" not in answer:
        # Queued instead of stored: the check afterwards could not tell a lost write.
        raise Failed(f"the add was not stored in the request: {answer}")
    for row in answer["results"]:
        client.live[row["id"]] = row.get("memory") or text


async def _search(http: httpx.AsyncClient, client: Client) -> None:
    query = corpus.questions(1, client.rng)[0]
    body = {"query": query, "filters": {"user_id": client.user_id}, "top_k": 10}
    await _call(http, "POST", "/v3/memories/search/", body)


async def _list(http: httpx.AsyncClient, client: Client) -> None:
    body = {"filters": {"user_id": client.user_id}}
    await _call(http, "POST", "/v3/memories/?page=1&page_size=20", body)


def _pick(client: Client) -> str | None:
    known = sorted(set(client.live) - client.unknown)
    return client.rng.choice(known) if known else None


async def _get(http: httpx.AsyncClient, client: Client) -> None:
    if memory_id := _pick(client):
        await _call(http, "GET", f"/v1/memories/{memory_id}/")
    else:
        await _add(http, client)


async def _update(http: httpx.AsyncClient, client: Client) -> None:
    memory_id = _pick(client)
    if memory_id is None:
        return await _add(http, client)
    text = client.text()
    try:
        await _call(http, "PUT", f"/v1/memories/{memory_id}/", {"text": text})
    except Failed:
        client.unknown.add(memory_id)
        raise
    client.live[memory_id] = text


async def _delete(http: httpx.AsyncClient, client: Client) -> None:
    memory_id = _pick(client)
    if memory_id is None:
        return await _add(http, client)
    try:
        await _call(http, "DELETE", f"/v1/memories/{memory_id}/")
    except Failed:
        client.unknown.add(memory_id)
        raise
    del client.live[memory_id]
    client.deleted.add(memory_id)


CALLS: dict[str, Callable[[httpx.AsyncClient, Client], Any]] = {
    "add": _add,
    "search": _search,
    "list": _list,
    "get": _get,
    "update": _update,
    "delete": _delete,
}


async def _drive(
    url: str,
    api_key: str,
    client: Client,
    mix: dict[str, int],
    preload: int,
    start: asyncio.Event,
    deadline: list[float],
    outcome: Outcome,
) -> None:
    names = [name for name in OPERATIONS if mix.get(name)]
    weights = [mix[name] for name in names]
    headers = {"Authorization": f"Token {api_key}"}
    one = httpx.Limits(max_connections=1)
    # The preload is patient: each web worker loads the embedder on its first request.
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=PRELOAD_TIMEOUT, limits=one
    ) as http:
        for warm_up in [_add] * preload + [_search]:
            try:
                await warm_up(http, client)
            except Failed as exc:
                outcome.record_error("preload", str(exc))
    client.ready = True
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=CALL_TIMEOUT, limits=one
    ) as http:
        await start.wait()
        while time.monotonic() < deadline[0]:
            operation = client.rng.choices(names, weights)[0]
            began = time.perf_counter()
            try:
                await CALLS[operation](http, client)
            except Failed as exc:
                outcome.record_error(operation, str(exc))
                continue
            outcome.latencies[operation].append((time.perf_counter() - began) * 1000)


async def run_clients(
    url: str,
    api_key: str,
    *,
    clients: int,
    seconds: float,
    mix: dict[str, int],
    preload: int = DEFAULT_PRELOAD,
    seed: int = 1,
) -> tuple[Outcome, list[Client]]:
    """Preload every client, then run them all for `seconds`; the clock starts together."""
    outcome = Outcome()
    simulated = [
        Client(number, random.Random(seed * 100_003 + number)) for number in range(clients)
    ]
    start = asyncio.Event()
    deadline = [float("inf")]
    tasks = [
        asyncio.create_task(_drive(url, api_key, c, mix, preload, start, deadline, outcome))
        for c in simulated
    ]
    while not all(c.ready for c in simulated) and not all(t.done() for t in tasks):
        await asyncio.sleep(0.1)
    began = time.monotonic()
    deadline[0] = began + seconds
    start.set()
    await asyncio.gather(*tasks)
    outcome.seconds = time.monotonic() - began
    return outcome, simulated


@dataclass
class Verification:
    checked: int
    missing: list[str]
    wrong_text: list[str]
    resurrected: list[str]

    @property
    def lost(self) -> int:
        return len(self.missing) + len(self.wrong_text) + len(self.resurrected)


def verify(project_id: int, clients: list[Client]) -> Verification:
    """Every acknowledged write as the database holds it after the run."""
    expected = {mid: text for c in clients for mid, text in c.live.items() if mid not in c.unknown}
    gone = {mid for c in clients for mid in c.deleted if mid not in c.unknown}
    rows = Memory.objects.filter(project_id=project_id, id__in=[*expected, *gone])
    stored = {str(mid): text for mid, text in rows.values_list("id", "memory")}
    return Verification(
        checked=len(expected) + len(gone),
        missing=sorted(mid for mid in expected if mid not in stored),
        wrong_text=sorted(
            mid for mid, text in expected.items() if mid in stored and stored[mid] != text
        ),
        resurrected=sorted(mid for mid in gone if mid in stored),
    )


def summary(outcome: Outcome, mix: dict[str, int], verification: Verification) -> dict[str, Any]:
    """The numbers the command prints (and writes with --json)."""
    total = sum(len(v) for v in outcome.latencies.values())
    errors = sum(count for name, count in outcome.errors.items() if name != "preload")
    per_operation = {}
    for name in OPERATIONS:
        samples = outcome.latencies.get(name, [])
        per_operation[name] = {
            "weight": mix.get(name, 0),
            "calls": len(samples),
            "errors": outcome.errors.get(name, 0),
            "p50_ms": round(percentile(samples, 0.50), 1) if samples else None,
            "p95_ms": round(percentile(samples, 0.95), 1) if samples else None,
            "p99_ms": round(percentile(samples, 0.99), 1) if samples else None,
        }
    every = [ms for samples in outcome.latencies.values() for ms in samples]
    return {
        "seconds": round(outcome.seconds, 1),
        "requests": total,
        "requests_per_s": round(total / outcome.seconds, 1) if outcome.seconds else 0.0,
        "p50_ms": round(percentile(every, 0.50), 1) if every else None,
        "p95_ms": round(percentile(every, 0.95), 1) if every else None,
        "p99_ms": round(percentile(every, 0.99), 1) if every else None,
        "errors": errors,
        "preload_errors": outcome.errors.get("preload", 0),
        "error_samples": outcome.error_samples,
        "operations": per_operation,
        "writes_checked": verification.checked,
        "lost_writes": verification.lost,
        "lost_detail": {
            "missing": verification.missing[:10],
            "wrong_text": verification.wrong_text[:10],
            "resurrected": verification.resurrected[:10],
        },
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def format_summary(result: dict[str, Any]) -> str:
    lines = [
        f"{'operation':<10} {'weight':>6} {'calls':>7} {'errors':>6} "
        f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    ]

    def ms(value: float | None) -> str:
        return "" if value is None else f"{value:,.1f}"

    for name, row in result["operations"].items():
        lines.append(
            f"{name:<10} {row['weight']:>6} {row['calls']:>7,} {row['errors']:>6} "
            f"{ms(row['p50_ms']):>8} {ms(row['p95_ms']):>8} {ms(row['p99_ms']):>8}"
        )
    lines.append(
        f"{'all':<10} {'':>6} {result['requests']:>7,} {result['errors']:>6} "
        f"{ms(result['p50_ms']):>8} {ms(result['p95_ms']):>8} {ms(result['p99_ms']):>8}"
    )
    lines.append(
        f"\n{result['requests_per_s']:,.1f} requests/s over {result['seconds']} s; "
        f"{result['errors']} errors; {result['lost_writes']} of {result['writes_checked']:,} "
        f"acknowledged writes lost; {result['cores']} cores, load average "
        f"{' '.join(map(str, result['load_average']))}"
    )
    lines.extend(f"  error: {sample}" for sample in result["error_samples"])
    return "\n".join(lines)
