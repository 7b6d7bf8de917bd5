"""The broker unreachable for queued work: a real gunicorn whose CELERY_BROKER_URL names a closed
port. A queued add or a background delete answers 503 naming the task queue, its Event ends
FAILED (never left PENDING), nothing is written, and everything that needs no queue still works.
"""

from __future__ import annotations

import httpx
import pytest
from mem0 import MemoryClient
from mem0.exceptions import NetworkError

from memories import services
from memories.attribution import Message, Scope
from memories.models import Event, Memory
from tenancy.models import Role
from tenancy.services import create_api_key, get_or_create_project
from testkit.web import WebServer

pytestmark = pytest.mark.django_db(transaction=True)

CLOSED_BROKER = "redis://127.0.0.1:1/0"
FACTS = ["Kim keeps bees", "Kim speaks Korean", "Kim drives an old Volvo"]


@pytest.fixture
def server(fake_llm_server):
    web = WebServer(
        workers=1,
        threads=2,
        env={
            "CELERY_BROKER_URL": CLOSED_BROKER,
            # Inference is configured, so an add with infer=true is queued (and never runs).
            "OPENAI_API_KEY": "test-key",
            "OPENAI_BASE_URL": fake_llm_server.base_url,
            # Deleting more memories than this is a background delete, an Event for a worker.
            "MEMDASH_SYNC_DELETE_LIMIT": "2",
        },
    ).start()
    yield web
    web.stop()


def assert_queue_unavailable(response: httpx.Response) -> str:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
    detail = response.json()["detail"]
    assert "task queue" in detail and "broker cannot be reached" in detail, detail
    return detail


def test_queued_work_is_refused_cleanly_while_the_broker_is_unreachable(server):
    project = get_or_create_project("queue down", organization="Acme")
    key = create_api_key(project, role=Role.ADMIN, name="broker outage key")
    services.add_memories(
        project,
        messages=[Message("user", fact) for fact in FACTS],
        scope=Scope(user_id="kim"),
        actor="api-key:seed",
    )
    memories = Memory.objects.filter(project=project, user_id="kim")
    headers = {"Authorization": f"Token {key}"}
    message = [{"role": "user", "content": "I moved to Busan last spring"}]

    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        refusals = [
            client.post("/v3/memories/add/", json={"messages": message, "user_id": "kim"}),
            client.post(
                "/v1/memories/",
                json={"messages": message, "user_id": "kim", "async_mode": True},
            ),
            # Three memories, over the limit of two: a background delete.
            client.delete("/v1/memories/", params={"user_id": "kim"}),
        ]
        details = [assert_queue_unavailable(response) for response in refusals]

        # Nothing half-done: no event waits in PENDING, each refused one is FAILED with the
        # reason the caller was given, and no memory was added or deleted.
        # (The seed's verbatim add is the one event that SUCCEEDED.)
        events = Event.objects.filter(project=project).exclude(status=Event.Status.SUCCEEDED)
        failed = {event.id: event for event in events}
        assert {event.status for event in failed.values()} == {Event.Status.FAILED}
        assert len(failed) == 3
        assert sorted(event.event_type for event in failed.values()) == ["ADD", "ADD", "DELETE"]
        for detail in details:
            event = next(e for e in failed.values() if f"event {e.id} " in detail)
            assert event.error == detail
        assert sorted(memories.values_list("memory", flat=True)) == sorted(FACTS)

        # What needs no queue still works: reads, a verbatim add, the dashboard.
        listed = client.get("/v1/memories/", params={"user_id": "kim"})
        assert listed.status_code == 200 and len(listed.json()) == 3
        found = client.post(
            "/v2/memories/search/", json={"query": "bees", "filters": {"user_id": "kim"}}
        )
        assert found.status_code == 200, found.text
        verbatim = client.post(
            "/v3/memories/add/", json={"messages": message, "user_id": "kim", "infer": False}
        )
        assert verbatim.status_code == 200, verbatim.text
        assert memories.count() == 4
        assert httpx.get(f"{server.url}/login/").status_code == 200

        # mem0ai raises its NetworkError for a 503 (the class it uses for 502-504 and lost
        # connections), not the MemoryError base class it raises for a 500; it does not retry.
        sdk = MemoryClient(api_key=key, host=server.url)
        with pytest.raises(NetworkError) as refused:
            sdk.add(message, user_id="kim")
        assert refused.value.error_code == "HTTP_503"
        assert "broker cannot be reached" in refused.value.message

        # The health endpoints say which part is down.
        assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{server.url}/readyz", timeout=60)
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert checks["broker"]["status"] == "failing"
        assert checks["database"] == {"status": "ok"}
