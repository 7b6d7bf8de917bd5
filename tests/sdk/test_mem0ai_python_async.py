"""mem0ai 2.x's AsyncMemoryClient, in-process, against a live memdash: every method, pinned like
the synchronous client's (tests/sdk/test_mem0ai_python.py).

The async client pings with `requests` in its constructor and sends everything else through an
httpx.AsyncClient, to the same paths as the sync client. Each test runs one scenario coroutine
with one client (`arun`) in a thread of its own, whose event loop closes the client at the end.
"""

import asyncio
import concurrent.futures
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from mem0 import AsyncMemoryClient
from mem0.exceptions import (
    AuthenticationError,
    MemoryNotFoundError,
    ValidationError,
)
from mem0.exceptions import MemoryError as Mem0MemoryError

from memories.models import Event, Export, Memory, Webhook
from tenancy.models import Role
from tenancy.services import create_api_key
from tests.conftest import ANY_SCORE, ANY_TIMESTAMP, ANY_UUID
from tests.sdk.payloads import (
    DAY,
    JULY_20_2024,
    MINUTE,
    add_response,
    entity,
    history_entry,
    memory,
    page,
)
from tests.sdk.webhook_payloads import (
    DELETED,
    NOT_FOUND,
    OTHER_RECEIVER,
    RECEIVER,
    UPDATED,
    webhook,
)

pytestmark = [pytest.mark.sdk, pytest.mark.django_db(transaction=True)]

NUTS = [
    {"role": "user", "content": "I'm allergic to nuts"},
    {"role": "assistant", "content": "Noted, no nuts in your recipes."},
]
PROFILE = {
    "title": "Profile",
    "type": "object",
    "properties": {"likes": {"type": "array", "items": {"type": "string"}}},
    "required": ["likes"],
}
EXPORT_RECEIVED = "Memory export request received. The export will be ready in a few seconds."
EXPORT_NOT_READY = "The export is still being built; ask again in a few seconds."

Scenario = Callable[[AsyncMemoryClient], Awaitable[Any]]


@pytest.fixture
def arun(server) -> Callable[..., Any]:
    """`arun(scenario)` awaits `scenario(client)` with a fresh AsyncMemoryClient and returns
    its result; an exception (a failed assertion too) propagates."""

    def run(scenario: Scenario, *, api_key: str | None = None) -> Any:
        async def main() -> Any:
            client = AsyncMemoryClient(api_key=api_key or server.api_key, host=server.host)
            async with client:
                return await scenario(client)

        # Playwright's sync API (the browser tests) leaves an event loop running in the main
        # thread, where asyncio.run() refuses to start another.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, main()).result()

    return run


async def add_one(client: AsyncMemoryClient, text: str, *, at: int, **ids: str) -> str:
    added = await client.add(text, infer=False, timestamp=at, **ids)
    return str(added["results"][0]["id"])


def texts_of(response: dict) -> list[str]:
    return [m["memory"] for m in response["results"]]


# --- construction ----------------------------------------------------------------------------


def test_client_learns_org_project_and_email_from_ping(arun, server):
    async def scenario(client):
        return client.org_id, client.project_id, client.user_email, client.project.project_id

    assert arun(scenario) == (
        server.project.organization.public_id,
        server.project.public_id,
        "owner@example.com",
        server.project.public_id,
    )


def test_bad_api_key_fails_construction_with_the_servers_detail(server):
    with pytest.raises(ValueError, match=r"^Error: Invalid API key\. Check the key"):
        AsyncMemoryClient(api_key="m0-not-a-real-key", host=server.host)


# --- add, get, get_all, search ---------------------------------------------------------------


def test_add_verbatim_attributes_user_and_assistant_messages(arun):
    async def scenario(client):
        response = await client.add(
            NUTS,
            user_id="alex",
            agent_id="chef",
            infer=False,
            metadata={"food": "vegan"},
            timestamp=JULY_20_2024,
        )
        ids = [r["id"] for r in response["results"]]
        return response, ids, [await client.get(memory_id) for memory_id in ids]

    response, (user_memory, agent_memory), got = arun(scenario)
    assert response == add_response("I'm allergic to nuts", "Noted, no nuts in your recipes.")
    assert got == [
        memory("I'm allergic to nuts", id=user_memory, user_id="alex", metadata={"food": "vegan"}),
        memory(
            "Noted, no nuts in your recipes.",
            id=agent_memory,
            agent_id="chef",
            role="assistant",
            metadata={"food": "vegan"},
        ),
    ]


def test_add_skips_exact_duplicates_and_infer_without_an_llm_is_a_clear_error(arun):
    async def scenario(client):
        first = await client.add("Likes tea", user_id="alex", infer=False)
        again = await client.add("Likes tea", user_id="alex", infer=False)
        with pytest.raises(Mem0MemoryError, match=r"infer=true\) needs an LLM: set OPENAI_API_KEY"):
            await client.add("I like coffee", user_id="alex")
        return first, again

    assert arun(scenario) == (add_response("Likes tea"), add_response())
    assert Memory.objects.count() == 1


def test_get_of_bad_or_unknown_ids_raises_the_sdks_exceptions(arun):
    async def scenario(client):
        with pytest.raises(ValidationError, match="memory_id should be a valid UUID"):
            await client.get("not-a-uuid")
        with pytest.raises(MemoryNotFoundError, match="^Memory not found!$"):
            await client.get(str(uuid.UUID(int=0)))
        with pytest.raises(MemoryNotFoundError, match="^Memory not found!$"):
            await client.history(str(uuid.UUID(int=0)))

    arun(scenario)


def test_get_all_pages_with_absolute_links(arun, server):
    async def scenario(client):
        ids = [
            await add_one(client, f"Fact {n}", at=JULY_20_2024 + n * MINUTE, user_id="alex")
            for n in range(3)
        ]
        first = await client.get_all(filters={"user_id": "alex"}, page=1, page_size=2)
        second = await client.get_all(filters={"user_id": "alex"}, page=2, page_size=2)
        everything = await client.get_all(filters={"user_id": "alex"})
        with pytest.raises(MemoryNotFoundError, match="Invalid page"):
            await client.get_all(filters={"user_id": "alex"}, page=3, page_size=2)
        with pytest.raises(ValidationError, match="filters must scope to at least one of"):
            await client.get_all(filters={"metadata": {"food": "vegan"}})
        return ids, first, second, everything

    ids, first, second, everything = arun(scenario)
    facts = [
        memory(f"Fact {n}", id=ids[n], at=JULY_20_2024 + n * MINUTE, user_id="alex")
        for n in range(3)
    ]
    assert first == page(
        [facts[2], facts[1]], count=3, next=f"{server.host}/v3/memories/?page=2&page_size=2"
    )
    assert second == page([facts[0]], count=3, previous=f"{server.host}/v3/memories/?page_size=2")
    assert everything == page([facts[2], facts[1], facts[0]])


def test_search_ranks_within_filters_and_honours_options(arun):
    async def scenario(client):
        await client.add(NUTS, user_id="alex", agent_id="chef", infer=False, timestamp=JULY_20_2024)
        await add_one(client, "Planning a trip to Japan", at=JULY_20_2024 + MINUTE, user_id="alex")
        await add_one(client, "Bob is allergic to shellfish", at=JULY_20_2024, user_id="bob")
        with pytest.raises(ValueError, match="cannot be empty"):
            await client.search("  ", filters={"user_id": "alex"})
        with pytest.raises(ValidationError, match="filters is required"):
            await client.search("anything")
        return (
            await client.search("What is alex allergic to?", filters={"user_id": "alex"}),
            await client.search("allergy", filters={"user_id": "alex"}, threshold=0),
            await client.search("allergy", filters={"user_id": "*"}, top_k=1, fields=["memory"]),
            await client.search("allergy", filters={"user_id": "alex"}, threshold=0.99),
            await client.search("nuts", filters={"agent_id": "chef"}, rerank=True),
        )

    alex, everything, top, nothing, agent = arun(scenario)
    assert alex == {"results": [memory("I'm allergic to nuts", user_id="alex", score=ANY_SCORE)]}
    assert texts_of(everything) == ["I'm allergic to nuts", "Planning a trip to Japan"]
    assert everything["results"][0]["score"] > everything["results"][1]["score"]
    assert top == {
        "results": [{"id": ANY_UUID, "memory": "I'm allergic to nuts", "score": ANY_SCORE}]
    }
    assert nothing == {"results": []}
    assert texts_of(agent) == ["Noted, no nuts in your recipes."]


# --- update, history, delete -----------------------------------------------------------------


def test_update_returns_the_memory_and_history_records_each_change(arun, server):
    async def scenario(client):
        added = await client.add(
            NUTS, user_id="alex", infer=False, timestamp=JULY_20_2024, metadata={"v": 1}
        )
        memory_id = added["results"][0]["id"]
        updated = await client.update(memory_id, text="Allergic to peanuts", metadata={"v": 2})
        await client.update(memory_id, timestamp=JULY_20_2024 + DAY)
        with pytest.raises(ValueError, match="At least one of text"):
            await client.update(memory_id)
        return memory_id, updated, await client.history(memory_id), await client.get(memory_id)

    memory_id, updated, history, got = arun(scenario)
    assert updated == memory(
        "Allergic to peanuts",
        id=memory_id,
        user_id="alex",
        metadata={"v": 2},
        updated_at=ANY_TIMESTAMP,
    )
    assert updated["updated_at"] > updated["created_at"]
    assert history == [
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
    assert got["created_at"] == "2024-07-21T12:00:00+00:00"


def test_update_clears_an_expiration_date_and_immutable_memories_refuse_changes(arun):
    async def scenario(client):
        offer = (
            await client.add("Old offer", user_id="alex", infer=False, expiration_date="2020-01-01")
        )["results"][0]["id"]
        fixed = (await client.add("Fixed fact", user_id="bob", infer=False, immutable=True))[
            "results"
        ][0]["id"]
        hidden = await client.get_all(filters={"user_id": "alex"})
        shown = await client.get_all(filters={"user_id": "alex"}, show_expired=True)
        cleared = await client.update(offer, expiration_date=None)
        with pytest.raises(ValidationError, match="is immutable and cannot be updated"):
            await client.update(fixed, text="Changed")
        return hidden, shown, cleared, await client.get_all(filters={"user_id": "alex"})

    hidden, shown, cleared, listed = arun(scenario)
    assert hidden["results"] == []
    assert texts_of(shown) == ["Old offer"]
    assert cleared["expiration_date"] is None
    assert texts_of(listed) == ["Old offer"]


def test_delete_removes_the_memory_and_history_outlives_it(arun, server):
    async def scenario(client):
        memory_id = await add_one(client, "Temporary", at=JULY_20_2024, user_id="alex")
        linked = await add_one(client, "Linked", at=JULY_20_2024, user_id="alex")
        deleted = await client.delete(memory_id)
        with pytest.raises(MemoryNotFoundError, match="^Memory not found!$"):
            await client.get(memory_id)
        with pytest.raises(MemoryNotFoundError):
            await client.delete(memory_id)
        cascade = await client.delete(linked, delete_linked=True)
        return memory_id, deleted, cascade, await client.history(memory_id)

    memory_id, deleted, cascade, history = arun(scenario)
    assert deleted == {"message": "Memory deleted successfully!"}
    assert cascade == {"message": "Memory deleted successfully!", "cascade_count": 0}
    assert history[1] == history_entry(
        memory_id, "DELETE", old="Temporary", new=None, actor=server.actor, user_id="alex"
    )
    assert [h["event"] for h in history] == ["ADD", "DELETE"]


def test_delete_all_by_run_and_by_filters(arun):
    everything = {"AND": [{"user_id": "*"}, {"run_id": "*"}]}

    async def scenario(client):
        await add_one(client, "Session A fact", at=JULY_20_2024, user_id="alex", run_id="a")
        await add_one(
            client, "Session B fact", at=JULY_20_2024 + MINUTE, user_id="alex", run_id="b"
        )
        await add_one(client, "Bob fact", at=JULY_20_2024, user_id="bob")
        by_run = await client.delete_all(run_id="a")
        after_run = await client.get_all(filters=everything)
        # Sent as str(dict) in the query string, as the sync client does.
        by_filters = await client.delete_all(filters={"user_id": "bob"})
        with pytest.raises(ValidationError, match="At least one filter is required"):
            await client.delete_all()
        return by_run, after_run, by_filters, await client.get_all(filters={"user_id": "*"})

    by_run, after_run, by_filters, remaining = arun(scenario)
    assert by_run == {
        "message": "Memories deleted successfully!",
        "event_id": ANY_UUID,
        "deleted": 1,
    }
    assert texts_of(after_run) == ["Session B fact"]
    assert by_filters["deleted"] == 1
    assert texts_of(remaining) == ["Session B fact"]


# --- batches, feedback -----------------------------------------------------------------------


def test_batch_update_and_batch_delete(arun):
    async def scenario(client):
        first = await add_one(client, "Plays football", at=JULY_20_2024, user_id="alex")
        second = await add_one(client, "Hates travel", at=JULY_20_2024 + MINUTE, user_id="alex")
        updated = await client.batch_update(
            [
                {"memory_id": first, "text": "Watches football"},
                {"memory_id": second, "text": "Loves to travel", "metadata": {"checked": True}},
            ]
        )
        listed = await client.get_all(filters={"user_id": "alex"})
        with pytest.raises(MemoryNotFoundError, match="Nothing was changed"):
            await client.batch_delete([{"memory_id": first}, {"memory_id": str(uuid.UUID(int=0))}])
        deleted = await client.batch_delete([{"memory_id": first}, {"memory_id": second}])
        return updated, listed, deleted, await client.get_all(filters={"user_id": "alex"})

    updated, listed, deleted, after = arun(scenario)
    assert updated == {"message": "Successfully updated 2 memories"}
    assert [(m["memory"], m["metadata"]) for m in listed["results"]] == [
        ("Loves to travel", {"checked": True}),
        ("Watches football", None),
    ]
    assert deleted == {"message": "Successfully deleted 2 memories"}
    assert after["results"] == []


def test_feedback_is_recorded_and_cleared(arun):
    async def scenario(client):
        memory_id = await add_one(client, "Likes tea", at=JULY_20_2024, user_id="alex")
        given = await client.feedback(memory_id, "negative", "Wrong person")
        cleared = await client.feedback(memory_id)
        with pytest.raises(MemoryNotFoundError):
            await client.feedback(str(uuid.UUID(int=0)), "POSITIVE")
        return memory_id, given, cleared

    memory_id, given, cleared = arun(scenario)
    assert given == {"id": memory_id, "feedback": "NEGATIVE", "feedback_reason": "Wrong person"}
    assert cleared == {"id": memory_id, "feedback": None, "feedback_reason": None}


# --- entities --------------------------------------------------------------------------------


def test_users_lists_entities_and_delete_users_and_reset_remove_them(arun):
    async def scenario(client):
        await client.add(NUTS, user_id="alex", agent_id="chef", run_id="r1", infer=False)
        await add_one(client, "Bob fact", at=JULY_20_2024, user_id="bob/with slash")
        users = await client.users()
        deleted = await client.delete_users(user_id="bob/with slash")
        with pytest.raises(MemoryNotFoundError):
            await client.delete_users(user_id="nobody")
        after_bob = await client.get_all(filters={"user_id": "*"})
        reset = await client.reset()
        after_reset = await client.users()
        with pytest.raises(ValueError, match="^No entities to delete$"):
            await client.delete_users()
        return users, deleted, after_bob, reset, after_reset

    users, deleted, after_bob, reset, after_reset = arun(scenario)
    assert sorted(users["results"], key=lambda e: (e["type"], e["name"])) == [
        entity("chef", "agent", 1),
        entity("r1", "run", 2),
        entity("alex", "user", 1),
        entity("bob/with slash", "user", 1),
    ]
    assert {k: v for k, v in users.items() if k != "results"} == {
        "count": 4,
        "next": None,
        "previous": None,
        "total_users": 2,
        "total_agents": 1,
        "total_apps": 0,
        "total_runs": 1,
    }
    assert deleted == {"message": "Entity deleted successfully."}
    assert after_bob["count"] == 1
    assert reset == {"message": "Client reset successful. All users and memories deleted."}
    assert after_reset["results"] == []
    assert Memory.objects.count() == 0


# --- the project -----------------------------------------------------------------------------


def project_payload(server, **settings: Any) -> dict:
    """GET of the project as memdash serves it, with `settings` changed from the defaults."""
    return {
        "project_id": server.project.public_id,
        "org_id": server.project.organization.public_id,
        "name": "sdk-compat",
        "description": "",
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
        "members": [],
        "custom_instructions": None,
        "agent_custom_instructions": None,
        "custom_categories": [],
        "is_default": False,
        "user_role": "admin",
        "pii_mode": "flag",
        "attribution": "speaker",
        "multilingual": None,
        "decay": None,
        "enable_graph": None,
        "memory_depth": None,
        "usecase_setting": None,
        "version": None,
        "inclusion_prompt": None,
        "exclusion_prompt": None,
        "update_custom_instructions": None,
        "summary_custom_instructions": None,
        **settings,
    }


def test_project_get_and_update(arun, server):
    async def scenario(client):
        updated = await client.project.update(
            custom_instructions="Only store food preferences.",
            custom_categories=[{"diet": "What the user eats"}, "allergies"],
            multilingual=True,
            decay=False,
        )
        return updated, await client.project.get(fields=["custom_instructions"])

    updated, project = arun(scenario)
    assert updated == {"message": "Project updated successfully"}
    assert project == project_payload(
        server,
        custom_instructions="Only store food preferences.",
        custom_categories=[{"diet": "What the user eats"}, {"allergies": ""}],
        multilingual=True,
        decay=False,
    )


def test_deprecated_project_methods_still_work(arun, server):
    async def scenario(client):
        updated = await client.update_project(
            custom_instructions="Be brief", memory_depth="deep", agent_custom_instructions=""
        )
        with pytest.raises(ValueError, match="you must provide at least one of them"):
            await client.update_project()
        return updated, await client.get_project(fields=["custom_instructions"])

    updated, project = arun(scenario)
    assert updated == {"message": "Project updated successfully"}
    # An empty agent_custom_instructions clears them.
    assert project == project_payload(server, custom_instructions="Be brief", memory_depth="deep")


def test_non_admin_key_cannot_update_the_project_or_manage_webhooks(arun, server):
    key = create_api_key(server.project, role=Role.EDITOR, name="editor")

    async def scenario(client):
        with pytest.raises(AuthenticationError, match="needs admin"):
            await client.project.update(custom_instructions="x")
        with pytest.raises(AuthenticationError, match="needs admin"):
            await client.get_webhooks(server.project.public_id)

    arun(scenario, api_key=key)


# --- webhooks --------------------------------------------------------------------------------


def test_webhooks_are_created_listed_updated_and_deleted(arun, server):
    project_id = server.project.public_id

    async def scenario(client):
        created = await client.create_webhook(
            url=RECEIVER, name="audit", project_id=project_id, event_types=["memory_add"]
        )
        hook_id = created["webhook_id"]
        listed = await client.get_webhooks(project_id)
        updated = await client.update_webhook(
            hook_id, url=OTHER_RECEIVER, event_types=["memory_update", "memory:delete"]
        )
        relisted = await client.get_webhooks(project_id)
        with pytest.raises(ValidationError, match="^Unknown webhook event type 'memory_explode'"):
            await client.update_webhook(hook_id, event_types=["memory_explode"])
        deleted = await client.delete_webhook(hook_id)
        with pytest.raises(MemoryNotFoundError, match=f"^{NOT_FOUND}$"):
            await client.delete_webhook(hook_id)
        with pytest.raises(MemoryNotFoundError, match="^Project not found$"):
            await client.get_webhooks("another-project")
        return created, listed, updated, relisted, deleted, await client.get_webhooks(project_id)

    created, listed, updated, relisted, deleted, after = arun(scenario)
    hook_id = created["webhook_id"]
    assert created == webhook(
        project_id, name="audit", event_types=["memory_add"], with_secret=True
    )
    assert listed == [webhook(project_id, id=hook_id, name="audit", event_types=["memory_add"])]
    assert updated == UPDATED
    assert relisted == [
        webhook(
            project_id,
            id=hook_id,
            name="audit",
            url=OTHER_RECEIVER,
            event_types=["memory_update", "memory_delete"],
        )
    ]
    assert deleted == DELETED
    assert after == []
    assert not Webhook.objects.exists()


# --- exports ---------------------------------------------------------------------------------


@pytest.fixture
def no_worker(live_server, transactional_db):
    """Tasks go to an in-memory broker that nothing consumes: exports stay PENDING."""
    from testkit.workers import use_broker

    with use_broker("memory://"):
        yield


def test_memory_export_stays_pending_without_a_worker(arun, no_worker):
    async def scenario(client):
        created = await client.create_memory_export(schema=PROFILE, filters={"user_id": "alex"})
        got = await client.get_memory_export(memory_export_id=created["id"])
        with pytest.raises(MemoryNotFoundError, match="^No memory export request found$"):
            await client.get_memory_export(memory_export_id=str(uuid.uuid4()))
        with pytest.raises(ValidationError, match="^filters is required"):
            await client.create_memory_export(schema=PROFILE)
        return created, got

    created, got = arun(scenario)
    assert created == {
        "message": EXPORT_RECEIVED,
        "id": ANY_UUID,
        "event_id": ANY_UUID,
        "status": "PENDING",
    }
    assert got == {
        "id": created["id"],
        "status": "PENDING",
        "message": EXPORT_NOT_READY,
        "progress": None,
    }
    assert Export.objects.get().event.status == Event.Status.PENDING


async def built_export(client: AsyncMemoryClient, export_id: str) -> dict:
    """Ask for the export until it is no longer a PENDING or RUNNING 202 answer."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = await client.get_memory_export(memory_export_id=export_id)
        if answer.get("status") not in ("PENDING", "RUNNING"):
            return answer
        await asyncio.sleep(0.2)
    raise AssertionError(f"export {export_id} was not built in 30 s")


def test_memory_export_is_built_by_a_worker_with_the_llm(arun, on_redis, fake_llm):
    fake_llm.on("fill export schema", reply={"likes": ["hiking", "tea"]})

    async def scenario(client):
        await add_one(client, "Alex likes hiking", at=JULY_20_2024, user_id="alex")
        await add_one(client, "Alex likes tea", at=JULY_20_2024 + MINUTE, user_id="alex")
        created = await client.create_memory_export(
            schema=PROFILE, filters={"user_id": "alex"}, export_instructions="Only hobbies"
        )
        by_id = await built_export(client, created["id"])
        by_filters = await client.get_memory_export(filters={"user_id": "alex"})
        return created, by_id, by_filters

    created, by_id, by_filters = arun(scenario)
    assert by_id == by_filters == {"likes": ["hiking", "tea"]}
    (prompt,) = fake_llm.calls_for("fill export schema")
    assert "Alex likes hiking" in prompt.user and "Only hobbies" in prompt.user
    assert Export.objects.get(pk=created["id"]).llm_used is True


# --- client-side only ------------------------------------------------------------------------


def test_chat_is_not_implemented_client_side(arun):
    async def scenario(client):
        with pytest.raises(NotImplementedError, match="^Chat is not implemented yet$"):
            await client.chat()

    arun(scenario)
