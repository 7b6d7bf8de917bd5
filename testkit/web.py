"""A real web server for the tests that need one: `gunicorn memdash.wsgi` as a separate process,
with the settings `make run` uses (memdash/gunicorn_conf.py).

Django's live server runs in the test process; a crash test needs a server it can SIGKILL.
The server is attached to the test database (via MEMDASH_DB_NAME, or DATABASE_URL when one is
set) and binds a free loopback port of the kernel's choosing (port 0; its log names the port).
Like testkit.workers.Worker, it is a testkit.processes.ChildProcess: a kill reaches its workers.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import httpx

from testkit.processes import ChildProcess

GUNICORN = Path(sys.executable).parent / "gunicorn"
_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


class WebServer(ChildProcess):
    what = "gunicorn"
    stop_seconds = 30.0

    def __init__(
        self, *, workers: int = 2, threads: int = 4, env: dict[str, str] | None = None
    ) -> None:
        super().__init__(env or {})
        self.workers = workers
        self.threads = threads
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the web server is not started")
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> WebServer:
        """Start gunicorn and return once it answers HTTP (any status: the app is loaded)."""
        command = [
            # As scripts/run.sh serves it (timeout, keep-alive, the JSON-error worker).
            str(GUNICORN), "memdash.wsgi", "-c", "python:memdash.gunicorn_conf",
            "--bind", "127.0.0.1:0",
            "--workers", str(self.workers),
            "--threads", str(self.threads),
            "--graceful-timeout", "10",
        ]  # fmt: skip
        self.spawn(command, self._ready, timeout)
        return self

    def _ready(self) -> bool:
        if self.port is None and (found := _LISTENING.search(self.output())):
            self.port = int(found.group(1))
        return self.port is not None and self._answers()

    def _answers(self) -> bool:
        try:
            httpx.get(f"{self.url}/v1/ping/", timeout=10)
        except httpx.HTTPError:
            return False
        return True
