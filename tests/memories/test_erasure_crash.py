"""An erasure of 100k memories as an Event in a real worker, SIGKILLed mid-way: nothing is
reported erased until a second worker has finished the job, and then everything is.

MEMDASH_TEST_ERASURE_MEMORIES lowers the size for a quick local run (the default is the
issue's 100k)."""

from __future__ import annotations

import os
import time

import pytest

from core import receipts
from memories import erasure
from memories.models import Erasure, Event, Memory, MemoryHistory
from memories.subjects import Subject
from tenancy.services import get_or_create_project
from testkit.workers import REDIS_URL, Worker, use_broker, wait_for
from tests.memories.bulk import seed

pytestmark = pytest.mark.django_db(transaction=True)

SIZE = int(os.environ.get("MEMDASH_TEST_ERASURE_MEMORIES", "100000"))
SUBJECT = "bulk-subject"
# A Redis database of its own: the shared test worker must not run this test's tasks.
BROKER = REDIS_URL.rsplit("/", 1)[0] + "/13"


def test_an_erasure_killed_mid_way_is_finished_by_the_next_worker(
    fake_llm_server, without_vector_index
):
    project = get_or_create_project("bulk erasure", organization="Acme")
    seed(project, SIZE, SUBJECT)
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
