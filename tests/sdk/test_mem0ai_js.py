"""The npm mem0ai client (3.x), in node, against a live memdash.

It pings in the background (and needs `"status": "ok"` to learn the org and project), builds
URLs as `host + path`, camel-cases every response key except under `metadata`, snake-cases the
options of `add` (including inside `filters`) but sends search / getAll `filters` verbatim, and
reports errors with the raw response body as the message.
"""

import json

import pytest

from core.api.errors import error_body
from memories.models import Memory
from tests.conftest import ANY_SCORE, ANY_TIMESTAMP, ANY_UUID
from tests.sdk.conftest import call, ref
from tests.sdk.payloads import (
    JULY_20_2024,
    MINUTE,
    add_response,
    camel,
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


def add(messages, *, at=JULY_20_2024, **options):
    return call("add", messages, {"infer": False, "timestamp": at, **options})


def texts(response):
    return [m["memory"] for m in response["results"]]


def error(name, detail):
    return {"error": name, "message": json.dumps(error_body(detail), separators=(",", ":"))}


def test_ping_succeeds_and_project_calls_can_use_its_org_and_project(js, server):
    ping, project = js(call("ping"), call("getProject", {}))
    assert ping is None
    assert (project["projectId"], project["orgId"]) == (
        server.project.public_id,
        server.project.organization.public_id,
    )


def test_host_with_trailing_slash_works(js, server):
    # "host/" + "/v1/ping/" sends a doubled slash.
    ping, added = js(call("ping"), add("hi", user_id="u"), host=server.host + "/")
    assert ping is None
    assert added == camel(add_response("hi"))


def test_bad_api_key_is_an_authentication_error(js):
    (result,) = js(call("getAll", {"filters": {"user_id": "u"}}), api_key="m0-not-a-real-key")
    assert result == error(
        "AuthenticationError", "Invalid API key. Check the key or create a new one."
    )


def test_add_get_update_history_delete(js, server):
    results = js(
        add(NUTS, user_id="alex", agent_id="chef", metadata={"food_type": "vegan"}),
        call("get", ref("0.results.0.id")),
        call(
            "update", ref("0.results.0.id"), {"text": "Allergic to peanuts", "metadata": {"v": 2}}
        ),
        call("history", ref("0.results.0.id")),
        call("delete", ref("0.results.0.id")),
        call("get", ref("0.results.0.id")),
        call("delete", ref("0.results.1.id"), {"deleteLinked": True}),
    )
    added_response, got, updated, history, deleted, gone, cascade = results
    assert added_response == camel(
        add_response("I'm allergic to nuts", "Noted, no nuts in your recipes.")
    )
    memory_id = added_response["results"][0]["id"]
    assert got == camel(
        memory(
            "I'm allergic to nuts", id=memory_id, user_id="alex", metadata={"food_type": "vegan"}
        )
    )
    assert got["metadata"] == {"food_type": "vegan"}
    assert updated == camel(
        memory(
            "Allergic to peanuts",
            id=memory_id,
            user_id="alex",
            metadata={"v": 2},
            updated_at=ANY_TIMESTAMP,
        )
    )
    assert history == camel(
        [
            history_entry(
                memory_id,
                "ADD",
                old=None,
                new="I'm allergic to nuts",
                actor=server.actor,
                input=NUTS,
                user_id="alex",
                metadata={"food_type": "vegan"},
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
    )
    assert deleted == {"message": "Memory deleted successfully!"}
    assert gone == error("MemoryNotFoundError", "Memory not found!")
    assert cascade == {"message": "Memory deleted successfully!", "cascadeCount": 0}


def test_add_accepts_camel_case_options_and_filters(js):
    results = js(
        call("add", "Likes tea", {"userId": "alex", "runId": "r1", "infer": False}),
        call("add", "Likes coffee", {"filters": {"userId": "bob"}, "infer": False}),
        call("getAll", {"filters": {"AND": [{"userId": "alex"}, {"runId": "r1"}]}}),
        call("getAll", {"filters": {"user_id": "bob"}}),
        call("getAll", {"filters": {"userId": "*", "createdAt": {"gte": "2000-01-01"}}}),
        call("getAll", {"filters": {"userId": "*", "createdAt": {"lt": "2000-01-01"}}}),
    )
    assert texts(results[2]) == ["Likes tea"]
    assert results[2]["results"][0]["sessionId"] == "r1"
    assert texts(results[3]) == ["Likes coffee"]
    assert sorted(texts(results[4])) == ["Likes coffee", "Likes tea"]
    assert results[5]["results"] == []


def test_get_all_pages_with_absolute_links(js, server):
    results = js(
        add("Fact 0", user_id="alex"),
        add("Fact 1", at=JULY_20_2024 + MINUTE, user_id="alex"),
        add("Fact 2", at=JULY_20_2024 + 2 * MINUTE, user_id="alex"),
        call("getAll", {"filters": {"user_id": "alex"}, "page": 1, "pageSize": 2}),
        call("getAll", {"filters": {"user_id": "alex"}, "page": 2, "pageSize": 2}),
        call("getAll", {"filters": {"user_id": "alex"}, "page": 3, "pageSize": 2}),
    )
    first, second, invalid = results[3:]
    fact = [memory(f"Fact {n}", at=JULY_20_2024 + n * MINUTE, user_id="alex") for n in range(3)]
    assert first == camel(
        page([fact[2], fact[1]], count=3, next=f"{server.host}/v3/memories/?page=2&page_size=2")
    )
    assert second == camel(
        page([fact[0]], count=3, previous=f"{server.host}/v3/memories/?page_size=2")
    )
    assert invalid == error("MemoryNotFoundError", "Invalid page.")


def test_search_and_filters(js):
    results = js(
        add(NUTS, user_id="alex", agent_id="chef"),
        add("Bob is allergic to shellfish", user_id="bob", metadata={"diet": "pescatarian"}),
        call("search", "What is alex allergic to?", {"filters": {"user_id": "alex"}}),
        call("search", "allergy", {"filters": {"user_id": "*"}, "topK": 1, "threshold": 0}),
        call(
            "search",
            "allergy",
            {"filters": {"OR": [{"user_id": "bob"}, {"agent_id": {"in": ["chef"]}}]}},
        ),
        call("getAll", {"filters": {"user_id": "*", "metadata": {"diet": "pescatarian"}}}),
        call("search", "allergy", {"filters": {"metadata": {"diet": "pescatarian"}}}),
    )
    alex, top, either, by_metadata, unscoped = results[2:]
    assert alex == camel(
        {"results": [memory("I'm allergic to nuts", user_id="alex", score=ANY_SCORE)]}
    )
    assert texts(top) == ["I'm allergic to nuts"]
    assert sorted(texts(either)) == [
        "Bob is allergic to shellfish",
        "Noted, no nuts in your recipes.",
    ]
    assert texts(by_metadata) == ["Bob is allergic to shellfish"]
    assert unscoped["error"] == "ValidationError"
    assert "filters must scope to at least one of user_id" in unscoped["message"]


def test_delete_all_by_run_leaves_other_sessions_intact(js):
    results = js(
        add("Session A fact", user_id="alex", run_id="a"),
        add("Session B fact", at=JULY_20_2024 + MINUTE, user_id="alex", run_id="b"),
        call("deleteAll", {"runId": "a"}),
        call("getAll", {"filters": {"AND": [{"user_id": "alex"}, {"run_id": "*"}]}}),
        call("deleteAll", {"user_id": "alex"}),
        call("getAll", {"filters": {"user_id": "alex"}}),
    )
    assert results[2] == {
        "message": "Memories deleted successfully!",
        "eventId": ANY_UUID,
        "deleted": 1,
    }
    assert texts(results[3]) == ["Session B fact"]
    assert results[4]["deleted"] == 1
    assert results[5]["results"] == []


def test_update_expiration_date_and_timestamp(js):
    results = js(
        add("Old offer", user_id="alex", expiration_date="2020-01-01"),
        call("getAll", {"filters": {"user_id": "alex"}}),
        call("getAll", {"filters": {"user_id": "alex"}, "showExpired": True}),
        call("update", ref("0.results.0.id"), {"expirationDate": None}),
        call("update", ref("0.results.0.id"), {"timestamp": JULY_20_2024 + MINUTE}),
        call("update", ref("0.results.0.id"), {}),
    )
    hidden, shown, cleared, dated, nothing = results[1:]
    assert hidden["results"] == []
    assert texts(shown) == ["Old offer"]
    assert cleared["expirationDate"] is None
    assert dated["createdAt"] == "2024-07-20T12:01:00+00:00"
    assert nothing["error"] == "Error"


def test_batch_update_and_batch_delete(js):
    results = js(
        add("Plays football", user_id="alex"),
        add("Hates travel", at=JULY_20_2024 + MINUTE, user_id="alex"),
        call(
            "batchUpdate",
            [
                {"memoryId": ref("0.results.0.id"), "text": "Watches football"},
                {"memoryId": ref("1.results.0.id"), "text": "Loves to travel"},
            ],
        ),
        call("getAll", {"filters": {"user_id": "alex"}}),
        call("batchDelete", [ref("0.results.0.id"), ref("1.results.0.id")]),
        call("getAll", {"filters": {"user_id": "alex"}}),
    )
    assert results[2] == {"message": "Successfully updated 2 memories"}
    assert texts(results[3]) == ["Loves to travel", "Watches football"]
    assert results[4] == {"message": "Successfully deleted 2 memories"}
    assert results[5]["results"] == []


def test_users_and_entity_deletion(js):
    results = js(
        add(NUTS, user_id="alex", agent_id="chef"),
        add("Bob fact", user_id="bob"),
        add("Carol fact", user_id="carol"),
        call("users", {"page": 1, "pageSize": 10}),
        call("deleteUsers", {"userId": "bob"}),
        call("users"),
        call("deleteUser", {"entity_type": "user", "entity_id": ref("5.results.0.id")}),
        call("deleteUsers"),
        call("users"),
        call("deleteUsers"),
    )
    users, deleted, after_bob, deprecated, everything, empty, nothing_left = results[3:]
    assert sorted(users["results"], key=lambda e: e["name"]) == camel(
        [
            entity("alex", "user", 1),
            entity("bob", "user", 1),
            entity("carol", "user", 1),
            entity("chef", "agent", 1),
        ]
    )
    assert {k: v for k, v in users.items() if k.startswith("total")} == {
        "totalUsers": 3,
        "totalAgents": 1,
        "totalApps": 0,
        "totalRuns": 0,
    }
    assert deleted == {"message": "Entity deleted successfully."}
    # The most recently active entity is listed first: carol.
    assert after_bob["results"][0]["name"] == "carol"
    assert deprecated == {
        "message": "Entity deleted successfully.",
        "eventId": ANY_UUID,
        "deleted": 1,
    }
    assert everything == {"message": "All users, agents, apps and runs deleted."}
    assert empty["results"] == []
    assert nothing_left == {"error": "Error", "message": "No entities to delete"}
    assert Memory.objects.count() == 0


def test_feedback(js):
    results = js(
        add("Likes tea", user_id="alex"),
        call(
            "feedback",
            {
                "memoryId": ref("0.results.0.id"),
                "feedback": "VERY_NEGATIVE",
                "feedbackReason": "No",
            },
        ),
        call("feedback", {"memoryId": ref("0.results.0.id"), "feedback": None}),
    )
    memory_id = results[0]["results"][0]["id"]
    assert results[1] == {"id": memory_id, "feedback": "VERY_NEGATIVE", "feedbackReason": "No"}
    assert results[2] == {"id": memory_id, "feedback": None, "feedbackReason": None}


def test_project_update_keeps_category_names_verbatim(js, server):
    results = js(
        call(
            "updateProject",
            {
                "customInstructions": "Only store food preferences.",
                "customCategories": [{"travel_plans": "Trips"}, {"diet": "Food"}],
                "multilingual": True,
            },
        ),
        call("getProject", {"fields": ["customInstructions"]}),
    )
    assert results[0] == {"message": "Project updated successfully"}
    project = results[1]
    assert project["projectId"] == server.project.public_id
    assert {k: project[k] for k in ("customInstructions", "customCategories", "multilingual")} == {
        "customInstructions": "Only store food preferences.",
        "customCategories": [{"travel_plans": "Trips"}, {"diet": "Food"}],
        "multilingual": True,
    }


def test_infer_true_without_an_llm_raises_a_clear_error(js):
    (result,) = js(call("add", "I like tea", {"user_id": "alex"}))
    assert result == error(
        "MemoryError",
        "Memory inference (infer=true) needs an LLM: set OPENAI_API_KEY (and OPENAI_BASE_URL for "
        "any OpenAI-compatible server) on the memdash server, or send infer=false to store "
        "messages verbatim.",
    )
