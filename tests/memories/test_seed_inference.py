"""The seed documents' inference examples, through the official mem0ai 2.x client.

A live server, a real Celery worker on Redis, and the scripted LLM standing in for the model:
the scripts return the facts the seed shows, and the tests check what comes back through the
SDK: the facts, the events, and who each memory is attributed to.
"""

import json

import pytest

from tenancy.services import create_api_key, get_or_create_project
from testkit.workers import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sdk]


@pytest.fixture
def client(on_redis, live_server, tmp_path, monkeypatch):
    monkeypatch.setenv("MEM0_DIR", str(tmp_path))
    from mem0 import MemoryClient

    key = create_api_key(get_or_create_project("seed-inference", organization="Acme"))
    sdk = MemoryClient(api_key=key, host=live_server.url)
    yield sdk
    sdk.client.close()


def settle(client, queued: dict) -> list[dict]:
    """Wait for a queued add (the v3 SDK's add is asynchronous) and return its results."""
    assert queued["status"] == "PENDING"
    event = wait_for(
        lambda: (
            (e := client.client.get(f"/v1/event/{queued['event_id']}/").json())["status"]
            in ("SUCCEEDED", "FAILED")
            and e
        ),
        message="the add event",
    )
    assert event["status"] == "SUCCEEDED", event
    return event["results"]


def memories_of(client, **filters) -> dict[str, dict]:
    return {m["memory"]: m for m in client.get_all(filters=filters)["results"]}


def test_long_term_memory_for_a_user(client, fake_llm):
    messages = [
        {"role": "user", "content": "Hi, I'm Alex. I'm a vegetarian and I'm allergic to nuts."},
        {
            "role": "assistant",
            "content": "Hello Alex! I've noted that you're a vegetarian and have a nut allergy. I'll keep this in mind for any food-related recommendations or discussions.",
        },
    ]
    fake_llm.on(
        "extract facts",
        when="allergic to nuts",
        reply={
            "facts": [
                {"text": t, "message": 1}
                for t in ("Name is Alex", "Is a vegetarian", "Is allergic to nuts")
            ]
        },
    )
    results = settle(client, client.add(messages, user_id="alex", metadata={"food": "vegan"}))
    assert [(r["memory"], r["event"]) for r in results] == [
        ("Name is Alex", "ADD"),
        ("Is a vegetarian", "ADD"),
        ("Is allergic to nuts", "ADD"),
    ]
    stored = memories_of(client, user_id="alex")
    assert set(stored) == {"Name is Alex", "Is a vegetarian", "Is allergic to nuts"}
    assert {(m["user_id"], m["agent_id"], json.dumps(m["metadata"])) for m in stored.values()} == {
        ("alex", None, '{"food": "vegan"}')
    }


def test_short_term_memory_for_a_session(client, fake_llm):
    fake_llm.on(
        "extract facts",
        when="trip to Japan",
        reply={
            "facts": [
                {"text": "Planning a trip to Japan next month", "message": 1},
                {"text": "Interested in vegetarian restaurants in Tokyo", "message": 3},
            ]
        },
    )
    messages = [
        {"role": "user", "content": "I'm planning a trip to Japan next month."},
        {
            "role": "assistant",
            "content": "That's exciting, Alex! Would you like some recommendations for vegetarian-friendly restaurants in Japan?",
        },
        {"role": "user", "content": "Yes, please! Especially in Tokyo."},
        {
            "role": "assistant",
            "content": "Great! I'll remember that you're interested in vegetarian restaurants in Tokyo.",
        },
    ]
    results = settle(client, client.add(messages, user_id="alex", run_id="trip-planning-2024"))
    assert [r["memory"] for r in results] == [
        "Planning a trip to Japan next month",
        "Interested in vegetarian restaurants in Tokyo",
    ]
    session = memories_of(client, AND=[{"user_id": "alex"}, {"run_id": "trip-planning-2024"}])
    assert {m["run_id"] for m in session.values()} == {"trip-planning-2024"}


def test_long_term_memory_for_an_agent(client, fake_llm):
    fake_llm.on(
        "extract facts",
        when="AI tutor",
        reply={
            "facts": [
                {"text": "Name is Alice", "message": 2},
                {"text": "Is an AI tutor with a personality", "message": 2},
            ]
        },
    )
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
    settle(client, client.add(messages, agent_id="ai-tutor"))
    stored = memories_of(client, agent_id="ai-tutor")
    assert set(stored) == {"Name is Alice", "Is an AI tutor with a personality"}
    assert {m["user_id"] for m in stored.values()} == {None}


def test_user_and_agent_memories_are_stored_separately(client, fake_llm):
    fake_llm.on(
        "extract facts",
        reply={
            "facts": [
                {"text": "Travelling to San Francisco", "message": 1},
                {"text": "Going to Dubai next month", "message": 2},
            ]
        },
    )
    messages = [
        {"role": "user", "content": "I'm travelling to San Francisco"},
        {"role": "assistant", "content": "That's great! I'm going to Dubai next month."},
    ]
    results = settle(client, client.add(messages, user_id="user1", agent_id="agent1"))
    assert [(r["data"]["memory"], r["event"]) for r in results] == [
        ("Travelling to San Francisco", "ADD"),
        ("Going to Dubai next month", "ADD"),
    ]
    assert set(memories_of(client, user_id="user1")) == {"Travelling to San Francisco"}
    assert set(memories_of(client, agent_id="agent1")) == {"Going to Dubai next month"}


def test_group_chat_attributes_memories_to_each_speaker(client, fake_llm):
    messages = [
        {
            "role": "user",
            "name": "Alice",
            "content": "Hey team, I think we should use React for the frontend",
        },
        {
            "role": "user",
            "name": "Bob",
            "content": "I disagree, Vue.js would be better for our use case",
        },
        {
            "role": "user",
            "name": "Charlie",
            "content": "What about considering Angular? It has great enterprise support",
        },
        {
            "role": "assistant",
            "content": "All three frameworks have their merits. Let me summarize the pros and cons of each.",
        },
    ]
    fake_llm.on(
        "extract facts",
        reply={
            "facts": [
                {"text": "Thinks the team should use React for the frontend", "message": 1},
                {"text": "Thinks Vue.js would be better for the use case", "message": 2},
                {"text": "Suggests Angular for its enterprise support", "message": 3},
            ]
        },
    )
    settle(client, client.add(messages, run_id="group_chat_1", infer=True))
    everyone = memories_of(client, AND=[{"user_id": "*"}, {"run_id": "group_chat_1"}])
    assert {m["user_id"] for m in everyone.values()} == {"alice", "bob", "charlie"}
    charlie = client.get_all(
        filters={"AND": [{"user_id": "charlie"}, {"run_id": "group_chat_1"}]}, page=1
    )
    assert [m["memory"] for m in charlie["results"]] == [
        "Suggests Angular for its enterprise support"
    ]
    found = client.search(
        query="What are the tasks?",
        filters={"AND": [{"user_id": "charlie"}, {"run_id": "group_chat_1"}]},
        threshold=0,
    )
    assert [m["user_id"] for m in found["results"]] == ["charlie"]


def test_memory_history_across_an_update(client, fake_llm):
    first = [
        {
            "role": "user",
            "content": "I recently tried chicken and I loved it. I'm thinking of trying more non-vegetarian dishes..",
        }
    ]
    fake_llm.on(
        "extract facts",
        reply={
            "facts": [
                {"text": "Loves chicken, wants to try more non-vegetarian dishes", "message": 1}
            ]
        },
    )
    memory_id = settle(client, client.add(first, user_id="alex"))[0]["id"]
    second = [*first, {"role": "user", "content": "I turned vegetarian now."}]
    fake_llm.on(
        "extract facts",
        when="turned vegetarian",
        reply={"facts": [{"text": "Turned vegetarian", "message": 2}]},
    )
    fake_llm.on(
        "update memories",
        reply={"memory": [{"event": "UPDATE", "id": "0", "text": "Turned vegetarian."}]},
    )
    results = settle(client, client.add(second, user_id="alex"))
    assert results == [
        {
            "id": memory_id,
            "memory": "Turned vegetarian.",
            "data": {"memory": "Turned vegetarian."},
            "event": "UPDATE",
            "previous_memory": "Loves chicken, wants to try more non-vegetarian dishes",
        }
    ]
    history = client.history(memory_id)
    assert [(h["event"], h["old_memory"], h["new_memory"]) for h in history] == [
        ("ADD", None, "Loves chicken, wants to try more non-vegetarian dishes"),
        ("UPDATE", "Loves chicken, wants to try more non-vegetarian dishes", "Turned vegetarian."),
    ]
    assert history[1]["input"] == second
    assert history[1]["user_id"] == "alex"


def test_deleting_with_a_natural_language_request(client, fake_llm):
    fake_llm.on(
        "extract facts",
        when="allergic",
        reply={
            "facts": [
                {"text": t, "message": 1}
                for t in ("Name is Alex", "Is a vegetarian", "Is allergic to nuts")
            ]
        },
    )
    settle(client, client.add("I'm Alex, a vegetarian, allergic to nuts", user_id="alex"))
    fake_llm.on(
        "extract facts",
        when="Delete all",
        reply={"facts": [{"text": "all food preferences", "message": 1, "forget": True}]},
    )
    fake_llm.on(
        "update memories",
        when="all food preferences",
        reply=lambda prompt: {
            "memory": [
                {"event": "DELETE", "id": m["id"]}
                for m in json.loads(
                    prompt.split("EXISTING MEMORIES:", 1)[1].split("NEW FACTS:", 1)[0]
                )
            ]
        },
    )
    results = settle(client, client.add("Delete all of my food preferences", user_id="alex"))
    assert sorted((r["memory"], r["event"]) for r in results) == [
        ("Is a vegetarian", "DELETE"),
        ("Is allergic to nuts", "DELETE"),
        ("Name is Alex", "DELETE"),
    ]
    assert client.get_all(filters={"user_id": "alex"})["results"] == []


def test_inference_without_a_configured_llm_is_a_clear_sdk_error(
    live_server, transactional_db, settings, tmp_path, monkeypatch
):
    monkeypatch.setenv("MEM0_DIR", str(tmp_path))
    from mem0 import MemoryClient
    from mem0.exceptions import MemoryError as Mem0Error

    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""
    client = MemoryClient(
        api_key=create_api_key(get_or_create_project("no-llm")), host=live_server.url
    )
    with pytest.raises(Mem0Error, match="OPENAI_API_KEY"):
        client.add("I like tea", user_id="alex")
    assert client.add("I like tea", user_id="alex", infer=False)["status"] == "SUCCEEDED"
    client.client.close()
