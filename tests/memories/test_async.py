"""Asynchronous flows end to end: real HTTP, real Celery workers, real brokers."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from memories.models import Event, Memory, MemoryHistory
from tenancy.services import create_api_key, get_or_create_project
from testkit.workers import Worker, database_broker_url, use_broker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ALEX = [{"role": "user", "content": "Hi, I'm Alex. I'm a vegetarian and I'm allergic to nuts."}]
ALEX_FACTS = {
    "facts": [
        {"text": "Name is Alex", "message": 1},
        {"text": "Is a vegetarian", "message": 1},
        {"text": "Is allergic to nuts", "message": 1},
    ]
}


class Api:
    """A tiny HTTP client for the live server."""

    def __init__(self, base_url: str):
        project = get_or_create_project("async", organization="Acme")
        self.project = project
        self.client = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Token {create_api_key(project)}"},
            timeout=30,
        )

    def __getattr__(self, name):
        return getattr(self.client, name)

    def event(self, event_id: str) -> dict:
        return self.client.get(f"/v1/event/{event_id}/").json()

    def wait_event(self, event_id: str, timeout: float = 30) -> dict:
        return wait_for(
            lambda: (e := self.event(event_id))["status"] in ("SUCCEEDED", "FAILED") and e,
            timeout=timeout,
            message=f"event {event_id} to finish",
        )


@pytest.fixture
def api_http(live_server):
    api = Api(live_server.url)
    yield api
    # A kept-alive connection would keep a server thread, and its database session, open.
    api.client.close()


def test_v3_add_is_queued_and_a_worker_runs_the_pipeline(on_redis, api_http):
    queued = api_http.post("/v3/memories/add/", json={"messages": ALEX, "user_id": "alex"}).json()
    assert set(queued) == {"message", "status", "event_id"}
    assert queued["status"] == "PENDING"
    event = api_http.wait_event(queued["event_id"])
    assert event["status"] == "SUCCEEDED", event
    assert event["results"] == []  # the default script extracts nothing
    assert event["latency"] is not None and event["started_at"] and event["completed_at"]


def test_pending_running_succeeded_with_results(on_redis, api_http, fake_llm):
    fake_llm.on("extract facts", reply=ALEX_FACTS, delay=1.0)
    event_id = api_http.post(
        "/v3/memories/add/", json={"messages": ALEX, "user_id": "alex"}
    ).json()["event_id"]
    seen = {api_http.event(event_id)["status"]}
    wait_for(lambda: api_http.event(event_id)["status"] == "RUNNING", message="RUNNING")
    seen.add("RUNNING")
    event = api_http.wait_event(event_id)
    assert seen >= {"RUNNING"}
    assert event["status"] == "SUCCEEDED"
    assert sorted(r["memory"] for r in event["results"]) == [
        "Is a vegetarian",
        "Is allergic to nuts",
        "Name is Alex",
    ]
    assert set(Memory.objects.values_list("user_id", flat=True)) == {"alex"}
    listing = api_http.get("/v1/events/?event_type=ADD&status=SUCCEEDED").json()
    assert [e["id"] for e in listing["results"]] == [event_id]


def test_v1_async_mode_returns_the_seed_era_pending_shape(on_redis, api_http, fake_llm):
    fake_llm.on("extract facts", reply=ALEX_FACTS)
    body = api_http.post(
        "/v1/memories/",
        json={"messages": ALEX, "user_id": "alex", "async_mode": True, "output_format": "v1.1"},
    ).json()
    assert body == {
        "results": [
            {
                "message": "Memory processing has been queued for background execution",
                "status": "PENDING",
                "event_id": body["results"][0]["event_id"],
            }
        ],
        "relations": [],
    }
    assert api_http.wait_event(body["results"][0]["event_id"])["status"] == "SUCCEEDED"


def test_llm_failure_in_the_worker_fails_the_event_with_the_reason(on_redis, api_http, fake_llm):
    fake_llm.on("extract facts", raw="this is not json")
    event_id = api_http.post(
        "/v3/memories/add/", json={"messages": ALEX, "user_id": "alex"}
    ).json()["event_id"]
    event = api_http.wait_event(event_id)
    assert event["status"] == "FAILED"
    assert "not valid JSON" in event["error"]
    assert not Memory.objects.exists()


def test_transient_llm_errors_are_retried_by_the_task(on_redis, api_http, fake_llm):
    fake_llm.on("extract facts", reply=ALEX_FACTS)
    fake_llm.on("extract facts", status=502, times=1)
    event_id = api_http.post(
        "/v3/memories/add/", json={"messages": ALEX, "user_id": "alex"}
    ).json()["event_id"]
    event = api_http.wait_event(event_id, timeout=60)
    assert event["status"] == "SUCCEEDED"
    assert Memory.objects.count() == 3
    assert Event.objects.get(pk=event_id).attempts == 2


def test_a_task_delivered_twice_writes_once(on_redis, api_http, fake_llm):
    from memories.tasks import process_add_event

    fake_llm.on("extract facts", reply=ALEX_FACTS, delay=0.5)
    event_id = api_http.post(
        "/v3/memories/add/", json={"messages": ALEX, "user_id": "alex"}
    ).json()["event_id"]
    process_add_event.delay(
        event_id
    )  # a duplicate delivery, racing the first on the second pool slot
    api_http.wait_event(event_id)
    time.sleep(1.0)
    assert Memory.objects.count() == 3
    assert MemoryHistory.objects.count() == 3


def test_large_delete_by_filter_runs_as_an_event(on_redis, api_http, settings):
    settings.MEMDASH_SYNC_DELETE_LIMIT = 3
    messages = [{"role": "user", "content": f"fact {i}"} for i in range(8)]
    api_http.post(
        "/v3/memories/add/", json={"messages": messages, "user_id": "alex", "infer": False}
    )
    api_http.post(
        "/v3/memories/add/", json={"messages": "keep me", "user_id": "bob", "infer": False}
    )
    body = api_http.delete("/v1/memories/", params={"user_id": "alex"}).json()
    assert body == {
        "message": "Delete in progress. This may take some time.",
        "event_id": body["event_id"],
    }
    event = api_http.wait_event(body["event_id"])
    assert (event["event_type"], event["status"], event["results"]) == (
        "DELETE",
        "SUCCEEDED",
        {"deleted": 8},
    )
    assert list(Memory.objects.values_list("memory", flat=True)) == ["keep me"]
    assert MemoryHistory.objects.filter(event="DELETE").count() == 8


def test_large_entity_delete_runs_as_an_event_and_removes_the_entity(on_redis, api_http, settings):
    from entities.models import Entity

    settings.MEMDASH_SYNC_DELETE_LIMIT = 2
    for text in ("a", "b", "c"):
        api_http.post(
            "/v3/memories/add/", json={"messages": text, "user_id": "alex", "infer": False}
        )
    body = api_http.delete("/v2/entities/user/alex/").json()
    assert body["message"] == "Delete in progress. This may take some time."
    assert api_http.wait_event(body["event_id"])["results"] == {"deleted": 3}
    assert not Entity.objects.filter(name="alex").exists()


# --- webhooks -------------------------------------------------------------------------------------


class Receiver:
    """An HTTP endpoint that records webhook deliveries (and can fail the first ones)."""

    def __init__(self, fail_first: int = 0):
        self.deliveries: list[tuple[dict, bytes]] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    self.send_response(503)
                else:
                    receiver.deliveries.append((dict(self.headers), raw))
                    self.send_response(200)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def bodies(self) -> list[dict]:
        return [json.loads(raw) for _headers, raw in self.deliveries]


@pytest.fixture
def receiver(settings):
    """A receiver on loopback, which webhooks may reach only when private targets are allowed
    (as the test worker allows them)."""
    settings.MEMDASH_WEBHOOK_ALLOW_PRIVATE = True
    return Receiver()


def test_webhooks_fire_signed_on_add_update_delete_and_categorize(
    on_redis, api_http, fake_llm, receiver
):
    created = api_http.post(
        f"/api/v1/webhooks/projects/{api_http.project.public_id}/",
        json={
            "name": "audit",
            "url": receiver.url,
            "event_types": ["memory_add", "MEMORY_UPDATE", "memory:delete", "memory_categorize"],
        },
    )
    assert created.status_code == 201
    hook = created.json()
    assert hook["event_types"] == [
        "memory_add",
        "memory_update",
        "memory_delete",
        "memory_categorize",
    ]
    fake_llm.on("extract facts", reply={"facts": [{"text": "Is allergic to nuts", "message": 1}]})
    fake_llm.on("categorize memories", reply={"categories": [["health"]]})
    event_id = api_http.post(
        "/v3/memories/add/", json={"messages": ALEX, "user_id": "alex"}
    ).json()["event_id"]
    memory_id = api_http.wait_event(event_id)["results"][0]["id"]
    api_http.put(f"/v1/memories/{memory_id}/", json={"text": "Severely allergic to nuts"})
    api_http.delete(f"/v1/memories/{memory_id}/")
    wait_for(lambda: len(receiver.deliveries) >= 4, message="4 webhook deliveries")
    events = sorted(b["event_details"]["event"] for b in receiver.bodies())
    assert events == ["ADD", "CATEGORIZE", "DELETE", "UPDATE"]
    add = next(b for b in receiver.bodies() if b["event_details"]["event"] == "ADD")
    assert add == {
        "event_details": {
            "id": memory_id,
            "data": {"memory": "Is allergic to nuts"},
            "event": "ADD",
        }
    }
    categorize = next(b for b in receiver.bodies() if b["event_details"]["event"] == "CATEGORIZE")
    assert categorize == {
        "event_details": {"event": "CATEGORIZE", "memory_id": memory_id, "categories": ["health"]}
    }
    for headers, raw in receiver.deliveries:
        expected = hmac.new(
            hook["secret"].encode(),
            headers["X-Memdash-Timestamp"].encode() + b"." + raw,
            hashlib.sha256,
        )
        assert headers["X-Memdash-Signature"] == "sha256=" + expected.hexdigest()


def test_webhook_deliveries_are_retried_until_accepted(on_redis, api_http, receiver):
    receiver.fail_first = 1
    api_http.post(
        f"/api/v1/webhooks/projects/{api_http.project.public_id}/",
        json={"name": "flaky", "url": receiver.url, "event_types": ["memory_add"]},
    )
    api_http.post(
        "/v3/memories/add/", json={"messages": "hello", "user_id": "alex", "infer": False}
    )
    wait_for(lambda: receiver.deliveries, timeout=30, message="a retried delivery")
    assert receiver.bodies()[0]["event_details"]["data"] == {"memory": "hello"}


# --- the zero-setup broker and crashed workers ---------------------------------------------------


def test_the_database_broker_runs_the_pipeline_too(fake_llm, api_http, fake_llm_server):
    fake_llm.on("extract facts", reply=ALEX_FACTS)
    broker = database_broker_url()
    worker = Worker(broker=broker, llm_base_url=fake_llm_server.base_url).start()
    try:
        with use_broker(broker):
            event_id = api_http.post(
                "/v3/memories/add/", json={"messages": ALEX, "user_id": "alex"}
            ).json()["event_id"]
            assert api_http.wait_event(event_id)["status"] == "SUCCEEDED"
    finally:
        worker.stop()
    assert Memory.objects.count() == 3


def test_an_event_whose_worker_was_killed_is_recovered(fake_llm, api_http, fake_llm_server):
    from testkit.workers import REDIS_URL

    # A Redis database of its own: the shared test worker must not pick up the recovery task
    # the new worker sends (it would judge staleness by its own, default threshold).
    REDIS_URL = REDIS_URL.rsplit("/", 1)[0] + "/14"  # noqa: N806
    fake_llm.on("extract facts", reply=ALEX_FACTS, delay=30)
    stale = {"MEMDASH_EVENT_STALE_SECONDS": "2"}
    first = Worker(broker=REDIS_URL, llm_base_url=fake_llm_server.base_url, env=stale).start()
    try:
        with use_broker(REDIS_URL):
            event_id = api_http.post(
                "/v3/memories/add/", json={"messages": ALEX, "user_id": "alex"}
            ).json()["event_id"]
            wait_for(
                lambda: fake_llm.calls_for("extract facts"), message="the worker to call the LLM"
            )
            assert api_http.event(event_id)["status"] == "RUNNING"
            first.kill()
            fake_llm.reset()
            fake_llm.on("extract facts", reply=ALEX_FACTS)
            time.sleep(2.5)  # the event's heartbeat goes stale
            second = Worker(
                broker=REDIS_URL, llm_base_url=fake_llm_server.base_url, env=stale
            ).start()
            try:
                event = api_http.wait_event(event_id, timeout=90)
            except AssertionError:
                print(second.output())  # shown with the failure
                raise
            finally:
                second.stop()
    finally:
        first.kill()
    assert event["status"] == "SUCCEEDED"
    assert Memory.objects.count() == 3
    assert Event.objects.get(pk=event_id).attempts == 2


def test_recovery_gives_up_after_max_attempts(fake_llm, settings, transactional_db):
    from django.utils import timezone

    from memories.tasks import recover_stale_events

    project = get_or_create_project("stale", organization="Acme")
    old = timezone.now() - timezone.timedelta(hours=1)
    event = Event.objects.create(
        project=project,
        event_type="ADD",
        status="RUNNING",
        attempts=settings.MEMDASH_EVENT_MAX_ATTEMPTS,
        payload={},
        updated_at=old,
    )
    assert recover_stale_events() == []
    event.refresh_from_db()
    assert event.status == "FAILED"
    assert "abandoned after 3 attempts" in event.error


def test_a_broker_outage_refuses_queued_work_and_is_no_500(
    fake_llm, settings, transactional_db, project
):
    """With the broker down, an add that must be queued answers 503 naming the task queue and
    its Event is FAILED, not left PENDING (core.queueing.send_or_refuse_on_commit). Work that
    only follows a stored change is sent robustly: a verbatim add is stored (200) and its
    webhook change is simply not sent."""
    from memories.models import Webhook
    from tests.conftest import api_client

    settings.MEMDASH_WEBHOOK_ALLOW_PRIVATE = True
    Webhook.objects.create(
        project=project, name="hook", url="http://127.0.0.1:9/", event_types=["memory_add"]
    )
    api = api_client(create_api_key(project))
    with use_broker("redis://127.0.0.1:1/0"):  # nothing listens on port 1
        queued = api.post("/v3/memories/add/", {"messages": ALEX, "user_id": "alex"}, format="json")
        stored = api.post(
            "/v3/memories/add/",
            {"messages": "I like tea", "user_id": "alex", "infer": False},
            format="json",
        )
    assert queued.status_code == 503, queued.content
    assert queued["Retry-After"]
    assert "task queue" in queued.json()["detail"]
    (event,) = Event.objects.filter(metadata__infer=True)
    assert event.status == "FAILED" and event.error == queued.json()["detail"]
    assert stored.status_code == 200, stored.content
    assert list(Memory.objects.values_list("memory", flat=True)) == ["I like tea"]
