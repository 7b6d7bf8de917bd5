"""Memory extraction, run in-request (v1 add with async_mode=false) against the scripted LLM."""

import json
import threading

import pytest
from django.db import connection

from memories import pipeline, services
from memories.attribution import AddInput, Message, Scope
from memories.models import Category, Event, Memory, MemoryHistory
from tests.conftest import ANY_UUID, add_verbatim

pytestmark = pytest.mark.django_db

ALEX = [
    {"role": "user", "content": "Hi, I'm Alex. I'm a vegetarian and I'm allergic to nuts."},
    {
        "role": "assistant",
        "content": "Hello Alex! I've noted that you're a vegetarian and have a nut allergy.",
    },
]
ALEX_FACTS = {
    "facts": [
        {"text": "Name is Alex", "message": 1},
        {"text": "Is a vegetarian", "message": 1},
        {"text": "Is allergic to nuts", "message": 1},
    ]
}


def add_sync(api, messages, **options):
    body = {"messages": messages, "async_mode": False, "output_format": "v1.1", **options}
    return api.post("/v1/memories/", body, format="json")


def result(text, event="ADD", **extra):
    return {"id": ANY_UUID, "memory": text, "data": {"memory": text}, "event": event, **extra}


def test_seed_example_long_term_memory_for_a_user(api, fake_llm):
    fake_llm.on("extract facts", when="allergic to nuts", reply=ALEX_FACTS)
    fake_llm.on(
        "categorize memories",
        reply={"categories": [["personal_details"], ["food"], ["food", "health"]]},
    )
    response = add_sync(api, ALEX, user_id="alex", metadata={"food": "vegan"})
    assert response.status_code == 200, response.content
    assert response.json() == {
        "results": [
            result("Name is Alex"),
            result("Is a vegetarian"),
            result("Is allergic to nuts"),
        ],
        "relations": [],
    }
    rows = {m.memory: m for m in Memory.objects.all()}
    assert rows["Is allergic to nuts"].categories == ["food", "health"]
    assert {(m.user_id, m.agent_id) for m in rows.values()} == {("alex", None)}
    assert all(m.metadata == {"food": "vegan"} for m in rows.values())
    history = MemoryHistory.objects.get(memory_id=rows["Name is Alex"].id)
    assert (history.event, history.actor, history.input) == ("ADD", "pipeline", ALEX)
    # No existing memories: no decision call was needed.
    assert [c.task for c in fake_llm.calls] == ["extract facts", "categorize memories"]


def test_transcript_numbers_messages_and_names_group_chat_speakers(api, fake_llm):
    messages = [
        {"role": "user", "name": "Alice", "content": "I think we should use React"},
        {"role": "assistant", "content": "Noted."},
    ]
    add_sync(api, messages, run_id="group_chat_1")
    user_prompt = fake_llm.calls_for("extract facts")[0].user
    assert "[1] Alice (user): I think we should use React\n[2] assistant: Noted." in user_prompt


def test_group_chat_facts_are_attributed_to_each_speaker(api, fake_llm):
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
        {"role": "assistant", "content": "All three frameworks have their merits."},
    ]
    fake_llm.on(
        "extract facts",
        reply={
            "facts": [
                {"text": "Prefers React for the frontend", "message": 1},
                {"text": "Prefers Vue.js", "message": 2},
                {"text": "Suggests Angular for its enterprise support", "message": 3},
                {"text": "Thinks all three frameworks have merits", "message": 4},
            ]
        },
    )
    add_sync(api, messages, run_id="group_chat_1")
    rows = set(Memory.objects.values_list("memory", "user_id", "agent_id", "run_id"))
    assert rows == {
        ("Prefers React for the frontend", "alice", None, "group_chat_1"),
        ("Prefers Vue.js", "bob", None, "group_chat_1"),
        ("Suggests Angular for its enterprise support", "charlie", None, "group_chat_1"),
    }
    event = Event.objects.get()
    assert event.metadata["ignored"] == [
        {
            "fact": "Thinks all three frameworks have merits",
            "reason": "message 4 belongs to no entity of this call",
        }
    ]


def test_user_and_agent_facts_are_split(api, fake_llm):
    messages = [
        {"role": "user", "content": "I'm travelling to San Francisco"},
        {"role": "assistant", "content": "That's great! I'm going to Dubai next month."},
    ]
    fake_llm.on(
        "extract facts",
        reply={
            "facts": [
                {"text": "Travelling to San Francisco", "message": 1},
                {"text": "Going to Dubai next month", "message": 2},
            ]
        },
    )
    add_sync(api, messages, user_id="user1", agent_id="agent1")
    assert set(Memory.objects.values_list("memory", "user_id", "agent_id")) == {
        ("Travelling to San Francisco", "user1", None),
        ("Going to Dubai next month", None, "agent1"),
    }


def test_update_decision_rewrites_the_memory_with_history(api, fake_llm):
    old_id = add_verbatim(api, "Likes chicken", user_id="alex")[0]["id"]
    fake_llm.on("extract facts", reply={"facts": [{"text": "Turned vegetarian", "message": 1}]})
    fake_llm.on(
        "update memories",
        reply={
            "memory": [
                {"event": "UPDATE", "id": "0", "text": "Is vegetarian now, no longer eats chicken"}
            ]
        },
    )
    messages = [{"role": "user", "content": "I turned vegetarian now."}]
    body = add_sync(api, messages, user_id="alex").json()
    assert body == {
        "results": [
            result(
                "Is vegetarian now, no longer eats chicken",
                "UPDATE",
                id=old_id,
                previous_memory="Likes chicken",
            )
        ],
        "relations": [],
    }
    memory = Memory.objects.get()
    assert str(memory.id) == old_id
    update = MemoryHistory.objects.get(event="UPDATE")
    assert (update.old_memory, update.new_memory, update.input) == (
        "Likes chicken",
        "Is vegetarian now, no longer eats chicken",
        messages,
    )
    decide = fake_llm.calls_for("update memories")[0].user
    assert '"id": "0"' in decide and old_id not in decide


def test_natural_language_delete_produces_delete_events(api, fake_llm):
    for text in ("Name is Alex", "Is a vegetarian", "Is allergic to nuts"):
        add_verbatim(api, text, user_id="alex")
    add_verbatim(api, "Bob likes steak", user_id="bob")
    fake_llm.on(
        "extract facts",
        reply={"facts": [{"text": "all food preferences", "message": 1, "forget": True}]},
    )
    fake_llm.on(
        "update memories",
        reply=lambda user: {
            "memory": [
                {"event": "DELETE", "id": item["id"]}
                for item in json.loads(
                    user.split("EXISTING MEMORIES:", 1)[1].split("NEW FACTS:", 1)[0]
                )
                if item["text"] != "Name is Alex"
            ]
        },
    )
    body = add_sync(api, "Delete all of my food preferences", user_id="alex").json()
    assert sorted(r["memory"] for r in body["results"]) == [
        "Is a vegetarian",
        "Is allergic to nuts",
    ]
    assert {r["event"] for r in body["results"]} == {"DELETE"}
    assert set(Memory.objects.values_list("memory", flat=True)) == {
        "Name is Alex",
        "Bob likes steak",
    }
    assert MemoryHistory.objects.filter(event="DELETE", actor="pipeline").count() == 2
    # Bob's memories were never shown to the LLM.
    assert "Bob likes steak" not in fake_llm.calls_for("update memories")[0].user


def test_invented_ids_are_ignored_without_corrupting_data(api, fake_llm):
    add_verbatim(api, "Likes tea", user_id="alex")
    fake_llm.on("extract facts", reply={"facts": [{"text": "Likes coffee", "message": 1}]})
    fake_llm.on(
        "update memories",
        reply={
            "memory": [
                {"event": "DELETE", "id": "7"},
                {"event": "UPDATE", "id": "c0ffee", "text": "x"},
                {"event": "ADD", "text": "Likes coffee"},
            ]
        },
    )
    body = add_sync(api, "I like coffee too", user_id="alex").json()
    assert body == {"results": [result("Likes coffee")], "relations": []}
    assert set(Memory.objects.values_list("memory", flat=True)) == {"Likes tea", "Likes coffee"}
    ignored = Event.objects.get(status="SUCCEEDED", metadata__infer=True).metadata["ignored"]
    assert [i["reason"] for i in ignored] == ["unknown memory id", "unknown memory id"]


def test_duplicate_facts_are_not_added_twice(api, fake_llm):
    add_verbatim(api, "Is a vegetarian", user_id="alex")
    fake_llm.on("extract facts", reply={"facts": [{"text": "Is a vegetarian", "message": 1}]})
    fake_llm.on("update memories", reply={"memory": [{"event": "ADD", "text": "Is a vegetarian"}]})
    assert add_sync(api, "I'm vegetarian", user_id="alex").json() == {
        "results": [],
        "relations": [],
    }
    assert Memory.objects.count() == 1


def test_immutable_memories_are_not_changed_by_the_pipeline(api, fake_llm):
    add_verbatim(api, "Born in 1990", user_id="alex", immutable=True)
    fake_llm.on("extract facts", reply={"facts": [{"text": "Born in 1991", "message": 1}]})
    fake_llm.on(
        "update memories",
        reply={"memory": [{"event": "UPDATE", "id": "0", "text": "Born in 1991"}]},
    )
    assert add_sync(api, "I was born in 1991", user_id="alex").json() == {
        "results": [],
        "relations": [],
    }
    assert Memory.objects.get().memory == "Born in 1990"


def test_options_reach_the_prompt_and_the_memories(api, fake_llm, project):
    project.custom_instructions = "Only remember food."
    project.save()
    fake_llm.on("extract facts", reply={"facts": [{"text": "Loves sushi", "message": 1}]})
    fake_llm.on("categorize memories", reply={"categories": [["cuisine", "not-allowed"]]})
    add_sync(
        api,
        "I love sushi",
        user_id="alex",
        includes="cuisines",
        excludes="health",
        custom_categories=[{"cuisine": "Food styles"}],
        immutable=True,
        expiration_date="2031-12-31",
        timestamp=1721464236,
    )
    system = fake_llm.calls_for("extract facts")[0].system
    assert "- Only remember food." in system
    assert "Only remember information of this kind: cuisines" in system
    assert "Never remember information of this kind: health" in system
    assert "- cuisine: Food styles" in fake_llm.calls_for("categorize memories")[0].user
    memory = Memory.objects.get()
    assert (memory.categories, memory.immutable, memory.expiration_date.isoformat()) == (
        ["cuisine"],
        True,
        "2031-12-31",
    )
    assert memory.created_at.isoformat() == "2024-07-20T08:30:36+00:00"
    assert "took place on 2024-07-20" in fake_llm.calls_for("extract facts")[0].user


def test_project_categories_replace_the_default_catalogue(api, fake_llm, project):
    Category.objects.create(project=project, name="food_preferences", description="What they eat")
    fake_llm.on("extract facts", reply={"facts": [{"text": "Likes pizza", "message": 1}]})
    fake_llm.on("categorize memories", reply={"categories": [["food_preferences"]]})
    add_sync(api, "I like pizza", user_id="alex")
    prompt = fake_llm.calls_for("categorize memories")[0].user
    assert "food_preferences: What they eat" in prompt and "sports" not in prompt
    assert Memory.objects.get().categories == ["food_preferences"]


def test_event_records_llm_usage(api, fake_llm):
    fake_llm.on("extract facts", reply=ALEX_FACTS)
    add_sync(api, ALEX, user_id="alex")
    event = Event.objects.get()
    assert event.status == "SUCCEEDED"
    assert event.metadata["llm"]["calls"] == 2
    assert event.metadata["llm"]["by_task"] == {"extract facts": 1, "categorize memories": 1}
    assert event.metadata["llm"]["prompt_tokens"] > 200
    assert event.metadata["llm"]["completion_tokens"] > 0
    assert event.latency_ms is not None


# --- failures ----------------------------------------------------------------------------------


def test_malformed_llm_json_fails_the_event_and_writes_nothing(api, fake_llm):
    fake_llm.on("extract facts", raw='{"facts": [{"text": "Is vege')
    response = add_sync(api, ALEX, user_id="alex")
    assert response.status_code == 502
    assert "not valid JSON" in response.json()["detail"]
    event = Event.objects.get()
    assert event.status == "FAILED"
    assert "not valid JSON" in event.error
    assert not Memory.objects.exists() and not MemoryHistory.objects.exists()


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ({"memories": []}, 'no "facts" list'),
        ({"facts": [{"message": 1}]}, "fact 0 of the extraction reply has no text"),
        ({"facts": ["Is vegetarian"]}, "fact 0 of the extraction reply is not an object"),
        (
            {"facts": [{"text": "Is vege\u0000tarian", "message": 1}]},
            "the reply.facts[0].text contains a NUL character",
        ),
    ],
)
def test_wrong_shaped_llm_replies_fail_clearly(api, fake_llm, reply, message):
    fake_llm.on("extract facts", reply=reply)
    response = add_sync(api, ALEX, user_id="alex")
    assert response.status_code == 502
    assert message in response.json()["detail"]
    assert not Memory.objects.exists()


@pytest.mark.parametrize("raw", ['{"facts": [{"text": NaN}]}', '{"facts": ' + "[" * 5000])
def test_llm_json_that_python_would_accept_loosely_fails_clearly(api, fake_llm, raw):
    fake_llm.on("extract facts", raw=raw)
    response = add_sync(api, ALEX, user_id="alex")
    assert response.status_code == 502
    assert "not valid JSON" in response.json()["detail"]
    assert not Memory.objects.exists()


def test_a_bad_decision_reply_after_extraction_writes_nothing(api, fake_llm):
    add_verbatim(api, "Likes tea", user_id="alex")
    fake_llm.on("extract facts", reply={"facts": [{"text": "Likes coffee", "message": 1}]})
    fake_llm.on("update memories", reply={"memory": [{"event": "MERGE", "id": "0"}]})
    response = add_sync(api, "I like coffee", user_id="alex")
    assert response.status_code == 502
    assert "unknown event 'MERGE'" in response.json()["detail"]
    assert list(Memory.objects.values_list("memory", flat=True)) == ["Likes tea"]


def test_provider_5xx_is_503_and_fails_the_event(api, fake_llm):
    fake_llm.on("extract facts", status=500)
    response = add_sync(api, ALEX, user_id="alex")
    assert response.status_code == 503
    assert "LLM provider unavailable during extract facts" in response.json()["detail"]
    assert Event.objects.get().status == "FAILED"
    assert not Memory.objects.exists()


def test_provider_timeout_is_transient(api, fake_llm, settings):
    settings.MEMDASH_LLM_TIMEOUT = 0.3
    fake_llm.on("extract facts", delay=1.5, reply=ALEX_FACTS)
    response = add_sync(api, ALEX, user_id="alex")
    assert response.status_code == 503
    assert not Memory.objects.exists()


def test_client_retries_ride_out_a_brief_outage(api, fake_llm, settings):
    settings.MEMDASH_LLM_MAX_RETRIES = 2
    fake_llm.on("extract facts", reply=ALEX_FACTS)
    fake_llm.on("extract facts", status=503, times=1)
    assert add_sync(api, ALEX, user_id="alex").status_code == 200
    assert Memory.objects.count() == 3


def test_no_llm_configured_names_the_missing_setting(api, settings):
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""
    for path, body in (
        ("/v1/memories/", {"messages": "hi", "user_id": "alex"}),
        ("/v3/memories/add/", {"messages": "hi", "user_id": "alex"}),
    ):
        response = api.post(path, body, format="json")
        assert response.status_code == 501
        assert "OPENAI_API_KEY" in response.json()["detail"]
    assert not Event.objects.exists()
    # Everything else still works.
    assert (
        api.post(
            "/v3/memories/add/",
            {"messages": "hi", "user_id": "alex", "infer": False},
            format="json",
        ).status_code
        == 200
    )


# --- idempotency -------------------------------------------------------------------------------


def _pending_event(project, fake_llm, messages=ALEX):
    fake_llm.on("extract facts", reply=ALEX_FACTS)
    add = AddInput(
        messages=[Message(m["role"], m["content"]) for m in messages],
        scope=Scope(user_id="alex"),
    )
    return services.open_add_event(project, add, actor="test")


def test_running_an_event_twice_writes_once(project, fake_llm):
    event = _pending_event(project, fake_llm)
    first = pipeline.run_add_event(event.pk)
    second = pipeline.run_add_event(event.pk)
    assert first.status == second.status == "SUCCEEDED"
    assert Memory.objects.count() == 3
    assert len(fake_llm.calls_for("extract facts")) == 1


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_deliveries_write_once(project, fake_llm):
    event = _pending_event(project, fake_llm)
    fake_llm.on("extract facts", reply=ALEX_FACTS, delay=0.5)
    errors = []

    def deliver():
        try:
            pipeline.run_add_event(event.pk)
        except Exception as exc:  # pragma: no cover - surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Memory.objects.count() == 3
    assert MemoryHistory.objects.count() == 3
    event.refresh_from_db()
    # The claim is exclusive: the delivery that finds the event RUNNING under a live claim
    # returns without claiming, so it is no attempt.
    assert (event.status, event.attempts) == ("SUCCEEDED", 1)
