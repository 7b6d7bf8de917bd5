"""A second project's key sees, searches, updates and deletes nothing of the first."""

import pytest

from memories.models import Memory
from tests.conftest import add_verbatim

pytestmark = pytest.mark.django_db


@pytest.fixture
def secret(api):
    return add_verbatim(api, "Alex's secret allergy to nuts", user_id="alex")[0]["id"]


def test_outsider_cannot_read_a_memory_or_its_history(other_api, secret):
    assert other_api.get(f"/v1/memories/{secret}/").status_code == 404
    assert other_api.get(f"/v1/memories/{secret}/history/").status_code == 404


def test_outsider_lists_and_searches_nothing(other_api, secret):
    assert (
        other_api.post("/v3/memories/", {"filters": {"user_id": "alex"}}, format="json").json()[
            "count"
        ]
        == 0
    )
    assert (
        other_api.post("/v2/memories/", {"filters": {"user_id": "*"}}, format="json").json() == []
    )
    assert other_api.get("/v1/memories/?user_id=alex").json() == []
    search = other_api.post(
        "/v3/memories/search/",
        {"query": "nuts", "filters": {"user_id": "*"}, "threshold": 0},
        format="json",
    )
    assert search.json() == {"results": []}
    assert (
        other_api.post(
            "/v1/memories/search/",
            {"query": "nuts", "filters": {"user_id": "*"}, "threshold": 0},
            format="json",
        ).json()
        == []
    )
    assert other_api.get("/v1/entities/").json()["count"] == 0


def test_outsider_cannot_change_or_delete(other_api, secret):
    assert (
        other_api.put(f"/v1/memories/{secret}/", {"text": "hacked"}, format="json").status_code
        == 404
    )
    assert other_api.delete(f"/v1/memories/{secret}/").status_code == 404
    assert (
        other_api.put(
            "/v1/batch/", {"memories": [{"memory_id": secret, "text": "x"}]}, format="json"
        ).status_code
        == 404
    )
    assert (
        other_api.delete(
            "/v1/batch/", {"memories": [{"memory_id": secret}]}, format="json"
        ).status_code
        == 404
    )
    assert (
        other_api.post(
            "/v1/feedback/", {"memory_id": secret, "feedback": "NEGATIVE"}, format="json"
        ).status_code
        == 404
    )
    assert other_api.delete("/v1/memories/?user_id=alex").json()["deleted"] == 0
    assert other_api.delete("/v2/entities/user/alex/").status_code == 404
    memory = Memory.objects.get(pk=secret)
    assert (memory.memory, memory.feedback) == ("Alex's secret allergy to nuts", None)


def test_outsider_cannot_read_the_other_projects_events_or_settings(api, other_api, project):
    event_id = api.post(
        "/v3/memories/add/", {"messages": "x", "user_id": "u", "infer": False}, format="json"
    ).json()["event_id"]
    assert other_api.get(f"/v1/event/{event_id}/").status_code == 404
    assert other_api.get("/v1/events/").json()["count"] == 0
    path = (
        f"/api/v1/orgs/organizations/{project.organization.public_id}/projects/{project.public_id}/"
    )
    assert other_api.get(path).status_code == 404
    assert other_api.patch(path, {"custom_instructions": "x"}, format="json").status_code == 404


def test_same_entity_names_in_two_projects_stay_apart(api, other_api):
    add_verbatim(api, "Project one fact", user_id="alex")
    add_verbatim(other_api, "Project two fact", user_id="alex")
    assert [m["memory"] for m in api.get("/v1/memories/?user_id=alex").json()] == [
        "Project one fact"
    ]
    assert [m["memory"] for m in other_api.get("/v1/memories/?user_id=alex").json()] == [
        "Project two fact"
    ]
    other_api.delete("/v2/entities/user/alex/")
    assert [m["memory"] for m in api.get("/v1/memories/?user_id=alex").json()] == [
        "Project one fact"
    ]
