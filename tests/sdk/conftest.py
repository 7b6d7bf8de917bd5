"""Fixtures that drive the official Mem0 clients against a live memdash server.

- mem0ai 2.x (the main environment) runs in-process: `py_client`;
- mem0ai 1.0.11 (the seed era, `.sdk/py-mem0-1.0.11/`) and the npm package 3.x
  (`tests/sdk/js/node_modules/`) run in one long-lived subprocess each (`tests/sdk/py_runner.py`,
  `tests/sdk/js/runner.mjs`) that takes one JSON job per line; `py1` and `js` send a job and
  return the client's results. Paying interpreter start-up once per session keeps the suite fast.

Every test gets its own project and admin key (`server`) on the one live server. The root
conftest sets MEM0_TELEMETRY=false and a temporary MEM0_DIR before anything imports an SDK.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tenancy.models import ApiKey, Role
from tenancy.services import create_api_key, get_or_create_project
from tests.conftest import MEM0_DIR

ROOT = Path(__file__).resolve().parents[2]
SDK_DIR = Path(__file__).resolve().parent
LEGACY_PYTHON = ROOT / ".sdk" / "py-mem0-1.0.11" / "bin" / "python"
JS_DIR = SDK_DIR / "js"
MARKER = "@@RESULT "
JOB_TIMEOUT = 120


@dataclass
class Server:
    """The live server and one project's credentials."""

    host: str
    api_key: str
    project: Any
    owner_email: str

    @property
    def actor(self) -> str:
        """How history rows name this key."""
        return f"api-key:{self.api_key[: ApiKey.PREFIX_LENGTH]}"


@pytest.fixture(scope="session", autouse=True)
def _one_db_connection_per_request():
    """The clients keep HTTP connections alive, so the live server's request threads outlive the
    tests; with persistent database connections they would still hold sessions when the test
    database is dropped. Newly opened connections close at the end of each request instead."""
    from django.db import connections

    settings_dict = connections.settings["default"]
    saved = settings_dict["CONN_MAX_AGE"]
    settings_dict["CONN_MAX_AGE"] = 0
    yield
    settings_dict["CONN_MAX_AGE"] = saved


@pytest.fixture
def server(live_server, django_user_model) -> Server:
    project = get_or_create_project("sdk-compat", organization="SDK Org")
    owner = django_user_model.objects.create_user("owner", email="owner@example.com")
    key = create_api_key(project, role=Role.ADMIN, name="sdk tests", created_by=owner)
    return Server(host=live_server.url, api_key=key, project=project, owner_email=owner.email)


@pytest.fixture
def py_client(server):
    """mem0ai 2.x, in-process."""
    from mem0 import MemoryClient

    client = MemoryClient(api_key=server.api_key, host=server.host)
    yield client
    client.client.close()


def call(method: str, *args: Any, **kwargs: Any) -> dict:
    """One call of a runner job: `call("add", "text", user_id="u")`."""
    step: dict[str, Any] = {"method": method, "args": list(args)}
    if kwargs:
        step["kwargs"] = kwargs
    return step


def ref(path: str) -> dict:
    """A value taken from an earlier call's result: `ref("0.results.1.id")`."""
    return {"$ref": path}


class Runner:
    """A client subprocess that answers one JSON job per line."""

    def __init__(self, argv: list[str], *, cwd: Path, name: str):
        self.name = name
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env={**os.environ, "MEM0_TELEMETRY": "false", "MEM0_DIR": MEM0_DIR},
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def run(self, job: dict, *, timeout: float = JOB_TIMEOUT) -> dict:
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"{self.name} gave no answer in {timeout}s") from None
            if line is None:
                raise AssertionError(f"{self.name} exited:\n{self._stderr_tail()}")
            if line.startswith(MARKER):
                return json.loads(line[len(MARKER) :])
            # Anything else on stdout is the client's own chatter.

    def _stderr_tail(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()[-4000:]

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.stderr.close()


@pytest.fixture(scope="session")
def legacy_runner():
    if not LEGACY_PYTHON.exists():
        # A failure, not a skip: a compatibility suite that quietly skips proves nothing.
        pytest.fail("mem0ai 1.0.11 is not installed: run `make sdk`")
    runner = Runner(
        [str(LEGACY_PYTHON), str(SDK_DIR / "py_runner.py")], cwd=SDK_DIR, name="mem0ai 1.0.11"
    )
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def js_runner():
    if not (JS_DIR / "node_modules" / "mem0ai").exists() or not shutil.which("node"):
        pytest.fail("npm mem0ai is not installed: run `make sdk`")
    runner = Runner(["node", str(JS_DIR / "runner.mjs")], cwd=JS_DIR, name="npm mem0ai")
    yield runner
    runner.close()


@pytest.fixture
def py1(legacy_runner, server):
    """Run calls with mem0ai 1.0.11: `py1(call(...), ...)` returns the list of results.

    `py1.client(api_key=..., **constructor_options)` returns what its constructor learnt (or
    raised); `py1.job(calls, **constructor_options)` returns both.
    """

    class LegacyClient:
        def __call__(self, *calls: dict) -> list:
            return self.job(list(calls))["results"]

        def client(self, api_key: str | None = None, **options: Any) -> dict:
            return self.job([], api_key=api_key, **options)["client"]

        def job(self, calls: list[dict], api_key: str | None = None, **options: Any) -> dict:
            return legacy_runner.run(
                {
                    "api_key": api_key or server.api_key,
                    "host": server.host,
                    "options": options,
                    "calls": calls,
                }
            )

    return LegacyClient()


@pytest.fixture
def js(js_runner, server):
    """Run calls with the npm client: `js(call("add", messages, {...}), ...)` returns results."""

    def run(
        *calls: dict,
        api_key: str | None = None,
        host: str | None = None,
        timeout: float = JOB_TIMEOUT,
    ) -> list:
        for step in calls:
            assert "kwargs" not in step, "the JavaScript client takes positional arguments only"
        reply = js_runner.run(
            {"apiKey": api_key or server.api_key, "host": host or server.host, "calls": calls},
            timeout=timeout,
        )
        return reply["results"]

    return run
