"""Child processes of the tests: a real server or worker started as a command of its own.

Each runs in a session of its own (so a kill reaches its children: gunicorn's workers, the
Celery pool), is attached to this test run's database, writes its output to a temporary log
file, and is stopped gracefully or SIGKILLed as a crash or an OOM kill would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.db import connection

# The checkout (testkit/ sits at its top), where the commands find the project.
ROOT = Path(__file__).resolve().parent.parent


def database_env() -> dict[str, str]:
    """The environment that points a process at this test run's database: the embedded
    server's data directory and database name, or DATABASE_URL with the test database."""
    name = connection.settings_dict["NAME"]
    if settings.EMBEDDED_POSTGRES:
        return {"MEMDASH_DB_NAME": name, "MEMDASH_PGDATA": str(settings.MEMDASH_PGDATA)}
    url = urlparse(settings.DATABASE_URL)
    return {"DATABASE_URL": url._replace(path=f"/{name}").geturl()}


class ChildProcess:
    """One command run beside the tests; subclasses say what it is and when it is ready."""

    what = "process"
    stop_seconds = 20.0

    def __init__(self, env: dict[str, str]) -> None:
        fd, path = tempfile.mkstemp(prefix=f"{self.what.replace(' ', '-')}-", suffix=".log")
        self.log = os.fdopen(fd, "w+")
        self.log_path = path
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "memdash.settings",
            **database_env(),
            "MEM0_TELEMETRY": "false",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self, command: list[str], ready: Callable[[], bool], timeout: float) -> None:
        """Run `command` and return once `ready()` says so; RuntimeError (with the output)
        when it exits first or is not ready in time."""
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
                raise RuntimeError(f"{self.what} exited early:\n{self.output()}")
            if ready():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.what} not ready after {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return Path(self.log_path).read_text(errors="replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(self.stop_seconds)
            except subprocess.TimeoutExpired:
                self.kill()
        self._wait_for_children()

    def kill(self) -> None:
        """SIGKILL the process and its children at once, as a crash or an OOM kill would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self._wait_for_children()
        # A killed process never unregisters from the embedded PostgreSQL's handle list.
        if settings.EMBEDDED_POSTGRES:
            from memdash.embedded_db import prune_dead_pids

            prune_dead_pids(settings.MEMDASH_PGDATA)

    def _wait_for_children(self) -> None:
        # The children exit after the main process; their database sessions must be gone
        # before the test database can be dropped.
        if self.process is None:
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
