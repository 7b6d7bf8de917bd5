"""Wildcard deletes (`DELETE /v1/memories/?user_id=*`): the Platform's answers unchanged, but
recorded as DELETE_ALL Events that say what they spanned, kept in the trash and restorable, and
still stopped by legal holds (memories.wildcards)."""

from __future__ import annotations

import pytest

from memories import services, trash
from memories.models import Event, Memory, MemoryHistory, TrashedMemory
from memories.wildcards import describe, spanned_fields
from tenancy.models import Attribution, Role
from tenancy.services import create_api_key
from testkit.workers import wait_for
from tests.conftest import ANY_UUID, add_verbatim, api_client
from tests.dashboard.conftest import bulk_memories

pytestmark = pytest.mark.django_db

DONE = {"message": "Memories deleted successfully!", "event_id": ANY_UUID}


@pytest.fixture
def world(project, api):
    """Two users' memories, one of them also the bot's (the project tags every memory with
    every id of its add), and two agents' own."""
    project.attribution = Attribution.ALL_IDS
    project.save(update_fields=["attribution"])
    add_verbatim(api, "Maria likes green tea", user_id="maria")
    add_verbatim(api, "Maria asked the bot about trains", user_id="maria", agent_id="bot")
    add_verbatim(api, "Bob plays chess", user_id="bob")
    add_verbatim(api, "The bot speaks French", agent_id="bot")
    add_verbatim(api, "The helper is terse", agent_id="helper")
    return {m.memory: str(m.pk) for m in Memory.objects.all()}


def texts() -> set[str]:
    return set(Memory.objects.values_list("memory", flat=True))


def the_event(body: dict) -> Event:
    return Event.objects.get(pk=body["event_id"])


def test_user_id_star_deletes_every_users_memories_as_a_delete_all_event(api, world):
    response = api.delete("/v1/memories/?user_id=*")
    assert response.status_code == 200
    # The Platform's answer, exactly as for any delete by filter.
    assert response.json() == {**DONE, "deleted": 3}
    assert texts() == {"The bot speaks French", "The helper is terse"}
    event = the_event(response.json())
    assert (event.event_type, event.status, event.results) == (
        "DELETE_ALL",
        "SUCCEEDED",
        {"deleted": 3},
    )
    assert event.payload == {"filters": {"user_id": "*"}, "wildcard": ["user_id"]}
    assert event.metadata == {}  # it names no entity: Activity's entity filter does not find it
    listed = api.get(f"/v1/event/{event.pk}/").json()
    assert (listed["event_type"], listed["payload"]["wildcard"]) == ("DELETE_ALL", ["user_id"])
    by_type = api.get("/v1/events/?event_type=delete_all").json()["results"]
    assert [e["id"] for e in by_type] == [str(event.pk)]
    assert MemoryHistory.objects.filter(event="DELETE", source_event=event).count() == 3


def test_agent_id_star_spans_every_agent(api, world):
    body = api.delete("/v1/memories/?agent_id=*").json()
    assert body == {**DONE, "deleted": 3}
    assert texts() == {"Maria likes green tea", "Bob plays chess"}
    event = the_event(body)
    assert (event.event_type, event.payload["wildcard"]) == ("DELETE_ALL", ["agent_id"])


def test_both_stars_span_users_and_agents(api, world):
    body = api.delete("/v1/memories/?user_id=*&agent_id=*").json()
    assert body == {**DONE, "deleted": 1}
    assert texts() == set(world) - {"Maria asked the bot about trains"}
    event = the_event(body)
    assert event.payload["wildcard"] == ["user_id", "agent_id"]
    assert describe(event.payload["wildcard"]) == "all users and agents"


def test_a_star_beside_a_named_id_spans_only_its_own_field(api, world):
    body = api.delete("/v1/memories/?user_id=*&agent_id=bot").json()
    assert body == {**DONE, "deleted": 1}
    event = the_event(body)
    assert (event.event_type, event.payload["wildcard"]) == ("DELETE_ALL", ["user_id"])
    assert event.metadata == {"agent_id": "bot"}  # still found by Activity's entity filter


def test_the_sdks_filters_repr_with_a_star_is_a_wildcard_delete(api, world):
    # mem0ai 2.x: delete_all(filters={"user_id": "*"}) sends str(dict) as `filters`.
    response = api.delete("/v1/memories/?filters=%7B%27user_id%27%3A+%27%2A%27%7D")
    body = response.json()
    assert response.status_code == 200 and body == {**DONE, "deleted": 3}
    assert the_event(body).event_type == "DELETE_ALL"


def test_a_delete_of_named_ids_is_not_flagged(api, world):
    body = api.delete("/v1/memories/?user_id=maria").json()
    assert body == {**DONE, "deleted": 2}
    event = the_event(body)
    assert event.event_type == "DELETE"
    assert "wildcard" not in event.payload
    memory_id = world["Bob plays chess"]
    api.delete(f"/v1/memories/{memory_id}/")
    api.delete("/v2/entities/agent/helper/")
    assert not Event.objects.filter(event_type="DELETE_ALL").exists()


def test_a_filter_language_delete_with_a_star_is_a_wildcard_delete(project, world):
    """The service every surface calls (the MCP tool and the dashboard's "delete all
    matching" pass filters of the filter language)."""
    event = services.delete_matching(
        project,
        {"AND": [{"user_id": "*"}, {"keywords": {"icontains": "tea"}}]},
        actor="user:eddie",
        source="dashboard",
    )
    assert (event.event_type, event.results) == ("DELETE_ALL", {"deleted": 1})
    assert event.payload["wildcard"] == ["user_id"] and event.payload["source"] == "dashboard"


@pytest.mark.parametrize(
    ("filters", "spanned"),
    [
        ({"user_id": "*"}, ["user_id"]),
        ({"user_id": " * "}, ["user_id"]),
        ({"userId": "*"}, ["user_id"]),
        ({"run_id": {"in": ["r1", "*"]}}, ["run_id"]),
        ({"AND": [{"app_id": "*"}, {"AND": [{"agent_id": "*"}]}]}, ["agent_id", "app_id"]),
        ({"OR": [{"user_id": "*"}, {"agent_id": "bot"}]}, ["user_id"]),
        # Nothing names an owner: it reaches every user, agent, app and run.
        ({"categories": {"in": ["food"]}}, ["user_id", "agent_id", "app_id", "run_id"]),
        ({"user_id": "", "expired": False}, ["user_id", "agent_id", "app_id", "run_id"]),
        ({}, ["user_id", "agent_id", "app_id", "run_id"]),
        # Named entities or memories, the literal id "*", or a wildcard that only narrows.
        ({"user_id": "maria"}, []),
        ({"user_id": {"eq": "*"}}, []),
        ({"memory_ids": ["5b8f3d4e-8c2f-4a57-9a38-8f3c1e0b5a11"]}, []),
        ({"NOT": {"user_id": "*"}}, []),
        ({"user_id": None}, []),
    ],
)
def test_what_a_filter_spans(filters, spanned):
    assert spanned_fields(filters) == spanned


def test_a_wildcard_delete_goes_to_the_trash_and_a_restore_brings_everything_back(
    api, editor_api, world
):
    body = api.delete("/v1/memories/?user_id=*").json()
    event = the_event(body)
    trashed = TrashedMemory.objects.filter(trash_event_id=event.pk)
    assert trashed.count() == 3
    assert set(trash.from_event(event.project, event).values_list("pk", flat=True)) == set(
        trashed.values_list("pk", flat=True)
    )
    # Through the trash API, as an operator undoes it: list what this delete put there, restore.
    listed = editor_api.get("/v1/trash/").json()["results"]
    ids = [row["id"] for row in listed]
    restored = editor_api.post("/v1/trash/restore/", {"memory_ids": ids}, format="json")
    assert restored.status_code == 200 and restored.json()["restored"] == 3
    assert {str(pk) for pk in Memory.objects.values_list("pk", flat=True)} == set(world.values())
    assert texts() == set(world)
    assert not TrashedMemory.objects.exists()
    assert not trash.from_event(event.project, event).exists()
    back = api.post(
        "/v3/memories/search/", {"query": "green tea", "filters": {"user_id": "*"}}, format="json"
    ).json()
    assert world["Maria likes green tea"] in {m["id"] for m in back["results"]}
    history = api.get(f"/v1/memories/{world['Bob plays chess']}/history/").json()
    assert [h["event"] for h in history] == ["ADD", "DELETE", "RESTORE"]


def test_a_legal_hold_keeps_its_memories_from_a_wildcard_delete(project, api, world):
    officer = api_client(create_api_key(project, role=Role.COMPLIANCE, name="officer"))
    placed = officer.post(
        "/v1/holds/",
        {"name": "Case 7", "entity_type": "user", "entity_id": "maria"},
        format="json",
    )
    assert placed.status_code == 201
    response = api.delete("/v1/memories/?user_id=*")
    body = response.json()
    assert response.status_code == 200
    assert (body["deleted"], body["held"]) == (1, 2) and "legal hold" in body["message"]
    assert Memory.objects.filter(user_id="maria").count() == 2
    event = the_event(body)
    assert (event.event_type, event.results) == ("DELETE_ALL", {"deleted": 1, "held": 2})


@pytest.mark.django_db(transaction=True)
def test_a_large_wildcard_delete_runs_on_a_worker_into_the_trash_and_is_restored(
    on_redis, project, api, editor_api, settings
):
    settings.MEMDASH_SYNC_DELETE_LIMIT = 100
    bulk_memories(project, 1200, user_id="maria")
    add_verbatim(api, "Bob plays chess", user_id="bob")
    add_verbatim(api, "The bot speaks French", agent_id="bot")
    before = set(Memory.objects.values_list("pk", flat=True))

    response = api.delete("/v1/memories/?user_id=*")
    body = response.json()
    assert response.status_code == 200
    assert body == {"message": "Delete in progress. This may take some time.", "event_id": ANY_UUID}
    event = wait_for(
        lambda: (e := the_event(body)).status in ("SUCCEEDED", "FAILED") and e,
        timeout=60,
        message="the wildcard delete's event to finish",
    )
    assert (event.event_type, event.status, event.results) == (
        "DELETE_ALL",
        "SUCCEEDED",
        {"deleted": 1201},
    )
    assert list(Memory.objects.values_list("memory", flat=True)) == ["The bot speaks French"]
    kept = list(trash.from_event(project, event).values_list("pk", flat=True))
    assert len(kept) == 1201

    # The trash restores at most 1000 memories a request.
    for start in range(0, len(kept), 1000):
        batch = [str(pk) for pk in kept[start : start + 1000]]
        restored = editor_api.post("/v1/trash/restore/", {"memory_ids": batch}, format="json")
        assert restored.status_code == 200, restored.content
    assert set(Memory.objects.values_list("pk", flat=True)) == before
    assert not TrashedMemory.objects.exists()
