"""An erasure of 100k memories as an Event in a real worker, SIGKILLed mid-way: nothing is
reported erased until a second worker has finished the job, and then everything is.

MEMDASH_TEST_ERASURE_MEMORIES lowers the size for a quick local run (the default is the
issue's 100k)."""

from __future__ import annotations

import os
import time

import pytest
from django.db import connection

from core import receipts
from memories import erasure
from memories.models import Erasure, Event, Memory, MemoryHistory
from memories.subjects import Subject
from tenancy.services import get_or_create_project
from testkit.workers import REDIS_URL, Worker, use_broker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SIZE = int(os.environ.get("MEMDASH_TEST_ERASURE_MEMORIES", "100000"))
PER_EVENT = 1000
SUBJECT = "bulk-subject"
# A Redis database of its own: the shared test worker must not run this test's tasks.
BROKER = REDIS_URL.rsplit("/", 1)[0] + "/13"


def seed(project, size: int) -> None:
    """`size` memories of one user, each with its ADD history row, from one ADD Event per
    PER_EVENT of them, in a few statements (the API would take minutes for this many)."""
    vector = "[" + ",".join(["1"] + ["0"] * 383) + "]"
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO memories_event (id, project_id, event_type, status, payload, metadata,
                actor, attempts, created_at, updated_at, started_at, completed_at)
            SELECT gen_random_uuid(), %(project)s, 'ADD', 'SUCCEEDED',
                jsonb_build_object('user_id', %(user)s, 'messages',
                    jsonb_build_array(jsonb_build_object('role', 'user',
                        'content', 'batch ' || n || ' of ' || %(user)s))),
                jsonb_build_object('user_id', %(user)s), 'api-key:m0-bulk', 1,
                now(), now(), now(), now()
            FROM generate_series(1, %(events)s) AS n
            """,
            {"project": project.pk, "user": SUBJECT, "events": -(-size // PER_EVENT)},
        )
        cursor.execute(
            """
            WITH events AS (
                SELECT id, row_number() OVER (ORDER BY id) - 1 AS k
                FROM memories_event WHERE project_id = %(project)s
            ), rows AS (
                SELECT gen_random_uuid() AS id, n,
                    (SELECT id FROM events WHERE k = (n - 1) / %(per)s) AS event_id
                FROM generate_series(1, %(size)s) AS n
            ), memories AS (
                INSERT INTO memories_memory (id, project_id, user_id, memory, hash, metadata,
                    immutable, created_at, updated_at, embedding, embedding_model,
                    source_event_id)
                SELECT id, %(project)s, %(user)s, 'Fact number ' || n || ' about ' || %(user)s,
                    md5('fact ' || n), jsonb_build_object('n', n), false, now(), now(),
                    %(vector)s::vector, 'bulk', event_id
                FROM rows
                RETURNING id, memory, source_event_id
            )
            INSERT INTO memories_memoryhistory (id, project_id, memory_id, event, new_memory,
                input, user_id, actor, source_event_id, created_at)
            SELECT gen_random_uuid(), %(project)s, id, 'ADD', memory,
                jsonb_build_array(jsonb_build_object('role', 'user', 'content', memory)),
                %(user)s, 'api-key:m0-bulk', source_event_id, now()
            FROM memories
            """,
            {
                "project": project.pk,
                "user": SUBJECT,
                "size": size,
                "per": PER_EVENT,
                "vector": vector,
            },
        )
        cursor.execute(
            "INSERT INTO entities_entity (project_id, kind, name, metadata, created_at, "
            "updated_at) VALUES (%s, 'user', %s, '{}', now(), now())",
            [project.pk, SUBJECT],
        )


@pytest.fixture
def without_vector_index():
    """Seed without the HNSW index (inserting 100k vectors into it takes minutes and is not
    what this test is about); it is put back once the erasure has emptied the table."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'memory_embedding_hnsw'")
        (definition,) = cursor.fetchone()
        cursor.execute("DROP INDEX memory_embedding_hnsw")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM memories_memory")
            cursor.execute(definition)


def test_an_erasure_killed_mid_way_is_finished_by_the_next_worker(
    fake_llm_server, without_vector_index
):
    project = get_or_create_project("bulk erasure", organization="Acme")
    seed(project, SIZE)
    assert Memory.objects.filter(user_id=SUBJECT).count() == SIZE
    # Small chunks and a short staleness: the kill lands mid-way, the recovery comes soon.
    env = {"MEMDASH_EVENT_STALE_SECONDS": "2", "MEMDASH_ERASURE_CHUNK": "1000"}
    first = Worker(broker=BROKER, llm_base_url=fake_llm_server.base_url, env=env).start()
    try:
        with use_broker(BROKER):
            record = erasure.start(
                project, Subject("user", SUBJECT), actor="user:olga", reference="DSR-100k"
            )

        def progress() -> dict:
            event = Event.objects.get(pk=record.event_id)
            return event.results if isinstance(event.results, dict) else {}

        wait_for(
            lambda: progress().get("phase") == "memories" and progress().get("done"),
            timeout=300,
            message="the erasure to be deleting memories",
        )
        first.kill()
    finally:
        first.kill()
    # Killed mid-way: part done, nothing reported done, the subject still known.
    event = Event.objects.get(pk=record.event_id)
    assert event.status == "RUNNING"
    left = Memory.objects.filter(user_id=SUBJECT).count()
    assert 0 < left < SIZE
    record.refresh_from_db()
    assert record.receipt is None and record.subject is not None
    time.sleep(2.5)  # the event's heartbeat goes stale
    second = Worker(broker=BROKER, llm_base_url=fake_llm_server.base_url, env=env).start()
    try:
        wait_for(
            lambda: Event.objects.get(pk=record.event_id).status in ("SUCCEEDED", "FAILED"),
            timeout=600,
            interval=0.5,
            message="the second worker to finish the erasure",
        )
    finally:
        second.stop()
    event = Event.objects.get(pk=record.event_id)
    assert event.status == "SUCCEEDED", event.error
    assert event.attempts == 2
    record.refresh_from_db()
    assert not Memory.objects.filter(project=project).exists()
    assert not MemoryHistory.objects.filter(project=project, erased_at=None).exists()
    # The receipt counts the work of both attempts, and verifies.
    receipt = Erasure.objects.get(pk=record.pk).receipt
    assert receipt["counts"]["memories"] == SIZE
    assert receipt["counts"]["history"] == SIZE
    assert receipt["digest"]["memories"] == SIZE
    receipts.verify(receipt)
    assert record.subject is None
