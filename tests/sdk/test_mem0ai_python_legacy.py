"""mem0ai 1.0.11 (the client of the seed documents), in a subprocess, against a live memdash.

It adds through POST /v1/memories/ (forcing output_format v1.1, async_mode true), lists through
POST /v2/memories/, searches through /v2/memories/search/, and sends the org_id and project_id
it learnt from /v1/ping/ with every call. /v1/ and /v2/ apply implicit null scoping.
"""

import pytest

from memories.models import Memory
from tests.conftest import ANY_SCORE, ANY_TIMESTAMP, ANY_UUID
from tests.sdk.conftest import call, ref
from tests.sdk.payloads import (
    DAY,
    JULY_20_2024,
    MINUTE,
    added,
    entity,
    history_entry,
    memory,
    page,
)

pytestmark = [pytest.mark.sdk, pytest.mark.django_db(transaction=True)]

NUTS = [
    {"role": "user", "content": "I'm allergic to nuts"},
    {"role": "assistant", "content": "Noted, no nuts in your recipes."},
]


def add(text_or_messages, *, at=JULY_20_2024, **kwargs):
    return call("add", text_or_messages, infer=False, timestamp=at, **kwargs)


def texts(response):
    return [m["memory"] for m in response["results"]]


def test_client_learns_org_project_and_email_from_ping(py1, server):
    assert py1.client() == {
        "org_id": server.project.organization.public_id,
        "project_id": server.project.public_id,
        "user_email": "owner@example.com",
    }


def test_bad_api_key_fails_construction_with_the_servers_detail(py1):
    assert py1.client(api_key="m0-not-a-real-key") == {
        "error": "ValueError",
        "message": "Error: Invalid API key. Check the key or create a new one.",
    }


def test_add_get_update_history_delete(py1, server):
    results = py1(
        add(NUTS, user_id="alex", agent_id="chef", metadata={"food": "vegan"}),
        call("get", ref("0.results.0.id")),
        call("update", ref("0.results.0.id"), "Allergic to peanuts", metadata={"v": 2}),
        call("history", ref("0.results.0.id")),
        call("delete", ref("0.results.0.id")),
        call("get", ref("0.results.0.id")),
    )
    added_response, got, updated, history, deleted, gone = results
    assert added_response == {
        "results": [added("I'm allergic to nuts"), added("Noted, no nuts in your recipes.")],
        "relations": [],
    }
    memory_id = added_response["results"][0]["id"]
    assert got == memory(
        "I'm allergic to nuts", id=memory_id, user_id="alex", metadata={"food": "vegan"}
    )
    assert updated == memory(
        "Allergic to peanuts",
        id=memory_id,
        user_id="alex",
        metadata={"v": 2},
        updated_at=ANY_TIMESTAMP,
    )
    assert history == [
        history_entry(
            memory_id,
            "ADD",
            old=None,
            new="I'm allergic to nuts",
            actor=server.actor,
            input=NUTS,
            user_id="alex",
            metadata={"food": "vegan"},
        ),
        history_entry(
            memory_id,
            "UPDATE",
            old="I'm allergic to nuts",
            new="Allergic to peanuts",
            actor=server.actor,
            user_id="alex",
            metadata={"v": 2},
        ),
    ]
    assert deleted == {"message": "Memory deleted successfully!"}
    assert gone == {"error": "MemoryNotFoundError", "message": "Memory not found!"}


def test_get_all_v2_wraps_the_bare_list_and_paginates_with_page_and_page_size(py1, server):
    results = py1(
        add("Fact 0", user_id="alex"),
        add("Fact 1", at=JULY_20_2024 + MINUTE, user_id="alex"),
        add("Fact 2", at=JULY_20_2024 + 2 * MINUTE, user_id="alex"),
        call("get_all", filters={"user_id": "alex"}),
        call("get_all", filters={"user_id": "alex"}, page=1, page_size=2),
        call("get_all", user_id="alex", page=2, page_size=2),
        call("get_all", version="v2", filters={"user_id": "alex"}, page=3, page_size=2),
    )
    listed, first, second, invalid = results[3:]
    fact = [memory(f"Fact {n}", at=JULY_20_2024 + n * MINUTE, user_id="alex") for n in range(3)]
    # The server answers a bare list without page + page_size; the client wraps it.
    assert listed == {"results": [fact[2], fact[1], fact[0]]}
    assert first == page(
        [fact[2], fact[1]], count=3, next=f"{server.host}/v2/memories/?page=2&page_size=2"
    )
    assert second == page([fact[0]], count=3, previous=f"{server.host}/v2/memories/?page_size=2")
    assert invalid == {"error": "MemoryNotFoundError", "message": "Invalid page."}


def test_v2_reads_apply_implicit_null_scoping(py1):
    results = py1(
        add("Alex alone", user_id="alex"),
        add("Alex in a run", at=JULY_20_2024 + MINUTE, user_id="alex", run_id="r1"),
        add("Chef's own note", at=JULY_20_2024 + 2 * MINUTE, agent_id="chef"),
        call("get_all", filters={"user_id": "alex"}),
        call("get_all", filters={"AND": [{"user_id": "alex"}, {"run_id": "*"}]}),
        call("get_all", filters={"AND": [{"user_id": "alex"}, {"run_id": {"in": ["r1", "x"]}}]}),
        call("get_all", user_id="alex", run_id="r1"),
        call("search", "alex", filters={"user_id": "alex"}, threshold=0),
        call("search", "alex", user_id="alex", threshold=0),
        call("get_all", filters={"OR": [{"user_id": "alex"}, {"agent_id": "chef"}]}),
    )
    only_alex, with_run, run_in, top_level, searched, searched_top_level, either = results[3:]
    assert texts(only_alex) == ["Alex alone"]
    assert texts(with_run) == ["Alex in a run"]
    assert texts(run_in) == ["Alex in a run"]
    assert texts(top_level) == ["Alex in a run"]
    assert texts(searched) == ["Alex alone"]
    assert texts(searched_top_level) == ["Alex alone"]
    assert texts(either) == ["Chef's own note", "Alex alone"]


def test_search_v2_returns_scored_memories(py1):
    results = py1(
        add(NUTS, user_id="alex", agent_id="chef"),
        add("Bob is allergic to shellfish", user_id="bob"),
        call("search", "What is alex allergic to?", version="v2", filters={"user_id": "alex"}),
        call("search", "allergy", filters={"user_id": "*"}, top_k=1),
        call("search", "allergy", filters={"user_id": "alex"}, threshold=0.99),
    )
    alex, best, none = results[2:]
    assert alex == {"results": [memory("I'm allergic to nuts", user_id="alex", score=ANY_SCORE)]}
    assert texts(best) == ["I'm allergic to nuts"]
    assert none == {"results": []}


def test_delete_all_by_run_leaves_other_sessions_intact(py1):
    results = py1(
        add("Session A fact", user_id="alex", run_id="a"),
        add("Session B fact", at=JULY_20_2024 + MINUTE, user_id="alex", run_id="b"),
        call("delete_all", run_id="a"),
        call("get_all", filters={"AND": [{"user_id": "alex"}, {"run_id": "*"}]}),
        call("delete_all"),
    )
    assert results[2] == {
        "message": "Memories deleted successfully!",
        "event_id": ANY_UUID,
        "deleted": 1,
    }
    assert texts(results[3]) == ["Session B fact"]
    assert results[4] == {
        "error": "ValidationError",
        "message": "At least one filter is required: user_id, agent_id, app_id or run_id.",
    }


def test_batch_update_and_batch_delete(py1):
    results = py1(
        add("Plays football", user_id="alex"),
        add("Hates travel", at=JULY_20_2024 + MINUTE, user_id="alex"),
        call(
            "batch_update",
            [
                {"memory_id": ref("0.results.0.id"), "text": "Watches football"},
                {"memory_id": ref("1.results.0.id"), "text": "Loves to travel"},
            ],
        ),
        call("get_all", filters={"user_id": "alex"}),
        call(
            "batch_delete",
            [{"memory_id": ref("0.results.0.id")}, {"memory_id": ref("1.results.0.id")}],
        ),
        call("get_all", filters={"user_id": "alex"}),
    )
    assert results[2] == {"message": "Successfully updated 2 memories"}
    assert texts(results[3]) == ["Loves to travel", "Watches football"]
    assert results[4] == {"message": "Successfully deleted 2 memories"}
    assert results[5] == {"results": []}


def test_users_delete_users_and_reset(py1):
    results = py1(
        add(NUTS, user_id="alex", agent_id="chef"),
        add("Bob fact", user_id="bob"),
        call("users"),
        call("delete_users", user_id="bob"),
        call("get_all", filters={"user_id": "bob"}),
        call("reset"),
        call("users"),
        call("reset"),
    )
    users, deleted, bob, reset, after, reset_again = results[2:]
    assert sorted(users["results"], key=lambda e: e["name"]) == [
        entity("alex", "user", 1),
        entity("bob", "user", 1),
        entity("chef", "agent", 1),
    ]
    assert deleted == {"message": "Entity deleted successfully."}
    assert bob == {"results": []}
    assert reset == {"message": "Client reset successful. All users and memories deleted."}
    assert after["results"] == []
    assert reset_again == {"error": "ValueError", "message": "No entities to delete"}
    assert Memory.objects.count() == 0


def test_project_get_and_update_including_legacy_options(py1, server):
    results = py1(
        call(
            "project.update",
            custom_instructions="Only store food preferences.",
            custom_categories=[{"diet": "What the user eats"}],
            retrieval_criteria=[{"name": "joy", "description": "Happy things", "weight": 3}],
            enable_graph=True,
        ),
        call("project.get", fields=["custom_instructions"]),
        call("update_project", version="v2", inclusion_prompt="food", memory_depth="deep"),
        call("get_project"),
    )
    updated, project, legacy_updated, legacy_project = results
    assert updated == {"message": "Project updated successfully"}
    assert project["project_id"] == server.project.public_id
    assert project["org_id"] == server.project.organization.public_id
    assert {
        k: project[k] for k in ("custom_instructions", "custom_categories", "enable_graph")
    } == {
        "custom_instructions": "Only store food preferences.",
        "custom_categories": [{"diet": "What the user eats"}],
        "enable_graph": True,
    }
    assert legacy_updated == {"message": "Project updated successfully"}
    assert {k: legacy_project[k] for k in ("version", "inclusion_prompt", "memory_depth")} == {
        "version": "v2",
        "inclusion_prompt": "food",
        "memory_depth": "deep",
    }


def test_feedback_reaches_the_server_but_the_client_then_fails(py1):
    # mem0ai 1.0.11's feedback() calls its telemetry helper with one argument too many after
    # the request succeeded: the server records the feedback, the client raises TypeError.
    results = py1(
        add("Likes tea", user_id="alex"),
        call("feedback", ref("0.results.0.id"), "positive", "Accurate"),
    )
    assert results[1]["error"] == "TypeError"
    stored = Memory.objects.get(pk=results[0]["results"][0]["id"])
    assert (stored.feedback, stored.feedback_reason) == ("POSITIVE", "Accurate")


def test_update_with_a_timestamp_back_dates_the_memory(py1):
    results = py1(
        add("Likes tea", user_id="alex"),
        call("update", ref("0.results.0.id"), timestamp=JULY_20_2024 + DAY),
    )
    assert results[1]["created_at"] == "2024-07-21T12:00:00+00:00"


def test_infer_true_without_an_llm_raises_a_clear_error(py1):
    (result,) = py1(call("add", "I like tea", user_id="alex"))
    assert result == {
        "error": "MemoryError",
        "message": "Memory inference (infer=true) needs an LLM: set OPENAI_API_KEY (and OPENAI_BASE_URL for "
        "any OpenAI-compatible server) on the memdash server, or send infer=false to store "
        "messages verbatim.",
    }
