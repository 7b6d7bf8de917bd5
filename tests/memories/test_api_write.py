"""Changing memories: update, delete, delete by entity, batches, feedback, events."""

import uuid

import pytest

from core.api.errors import error_body
from memories.models import Event, Memory, MemoryHistory
from tests.conftest import ANY_UUID, add_verbatim

pytestmark = pytest.mark.django_db


def test_update_changes_text_embedding_hash_and_writes_history(api):
    memory_id = add_verbatim(api, "Likes chicken", user_id="alex")[0]["id"]
    before = Memory.objects.get(pk=memory_id)
    response = api.put(
        f"/v1/memories/{memory_id}/",
        {"text": "Is vegetarian", "metadata": {"diet": "veg"}},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["memory"], body["metadata"]) == (
        memory_id,
        "Is vegetarian",
        {"diet": "veg"},
    )
    after = Memory.objects.get(pk=memory_id)
    assert after.hash != before.hash
    assert list(after.embedding) != list(before.embedding)
    assert after.updated_at > before.updated_at
    assert after.created_at == before.created_at
    update = MemoryHistory.objects.get(memory_id=memory_id, event="UPDATE")
    assert (update.old_memory, update.new_memory, update.metadata) == (
        "Likes chicken",
        "Is vegetarian",
        {"diet": "veg"},
    )


def test_update_accepts_seed_aliases_and_clears_expiration(api):
    memory_id = add_verbatim(api, "Old", user_id="alex", expiration_date="2031-01-01")[0]["id"]
    body = api.put(
        f"/v1/memories/{memory_id}/",
        {"message": "New text", "expiration_date": None},
        format="json",
    ).json()
    assert (body["memory"], body["expiration_date"]) == ("New text", None)


def test_update_needs_a_field(api):
    memory_id = add_verbatim(api, "Old", user_id="alex")[0]["id"]
    response = api.put(f"/v1/memories/{memory_id}/", {}, format="json")
    assert response.status_code == 400
    assert (
        response.json()["detail"]
        == "Provide at least one of text, metadata, expiration_date or timestamp."
    )


def test_immutable_memories_refuse_updates(api):
    memory_id = add_verbatim(api, "Born in 1990", user_id="alex", immutable=True)[0]["id"]
    response = api.put(f"/v1/memories/{memory_id}/", {"text": "Born in 1991"}, format="json")
    assert response.status_code == 400
    assert "immutable" in response.json()["detail"]
    assert Memory.objects.get(pk=memory_id).memory == "Born in 1990"
    assert not MemoryHistory.objects.filter(event="UPDATE").exists()


def test_delete_one(api):
    memory_id = add_verbatim(api, "Gone soon", user_id="alex")[0]["id"]
    response = api.delete(f"/v1/memories/{memory_id}/")
    assert response.json() == {"message": "Memory deleted successfully!"}
    assert not Memory.objects.exists()
    deleted = MemoryHistory.objects.get(event="DELETE")
    assert (deleted.old_memory, deleted.new_memory, deleted.user_id) == ("Gone soon", None, "alex")
    assert api.get(f"/v1/memories/{memory_id}/").status_code == 404


def test_delete_linked_reports_a_cascade_count(api):
    memory_id = add_verbatim(api, "x", user_id="alex")[0]["id"]
    assert api.delete(f"/v1/memories/{memory_id}/?delete_linked=true").json() == {
        "message": "Memory deleted successfully!",
        "cascade_count": 0,
    }


def test_delete_all_by_run_leaves_other_sessions(api):
    add_verbatim(api, "In session one", user_id="alex", run_id="s1")
    add_verbatim(api, "In session two", user_id="alex", run_id="s2")
    add_verbatim(api, "Long term", user_id="alex")
    response = api.delete("/v1/memories/?run_id=s1")
    assert response.json() == {
        "message": "Memories deleted successfully!",
        "event_id": ANY_UUID,
        "deleted": 1,
    }
    assert set(Memory.objects.values_list("memory", flat=True)) == {"In session two", "Long term"}
    event = Event.objects.get(pk=response.json()["event_id"])
    assert (event.event_type, event.status, event.results) == (
        "DELETE",
        "SUCCEEDED",
        {"deleted": 1},
    )


def test_delete_all_by_user_deletes_every_memory_of_that_user(api):
    add_verbatim(api, "a", user_id="alex", run_id="s1")
    add_verbatim(api, "b", user_id="alex")
    add_verbatim(api, "c", user_id="bob")
    assert api.delete("/v1/memories/?user_id=alex").json()["deleted"] == 2
    assert list(Memory.objects.values_list("memory", flat=True)) == ["c"]
    assert MemoryHistory.objects.filter(event="DELETE").count() == 2


def test_delete_all_accepts_the_python_repr_filters_of_mem0ai_2(api):
    add_verbatim(api, "a", user_id="alex")
    response = api.delete("/v1/memories/?filters=%7B%27user_id%27%3A+%27alex%27%7D")
    assert response.json()["deleted"] == 1


def test_delete_all_requires_a_filter(api):
    add_verbatim(api, "a", user_id="alex")
    response = api.delete("/v1/memories/")
    assert response.status_code == 400
    assert "At least one filter is required" in response.json()["detail"]
    response = api.delete("/v1/memories/?filters=%7B%27metadata%27%3A+1%7D")
    assert response.status_code == 400
    assert Memory.objects.count() == 1


def test_batch_update_and_delete(api):
    first = add_verbatim(api, "Watches soccer", user_id="alex")[0]["id"]
    second = add_verbatim(api, "Hates travel", user_id="alex")[0]["id"]
    response = api.put(
        "/v1/batch/",
        {
            "memories": [
                {"memory_id": first, "text": "Watches football"},
                {"memory_id": second, "text": "Loves to travel"},
            ]
        },
        format="json",
    )
    assert response.json() == {"message": "Successfully updated 2 memories"}
    assert set(Memory.objects.values_list("memory", flat=True)) == {
        "Watches football",
        "Loves to travel",
    }
    assert MemoryHistory.objects.filter(event="UPDATE").count() == 2
    response = api.delete(
        "/v1/batch/", {"memories": [{"memory_id": first}, {"memory_id": second}]}, format="json"
    )
    assert response.json() == {"message": "Successfully deleted 2 memories"}
    assert not Memory.objects.exists()


def test_batch_accepts_the_seed_curl_shape(api):
    memory_id = add_verbatim(api, "x", user_id="alex")[0]["id"]
    response = api.delete(
        "/v1/memories/batch/", {"memory_ids": [{"memory_id": memory_id}]}, format="json"
    )
    assert response.json() == {"message": "Successfully deleted 1 memories"}


def test_batch_is_all_or_nothing(api):
    memory_id = add_verbatim(api, "Keep me", user_id="alex")[0]["id"]
    unknown = str(uuid.uuid4())
    response = api.put(
        "/v1/batch/",
        {
            "memories": [
                {"memory_id": memory_id, "text": "Changed"},
                {"memory_id": unknown, "text": "x"},
            ]
        },
        format="json",
    )
    assert response.status_code == 404
    assert unknown in response.json()["detail"]
    assert Memory.objects.get().memory == "Keep me"
    response = api.delete(
        "/v1/batch/",
        {"memories": [{"memory_id": memory_id}, {"memory_id": unknown}]},
        format="json",
    )
    assert response.status_code == 404
    assert Memory.objects.count() == 1


def test_batch_limit_is_1000(api):
    ids = [{"memory_id": str(uuid.uuid4())} for _ in range(1001)]
    response = api.delete("/v1/batch/", {"memories": ids}, format="json")
    assert response.status_code == 400
    assert (
        "Maximum of 1000 memories can be deleted in a single request" in response.json()["detail"]
    )


def test_batch_refuses_an_immutable_memory_and_changes_nothing(api):
    plain = add_verbatim(api, "plain", user_id="alex")[0]["id"]
    fixed = add_verbatim(api, "fixed", user_id="alex", immutable=True)[0]["id"]
    response = api.put(
        "/v1/batch/",
        {"memories": [{"memory_id": plain, "text": "p2"}, {"memory_id": fixed, "text": "f2"}]},
        format="json",
    )
    assert response.status_code == 400
    assert set(Memory.objects.values_list("memory", flat=True)) == {"plain", "fixed"}


def test_feedback_round_trip(api):
    memory_id = add_verbatim(api, "x", user_id="alex")[0]["id"]
    body = {"memory_id": memory_id, "feedback": "negative", "feedback_reason": "wrong person"}
    assert api.post("/v1/feedback/", body, format="json").json() == {
        "id": memory_id,
        "feedback": "NEGATIVE",
        "feedback_reason": "wrong person",
    }
    cleared = api.post(
        "/v1/feedback/",
        {"memory_id": memory_id, "feedback": None, "feedback_reason": None},
        format="json",
    )
    assert cleared.json() == {"id": memory_id, "feedback": None, "feedback_reason": None}


def test_feedback_validation(api):
    assert (
        api.post("/v1/feedback/", {"memory_id": "nope"}, format="json").json()["detail"]
        == "memory_id: Invalid memory_id"
    )
    response = api.post(
        "/v1/feedback/", {"memory_id": str(uuid.uuid4()), "feedback": "POSITIVE"}, format="json"
    )
    assert response.status_code == 404


def test_event_detail_and_list(api):
    event_id = api.post(
        "/v3/memories/add/", {"messages": "hi", "user_id": "u", "infer": False}, format="json"
    ).json()["event_id"]
    event = api.get(f"/v1/event/{event_id}/").json()
    assert event == {
        "id": event_id,
        "event_type": "ADD",
        "status": "SUCCEEDED",
        "payload": {"messages": "hi", "user_id": "u", "infer": False},
        "metadata": {"infer": False, "user_id": "u"},
        "results": [{"id": ANY_UUID, "memory": "hi", "data": {"memory": "hi"}, "event": "ADD"}],
        "error": None,
        "created_at": event["created_at"],
        "updated_at": event["updated_at"],
        "started_at": event["started_at"],
        "completed_at": event["completed_at"],
        "latency": event["latency"],
        "graph_status": None,
        "progress": None,
    }
    assert event["latency"] >= 0
    listing = api.get("/v1/events/?event_type=ADD&status=SUCCEEDED").json()
    assert [e["id"] for e in listing["results"]] == [event_id]
    assert api.get("/v1/events/?status=DONE").status_code == 400
    # The entity filter the dashboard's Activity page uses, on the API too.
    assert api.get("/v1/events/?entity=nobody").json()["count"] == 0
    about = api.get("/v1/events/?entity=" + event["metadata"]["user_id"]).json()["results"]
    assert [e["id"] for e in about] == [event_id]
    missing = api.get(f"/v1/event/{uuid.uuid4()}/")
    assert missing.status_code == 404
    assert missing.json() == error_body(
        "Event not found or you don't have permission to access it."
    )
