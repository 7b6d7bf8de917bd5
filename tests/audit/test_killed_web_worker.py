"""A killed web server loses no acknowledged read: a real gunicorn under load from several
clients is SIGKILLed (arbiter and workers at once), and every read a client got a 2xx answer
for has its one row in the access log, found by the request id the client sent.

A read in flight at the kill may have its row or not (the row is written before the answer
leaves, so a row without an answer is allowed); a 2xx answer without a row is the failure.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx
import pytest

from audit.models import AuditEntry
from memories import services
from memories.attribution import Message, Scope
from tenancy.models import Role
from tenancy.services import create_api_key, get_or_create_project
from testkit.web import WebServer

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 10
ANSWERS_BEFORE_KILL = 100
# Generous bounds for a loaded 2-core machine; the test waits on them, it asserts no timing.
LOAD_TIMEOUT = 90
REQUEST_TIMEOUT = 60

FACTS = {
    "maria": [
        "Maria is a vegetarian",
        "Maria is allergic to peanuts",
        "Maria lives in Lisbon",
        "Maria prefers window seats",
        "Maria works as a nurse",
        "Maria has two cats",
    ],
    "kenji": [
        "Kenji plays the cello",
        "Kenji drinks his coffee black",
        "Kenji is learning Portuguese",
        "Kenji runs marathons",
    ],
}
QUERIES = ["what does she eat", "allergies", "where does he live", "hobbies", "pets", "music"]


@dataclass
class Call:
    """One request of the load: what it asked, and what (if anything) answered it."""

    request_id: str
    action: str
    method: str
    path: str
    body: dict | None = None
    status: int | None = None
    answered_request_id: str | None = None
    memory_ids: list[str] = field(default_factory=list)
    total: int | None = None
    error: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def calls(memory_ids: list[str]):
    """An endless mix of the three reads, each with a request id of its own."""
    users = list(FACTS)
    for n in itertools.count():
        rid = uuid.uuid4().hex
        user = users[n % len(users)]
        kind = n % 3
        if kind == 0:
            memory_id = memory_ids[n % len(memory_ids)]
            yield Call(rid, "memory.get", "GET", f"/v1/memories/{memory_id}/")
        elif kind == 1:
            yield Call(
                rid, "memories.list", "POST", "/v3/memories/", {"filters": {"user_id": user}}
            )
        else:
            body = {"query": QUERIES[n % len(QUERIES)], "filters": {"user_id": user}}
            yield Call(rid, "memories.search", "POST", "/v3/memories/search/", body)


class Load:
    """CLIENTS threads sending reads until stopped, recording every call and its outcome."""

    def __init__(self, base_url: str, key: str, memory_ids: list[str]) -> None:
        self.base_url = base_url
        self.key = key
        self.lock = threading.Lock()
        self.source = calls(memory_ids)
        self.finished: list[Call] = []
        self.in_flight: dict[str, Call] = {}
        self.answers = 0
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(CLIENTS)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(REQUEST_TIMEOUT + 10)
        assert not any(t.is_alive() for t in self.threads), "a client thread did not finish"

    def run(self) -> None:
        headers = {"Authorization": f"Token {self.key}"}
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=REQUEST_TIMEOUT) as c:
            while not self.stopping.is_set():
                with self.lock:
                    call = next(self.source)
                    self.in_flight[call.request_id] = call
                self.send(c, call)
                with self.lock:
                    del self.in_flight[call.request_id]
                    self.finished.append(call)
                    if call.status is not None:
                        self.answers += 1

    def send(self, client: httpx.Client, call: Call) -> None:
        try:
            response = client.request(
                call.method,
                call.path,
                json=call.body,
                headers={"X-Request-ID": call.request_id},
            )
        except httpx.HTTPError as error:  # connection refused, reset or cut off mid-answer
            call.error = f"{type(error).__name__}: {error}"
            return
        call.status = response.status_code
        call.answered_request_id = response.headers.get("X-Request-ID")
        if call.acknowledged:
            payload = response.json()
            results = [payload] if call.action == "memory.get" else payload["results"]
            call.memory_ids = [r["id"] for r in results]
            call.total = payload.get("count", len(results))

    def kill(self, server: WebServer) -> set[str]:
        """SIGKILL `server` mid-load; returns the ids of the requests in flight at that moment.
        The lock is held throughout, so no client starts a request between the two."""
        with self.lock:
            in_flight = set(self.in_flight)
            server.kill()
        return in_flight


def seed():
    project = get_or_create_project("audited under load", organization="Acme")
    key = create_api_key(project, role=Role.VIEWER, name="load test key")
    memory_ids = []
    for user, facts in FACTS.items():
        outcome = services.add_memories(
            project,
            messages=[Message("user", text) for text in facts],
            scope=Scope(user_id=user),
            actor="api-key:m0-seed",
        )
        memory_ids += [str(memory.pk) for memory in outcome.added]
    assert len(memory_ids) == sum(len(facts) for facts in FACTS.values())
    return project, key, memory_ids


def rows_by_request_id(request_ids) -> dict[str, list[AuditEntry]]:
    rows: dict[str, list[AuditEntry]] = {}
    for row in AuditEntry.objects.filter(request_id__in=list(request_ids)):
        rows.setdefault(row.request_id, []).append(row)
    return rows


def test_a_sigkilled_web_server_leaves_no_acknowledged_read_unlogged(capsys):
    project, key, memory_ids = seed()
    server = WebServer(workers=2, threads=4).start()
    load = Load(server.url, key, memory_ids)
    try:
        load.start()
        deadline = time.monotonic() + LOAD_TIMEOUT
        while load.answers < ANSWERS_BEFORE_KILL and time.monotonic() < deadline:
            assert server.process is not None and server.process.poll() is None, server.output()
            time.sleep(0.05)
        answers_at_kill = load.answers
        in_flight = load.kill(server)
        load.stop()
    finally:
        load.stopping.set()
        server.kill()

    finished = load.finished
    by_id = {call.request_id: call for call in finished}
    acknowledged = [call for call in finished if call.acknowledged]
    refused = [call for call in finished if call.status is not None and not call.acknowledged]
    unanswered = [call for call in finished if call.status is None]
    cut_off = [by_id[rid] for rid in in_flight if by_id[rid].status is None]

    # The load was real: answers arrived, they were all reads that succeeded, and the kill
    # landed with requests under way.
    assert answers_at_kill > 0, server.output()
    assert not refused, [(c.action, c.status) for c in refused[:5]]
    assert in_flight, "no request was in flight at the kill"
    # Every answer named the request id its request sent.
    assert [c for c in acknowledged if c.answered_request_id != c.request_id] == []

    rows = rows_by_request_id(by_id)
    missing = [c for c in acknowledged if c.request_id not in rows]
    assert missing == [], (
        f"{len(missing)} of {len(acknowledged)} acknowledged reads have no row: "
        + ", ".join(f"{c.action} {c.request_id}" for c in missing[:5])
    )
    doubled = {rid: len(found) for rid, found in rows.items() if len(found) != 1}
    assert doubled == {}, "a request id has more than one row"
    for call in acknowledged:
        (row,) = rows[call.request_id]
        assert (row.kind, row.action, row.project_id, row.surface) == (
            "read",
            call.action,
            project.pk,
            "api",
        ), call
        assert sorted(str(pk) for pk in row.memory_ids) == sorted(call.memory_ids), call
        assert row.total == call.total, call
        assert row.path == call.path, call
    # No row for anything the server never saw: only requests in flight at the kill may have a
    # row without an answer.
    unanswered_with_rows = [c for c in unanswered if c.request_id in rows]
    assert {c.request_id for c in unanswered_with_rows} <= in_flight

    # A server started afterwards on the same database works and logs its reads.
    again = WebServer(workers=1, threads=2).start()
    try:
        rid = uuid.uuid4().hex
        with httpx.Client(base_url=again.url, timeout=REQUEST_TIMEOUT) as client:
            response = client.get(
                f"/v1/memories/{memory_ids[0]}/",
                headers={"Authorization": f"Token {key}", "X-Request-ID": rid},
            )
        assert response.status_code == 200, response.text
        assert response.headers["X-Request-ID"] == rid
        (row,) = AuditEntry.objects.filter(request_id=rid)
        assert (row.action, row.project_id) == ("memory.get", project.pk)
        assert [str(pk) for pk in row.memory_ids] == [memory_ids[0]]
    finally:
        again.stop()

    with capsys.disabled():
        print(
            f"\nkilled web server: {len(finished)} requests, {len(acknowledged)} acknowledged "
            f"(2xx; {answers_at_kill} before the kill), {len(in_flight)} in flight at the kill "
            f"({len(cut_off)} of them cut off, {sum(c.request_id in rows for c in cut_off)} "
            f"of those with a row), {len(unanswered) - len(cut_off)} refused after it; "
            f"rows found: {len(rows)} ({len(acknowledged)} for acknowledged reads, "
            f"{len(unanswered_with_rows)} for reads never answered)"
        )
