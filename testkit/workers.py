"""Real Celery workers for the tests of asynchronous flows and the pipeline benchmark.

A worker is a separate `celery -A memdash worker` process (a testkit.processes.ChildProcess),
attached to the test database and to a real broker: Redis on 127.0.0.1:6379, or the zero-setup database
broker. The test process enqueues through the same broker (`use_broker`), and the scripted LLM
is reached over loopback like any provider.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.db import connection

from memdash.celery import app
from testkit.processes import ChildProcess

CELERY = Path(sys.executable).parent / "celery"
REDIS_URL = os.environ.get("MEMDASH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

T = TypeVar("T")


def database_broker_url() -> str:
    db = settings.DATABASES["default"]
    return f"sqla+postgresql+psycopg://{db['USER']}@/{connection.settings_dict['NAME']}?host={db['HOST']}"


@contextlib.contextmanager
def use_broker(url: str) -> Iterator[None]:
    """Make this process enqueue through `url` (the Celery app caches its connections)."""
    previous = app.conf.broker_url
    _switch(url)
    try:
        yield
    finally:
        _switch(previous)
        if url.startswith("sqla+"):
            # kombu caches one SQLAlchemy engine per URL; its pooled sessions would keep the
            # test database from being dropped.
            from kombu.transport.sqlalchemy import Channel

            for engine, _session in Channel._engines.values():
                engine.dispose()
            Channel._engines.clear()


def _switch(url: str) -> None:
    # Drop (do not close) the cached pools: kombu keeps them in a global registry and would hand
    # a closed one back when switching to the same URL again. celery-types declares neither
    # private cache (both are class attributes of Celery and AMQP).
    app._pool = None  # type: ignore[attr-defined]
    app.amqp._producer_pool = None  # type: ignore[attr-defined]
    # Item assignment, what attribute assignment does on a Settings: its broker URL properties
    # are only the getters.
    app.conf["broker_url"] = url
    app.conf["broker_write_url"] = url
    app.conf["broker_read_url"] = url


class Worker(ChildProcess):
    what = "celery worker"

    def __init__(
        self,
        *,
        broker: str,
        llm_base_url: str | None = None,
        concurrency: int = 2,
        env: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            {
                "CELERY_BROKER_URL": broker,
                "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
                "MEMDASH_LLM_MAX_RETRIES": "0",
                "MEMDASH_LLM_TIMEOUT": "5",
                # The tests' webhook receivers listen on loopback.
                "MEMDASH_WEBHOOK_ALLOW_PRIVATE": "true",
                **(
                    {
                        "OPENAI_BASE_URL": llm_base_url,
                        "OPENAI_API_KEY": "test-key",
                        "MEMDASH_LLM_MODEL": "fake-model",
                    }
                    if llm_base_url
                    else {}
                ),
                **(env or {}),
            }
        )
        self.broker = broker
        self.name = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.concurrency = concurrency

    def start(self, timeout: float = 60) -> Worker:
        command = [
            str(CELERY), "-A", "memdash", "worker",
            "-Q", settings.CELERY_TASK_DEFAULT_QUEUE,
            "-c", str(self.concurrency),
            "-n", self.name,
            "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        self.spawn(command, lambda: " ready." in self.output(), timeout)
        return self


def wait_for(
    predicate: Callable[[], T | None],
    *,
    timeout: float = 30,
    interval: float = 0.1,
    message: str = "condition",
) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
