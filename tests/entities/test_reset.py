"""What reset() and delete_users() rely on: GET /v1/entities/ without page parameters lists
every entity (streamed in keyset chunks), and the per-entity delete is cheap for an entity
with no memories. The SDK runs of reset() itself are tests/sdk/test_entity_clients.py."""

import json

import pytest

from audit.models import AuditEntry
from entities.api.views import STREAM_CHUNK
from entities.models import Entity
from memories.models import Event, Memory, MemoryHistory
from tests.entities.seed import seed_entities, seed_memories

pytestmark = pytest.mark.django_db

TOTALS = {"total_users": 0, "total_agents": 0, "total_apps": 0, "total_runs": 0}


def streamed(response) -> dict:
    assert response.status_code == 200
    assert response.streaming is True
    assert response["Content-Type"] == "application/json"
    return json.loads(b"".join(response.streaming_content))


def test_list_without_page_parameters_has_every_entity(api, project):
    seed_entities(project, 2 * STREAM_CHUNK + 500)
    seed_memories(project, ["person-1", "person-1500"], per_entity=3)
    body = streamed(api.get("/v1/entities/"))
    assert list(body) == ["results", "count", "next", "previous", *TOTALS]
    assert {k: body[k] for k in ("count", "next", "previous")} == {
        "count": 2500,
        "next": None,
        "previous": None,
    }
    assert {k: body[k] for k in TOTALS} == {**TOTALS, "total_users": 2500}
    names = [e["name"] for e in body["results"]]
    # In the paged order (most recently active first), each entity once, across chunks.
    assert names == [f"person-{n}" for n in range(1, 2501)]
    counts = {e["name"]: e["total_memories"] for e in body["results"] if e["total_memories"]}
    assert counts == {"person-1": 3, "person-1500": 3}
    paged = api.get("/v1/entities/?page=1&page_size=3").json()
    assert paged["results"] == body["results"][:3]


def test_short_list_is_a_plain_answer_of_the_same_shape(api, project):
    seed_entities(project, STREAM_CHUNK)
    response = api.get("/v1/entities/")
    assert response.streaming is False
    body = response.json()
    assert list(body) == ["results", "count", "next", "previous", *TOTALS]
    assert body["count"] == len(body["results"]) == STREAM_CHUNK


def test_list_of_an_empty_project(api):
    assert api.get("/v1/entities/").json() == {
        "results": [],
        "count": 0,
        "next": None,
        "previous": None,
        **TOTALS,
    }


def test_streamed_list_by_type(api, project):
    seed_entities(project, 5)
    seed_entities(project, STREAM_CHUNK + 3, kind="agent", prefix="bot")
    body = streamed(api.get("/v1/entities/?type=agent"))
    assert [e["name"] for e in body["results"][:2]] == ["bot-1", "bot-2"]
    assert {e["type"] for e in body["results"]} == {"agent"}
    assert (body["count"], body["total_users"], body["total_agents"]) == (
        STREAM_CHUNK + 3,
        5,
        STREAM_CHUNK + 3,
    )


def test_page_parameters_still_page(api, project):
    seed_entities(project, 5)
    response = api.get("/v1/entities/?page_size=2")
    assert response.streaming is False
    body = response.json()
    assert [e["name"] for e in body["results"]] == ["person-1", "person-2"]
    assert body["next"] == "http://testserver/v1/entities/?page=2&page_size=2"
    assert body["count"] == 5
    assert api.get("/v1/entities/?page=9&page_size=2").status_code == 404


def test_streamed_lists_access_log_row_is_bounded(api, project):
    seed_entities(project, STREAM_CHUNK + 200)
    streamed(api.get("/v1/entities/"))
    (row,) = AuditEntry.objects.filter(kind="read", action="entities.list")
    # The first chunk's entities are named; `total` says how many were listed in all.
    assert len(row.entities) == STREAM_CHUNK
    assert "user:person-1" in row.entities
    assert f"user:person-{STREAM_CHUNK + 1}" not in row.entities
    assert row.total == STREAM_CHUNK + 200


def test_another_projects_key_lists_nothing(other_api, project):
    seed_entities(project, 10)
    body = other_api.get("/v1/entities/").json()
    assert (body["results"], body["count"]) == ([], 0)
    assert other_api.delete("/v2/entities/user/person-1/").status_code == 404
    assert Entity.objects.filter(project=project).count() == 10


def test_reset_flow_over_the_api_deletes_everything(api, project):
    """What the SDKs do: one list, then one delete per listed entity."""
    seed_entities(project, 300)
    seed_memories(project, [f"person-{n}" for n in range(1, 21)])
    listed = api.get("/v1/entities/").json()["results"]
    for item in listed:
        response = api.delete(f"/v2/entities/{item['type']}/{item['name']}/")
        assert response.status_code == 200
        assert response.json()["message"] == "Entity deleted successfully."
    assert not Entity.objects.filter(project=project).exists()
    assert not Memory.objects.filter(project=project).exists()
    assert MemoryHistory.objects.filter(project=project, event="DELETE").count() == 40
    assert Event.objects.filter(project=project, event_type="DELETE").count() == 300


def test_delete_of_an_entity_without_memories_takes_three_statements(
    api, project, django_assert_num_queries
):
    seed_entities(project, 2)
    api.get("/v1/ping/")  # the key's last_used_at is written at most once a minute
    # The API key; the entity, deleted in the statement that checks it has no memory; the
    # DELETE Event (SUCCEEDED, 0 deleted). The transaction around the last two is a
    # savepoint pair here, inside the test's transaction (BEGIN/COMMIT in production).
    with django_assert_num_queries(5):
        response = api.delete("/v2/entities/user/person-1/")
    assert response.json() == {
        "message": "Entity deleted successfully.",
        "event_id": str(Event.objects.get(project=project).pk),
        "deleted": 0,
    }
    event = Event.objects.get(project=project)
    assert (event.status, event.payload, event.metadata, event.results) == (
        "SUCCEEDED",
        {"entity_type": "user", "entity_id": "person-1"},
        {"user_id": "person-1"},
        {"deleted": 0},
    )
    assert list(Entity.objects.filter(project=project).values_list("name", flat=True)) == [
        "person-2"
    ]


def test_delete_of_an_entity_with_memories_takes_the_full_path(api, project):
    seed_entities(project, 1)
    seed_memories(project, ["person-1"], per_entity=3)
    response = api.delete("/v2/entities/user/person-1/")
    assert response.json()["deleted"] == 3
    assert not Entity.objects.filter(project=project).exists()
    assert MemoryHistory.objects.filter(project=project, event="DELETE").count() == 3


def test_delete_of_an_unknown_entity_or_type(api):
    assert api.delete("/v2/entities/user/nobody/").status_code == 404
    response = api.delete("/v2/entities/robot/nobody/")
    assert response.status_code == 400
    assert "Invalid entity type" in response.json()["detail"]
