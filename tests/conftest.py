"""The named world every test starts from.

- `project` (org "Acme") with `api_key` (admin) and `api` (an API client using it);
- `other_project` (org "Globex") with `other_api`: the outsider for tenancy tests;
- `viewer_api`: a read-only key on `project`;
- helpers that pin response shapes (`ANY_UUID`, `ANY_TIMESTAMP`, `ANY_HASH`, `ANY_SCORE`).

Tests run against the embedded PostgreSQL (real pgvector, real HNSW) and the real local embedder.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import datetime as dt
import importlib
import os
import shutil
import tempfile
import uuid

import pytest
from rest_framework.test import APIClient

from tenancy.models import Role
from tenancy.services import create_api_key, get_or_create_project

# The official Mem0 SDKs (tests/sdk) read these when they load, so they are set before any test
# module can import one: no telemetry (with it, every SDK process also waits for the network at
# exit) and a private config directory instead of ~/.mem0.
MEM0_DIR = tempfile.mkdtemp(prefix="memdash-mem0-")
os.environ["MEM0_TELEMETRY"] = "false"
# The suite's embedded database stops when its last process exits (memdash.embedded_db), so a
# test or CI run leaves no server behind.
os.environ["MEMDASH_DB_STOP_ON_EXIT"] = "1"
os.environ["MEM0_DIR"] = MEM0_DIR
atexit.register(shutil.rmtree, MEM0_DIR, ignore_errors=True)


def pytest_configure(config):
    # A queue of its own, so this run's tasks never reach another checkout's workers.
    from django.conf import settings

    from memdash.celery import app

    queue = f"memdash-test-{uuid.uuid4().hex[:8]}"
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    app.conf.task_default_queue = queue


class _AnyUUID:
    def __eq__(self, other: object) -> bool:
        try:
            uuid.UUID(str(other))
        except ValueError:
            return False
        return isinstance(other, str)

    def __repr__(self) -> str:
        return "ANY_UUID"


class _AnyTimestamp:
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, str):
            return False
        try:
            moment = dt.datetime.fromisoformat(other)
        except ValueError:
            return False
        return moment.tzinfo is not None

    def __repr__(self) -> str:
        return "ANY_TIMESTAMP"


class _AnyHash:
    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, str)
            and len(other) == 32
            and all(c in "0123456789abcdef" for c in other)
        )

    def __repr__(self) -> str:
        return "ANY_HASH"


class _AnyScore:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, float | int) and not isinstance(other, bool) and 0 <= other <= 1

    def __repr__(self) -> str:
        return "ANY_SCORE"


ANY_UUID = _AnyUUID()
ANY_TIMESTAMP = _AnyTimestamp()
ANY_HASH = _AnyHash()
ANY_SCORE = _AnyScore()


def run_async(coroutine):
    """Run a coroutine to its end on an event loop of its own thread: Playwright's sync API
    (the browser tests) leaves a loop running in the main thread, where asyncio.run refuses."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class LoopThread:
    """One event loop in a thread of its own, for a test that awaits one client many times."""

    def __init__(self) -> None:
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self.loop = self.pool.submit(asyncio.new_event_loop).result()

    def run(self, coroutine):
        return self.pool.submit(self.loop.run_until_complete, coroutine).result()

    def close(self) -> None:
        self.pool.submit(self.loop.close).result()
        self.pool.shutdown()


_DB_FIXTURES = {"db", "transactional_db", "live_server", "django_db_reset_sequences"}


@pytest.fixture(autouse=True)
def _default_category_catalogue(request):
    """Put back the default categories (created by a data migration) when they are missing.

    A transactional test (live server, SDK tests) ends by flushing every table, which empties
    the catalogue for whatever test runs next; no test should depend on the order tests ran in.
    """
    if request.node.get_closest_marker("django_db") is None and not (
        _DB_FIXTURES & set(request.fixturenames)
    ):
        return
    request.getfixturevalue("db")
    from django.apps import apps

    from memories.models import Category

    if not Category.objects.filter(project=None).exists():
        migration = importlib.import_module("memories.migrations.0002_default_categories")
        migration.add_defaults(apps, None)


def api_client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw_key}")
    return client


@pytest.fixture
def project(db):
    return get_or_create_project("support-bot", organization="Acme")


@pytest.fixture
def other_project(db):
    return get_or_create_project("rival-bot", organization="Globex")


@pytest.fixture
def api_key(project) -> str:
    return create_api_key(project, role=Role.ADMIN, name="test admin key")


@pytest.fixture
def api(api_key) -> APIClient:
    return api_client(api_key)


@pytest.fixture
def viewer_api(project) -> APIClient:
    return api_client(create_api_key(project, role=Role.VIEWER, name="test viewer key"))


@pytest.fixture
def editor_api(project) -> APIClient:
    return api_client(create_api_key(project, role=Role.EDITOR, name="test editor key"))


@pytest.fixture
def other_api(other_project) -> APIClient:
    return api_client(create_api_key(other_project, role=Role.ADMIN, name="outsider key"))


def add_verbatim(client: APIClient, messages, **ids) -> list[dict]:
    """Store messages with infer=false through the v3 API; returns the results list."""
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    response = client.post(
        "/v3/memories/add/", {"messages": messages, "infer": False, **ids}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.fixture(scope="session")
def fake_llm_server():
    from testkit.llm import FakeLLM

    server = FakeLLM().start()
    yield server
    server.stop()


@pytest.fixture
def fake_llm(fake_llm_server, settings):
    """The scripted LLM, configured as memdash's provider for this test."""
    fake_llm_server.reset()
    settings.OPENAI_BASE_URL = fake_llm_server.base_url
    settings.OPENAI_API_KEY = "test-key"
    settings.MEMDASH_LLM_MODEL = "fake-model"
    settings.MEMDASH_LLM_MAX_RETRIES = 0
    settings.MEMDASH_LLM_TIMEOUT = 5.0
    yield fake_llm_server
    fake_llm_server.reset()


@pytest.fixture(scope="session")
def redis_worker(fake_llm_server, django_db_setup, django_db_blocker):
    """A Celery worker on Redis, shared by the tests of asynchronous flows."""
    from testkit.workers import REDIS_URL, Worker

    worker = Worker(broker=REDIS_URL, llm_base_url=fake_llm_server.base_url).start()
    yield worker
    worker.stop()


@pytest.fixture
def on_redis(redis_worker, fake_llm, live_server, transactional_db):
    """Enqueue through the shared Redis worker's broker; the app is served by `live_server`."""
    from testkit.workers import use_broker

    with use_broker(redis_worker.broker):
        yield redis_worker
