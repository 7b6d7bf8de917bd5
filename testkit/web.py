"""A real web server for the tests that need one: `gunicorn memdash.wsgi` as a separate process.

Django's live server runs in the test process; a crash test needs a server it can SIGKILL.
The server is attached to the test database (via MEMDASH_DB_NAME, or DATABASE_URL when one is
set) and binds a free loopback port of the kernel's choosing (port 0; its log names the port).
Like testkit.workers.Worker, it runs in a session of its own, so a kill reaches its workers.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


def _database_env() -> dict[str, str]:
    """The environment that points a process at this test run's database."""
    name = connection.settings_dict["NAME"]
    if settings.EMBEDDED_POSTGRES:
        return {"MEMDASH_DB_NAME": name, "MEMDASH_PGDATA": str(settings.MEMDASH_PGDATA)}
    url = urlparse(settings.DATABASE_URL)
    return {"DATABASE_URL": url._replace(path=f"/{name}").geturl()}


class WebServer:
    def __init__(
        self, *, workers: int = 2, threads: int = 4, env: dict[str, str] | None = None
    ) -> None:
        fd, path = tempfile.mkstemp(prefix="gunicorn-", suffix=".log")
        self.log = os.fdopen(fd, "w+")
        self.log_path = path
        self.workers = workers
        self.threads = threads
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "memdash.settings",
            **_database_env(),
            "MEM0_TELEMETRY": "false",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the web server is not started")
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> WebServer:
        """Start gunicorn and return once it answers HTTP (any status: the app is loaded)."""
        command = [
            str(GUNICORN), "memdash.wsgi",
            "--bind", "127.0.0.1:0",
            "--workers", str(self.workers),
            "--threads", str(self.threads),
            # Generous: a loaded machine must not have the arbiter kill a slow worker.
            "--timeout", "120",
            "--graceful-timeout", "10",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.output()}")
            if self.port is None and (found := _LISTENING.search(self.output())):
                self.port = int(found.group(1))
            if self.port is not None and self._answers():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn not ready after {timeout}s:\n{self.output()}")

    def _answers(self) -> bool:
        try:
            httpx.get(f"{self.url}/v1/ping/", timeout=10)
        except httpx.HTTPError:
            return False
        return True

    def output(self) -> str:
        return Path(self.log_path).read_text(errors="replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._wait_for_children()

    def kill(self) -> None:
        """SIGKILL the arbiter and its workers at once, as a crash or an OOM kill would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self._wait_for_children()
        # A killed process never unregisters from the embedded PostgreSQL's handle list.
        if settings.EMBEDDED_POSTGRES:
            from memdash.embedded_db import prune_dead_pids

            prune_dead_pids(settings.MEMDASH_PGDATA)

    def _wait_for_children(self) -> None:
        # The workers exit after the arbiter; their database sessions must be gone before the
        # test database can be dropped.
        if self.process is None:
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
