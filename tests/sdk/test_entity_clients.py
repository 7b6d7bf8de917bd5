"""Entity operations through the official clients: users(), delete_users() and reset() of
mem0ai 2.2.1 and 1.0.11, and the npm client's users(), deleteUsers() and deleteUser().

Both SDKs read ONE answer of GET /v1/entities/ (Python sends no page parameters; npm only
when asked) and delete each entity in it with DELETE /v2/entities/{type}/{name}/, so the list
without page parameters must hold every entity. The reset tests seed RESET_ENTITIES entities
(10,000 unless MEMDASH_TEST_RESET_ENTITIES says otherwise; at most 1,000 for mem0ai 1.0.11,
whose reset is the same server path), some with memories, and check that nothing is left; each prints its duration (run
with -s to see it). Durations are not asserted: budgets are measured, not timed in unit tests
(DESIGN.md).
"""

from __future__ import annotations

import os
import socket
import time

import pytest
from django.core.servers import basehttp
from mem0 import MemoryClient
from mem0.exceptions import MemoryNotFoundError

from entities.models import Entity
from memories.models import Event, Memory, MemoryHistory
from testkit.web import WebServer
from tests.entities.seed import seed_entities, seed_memories
from tests.sdk.conftest import call, ref
from tests.sdk.payloads import camel, entity

pytestmark = [pytest.mark.sdk, pytest.mark.django_db(transaction=True)]

RESET_ENTITIES = int(os.environ.get("MEMDASH_TEST_RESET_ENTITIES", "10000"))
LEGACY_RESET_ENTITIES = min(RESET_ENTITIES, 1000)
WITH_MEMORIES = 200
MEMORIES_EACH = 2


@pytest.fixture(autouse=True)
def _no_nagle_on_the_live_server(monkeypatch):
    """The live server writes a response's headers and body in separate sends; with Nagle's
    algorithm and the client's delayed ACK each response then waits ~40 ms, which 10,000
    sequential deletes turn into minutes. TCP_NODELAY, as production servers set it."""
    setup = basehttp.WSGIRequestHandler.setup

    def setup_without_nagle(handler):
        setup(handler)
        handler.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    monkeypatch.setattr(basehttp.WSGIRequestHandler, "setup", setup_without_nagle)


def seed_many(project, entities: int = RESET_ENTITIES) -> int:
    """`entities` users (person-1 ...), the first WITH_MEMORIES with memories, and a few of
    every other kind; returns the number of memories."""
    seed_entities(project, entities - 30)
    for kind in ("agent", "app", "run"):
        seed_entities(project, 10, kind=kind, prefix=kind)
    memories = seed_memories(
        project,
        [f"person-{n}" for n in range(1, WITH_MEMORIES + 1)],
        per_entity=MEMORIES_EACH,
    )
    memories += seed_memories(project, ["agent-1", "agent-2"], kind="agent")
    assert Entity.objects.filter(project=project).count() == entities
    return memories


def assert_nothing_left(project, memories: int, entities: int = RESET_ENTITIES) -> None:
    assert Entity.objects.filter(project=project).count() == 0
    assert Memory.objects.filter(project=project).count() == 0
    # Every memory left a DELETE history row; every entity a SUCCEEDED DELETE event.
    assert MemoryHistory.objects.filter(project=project, event="DELETE").count() == memories
    deletes = Event.objects.filter(project=project, event_type="DELETE")
    assert deletes.filter(status="SUCCEEDED").count() == entities


def timed(label: str, started: float, entities: int = RESET_ENTITIES) -> None:
    elapsed = time.monotonic() - started
    print(f"\n{label} of {entities:,} entities: {elapsed:.1f} s")


# --- mem0ai 2.2.1 ---------------------------------------------------------------------------------


def test_reset_leaves_nothing_of_10000_entities_with_mem0ai_2(server):
    """Against gunicorn as `make run` serves it (2 workers x 4 threads, persistent database
    connections): 10,000 sequential deletes, which the in-process live server serves at half
    the speed."""
    memories = seed_many(server.project)
    web = WebServer(workers=2, threads=4).start()
    try:
        client = MemoryClient(api_key=server.api_key, host=web.url)
        started = time.monotonic()
        reset = client.reset()
        timed("mem0ai 2.2.1 reset()", started)
        with pytest.raises(ValueError, match="No entities to delete"):
            client.reset()
        client.client.close()
    except BaseException as exc:
        raise AssertionError(f"the reset failed; gunicorn said:\n{web.output()[-3000:]}") from exc
    finally:
        web.stop()
    assert reset == {"message": "Client reset successful. All users and memories deleted."}
    assert_nothing_left(server.project, memories)


def test_users_lists_every_entity_in_one_answer_with_mem0ai_2(py_client, server):
    seed_entities(server.project, 2500)
    seed_memories(server.project, ["person-1"], per_entity=3)
    users = py_client.users()
    assert len(users["results"]) == users["count"] == 2500
    assert (users["next"], users["previous"]) == (None, None)
    assert {k: v for k, v in users.items() if k.startswith("total_")} == {
        "total_users": 2500,
        "total_agents": 0,
        "total_apps": 0,
        "total_runs": 0,
    }
    # Most recently active first; the seed makes person-1 the newest.
    assert users["results"][0] == entity("person-1", "user", 3)
    assert [e["name"] for e in users["results"][:3]] == ["person-1", "person-2", "person-3"]


def test_delete_users_without_ids_deletes_everything_with_mem0ai_2(py_client, server):
    seed_entities(server.project, 1500)
    seed_memories(server.project, ["person-7"])
    assert py_client.delete_users() == {"message": "All users, agents, apps and runs deleted."}
    assert Entity.objects.filter(project=server.project).count() == 0
    assert Memory.objects.filter(project=server.project).count() == 0


def test_delete_users_of_one_entity_with_mem0ai_2(py_client, server):
    seed_entities(server.project, 3)
    seed_memories(server.project, ["person-2"])
    assert py_client.delete_users(user_id="person-2") == {"message": "Entity deleted successfully."}
    assert py_client.delete_users(user_id="person-3") == {"message": "Entity deleted successfully."}
    with pytest.raises(MemoryNotFoundError):
        py_client.delete_users(user_id="person-3")
    names = set(Entity.objects.filter(project=server.project).values_list("name", flat=True))
    assert names == {"person-1"}
    assert Memory.objects.filter(project=server.project).count() == 0


# --- mem0ai 1.0.11 --------------------------------------------------------------------------------


def test_reset_leaves_nothing_with_mem0ai_1(py1, server):
    """1.0.11 differs: it sends org_id and project_id with every call and does not
    percent-encode names. The same server path as above, so LEGACY_RESET_ENTITIES suffice."""
    memories = seed_many(server.project, LEGACY_RESET_ENTITIES)
    started = time.monotonic()
    reset, after = py1(call("reset"), call("reset"))
    timed("mem0ai 1.0.11 reset()", started, LEGACY_RESET_ENTITIES)
    assert reset == {"message": "Client reset successful. All users and memories deleted."}
    assert after == {"error": "ValueError", "message": "No entities to delete"}
    assert_nothing_left(server.project, memories, LEGACY_RESET_ENTITIES)


def test_users_lists_every_entity_with_mem0ai_1(py1, server):
    seed_entities(server.project, 1200)
    (users,) = py1(call("users"))
    assert len(users["results"]) == users["count"] == 1200
    assert users["total_users"] == 1200


# --- npm mem0ai 3.3.1 -----------------------------------------------------------------------------


def test_delete_users_of_10000_entities_leaves_nothing_with_npm(js, server):
    """npm has no reset(): deleteUsers() without ids is its reset. Against gunicorn as `make
    run` serves it, like mem0ai 2.2.1's reset() above: undici reuses idle sockets for 4 s, so
    gunicorn's keep-alive must outlast that (scripts/run.sh) or a delete meets a closed socket
    ("fetch failed")."""
    memories = seed_many(server.project)
    web = WebServer(workers=2, threads=4).start()
    try:
        started = time.monotonic()
        deleted, after, listed = js(
            call("deleteUsers"),
            call("deleteUsers"),
            call("users", {"page": 1, "pageSize": 10}),
            host=web.url,
            timeout=1800,
        )
        timed("npm deleteUsers()", started)
    except BaseException as exc:
        raise AssertionError(f"deleteUsers failed; gunicorn said:\n{web.output()[-3000:]}") from exc
    finally:
        web.stop()
    assert deleted == {"message": "All users, agents, apps and runs deleted."}
    assert after == {"error": "Error", "message": "No entities to delete"}
    assert listed["results"] == []
    assert_nothing_left(server.project, memories)


def test_users_pages_when_asked_and_lists_everything_when_not_with_npm(js, server):
    seed_entities(server.project, 1100)
    paged, everything = js(call("users", {"page": 2, "pageSize": 500}), call("users"))
    assert len(paged["results"]) == 500
    assert paged["count"] == 1100
    assert paged["next"].endswith("/v1/entities/?page=3&page_size=500")
    assert paged["totalUsers"] == 1100
    assert len(everything["results"]) == everything["count"] == 1100
    assert everything["results"][0] == camel(entity("person-1", "user", 0))


def test_delete_user_by_numeric_id_with_npm(js, server):
    seed_entities(server.project, 2)
    seed_memories(server.project, ["person-1"])
    results = js(
        call("users", {"page": 1, "pageSize": 1}),
        call("deleteUser", {"entity_type": "user", "entity_id": ref("0.results.0.id")}),
        call("deleteUser", {"entity_type": "user", "entity_id": "person-2"}),
    )
    first, deleted, by_name = results
    assert first["results"][0]["name"] == "person-1"
    assert deleted == {
        "message": "Entity deleted successfully.",
        "eventId": deleted["eventId"],
        "deleted": 2,
    }
    assert by_name["error"] == "ValidationError"
    names = set(Entity.objects.filter(project=server.project).values_list("name", flat=True))
    assert names == {"person-2"}
