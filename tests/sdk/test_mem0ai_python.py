"""mem0ai 2.x (the current Python SDK), in-process, against a live memdash.

It calls /v1/ping/, /v3/memories/add/, POST /v3/memories/, /v3/memories/search/ and the /v1/
paths for one memory, batches, entities, feedback and the project.
"""

import asyncio
import concurrent.futures

import pytest
from mem0 import AsyncMemoryClient, MemoryClient
from mem0.exceptions import (
    AuthenticationError,
    MemoryError,
    MemoryNotFoundError,
    ValidationError,
)

from memories.models import Memory
from tenancy.models import Role
from tenancy.services import create_api_key
from tests.conftest import ANY_SCORE, ANY_TIMESTAMP, ANY_UUID
from tests.sdk.payloads import (
    DAY,
    JULY_20_2024,
    JULY_20_2024_ATTRIBUTES,
    MINUTE,
    add_response,
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


def add_one(client, text, *, at, **ids):
    return client.add(text, infer=False, timestamp=at, **ids)["results"][0]["id"]


def test_client_learns_org_project_and_email_from_ping(py_client, server):
    assert py_client.org_id == server.project.organization.public_id
    assert py_client.project_id == server.project.public_id
    assert py_client.user_email == "owner@example.com"


def test_bad_api_key_fails_construction_with_the_servers_detail(server):
    with pytest.raises(ValueError, match=r"^Error: Invalid API key\. Check the key"):
        MemoryClient(api_key="m0-not-a-real-key", host=server.host)


def test_host_with_trailing_slash_works(server):
    client = MemoryClient(api_key=server.api_key, host=server.host + "/")
    assert client.add("hi", user_id="u", infer=False) == add_response("hi")


def test_add_verbatim_attributes_user_and_assistant_messages(py_client):
    response = py_client.add(
        NUTS,
        user_id="alex",
        agent_id="chef",
        infer=False,
        metadata={"food": "vegan"},
        timestamp=JULY_20_2024,
    )
    assert response == add_response("I'm allergic to nuts", "Noted, no nuts in your recipes.")
    user_memory, agent_memory = (r["id"] for r in response["results"])
    assert py_client.get(user_memory) == memory(
        "I'm allergic to nuts", id=user_memory, user_id="alex", metadata={"food": "vegan"}
    )
    assert py_client.get(agent_memory) == memory(
        "Noted, no nuts in your recipes.",
        id=agent_memory,
        agent_id="chef",
        role="assistant",
        metadata={"food": "vegan"},
    )


def test_add_skips_exact_duplicates_in_the_same_scope(py_client):
    assert py_client.add("Likes tea", user_id="alex", infer=False) == add_response("Likes tea")
    assert py_client.add("Likes tea", user_id="alex", infer=False) == add_response()
    assert py_client.add("Likes tea", user_id="bob", infer=False) == add_response("Likes tea")
    system_only = [{"role": "system", "content": "Be kind."}]
    assert py_client.add(system_only, user_id="alex", infer=False) == add_response()


def test_get_pins_the_whole_memory_object(py_client):
    memory_id = add_one(py_client, "Likes tea", at=JULY_20_2024, user_id="alex", run_id="r1")
    assert py_client.get(memory_id) == {
        "id": memory_id,
        "memory": "Likes tea",
        "user_id": "alex",
        "agent_id": None,
        "app_id": None,
        "run_id": "r1",
        "session_id": "r1",
        "actor_id": None,
        "role": "user",
        "hash": "ed0d2a668f61805c737f938e64f1961d",
        "metadata": None,
        "categories": None,
        "immutable": False,
        "expiration_date": None,
        "created_at": "2024-07-20T12:00:00+00:00",
        "updated_at": "2024-07-20T12:00:00+00:00",
        "structured_attributes": JULY_20_2024_ATTRIBUTES,
        "replaced_by": None,
        "synthesized": None,
        "lifecycle_state": None,
    }


def test_get_all_pages_with_absolute_links(py_client, server):
    ids = [
        add_one(py_client, f"Fact {n}", at=JULY_20_2024 + n * MINUTE, user_id="alex")
        for n in range(3)
    ]
    first = py_client.get_all(filters={"user_id": "alex"}, page=1, page_size=2)
    assert first == page(
        [
            memory("Fact 2", id=ids[2], at=JULY_20_2024 + 2 * MINUTE, user_id="alex"),
            memory("Fact 1", id=ids[1], at=JULY_20_2024 + MINUTE, user_id="alex"),
        ],
        count=3,
        next=f"{server.host}/v3/memories/?page=2&page_size=2",
    )
    second = py_client.get_all(filters={"user_id": "alex"}, page=2, page_size=2)
    assert second == page(
        [memory("Fact 0", id=ids[0], user_id="alex")],
        count=3,
        previous=f"{server.host}/v3/memories/?page_size=2",
    )
    with pytest.raises(MemoryNotFoundError, match="Invalid page"):
        py_client.get_all(filters={"user_id": "alex"}, page=3, page_size=2)


def test_get_all_without_page_returns_the_first_page_of_100(py_client, server):
    add_one(py_client, "Fact", at=JULY_20_2024, user_id="alex")
    assert py_client.get_all(filters={"user_id": "alex"}) == page([memory("Fact", user_id="alex")])


def test_get_all_does_not_null_scope_unmentioned_entities(py_client):
    add_one(py_client, "Alex alone", at=JULY_20_2024, user_id="alex")
    add_one(py_client, "Alex in a run", at=JULY_20_2024 + MINUTE, user_id="alex", run_id="r1")
    add_one(py_client, "Alex in an app", at=JULY_20_2024 + 2 * MINUTE, user_id="alex", app_id="a")
    texts = [m["memory"] for m in py_client.get_all(filters={"user_id": "alex"})["results"]]
    assert texts == ["Alex in an app", "Alex in a run", "Alex alone"]


def texts_of(response):
    return [m["memory"] for m in response["results"]]


def test_get_all_filter_language(py_client):
    add_one(py_client, "Likes to play tennis", at=JULY_20_2024, user_id="alex", run_id="r1")
    py_client.add(
        "Vegan cook",
        user_id="alex",
        infer=False,
        timestamp=JULY_20_2024 + DAY,
        metadata={"food": "vegan", "level": 3},
    )
    add_one(py_client, "Travel agent notes", at=JULY_20_2024 + 2 * DAY, agent_id="travel")
    add_one(py_client, "Support notes", at=JULY_20_2024 + 3 * DAY, agent_id="support")
    add_one(py_client, "Bob's fact", at=1735732800, user_id="bob")  # 2025-01-01 12:00 UTC

    def texts(filters, **kwargs):
        return texts_of(py_client.get_all(filters=filters, **kwargs))

    assert texts({"user_id": "*"}) == ["Bob's fact", "Vegan cook", "Likes to play tennis"]
    assert texts({"OR": [{"user_id": "alex"}, {"agent_id": {"in": ["travel", "x"]}}]}) == [
        "Travel agent notes",
        "Vegan cook",
        "Likes to play tennis",
    ]
    assert texts({"AND": [{"user_id": "alex"}, {"run_id": "r1"}]}) == ["Likes to play tennis"]
    assert texts({"AND": [{"user_id": "alex"}, {"run_id": {"ne": "r1"}}]}) == ["Vegan cook"]
    assert texts({"AND": [{"agent_id": "*"}, {"NOT": {"agent_id": "travel"}}]}) == ["Support notes"]
    assert texts({"AND": [{"user_id": "alex"}, {"metadata": {"food": "vegan"}}]}) == ["Vegan cook"]
    assert texts({"user_id": "alex", "metadata": {"level": {"ne": 3}}}) == ["Likes to play tennis"]
    assert texts(
        {"AND": [{"user_id": "*"}, {"created_at": {"gte": "2024-07-01", "lte": "2024-07-31"}}]}
    ) == ["Vegan cook", "Likes to play tennis"]
    assert texts({"user_id": "*", "created_at": {"gt": "2024-07-20"}}) == [
        "Bob's fact",
        "Vegan cook",
    ]
    assert texts({"user_id": "*", "keywords": {"icontains": "TO PLAY"}}) == ["Likes to play tennis"]
    assert texts({"user_id": "*", "categories": {"in": ["food"]}}) == []
    assert texts({"user_id": "*"}, start_date="2024-07-21", end_date="2024-12-31") == ["Vegan cook"]


def test_get_all_rejects_filters_without_an_entity(py_client):
    with pytest.raises(ValidationError, match="filters must scope to at least one of user_id"):
        py_client.get_all(filters={"metadata": {"food": "vegan"}})
    with pytest.raises(ValidationError, match=r"Unknown filter key 'colour'"):
        py_client.get_all(filters={"user_id": "alex", "colour": "red"})


def test_search_ranks_within_filters_and_honours_options(py_client):
    py_client.add(NUTS, user_id="alex", agent_id="chef", infer=False, timestamp=JULY_20_2024)
    add_one(py_client, "Planning a trip to Japan", at=JULY_20_2024 + MINUTE, user_id="alex")
    add_one(py_client, "Bob is allergic to shellfish", at=JULY_20_2024, user_id="bob")

    response = py_client.search("What is alex allergic to?", filters={"user_id": "alex"})
    assert response == {
        "results": [memory("I'm allergic to nuts", user_id="alex", score=ANY_SCORE)]
    }
    everything = py_client.search("allergy", filters={"user_id": "alex"}, threshold=0)
    assert texts_of(everything) == ["I'm allergic to nuts", "Planning a trip to Japan"]
    assert everything["results"][0]["score"] > everything["results"][1]["score"]

    top = py_client.search("allergy", filters={"user_id": "*"}, top_k=1, fields=["memory"])
    assert top == {
        "results": [{"id": ANY_UUID, "memory": "I'm allergic to nuts", "score": ANY_SCORE}]
    }
    assert py_client.search("allergy", filters={"user_id": "alex"}, threshold=0.99) == {
        "results": []
    }
    agent = py_client.search("nuts", filters={"agent_id": "chef"}, rerank=True)
    assert texts_of(agent) == ["Noted, no nuts in your recipes."]


def test_search_requires_a_query_and_scoped_filters(py_client):
    with pytest.raises(ValueError, match="cannot be empty"):
        py_client.search("  ", filters={"user_id": "alex"})
    with pytest.raises(ValidationError, match="filters is required"):
        py_client.search("anything")


def test_update_returns_the_memory_and_history_records_each_change(py_client, server):
    memory_id = py_client.add(
        NUTS, user_id="alex", infer=False, timestamp=JULY_20_2024, metadata={"v": 1}
    )["results"][0]["id"]

    updated = py_client.update(memory_id, text="Allergic to peanuts", metadata={"v": 2})
    assert updated == memory(
        "Allergic to peanuts",
        id=memory_id,
        user_id="alex",
        metadata={"v": 2},
        updated_at=ANY_TIMESTAMP,
    )
    assert updated["updated_at"] > updated["created_at"]
    py_client.update(memory_id, timestamp=JULY_20_2024 + DAY)

    assert py_client.history(memory_id) == [
        history_entry(
            memory_id,
            "ADD",
            old=None,
            new="I'm allergic to nuts",
            actor=server.actor,
            input=NUTS,
            user_id="alex",
            metadata={"v": 1},
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
        history_entry(
            memory_id,
            "UPDATE",
            old="Allergic to peanuts",
            new="Allergic to peanuts",
            actor=server.actor,
            user_id="alex",
            metadata={"v": 2},
        ),
    ]
    assert py_client.get(memory_id)["created_at"] == "2024-07-21T12:00:00+00:00"


def test_update_needs_a_field_and_immutable_memories_refuse_it(py_client):
    memory_id = py_client.add("Fixed fact", user_id="alex", infer=False, immutable=True)["results"][
        0
    ]["id"]
    with pytest.raises(ValueError, match="At least one of text"):
        py_client.update(memory_id)
    with pytest.raises(ValidationError, match="is immutable and cannot be updated"):
        py_client.update(memory_id, text="Changed")
    assert py_client.get(memory_id)["immutable"] is True


def test_expired_memories_are_hidden_until_the_date_is_cleared(py_client):
    memory_id = py_client.add(
        "Old offer", user_id="alex", infer=False, expiration_date="2020-01-01"
    )["results"][0]["id"]
    assert py_client.get_all(filters={"user_id": "alex"})["results"] == []
    assert texts_of(py_client.get_all(filters={"user_id": "alex"}, show_expired=True)) == [
        "Old offer"
    ]
    assert py_client.search("offer", filters={"user_id": "alex"}) == {"results": []}
    assert py_client.get(memory_id)["expiration_date"] == "2020-01-01"

    assert py_client.update(memory_id, expiration_date=None)["expiration_date"] is None
    assert texts_of(py_client.get_all(filters={"user_id": "alex"})) == ["Old offer"]


def test_delete_removes_the_memory_and_history_outlives_it(py_client, server):
    memory_id = add_one(py_client, "Temporary", at=JULY_20_2024, user_id="alex")
    assert py_client.delete(memory_id) == {"message": "Memory deleted successfully!"}
    with pytest.raises(MemoryNotFoundError, match="Memory not found!"):
        py_client.get(memory_id)
    assert [h["event"] for h in py_client.history(memory_id)] == ["ADD", "DELETE"]
    assert py_client.history(memory_id)[1] == history_entry(
        memory_id, "DELETE", old="Temporary", new=None, actor=server.actor, user_id="alex"
    )
    with pytest.raises(MemoryNotFoundError):
        py_client.delete(memory_id)


def test_delete_with_delete_linked_reports_a_cascade_count(py_client):
    memory_id = add_one(py_client, "Temporary", at=JULY_20_2024, user_id="alex")
    assert py_client.delete(memory_id, delete_linked=True) == {
        "message": "Memory deleted successfully!",
        "cascade_count": 0,
    }


def test_bad_ids_map_to_the_sdks_exceptions(py_client):
    with pytest.raises(ValidationError, match="memory_id should be a valid UUID"):
        py_client.get("not-a-uuid")
    with pytest.raises(MemoryNotFoundError, match="Memory not found!"):
        py_client.get("00000000-0000-0000-0000-000000000000")
    with pytest.raises(MemoryNotFoundError, match="Memory not found!"):
        py_client.history("00000000-0000-0000-0000-000000000000")


def test_delete_all_by_run_leaves_other_sessions_intact(py_client):
    add_one(py_client, "Session A fact", at=JULY_20_2024, user_id="alex", run_id="a")
    add_one(py_client, "Session B fact", at=JULY_20_2024 + MINUTE, user_id="alex", run_id="b")
    everything = {"AND": [{"user_id": "alex"}, {"run_id": "*"}]}
    assert py_client.get_all(filters=everything)["count"] == 2

    response = py_client.delete_all(run_id="a")
    assert response == {
        "message": "Memories deleted successfully!",
        "event_id": ANY_UUID,
        "deleted": 1,
    }
    assert texts_of(py_client.get_all(filters=everything)) == ["Session B fact"]


def test_delete_all_accepts_the_sdks_filters_repr(py_client):
    # mem0ai 2.x sends delete_all(filters={...}) as str(dict) in the query string.
    add_one(py_client, "Alex fact", at=JULY_20_2024, user_id="alex")
    add_one(py_client, "Bob fact", at=JULY_20_2024, user_id="bob")
    assert py_client.delete_all(filters={"user_id": "alex"})["deleted"] == 1
    assert texts_of(py_client.get_all(filters={"user_id": "*"})) == ["Bob fact"]
    assert py_client.delete_all(user_id="*")["deleted"] == 1
    with pytest.raises(ValidationError, match="At least one filter is required"):
        py_client.delete_all()


def test_batch_update_and_batch_delete(py_client):
    first = add_one(py_client, "Plays football", at=JULY_20_2024, user_id="alex")
    second = add_one(py_client, "Hates travel", at=JULY_20_2024 + MINUTE, user_id="alex")

    assert py_client.batch_update(
        [
            {"memory_id": first, "text": "Watches football"},
            {"memory_id": second, "text": "Loves to travel", "metadata": {"checked": True}},
        ]
    ) == {"message": "Successfully updated 2 memories"}
    assert py_client.get(first)["memory"] == "Watches football"
    assert py_client.get(second)["metadata"] == {"checked": True}

    assert py_client.batch_delete([{"memory_id": first}, {"memory_id": second}]) == {
        "message": "Successfully deleted 2 memories"
    }
    assert py_client.get_all(filters={"user_id": "alex"})["results"] == []


def test_batch_with_an_unknown_id_changes_nothing(py_client):
    memory_id = add_one(py_client, "Kept", at=JULY_20_2024, user_id="alex")
    unknown = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(MemoryNotFoundError, match="Nothing was changed"):
        py_client.batch_delete([{"memory_id": memory_id}, {"memory_id": unknown}])
    with pytest.raises(ValidationError, match="Maximum of 1000 memories"):
        py_client.batch_update([{"memory_id": memory_id, "text": "x"}] * 1001)
    assert py_client.get(memory_id)["memory"] == "Kept"


def test_users_lists_entities_and_delete_users_removes_them_with_their_memories(py_client):
    py_client.add(NUTS, user_id="alex", agent_id="chef", run_id="r1", infer=False)
    add_one(py_client, "Bob fact", at=JULY_20_2024, user_id="bob/with slash")

    users = py_client.users()
    assert sorted(users["results"], key=lambda e: (e["type"], e["name"])) == [
        entity("chef", "agent", 1),
        entity("r1", "run", 2),
        entity("alex", "user", 1),
        entity("bob/with slash", "user", 1),
    ]
    assert {k: users[k] for k in ("count", "next", "previous")} == {
        "count": 4,
        "next": None,
        "previous": None,
    }
    assert {k: v for k, v in users.items() if k.startswith("total_")} == {
        "total_users": 2,
        "total_agents": 1,
        "total_apps": 0,
        "total_runs": 1,
    }

    assert py_client.delete_users(user_id="bob/with slash") == {
        "message": "Entity deleted successfully."
    }
    assert py_client.get_all(filters={"user_id": "*"})["count"] == 1
    with pytest.raises(MemoryNotFoundError):
        py_client.delete_users(user_id="nobody")

    assert py_client.reset() == {
        "message": "Client reset successful. All users and memories deleted."
    }
    assert py_client.users()["results"] == []
    assert Memory.objects.count() == 0
    with pytest.raises(ValueError, match="No entities to delete"):
        py_client.delete_users()


def test_feedback_is_recorded_and_cleared(py_client):
    memory_id = add_one(py_client, "Likes tea", at=JULY_20_2024, user_id="alex")
    assert py_client.feedback(memory_id, "negative", "Wrong person") == {
        "id": memory_id,
        "feedback": "NEGATIVE",
        "feedback_reason": "Wrong person",
    }
    assert py_client.feedback(memory_id) == {
        "id": memory_id,
        "feedback": None,
        "feedback_reason": None,
    }
    with pytest.raises(MemoryNotFoundError):
        py_client.feedback("00000000-0000-0000-0000-000000000000", "POSITIVE")


def test_project_get_and_update(py_client, server):
    assert py_client.project.update(
        custom_instructions="Only store food preferences.",
        custom_categories=[{"diet": "What the user eats"}, "allergies"],
        multilingual=True,
        decay=False,
    ) == {"message": "Project updated successfully"}
    project = py_client.project.get(fields=["custom_instructions"])
    assert project == {
        "project_id": server.project.public_id,
        "org_id": server.project.organization.public_id,
        "name": "sdk-compat",
        "description": "",
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
        "members": [],
        "custom_instructions": "Only store food preferences.",
        "agent_custom_instructions": None,
        "custom_categories": [{"diet": "What the user eats"}, {"allergies": ""}],
        "is_default": False,
        "user_role": "admin",
        "pii_mode": "flag",
        "attribution": "speaker",
        "multilingual": True,
        "decay": False,
        "enable_graph": None,
        "memory_depth": None,
        "usecase_setting": None,
        "version": None,
        "inclusion_prompt": None,
        "exclusion_prompt": None,
        "update_custom_instructions": None,
        "summary_custom_instructions": None,
    }


def test_deprecated_project_methods_still_work(py_client):
    assert py_client.update_project(
        custom_instructions="Be brief", memory_depth="deep", agent_custom_instructions=""
    ) == {"message": "Project updated successfully"}
    project = py_client.get_project(fields=["custom_instructions"])
    assert (project["custom_instructions"], project["memory_depth"]) == ("Be brief", "deep")


def test_non_admin_key_cannot_update_the_project(server):
    key = create_api_key(server.project, role=Role.EDITOR, name="editor")
    client = MemoryClient(api_key=key, host=server.host)
    with pytest.raises(AuthenticationError, match="needs admin"):
        client.project.update(custom_instructions="x")


def test_infer_true_without_an_llm_raises_a_clear_error(py_client):
    with pytest.raises(
        MemoryError, match=r"infer=true\) needs an LLM: set OPENAI_API_KEY.*infer=false"
    ):
        py_client.add("I like tea", user_id="alex")


def test_async_client_round_trip(server):
    async def scenario():
        client = AsyncMemoryClient(api_key=server.api_key, host=server.host)
        added = await client.add("Async fact", user_id="alex", infer=False, timestamp=JULY_20_2024)
        memory_id = added["results"][0]["id"]
        listed = await client.get_all(filters={"user_id": "alex"})
        found = await client.search("async", filters={"user_id": "alex"})
        project = await client.project.get()
        deleted = await client.delete(memory_id)
        return added, listed, found, project, deleted

    # In a thread of its own: Playwright's sync API (the browser tests) leaves an event loop
    # running in the main thread, where asyncio.run() refuses to start another.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        added, listed, found, project, deleted = pool.submit(asyncio.run, scenario()).result()
    assert added == add_response("Async fact")
    assert listed == page([memory("Async fact", user_id="alex")])
    assert found == {"results": [memory("Async fact", user_id="alex", score=ANY_SCORE)]}
    assert project["project_id"] == server.project.public_id
    assert deleted == {"message": "Memory deleted successfully!"}
