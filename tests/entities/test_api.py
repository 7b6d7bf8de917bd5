import pytest

from core.api.errors import error_body
from entities.models import Entity
from memories.models import Memory, MemoryHistory
from tests.conftest import ANY_TIMESTAMP, add_verbatim

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(api):
    add_verbatim(api, "a1", user_id="alex")
    add_verbatim(api, "a2", user_id="alex", run_id="ticket-1")
    add_verbatim(api, "b1", user_id="bob")
    add_verbatim(api, [{"role": "assistant", "content": "I plan trips"}], agent_id="travel/agent")
    return api


def test_list_entities_with_memory_counts_and_totals(people):
    body = people.get("/v1/entities/").json()
    assert body["count"] == 4
    assert (body["total_users"], body["total_agents"], body["total_apps"], body["total_runs"]) == (
        2,
        1,
        0,
        1,
    )
    by_name = {(e["type"], e["name"]): e for e in body["results"]}
    assert by_name[("user", "alex")] == {
        "id": by_name[("user", "alex")]["id"],
        "name": "alex",
        "type": "user",
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
        "owner": None,
        "metadata": {},
        "total_memories": 2,
    }
    assert by_name[("run", "ticket-1")]["total_memories"] == 1
    assert by_name[("agent", "travel/agent")]["total_memories"] == 1


def test_list_entities_is_paginated_and_filterable_by_type(people):
    page = people.get("/v1/entities/?page=1&page_size=2").json()
    assert len(page["results"]) == 2
    assert page["next"] is not None
    users = people.get("/v1/entities/?type=user").json()
    assert {e["name"] for e in users["results"]} == {"alex", "bob"}


def test_delete_entity_by_name_deletes_its_memories_with_history(people):
    response = people.delete("/v2/entities/user/alex/")
    assert response.status_code == 200
    assert response.json()["message"] == "Entity deleted successfully."
    assert response.json()["deleted"] == 2
    assert set(Memory.objects.values_list("memory", flat=True)) == {"b1", "I plan trips"}
    assert MemoryHistory.objects.filter(event="DELETE").count() == 2
    assert not Entity.objects.filter(kind="user", name="alex").exists()


def test_entity_names_may_contain_slashes(people):
    assert people.get("/v2/entities/agent/travel%2Fagent/").json()[0]["name"] == "travel/agent"
    assert people.delete("/v2/entities/agent/travel%2Fagent/").json()["deleted"] == 1


def test_delete_entity_errors(people):
    response = people.delete("/v2/entities/robot/alex/")
    assert response.status_code == 400
    assert "Invalid entity type" in response.json()["detail"]
    assert people.delete("/v2/entities/user/nobody/").status_code == 404


def test_delete_entity_by_numeric_id(people):
    entity = Entity.objects.get(kind="user", name="bob")
    assert people.delete(f"/v1/entities/user/{entity.id}/").json()["deleted"] == 1
    response = people.delete("/v1/entities/user/bob/")
    assert response.status_code == 400
    assert response.json() == error_body("Invalid entity ID. Must be an integer.")
