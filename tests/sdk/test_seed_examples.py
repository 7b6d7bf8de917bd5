"""The examples of the seed documents (the Mem0 guides memdash implements: the add-memories API,
entity scoping, group chat and the platform guide) that need no LLM, run as written with
the official clients, `infer=False` added to every add and `timestamp=` back-dating memories
where a seed filters on 2024 dates.

The seed-era Python client (mem0ai 1.0.11) runs the Python examples as they are written; the
current clients (mem0ai 2.x, npm 3.x) run them where they accept the call. Examples whose
answer depends on categories assigned by the LLM are run for their filter syntax only.
"""

import pytest

from memories.models import Memory
from tenancy.models import Attribution
from tests.conftest import ANY_SCORE, ANY_UUID
from tests.sdk.conftest import call, ref
from tests.sdk.payloads import DAY, JULY_20_2024, MINUTE, added, entity, memory, page

pytestmark = [pytest.mark.sdk, pytest.mark.django_db(transaction=True)]

ALEX_INTRO = [
    {"role": "user", "content": "Hi, I'm Alex. I'm a vegetarian and I'm allergic to nuts."},
    {
        "role": "assistant",
        "content": "Hello Alex! I've noted that you're a vegetarian and have a nut allergy. "
        "I'll keep this in mind for any food-related recommendations or discussions.",
    },
]
TRIP = [
    {"role": "user", "content": "I'm planning a trip to Japan next month."},
    {
        "role": "assistant",
        "content": "That's exciting, Alex! A trip to Japan next month sounds wonderful. "
        "Would you like some recommendations for vegetarian-friendly restaurants in Japan?",
    },
    {"role": "user", "content": "Yes, please! Especially in Tokyo."},
    {
        "role": "assistant",
        "content": "Great! I'll remember that you're interested in vegetarian restaurants in "
        "Tokyo for your upcoming trip. I'll prepare a list for you in our next interaction.",
    },
]
TUTOR = [
    {
        "role": "system",
        "content": "You are an AI tutor with a personality. Give yourself a name for the user.",
    },
    {
        "role": "assistant",
        "content": "Understood. I'm an AI tutor with a personality. My name is Alice.",
    },
]
TRAVEL = [
    {"role": "user", "content": "I'm travelling to San Francisco"},
    {"role": "assistant", "content": "That's great! I'm going to Dubai next month."},
]
GROUP_CHAT = [
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
        "content": "All three frameworks have their merits. "
        "Let me summarize the pros and cons of each.",
    },
]
TRAVELER = [
    {"role": "user", "content": "I prefer boutique hotels and avoid shellfish."},
    {"role": "assistant", "content": "Logged your travel preferences for future itineraries."},
]
TRAVELER_IDS = {
    "user_id": "customer_6412",
    "agent_id": "travel_planner",
    "app_id": "concierge_portal",
    "run_id": "itinerary-2025-apr",
}
USER_SCOPE = {
    "AND": [
        {"user_id": "customer_6412"},
        {"app_id": "concierge_portal"},
        {"run_id": "itinerary-2025-apr"},
    ]
}
AGENT_SCOPE = {"AND": [{"agent_id": "travel_planner"}, {"app_id": "concierge_portal"}]}
APP_SCOPE = {"AND": [{"app_id": "concierge_portal"}, {"user_id": "*"}, {"agent_id": "*"}]}
# The seeds disagree about an add carrying both user_id and agent_id.
SPLIT_ATTRIBUTION = (
    "infer=False stores the user message under user_id and the assistant message under "
    "agent_id (the platform guide's rule, also what makes {'user_id': ...} reads work under "
    "null scoping), so no record carries both ids; the entity-scoping seed expects one that does"
)


def texts(response):
    return [m["memory"] for m in response["results"]]


def seed_add(messages, *, at=JULY_20_2024, **kwargs):
    return call("add", messages, infer=False, timestamp=at, **kwargs)


# --- platform guide, mem0ai 1.0.11 ---------------------------------------------------------------


def test_guide_user_memories_and_searches(py1):
    results = py1(
        seed_add(ALEX_INTRO, user_id="alex", metadata={"food": "vegan"}),
        # 4.2 General memory search.
        call("search", "What should I cook for dinner today?", user_id="alex"),
        # 4.2 Category and metadata filters: categories come from the LLM, so run the metadata
        # half on its own too.
        call(
            "search",
            "What do you know about me?",
            categories=["food_preferences"],
            metadata={"food": "vegan"},
        ),
        call("search", "What do you know about me?", metadata={"food": "vegan"}),
        # 4.2 Example 1: user_id OR agent_id in a list.
        call(
            "search",
            "What do you know about me?",
            version="v2",
            filters={
                "OR": [
                    {"user_id": "alex"},
                    {"agent_id": {"in": ["travel-assistant", "customer-support"]}},
                ]
            },
        ),
        # 4.2 Example 2: the seed's date range is empty (gte after lte).
        call(
            "search",
            "What do you know about me?",
            version="v2",
            filters={
                "AND": [
                    {"created_at": {"gte": "2024-07-20", "lte": "2024-07-10"}},
                    {"user_id": "alex"},
                ]
            },
        ),
        call(
            "search",
            "What do you know about me?",
            version="v2",
            filters={
                "AND": [
                    {"created_at": {"gte": "2024-07-10", "lte": "2024-07-20"}},
                    {"user_id": "alex"},
                ]
            },
        ),
        # 4.2 Example 3: metadata AND categories.
        call(
            "search",
            "What do you know about me?",
            version="v2",
            filters={
                "AND": [
                    {"metadata": {"food": "vegan"}},
                    {"categories": {"contains": "food_preferences"}},
                ]
            },
        ),
    )
    stored, dinner, with_categories, by_metadata, either, no_dates, july, meta_and_cat = results
    intro = ALEX_INTRO[0]["content"]
    assert stored == {"results": [added(intro)], "relations": []}
    expected = memory(intro, user_id="alex", metadata={"food": "vegan"}, score=ANY_SCORE)
    assert dinner == {"results": [expected]}
    assert with_categories == {"results": []}
    assert texts(by_metadata) == [intro]
    assert texts(either) == [intro]
    assert no_dates == {"results": []}
    assert texts(july) == [intro]
    assert meta_and_cat == {"results": []}


def test_guide_session_agent_and_shared_memories(py1, server):
    results = py1(
        seed_add(TRIP, user_id="alex", run_id="trip-planning-2024"),
        seed_add(TUTOR, at=JULY_20_2024 + MINUTE, agent_id="ai-tutor"),
        seed_add(TRAVEL, at=JULY_20_2024 + 2 * MINUTE, user_id="user1", agent_id="agent1"),
        # 4.4 get_all with top-level ids, paginated.
        call("get_all", agent_id="ai-tutor", page=1, page_size=50),
        call("get_all", user_id="alex", run_id="trip-planning-2024", page=1, page_size=50),
        call("get_all", user_id="user1", page=1, page_size=50),
        call("get_all", agent_id="agent1", page=1, page_size=50),
        call("get", ref("2.results.0.id")),
        # 4.3 users.
        call("users"),
    )
    trip, tutor, travel, tutor_list, session, user1, agent1, got, users = results
    assert trip == {
        "results": [added(TRIP[0]["content"]), added(TRIP[2]["content"])],
        "relations": [],
    }
    assert tutor == {"results": [added(TUTOR[1]["content"])], "relations": []}
    assert travel == {
        "results": [added(TRAVEL[0]["content"]), added(TRAVEL[1]["content"])],
        "relations": [],
    }
    assert tutor_list == page(
        [
            memory(
                TUTOR[1]["content"],
                at=JULY_20_2024 + MINUTE,
                agent_id="ai-tutor",
                role="assistant",
            )
        ]
    )
    assert sorted(texts(session)) == [TRIP[0]["content"], TRIP[2]["content"]]
    assert all(m["session_id"] == "trip-planning-2024" for m in session["results"])
    assert texts(user1) == [TRAVEL[0]["content"]]
    assert texts(agent1) == [TRAVEL[1]["content"]]
    assert got == memory(
        TRAVEL[0]["content"],
        id=travel["results"][0]["id"],
        at=JULY_20_2024 + 2 * MINUTE,
        user_id="user1",
    )
    assert sorted(users["results"], key=lambda e: (e["type"], e["name"])) == [
        entity("agent1", "agent", 1),
        entity("ai-tutor", "agent", 1),
        entity("trip-planning-2024", "run", 2),
        entity("alex", "user", 2),
        entity("user1", "user", 1),
    ]


def test_guide_get_all_by_keywords_categories_and_filters(py1):
    results = py1(
        seed_add("Likes pizza and pasta", user_id="alex"),
        seed_add("Likes to travel to beach destinations", at=JULY_20_2024 + DAY, user_id="alex"),
        seed_add("Likes to play tennis", at=JULY_20_2024 + 20 * DAY, user_id="alex"),
        call("get_all", user_id="alex", keywords="to play", page=1, page_size=50),
        call("get_all", user_id="alex", categories=["likes"]),
        call(
            "get_all",
            user_id="alex",
            categories=["likes", "food_preferences"],
            page=1,
            page_size=50,
        ),
        # 4.4 custom filters, Example 1 without and with its LLM-assigned category.
        call(
            "get_all",
            version="v2",
            filters={
                "AND": [
                    {"user_id": "alex"},
                    {"created_at": {"gte": "2024-07-01", "lte": "2024-07-31"}},
                ]
            },
        ),
        call(
            "get_all",
            version="v2",
            filters={
                "AND": [
                    {"user_id": "alex"},
                    {"created_at": {"gte": "2024-07-01", "lte": "2024-07-31"}},
                    {"categories": {"contains": "food_preferences"}},
                ]
            },
            page=1,
            page_size=50,
        ),
    )
    keywords, likes, likes_and_food, july, july_food = results[3:]
    assert keywords == page(
        [memory("Likes to play tennis", at=JULY_20_2024 + 20 * DAY, user_id="alex")]
    )
    assert likes == {"results": []}
    assert likes_and_food == page([])
    assert texts(july) == ["Likes to travel to beach destinations", "Likes pizza and pasta"]
    assert july_food == page([])


def test_guide_history_update_and_deletes(py1, server):
    results = py1(
        seed_add(
            [
                {
                    "role": "user",
                    "content": "I recently tried chicken and I loved it. "
                    "I'm thinking of trying more non-vegetarian dishes..",
                }
            ],
            user_id="alex",
        ),
        call("update", ref("0.results.0.id"), "I turned vegetarian now."),
        call("history", ref("0.results.0.id")),
        call("delete", ref("0.results.0.id")),
        seed_add("Likes to travel", user_id="alex"),
        seed_add("Watches football", user_id="alex", run_id="weekend"),
        call("delete_all", user_id="alex"),
        call("get_all", filters={"user_id": "*"}),
    )
    updated, history, deleted, _, _, deleted_all, remaining = results[1:]
    assert updated["memory"] == "I turned vegetarian now."
    assert [(h["event"], h["old_memory"], h["new_memory"]) for h in history] == [
        ("ADD", None, results[0]["results"][0]["memory"]),
        ("UPDATE", results[0]["results"][0]["memory"], "I turned vegetarian now."),
    ]
    assert history[0]["input"] == [{"role": "user", "content": results[0]["results"][0]["memory"]}]
    assert deleted == {"message": "Memory deleted successfully!"}
    assert deleted_all == {
        "message": "Memories deleted successfully!",
        "event_id": ANY_UUID,
        "deleted": 2,
    }
    assert remaining == {"results": []}


def test_guide_delete_users_and_reset(py1):
    results = py1(
        seed_add(ALEX_INTRO, user_id="alex", agent_id="travel-assistant"),
        seed_add("Bob fact", user_id="bob"),
        call("delete_users", user_id="alex"),
        call("delete_users", agent_id="travel-assistant"),
        call("users"),
        call("delete_users"),
        seed_add("Carol fact", user_id="carol"),
        call("reset"),
        call("users"),
    )
    alex, agent, users, everyone, _, reset, empty = results[2:]
    assert alex == {"message": "Entity deleted successfully."}
    assert agent == {"message": "Entity deleted successfully."}
    assert [(e["type"], e["name"]) for e in users["results"]] == [("user", "bob")]
    assert everyone == {"message": "All users, agents, apps and runs deleted."}
    assert reset == {"message": "Client reset successful. All users and memories deleted."}
    assert empty["results"] == []
    assert Memory.objects.count() == 0


def test_guide_batch_update_and_delete(py1):
    results = py1(
        seed_add("Plays football", user_id="alex"),
        seed_add("Hates travel", at=JULY_20_2024 + MINUTE, user_id="alex"),
        call(
            "batch_update",
            [
                {"memory_id": ref("0.results.0.id"), "text": "Watches football"},
                {"memory_id": ref("1.results.0.id"), "text": "Loves to travel"},
            ],
        ),
        call(
            "batch_delete",
            [{"memory_id": ref("0.results.0.id")}, {"memory_id": ref("1.results.0.id")}],
        ),
    )
    assert results[2] == {"message": "Successfully updated 2 memories"}
    assert results[3] == {"message": "Successfully deleted 2 memories"}
    assert Memory.objects.count() == 0


# --- add memories API reference -------------------------------------------------------------------


def test_add_reference_client_with_org_and_project(py1, server):
    ids = {"org_id": server.project.organization.public_id, "project_id": server.project.public_id}
    reply = py1.job(
        [
            call(
                "add",
                [
                    {"role": "user", "content": "<user-message>"},
                    {"role": "assistant", "content": "<assistant-response>"},
                ],
                user_id="<user-id>",
                version="v2",
                infer=False,
            )
        ],
        **ids,
    )
    assert reply == {
        "client": {**ids, "user_email": "owner@example.com"},
        "results": [{"results": [added("<user-message>")], "relations": []}],
    }


def test_add_reference_client_with_another_project_is_refused(py1, server):
    assert py1.client(org_id=server.project.organization.public_id, project_id="proj_other") == {
        "error": "ValueError",
        "message": f"Error: This API key belongs to project {server.project.public_id}, "
        "not proj_other.",
    }


# --- platform guide, npm client -------------------------------------------------------------------


def test_guide_javascript_examples(js):
    results = js(
        call(
            "add",
            ALEX_INTRO,
            {
                "user_id": "alex",
                "metadata": {"food": "vegan"},
                "infer": False,
                "timestamp": JULY_20_2024,
            },
        ),
        call("add", TRAVEL, {"user_id": "user1", "agent_id": "agent1", "infer": False}),
        call(
            "search",
            "What do you know about me?",
            {
                "version": "v2",
                "filters": {
                    "OR": [
                        {"user_id": "alex"},
                        {"agent_id": {"in": ["travel-assistant", "customer-support"]}},
                    ]
                },
            },
        ),
        call(
            "getAll",
            {
                "version": "v2",
                "filters": {
                    "AND": [
                        {"user_id": "alex"},
                        {"created_at": {"gte": "2024-07-01", "lte": "2024-07-31"}},
                    ]
                },
                "page": 1,
                "page_size": 50,
            },
        ),
        call("users"),
        call("history", ref("0.results.0.id")),
        call("deleteAll", {"user_id": "alex"}),
    )
    intro = ALEX_INTRO[0]["content"]
    _, _, found, listed, users, history, deleted = results
    assert [m["memory"] for m in found["results"]] == [intro]
    assert found["results"][0]["metadata"] == {"food": "vegan"}
    assert (listed["count"], texts(listed)) == (1, [intro])
    assert sorted(e["name"] for e in users["results"]) == ["agent1", "alex", "user1"]
    assert [h["event"] for h in history] == ["ADD"]
    assert deleted["message"] == "Memories deleted successfully!"
    assert Memory.objects.filter(user_id="alex").count() == 0


def test_guide_javascript_batch_delete_as_written(js):
    # 4.10 passes [{"memory_id": id}]; npm 3.x wraps each item again as {"memory_id": item}.
    results = js(
        call("add", "Plays football", {"user_id": "alex", "infer": False}),
        call("add", "Loves to travel", {"user_id": "alex", "infer": False}),
        call(
            "batchDelete",
            [{"memory_id": ref("0.results.0.id")}, {"memory_id": ref("1.results.0.id")}],
        ),
    )
    assert results[2] == {"message": "Successfully deleted 2 memories"}
    assert Memory.objects.count() == 0


def test_guide_javascript_batch_update_as_written_loses_the_ids(js):
    # 4.9's JavaScript passes {"memory_id", text}; npm 3.x reads `memoryId`, so the ids never
    # reach the server. The idiomatic {memoryId, text} works (see test_mem0ai_js.py).
    results = js(
        call("add", "Plays football", {"user_id": "alex", "infer": False}),
        call("batchUpdate", [{"memory_id": ref("0.results.0.id"), "text": "Watches football"}]),
    )
    assert results[1]["error"] == "ValidationError"
    assert "memory_id" in results[1]["message"]


# --- group chat ------------------------------------------------------------------------------------


def test_group_chat_names_become_the_speakers_ids_seed_client(py1):
    results = py1(
        seed_add(GROUP_CHAT, run_id="group_chat_1"),
        call("get_all", filters={"AND": [{"user_id": "*"}, {"run_id": "group_chat_1"}]}, page=1),
        call(
            "get_all", filters={"AND": [{"user_id": "charlie"}, {"run_id": "group_chat_1"}]}, page=1
        ),
        call(
            "search",
            "What are the tasks?",
            filters={"AND": [{"user_id": "charlie"}, {"run_id": "group_chat_1"}]},
        ),
        call(
            "search",
            "Which frontend framework was suggested?",
            filters={"AND": [{"user_id": "charlie"}, {"run_id": "group_chat_1"}]},
        ),
    )
    stored, everyone, charlie, tasks, framework = results
    # The assistant message has no name and the call no agent_id: nobody to store it for.
    assert stored == {"results": [added(m["content"]) for m in GROUP_CHAT[:3]], "relations": []}
    assert sorted((m["user_id"], m["actor_id"]) for m in everyone["results"]) == [
        ("alice", "Alice"),
        ("bob", "Bob"),
        ("charlie", "Charlie"),
    ]
    assert charlie == {
        "results": [
            memory(
                GROUP_CHAT[2]["content"],
                user_id="charlie",
                run_id="group_chat_1",
                actor_id="Charlie",
            )
        ]
    }
    assert all(m["user_id"] == "charlie" for m in tasks["results"])
    assert texts(framework) == [GROUP_CHAT[2]["content"]]


def test_group_chat_with_the_current_client_and_named_assistants(py_client):
    messages = [*GROUP_CHAT[:3], {**GROUP_CHAT[3], "name": "Helper"}]
    py_client.add(messages, run_id="group_chat_1", infer=False, timestamp=JULY_20_2024)
    everyone = py_client.get_all(
        filters={"AND": [{"user_id": "*"}, {"run_id": "group_chat_1"}]}, page=1
    )
    assert everyone["count"] == 3
    charlie = py_client.get_all(
        filters={"AND": [{"user_id": "charlie"}, {"run_id": "group_chat_1"}]}, page=1
    )
    assert texts(charlie) == [GROUP_CHAT[2]["content"]]
    helper = py_client.get_all(filters={"agent_id": "helper"})
    assert helper == page(
        [
            memory(
                GROUP_CHAT[3]["content"],
                agent_id="helper",
                run_id="group_chat_1",
                actor_id="Helper",
                role="assistant",
            )
        ]
    )


# --- entity scoping --------------------------------------------------------------------------------


def test_entity_scoping_project_get_returns_org_and_project(py_client, py1, server):
    expected = (server.project.organization.public_id, server.project.public_id)
    project = py_client.project.get()
    assert (project["org_id"], project["project_id"]) == expected
    (legacy,) = py1(call("project.get"))
    assert (legacy["org_id"], legacy["project_id"]) == expected


def test_entity_scoping_configure_it_returns_memory_ids(py1):
    (response,) = py1(
        call(
            "add",
            [
                {"role": "user", "content": "I teach ninth-grade algebra."},
                {"role": "assistant", "content": "I'll tailor study plans to algebra topics."},
            ],
            user_id="teacher_872",
            agent_id="study_planner",
            app_id="district_dashboard",
            run_id="prep-period-2025-09-02",
            version="v2",
            infer=False,
        )
    )
    assert response == {
        "results": [
            added("I teach ninth-grade algebra."),
            added("I'll tailor study plans to algebra topics."),
        ],
        "relations": [],
    }


def test_entity_scoping_user_scope_and_session_cleanup_seed_client(py1):
    results = py1(
        call(
            "add",
            TRAVELER,
            **TRAVELER_IDS,
            metadata={"category": "preferences"},
            version="v2",
            infer=False,
        ),
        call("search", "Any dietary flags?", filters=USER_SCOPE),
        call("get_all", filters=USER_SCOPE),
        call("delete_all", user_id="customer_6412", run_id="itinerary-2025-apr"),
        call("get_all", filters=USER_SCOPE),
    )
    _, user_results, before, deleted, after = results
    assert texts(user_results) == [TRAVELER[0]["content"]]
    assert texts(before) == [TRAVELER[0]["content"]]
    assert deleted["message"] == "Memories deleted successfully!"
    assert after == {"results": []}


def test_entity_scoping_user_and_agent_scopes_current_client(py_client):
    py_client.add(
        TRAVELER, **TRAVELER_IDS, metadata={"category": "preferences"}, version="v2", infer=False
    )
    assert texts(py_client.search("Any dietary flags?", filters=USER_SCOPE)) == [
        TRAVELER[0]["content"]
    ]
    assert texts(py_client.search("Any dietary flags?", filters=AGENT_SCOPE)) == [
        TRAVELER[1]["content"]
    ]
    both = {"AND": [{"user_id": "customer_6412"}, {"agent_id": "travel_planner"}]}
    assert py_client.search("Any dietary flags?", filters=both) == {"results": []}
    assert (
        py_client.delete_all(user_id="customer_6412", run_id="itinerary-2025-apr")["message"]
        == "Memories deleted successfully!"
    )
    assert py_client.get_all(filters=USER_SCOPE)["results"] == []
    assert texts(py_client.get_all(filters=AGENT_SCOPE)) == [TRAVELER[1]["content"]]


@pytest.mark.xfail(
    strict=True,
    reason="/v2 implicit null scoping: the agent scope names no run_id, so it must be null, "
    "but the agent's memory carries the call's run_id. The seed's rule and its example disagree.",
)
def test_entity_scoping_agent_scope_seed_client(py1):
    results = py1(
        call("add", TRAVELER, **TRAVELER_IDS, version="v2", infer=False),
        call("search", "Any dietary flags?", filters=AGENT_SCOPE),
    )
    assert texts(results[1]) == [TRAVELER[1]["content"]]


@pytest.mark.xfail(strict=True, reason=SPLIT_ATTRIBUTION)
def test_entity_scoping_app_audit_current_client(py_client):
    py_client.add(TRAVELER, **TRAVELER_IDS, version="v2", infer=False)
    assert py_client.get_all(filters=APP_SCOPE, page=1, page_size=20)["count"] >= 1


def test_entity_scoping_app_audit_with_all_ids_attribution(py_client, server):
    """The project setting the entity-scoping guide needs: every memory carries every id."""
    server.project.attribution = Attribution.ALL_IDS
    server.project.save(update_fields=["attribution"])
    py_client.add(TRAVELER, **TRAVELER_IDS, version="v2", infer=False)
    audit = py_client.get_all(filters=APP_SCOPE, page=1, page_size=20)
    assert audit["count"] == len(TRAVELER)
    for found in audit["results"]:
        assert (found["user_id"], found["agent_id"], found["app_id"]) == (
            "customer_6412",
            "travel_planner",
            "concierge_portal",
        )


def test_entity_scoping_pitfall_and_wildcards(py_client, py1):
    py_client.add("Alice's own fact", user_id="alice", infer=False, timestamp=JULY_20_2024)
    py_client.add(
        "Alice with the bot",
        user_id="alice",
        run_id="chat-1",
        infer=False,
        timestamp=JULY_20_2024 + MINUTE,
    )
    pitfall = {"AND": [{"user_id": "alice"}, {"agent_id": "bot"}]}
    assert py_client.get_all(filters=pitfall)["results"] == []
    assert texts(py_client.get_all(filters={"user_id": "alice"})) == [
        "Alice with the bot",
        "Alice's own fact",
    ]
    legacy_alice, legacy_any_run, legacy_pitfall = py1(
        call("get_all", filters={"user_id": "alice"}),
        call("get_all", filters={"AND": [{"user_id": "alice"}, {"run_id": "*"}]}),
        call("get_all", filters=pitfall),
    )
    # /v2 keeps the seed's implicit null scoping; "*" means any non-null value.
    assert texts(legacy_alice) == ["Alice's own fact"]
    assert texts(legacy_any_run) == ["Alice with the bot"]
    assert legacy_pitfall == {"results": []}


def test_entity_scoping_delete_all_by_run_leaves_other_sessions(py1):
    results = py1(
        seed_add("Ticket 9241 detail", user_id="customer_6412", run_id="ticket-9241"),
        seed_add(
            "Ticket 9300 detail",
            at=JULY_20_2024 + MINUTE,
            user_id="customer_6412",
            run_id="ticket-9300",
        ),
        call(
            "get_all",
            filters={"AND": [{"user_id": "customer_6412"}, {"run_id": "*"}]},
            page=1,
            page_size=50,
        ),
        call("delete_all", run_id="ticket-9241"),
        call(
            "get_all",
            filters={"AND": [{"user_id": "customer_6412"}, {"run_id": "*"}]},
            page=1,
            page_size=50,
        ),
    )
    before, deleted, after = results[2:]
    assert before["count"] == 2
    assert deleted["message"] == "Memories deleted successfully!"
    assert (after["count"], texts(after)) == (1, ["Ticket 9300 detail"])
