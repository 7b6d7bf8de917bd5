"""Adding memories without inference: attribution, dedup, history, entities, response shapes."""

import pytest

from entities.models import Entity
from memories.models import Event, Memory, MemoryHistory
from tests.conftest import ANY_UUID

pytestmark = pytest.mark.django_db

ALEX_CHAT = [
    {"role": "system", "content": "You are a cooking assistant."},
    {"role": "user", "content": "I'm vegetarian and allergic to nuts."},
    {"role": "assistant", "content": "Noted, I'll avoid nuts."},
]


def added(text):
    return {"id": ANY_UUID, "memory": text, "data": {"memory": text}, "event": "ADD"}


def test_v3_add_infer_false_returns_the_pinned_shape(api):
    response = api.post(
        "/v3/memories/add/",
        {"messages": ALEX_CHAT, "user_id": "alex", "infer": False},
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {
        "message": "Memories stored successfully",
        "status": "SUCCEEDED",
        "event_id": ANY_UUID,
        "results": [added("I'm vegetarian and allergic to nuts.")],
    }


def test_user_only_call_drops_system_and_assistant_messages(api):
    api.post(
        "/v3/memories/add/",
        {"messages": ALEX_CHAT, "user_id": "alex", "infer": False},
        format="json",
    )
    memory = Memory.objects.get()
    assert (memory.user_id, memory.agent_id, memory.role) == ("alex", None, "user")


def test_user_and_agent_split_attribution(api):
    messages = [
        {"role": "user", "content": "I'm travelling to San Francisco"},
        {"role": "assistant", "content": "That's great! I'm going to Dubai next month."},
    ]
    body = api.post(
        "/v3/memories/add/",
        {"messages": messages, "user_id": "user1", "agent_id": "agent1", "infer": False},
        format="json",
    ).json()
    assert body["results"] == [
        added("I'm travelling to San Francisco"),
        added("That's great! I'm going to Dubai next month."),
    ]
    scopes = {m.memory: (m.user_id, m.agent_id) for m in Memory.objects.all()}
    assert scopes == {
        "I'm travelling to San Francisco": ("user1", None),
        "That's great! I'm going to Dubai next month.": (None, "agent1"),
    }


def test_agent_only_call_stores_assistant_messages_for_the_agent(api):
    messages = [
        {
            "role": "system",
            "content": "You are an AI tutor with a personality. Give yourself a name for the user.",
        },
        {
            "role": "assistant",
            "content": "Understood. I'm an AI tutor with a personality. My name is Alice.",
        },
    ]
    api.post(
        "/v3/memories/add/",
        {"messages": messages, "agent_id": "ai-tutor", "infer": False},
        format="json",
    )
    memory = Memory.objects.get()
    assert (memory.agent_id, memory.user_id, memory.memory) == (
        "ai-tutor",
        None,
        messages[1]["content"],
    )


def test_group_chat_names_become_lower_cased_entity_ids(api):
    messages = [
        {
            "role": "user",
            "name": "Alice",
            "content": "Hey team, I think we should use React for the frontend",
        },
        {"role": "user", "name": "Charlie", "content": "What about considering Angular?"},
        {"role": "assistant", "name": "Planner", "content": "Let me summarize the pros and cons."},
        {"role": "assistant", "content": "Unnamed assistant message"},
    ]
    api.post(
        "/v3/memories/add/",
        {"messages": messages, "run_id": "group_chat_1", "infer": False},
        format="json",
    )
    rows = set(Memory.objects.values_list("user_id", "agent_id", "run_id", "actor_id"))
    assert rows == {
        ("alice", None, "group_chat_1", "Alice"),
        ("charlie", None, "group_chat_1", "Charlie"),
        (None, "planner", "group_chat_1", "Planner"),
    }


def test_run_and_app_ids_are_copied_to_every_memory(api):
    api.post(
        "/v3/memories/add/",
        {
            "messages": "Uses the iOS app",
            "user_id": "alex",
            "run_id": "ticket-9241",
            "app_id": "ios",
            "infer": False,
        },
        format="json",
    )
    assert list(Memory.objects.values_list("user_id", "run_id", "app_id")) == [
        ("alex", "ticket-9241", "ios")
    ]


def test_entity_ids_inside_filters_are_accepted_on_add(api):
    api.post(
        "/v3/memories/add/",
        {"messages": "hi there", "filters": {"user_id": "alex"}, "infer": False},
        format="json",
    )
    assert Memory.objects.get().user_id == "alex"


def test_exact_duplicates_in_scope_are_skipped(api):
    body = {
        "messages": [{"role": "user", "content": "Likes tea"}] * 2,
        "user_id": "alex",
        "infer": False,
    }
    first = api.post("/v3/memories/add/", body, format="json").json()
    second = api.post("/v3/memories/add/", body, format="json").json()
    assert len(first["results"]) == 1
    assert second["results"] == []
    # Same text, different scope: a different memory.
    api.post("/v3/memories/add/", {**body, "user_id": "bob"}, format="json")
    assert Memory.objects.count() == 2


def test_add_writes_history_with_input_and_touches_entities(api):
    body = api.post(
        "/v3/memories/add/",
        {
            "messages": ALEX_CHAT,
            "user_id": "alex",
            "agent_id": "chef",
            "run_id": "r1",
            "infer": False,
        },
        format="json",
    ).json()
    history = MemoryHistory.objects.get(memory_id=body["results"][0]["id"])
    assert history.event == "ADD"
    assert history.old_memory is None
    assert history.new_memory == "I'm vegetarian and allergic to nuts."
    assert history.input == ALEX_CHAT
    assert history.actor.startswith("api-key:m0-")
    assert set(Entity.objects.values_list("kind", "name")) == {
        ("user", "alex"),
        ("agent", "chef"),
        ("run", "r1"),
    }
    event = Event.objects.get(pk=body["event_id"])
    assert (event.event_type, event.status) == ("ADD", "SUCCEEDED")
    assert event.results == body["results"]


def test_metadata_immutable_expiration_and_timestamp_are_stored(api):
    api.post(
        "/v3/memories/add/",
        {
            "messages": "Prefers window seats",
            "user_id": "alex",
            "metadata": {"source": "chat", "nested": {"a": 1}},
            "immutable": True,
            "expiration_date": "2030-01-31",
            "timestamp": 1721464236,
            "infer": False,
        },
        format="json",
    )
    memory = Memory.objects.get()
    assert memory.metadata == {"source": "chat", "nested": {"a": 1}}
    assert memory.immutable is True
    assert memory.expiration_date.isoformat() == "2030-01-31"
    assert memory.created_at.isoformat() == "2024-07-20T08:30:36+00:00"
    assert len(memory.embedding) == 384


def test_v1_add_defaults_to_a_bare_list(api):
    response = api.post(
        "/v1/memories/", {"messages": ALEX_CHAT, "user_id": "alex", "infer": False}, format="json"
    )
    assert response.json() == [added("I'm vegetarian and allergic to nuts.")]


def test_v1_add_v1_1_wraps_results_and_ignores_seed_era_keys(api, project):
    response = api.post(
        "/v1/memories/",
        {
            "messages": ALEX_CHAT,
            "user_id": "alex",
            "infer": False,
            "output_format": "v1.1",
            "version": "v2",
            "async_mode": True,
            "enable_graph": False,
            "org_id": project.organization.public_id,
            "project_id": project.public_id,
            "unknown_future_key": 1,
        },
        format="json",
    )
    assert response.json() == {
        "results": [added("I'm vegetarian and allergic to nuts.")],
        "relations": [],
    }


def test_infer_true_is_refused_clearly_until_inference_is_available(api):
    response = api.post(
        "/v3/memories/add/", {"messages": "hello", "user_id": "alex"}, format="json"
    )
    assert response.status_code == 501
    assert "infer=false" in response.json()["detail"]
    assert Memory.objects.count() == 0
