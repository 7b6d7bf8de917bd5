"""The MCP endpoint at /mcp/, driven by the official `mcp` client (streamable HTTP) against a
live server: Django's live_server, and a real gunicorn with threaded workers.

Each tool is checked against the REST API it mirrors: the same answer for the same memory, the
same refusal message (after the SDK's "Error executing tool <name>: " prefix), the same Event
and access-log row, with the surface "mcp" and the key as the actor.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, Tool

from audit.models import AuditEntry
from memories.models import Event, Memory, MemoryHistory
from tenancy.models import ApiKey, Role, hash_key
from tenancy.services import create_api_key, revoke_api_key
from testkit.web import WebServer
from tests.conftest import ANY_UUID, add_verbatim, run_async

pytestmark = pytest.mark.django_db(transaction=True)

# Each tool and the arguments it requires: what a client's model is told it must send.
TOOLS = {
    "add_memories": ["messages"],
    "search_memories": ["query"],
    "list_memories": [],
    "get_memory": ["memory_id"],
    "update_memory": ["memory_id"],
    "delete_memory": ["memory_id"],
    "delete_all_memories": [],
}
READS = {"search_memories", "list_memories", "get_memory"}
WRITES = set(TOOLS) - READS
VIEWER_REFUSED = "This API key has the viewer role; this operation needs editor."


class Mcp:
    """One MCP caller: the endpoint's URL and an API key, with blocking helpers for tests.

    Every call opens the official client afresh (discovery included), as a stateless endpoint
    must allow.
    """

    def __init__(self, url: str, raw_key: str, *, mode: str = "auto") -> None:
        self.url = url
        self.raw_key = raw_key
        self.mode = mode

    async def _session(self, work: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.raw_key}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as http,
            Client(streamable_http_client(self.url, http_client=http), mode=self.mode) as client,
        ):
            return await work(client)

    def tools(self) -> list[Tool]:
        async def work(client: Client) -> list[Tool]:
            return (await client.list_tools()).tools

        return run_async(self._session(work))

    def call(self, name: str, **arguments: Any) -> CallToolResult:
        async def work(client: Client) -> CallToolResult:
            return await client.call_tool(name, arguments)

        return run_async(self._session(work))

    def ok(self, name: str, **arguments: Any) -> Any:
        """A call that must succeed: its structured answer."""
        result = self.call(name, **arguments)
        assert result.is_error is False, result.content
        return result.structured_content

    def refusal(self, name: str, **arguments: Any) -> str:
        """A call that must fail as a tool error: the text the model reads."""
        result = self.call(name, **arguments)
        assert result.is_error is True, result.structured_content
        (content,) = result.content
        return content.text  # type: ignore[union-attr]


def key_of(raw: str) -> ApiKey:
    return ApiKey.objects.get(key_hash=hash_key(raw))


def refused(tool: str, detail: str) -> str:
    return f"Error executing tool {tool}: {detail}"


@pytest.fixture
def url(live_server) -> str:
    return f"{live_server.url}/mcp/"


@pytest.fixture
def mcp(url, api_key) -> Mcp:
    """The project's admin key (tests.conftest `api_key`, the same one `api` uses)."""
    return Mcp(url, api_key)


@pytest.fixture
def viewer(url, project) -> Mcp:
    return Mcp(url, create_api_key(project, role=Role.VIEWER, name="mcp viewer"))


@pytest.fixture
def outsider(url, other_project) -> Mcp:
    return Mcp(url, create_api_key(other_project, role=Role.ADMIN, name="mcp outsider"))


@pytest.fixture
def kenji(api) -> list[dict]:
    """Two memories of kenji and one of maria, stored through the REST API."""
    add_verbatim(api, "Kenji drinks his coffee black", user_id="kenji")
    add_verbatim(api, "Kenji plays the cello", user_id="kenji")
    add_verbatim(api, "Maria is a vegetarian", user_id="maria")
    return api.post("/v3/memories/", {"filters": {"user_id": "kenji"}}, format="json").json()[
        "results"
    ]


_first_row = {"id": 0}


@pytest.fixture(autouse=True)
def _new_rows_only(transactional_db):
    """The access log is append-only, so it outlives each test's flush: reads are this test's
    rows only."""
    last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    _first_row["id"] = (last or 0) + 1


def mcp_reads() -> list[AuditEntry]:
    """This test's access-log rows written through the MCP endpoint, oldest first."""
    rows = AuditEntry.objects.filter(surface="mcp", id__gte=_first_row["id"])
    return list(rows.order_by("id"))


def events() -> list[tuple[str, str, str]]:
    return [(e.event_type, e.status, e.actor) for e in Event.objects.order_by("created_at")]


# --- the tools -------------------------------------------------------------------------------


def test_the_tools_are_listed_with_their_required_arguments(mcp):
    tools = mcp.tools()
    assert {tool.name: tool.input_schema.get("required", []) for tool in tools} == TOOLS
    assert {t.name for t in tools if t.annotations and t.annotations.read_only_hint} == READS
    assert {t.name for t in tools if t.annotations and t.annotations.destructive_hint} == {
        "update_memory",
        "delete_memory",
        "delete_all_memories",
    }
    # Written for the model that reads them: every tool and argument is described.
    for tool in tools:
        assert tool.description, tool.name
        for name, schema in tool.input_schema["properties"].items():
            assert schema.get("description"), (tool.name, name)


def test_the_endpoint_answers_with_or_without_the_slash_and_in_the_handshake_era(
    live_server, api_key
):
    for path in ("/mcp", "/mcp/"):
        for mode in ("auto", "legacy"):
            names = [tool.name for tool in Mcp(live_server.url + path, api_key, mode=mode).tools()]
            assert names == list(TOOLS), (path, mode)


def test_add_stores_messages_verbatim_and_records_the_event(mcp, api_key, project):
    answer = mcp.ok(
        "add_memories",
        messages="Kenji drinks his coffee black",
        user_id="kenji",
        metadata={"source": "chat"},
        infer=False,
    )
    text = "Kenji drinks his coffee black"
    assert answer == {
        "event_id": ANY_UUID,
        "status": "SUCCEEDED",
        "results": [{"id": ANY_UUID, "memory": text, "data": {"memory": text}, "event": "ADD"}],
    }
    event = Event.objects.get(pk=answer["event_id"])
    assert (event.project_id, event.event_type, event.status, event.actor) == (
        project.pk,
        "ADD",
        "SUCCEEDED",
        key_of(api_key).actor,
    )
    memory = Memory.objects.get(pk=answer["results"][0]["id"])
    assert (memory.memory, memory.user_id, memory.metadata) == (text, "kenji", {"source": "chat"})


def test_add_infers_by_default_from_a_conversation(mcp, api_key, fake_llm):
    fake_llm.on(
        "extract facts", reply={"facts": [{"text": "Is allergic to peanuts", "message": 1}]}
    )
    answer = mcp.ok(
        "add_memories",
        messages=[
            {"role": "user", "content": "I'm allergic to peanuts."},
            {"role": "assistant", "content": "Noted, no peanuts."},
        ],
        user_id="maria",
    )
    text = "Is allergic to peanuts"
    assert answer == {
        "event_id": ANY_UUID,
        "status": "SUCCEEDED",
        "results": [{"id": ANY_UUID, "memory": text, "data": {"memory": text}, "event": "ADD"}],
    }
    assert "extract facts" in [call.task for call in fake_llm.calls]
    event = Event.objects.get(pk=answer["event_id"])
    assert (event.event_type, event.actor, event.metadata["infer"]) == (
        "ADD",
        key_of(api_key).actor,
        True,
    )
    assert Memory.objects.get().user_id == "maria"


def test_add_with_inference_and_no_llm_is_a_tool_error(mcp, settings):
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""
    assert mcp.refusal("add_memories", messages="I like tea", user_id="alex") == refused(
        "add_memories",
        "Memory inference (infer=true) needs an LLM: set OPENAI_API_KEY (and OPENAI_BASE_URL for "
        "any OpenAI-compatible server) on the memdash server, or send infer=false to store "
        "messages verbatim.",
    )
    assert (Event.objects.count(), Memory.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param({"messages": "I like tea", "infer": False}, id="no entity id"),
        pytest.param(
            {"messages": [{"role": "robot", "content": "hi"}], "user_id": "a", "infer": False},
            id="unknown role",
        ),
        pytest.param({"messages": [], "user_id": "a", "infer": False}, id="no messages"),
    ],
)
def test_add_refuses_what_the_api_refuses_with_its_message(mcp, api, arguments):
    answer = api.post("/v3/memories/add/", arguments, format="json")
    assert answer.status_code == 400, answer.content
    assert mcp.refusal("add_memories", **arguments) == refused(
        "add_memories", answer.json()["detail"]
    )
    assert Memory.objects.count() == 0


def test_search_answers_as_the_api_does_and_logs_the_read(mcp, api, api_key, kenji, project):
    answer = mcp.ok("search_memories", query="coffee", user_id="kenji", top_k=1)
    (row,) = mcp_reads()
    key = key_of(api_key)
    assert (row.kind, row.action, row.project_id, row.query, row.entities, row.path) == (
        "read",
        "memories.search",
        project.pk,
        "coffee",
        ["user:kenji"],
        "/mcp/",
    )
    assert (row.actor_type, row.actor_id, row.actor_label, row.role) == (
        "key",
        str(key.pk),
        key.actor,
        "admin",
    )
    assert [str(pk) for pk in row.memory_ids] == [m["id"] for m in answer["results"]]
    assert row.request_id
    rest = api.post(
        "/v3/memories/search/",
        {"query": "coffee", "filters": {"user_id": "kenji"}, "top_k": 1},
        format="json",
    )
    assert answer == rest.json()
    assert [m["memory"] for m in answer["results"]] == ["Kenji drinks his coffee black"]


def test_search_takes_the_filter_language_too(mcp, kenji):
    answer = mcp.ok(
        "search_memories", query="music", filters={"OR": [{"user_id": "kenji"}, {"user_id": "x"}]}
    )
    assert {m["user_id"] for m in answer["results"]} == {"kenji"}
    (row,) = mcp_reads()
    assert (row.action, row.filters, row.entities) == (
        "memories.search",
        {"OR": [{"user_id": "kenji"}, {"user_id": "x"}]},
        ["user:kenji", "user:x"],
    )


def test_list_pages_newest_first_with_a_cursor_and_logs_each_page(mcp, api, kenji):
    first = mcp.ok("list_memories", user_id="kenji", page_size=1)
    assert (first["count"], first["results"], first["next_cursor"] is not None) == (
        2,
        kenji[:1],
        True,
    )
    second = mcp.ok("list_memories", user_id="kenji", page_size=1, cursor=first["next_cursor"])
    assert (second["count"], second["results"], second["next_cursor"]) == (2, kenji[1:], None)
    rows = mcp_reads()
    assert [(r.action, r.total, [str(pk) for pk in r.memory_ids]) for r in rows] == [
        ("memories.list", 2, [kenji[0]["id"]]),
        ("memories.list", 2, [kenji[1]["id"]]),
    ]
    assert mcp.refusal("list_memories", user_id="kenji", cursor="nonsense").startswith(
        refused("list_memories", "invalid page cursor")
    )


def test_reads_must_name_whose_memories(mcp, kenji):
    expected = (
        "Name whose memories to read: user_id, agent_id, app_id or run_id "
        '(a bare "*" means any), or filters, e.g. user_id="alex".'
    )
    assert mcp.refusal("list_memories") == refused("list_memories", expected)
    assert mcp.refusal("search_memories", query="coffee") == refused("search_memories", expected)
    # With filters, the API's /v3/ rule: an entity must be named positively.
    assert mcp.refusal("list_memories", filters={"categories": {"in": ["food"]}}) == refused(
        "list_memories",
        "filters must scope to at least one of user_id, agent_id, app_id or run_id "
        '(use "*" for any value, e.g. {"user_id": "*"}).',
    )
    assert mcp.ok("list_memories", user_id="*")["count"] == 3
    assert mcp_reads()[-1].action == "memories.list"


def test_get_answers_as_the_api_does_and_logs_the_read(mcp, api, kenji, project):
    memory_id = kenji[0]["id"]
    answer = mcp.ok("get_memory", memory_id=memory_id)
    (row,) = mcp_reads()
    assert (row.action, row.project_id, [str(pk) for pk in row.memory_ids], row.entities) == (
        "memory.get",
        project.pk,
        [memory_id],
        ["user:kenji"],
    )
    assert answer == api.get(f"/v1/memories/{memory_id}/").json()


def test_get_refuses_a_bad_or_unknown_id_as_the_api_does(mcp, api):
    assert mcp.refusal("get_memory", memory_id="nope") == refused(
        "get_memory", api.get("/v1/memories/nope/").json()["detail"]
    )
    unknown = str(uuid.uuid4())
    assert mcp.refusal("get_memory", memory_id=unknown) == refused(
        "get_memory", "Memory not found!"
    )
    assert mcp_reads() == []


def test_update_changes_the_memory_and_records_event_and_history(mcp, api, api_key, kenji):
    memory_id = kenji[0]["id"]
    answer = mcp.ok("update_memory", memory_id=memory_id, text="Kenji drinks oat-milk lattes now")
    assert answer == api.get(f"/v1/memories/{memory_id}/").json()
    assert answer["memory"] == "Kenji drinks oat-milk lattes now"
    actor = key_of(api_key).actor
    assert events()[-1] == ("UPDATE", "SUCCEEDED", actor)
    history = MemoryHistory.objects.filter(memory_id=memory_id, event="UPDATE").get()
    assert (history.old_memory, history.new_memory, history.actor) == (
        kenji[0]["memory"],
        "Kenji drinks oat-milk lattes now",
        actor,
    )
    assert mcp.refusal("update_memory", memory_id=memory_id) == refused(
        "update_memory", "Provide at least one of text, metadata, expiration_date or timestamp."
    )


def test_delete_memory_deletes_one_and_records_the_event(mcp, api_key, kenji):
    answer = mcp.ok("delete_memory", memory_id=kenji[0]["id"])
    assert answer == {"message": "Memory deleted successfully!", "event_id": ANY_UUID}
    assert Event.objects.get(pk=answer["event_id"]).actor == key_of(api_key).actor
    assert events()[-1] == ("DELETE", "SUCCEEDED", key_of(api_key).actor)
    assert set(Memory.objects.values_list("memory", flat=True)) == {
        kenji[1]["memory"],
        "Maria is a vegetarian",
    }


def test_delete_all_memories_of_a_user(mcp, api_key, kenji):
    answer = mcp.ok("delete_all_memories", user_id="kenji")
    assert answer == {
        "message": "Memories deleted successfully!",
        "event_id": ANY_UUID,
        "deleted": 2,
    }
    event = Event.objects.get(pk=answer["event_id"])
    assert (event.event_type, event.actor, event.payload) == (
        "DELETE",
        key_of(api_key).actor,
        {"filters": {"user_id": "kenji"}, "source": "mcp"},
    )
    assert list(Memory.objects.values_list("memory", flat=True)) == ["Maria is a vegetarian"]
    assert mcp.refusal("delete_all_memories") == refused(
        "delete_all_memories",
        "At least one filter is required: user_id, agent_id, app_id or run_id.",
    )


# --- who may do what -------------------------------------------------------------------------


def test_a_viewer_key_reads_but_cannot_write(viewer, kenji):
    memory_id = kenji[0]["id"]
    writes = {
        "add_memories": {"messages": "I like tea", "user_id": "kenji", "infer": False},
        "update_memory": {"memory_id": memory_id, "text": "changed"},
        "delete_memory": {"memory_id": memory_id},
        "delete_all_memories": {"user_id": "kenji"},
    }
    assert set(writes) == WRITES
    before = (events(), sorted(Memory.objects.values_list("memory", flat=True)))
    for name, arguments in writes.items():
        assert viewer.refusal(name, **arguments) == refused(name, VIEWER_REFUSED)
    assert (events(), sorted(Memory.objects.values_list("memory", flat=True))) == before
    assert viewer.ok("get_memory", memory_id=memory_id)["memory"] == kenji[0]["memory"]
    assert viewer.ok("list_memories", user_id="kenji")["count"] == 2
    assert len(viewer.ok("search_memories", query="cello", user_id="kenji")["results"]) >= 1
    assert [r.role for r in mcp_reads()] == ["viewer"] * 3


def test_another_projects_key_sees_and_changes_nothing(outsider, kenji, other_project):
    memory_id = kenji[0]["id"]
    before = (events(), sorted(Memory.objects.values_list("memory", flat=True)))
    assert outsider.ok("list_memories", user_id="kenji") == {
        "count": 0,
        "results": [],
        "next_cursor": None,
    }
    assert outsider.ok("search_memories", query="coffee", user_id="*") == {"results": []}
    for name in ("get_memory", "update_memory", "delete_memory"):
        arguments = {"memory_id": memory_id, **({"text": "x"} if name == "update_memory" else {})}
        assert outsider.refusal(name, **arguments) == refused(name, "Memory not found!")
    assert outsider.ok("delete_all_memories", user_id="kenji")["deleted"] == 0
    assert sorted(Memory.objects.values_list("memory", flat=True)) == before[1]
    assert {r.project_id for r in mcp_reads()} == {other_project.pk}


def test_a_missing_bad_or_revoked_key_is_a_401(live_server, url, project):
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    accept = {"Accept": "application/json, text/event-stream"}
    revoked = create_api_key(project, role=Role.ADMIN, name="revoked")
    revoke_api_key(project, key_of(revoked).pk)
    cases = {
        None: "Authentication credentials were not provided. Send 'Authorization: Bearer "
        "<your API key>' (or 'Token <your API key>'): the key of the project whose memories "
        "the tools use.",
        "Bearer m0-not-a-key": "Invalid API key. Check the key or create a new one.",
        "Basic dXNlcjpwYXNz": "Invalid Authorization header. Use 'Authorization: Token "
        "<your API key>'.",
        f"Token {revoked}": "This API key has been revoked.",
    }
    for header, detail in cases.items():
        headers = {**accept, **({"Authorization": header} if header else {})}
        response = httpx.post(url, json=message, headers=headers, timeout=30)
        assert response.status_code == 401, (header, response.text)
        assert response.json()["detail"] == detail
        assert response.headers["WWW-Authenticate"] == "Token"
    # The official client gives up on the 401 (no OAuth to fall back on).
    with pytest.raises(BaseExceptionGroup) as raised:
        Mcp(url, "m0-not-a-key").tools()
    assert raised.group_contains(MCPError, match="Server returned an error response")
    assert AuditEntry.objects.filter(kind="read", id__gte=_first_row["id"]).count() == 0


# --- the transport ---------------------------------------------------------------------------

MODERN = "2026-07-28"


def test_only_post_is_served(url, api_key):
    for method in ("GET", "DELETE", "PUT"):
        response = httpx.request(
            method,
            url,
            headers={"Authorization": f"Token {api_key}", "Accept": "text/event-stream"},
            timeout=30,
        )
        assert response.status_code == 405, method
        assert response.headers["Allow"] == "POST"
        assert response.json()["detail"] == (
            "The MCP endpoint takes POST requests only: memdash serves MCP statelessly, with no "
            "event stream to GET and no session to DELETE."
        )


def test_an_endless_subscription_stream_is_refused_not_held_open(url, api_key):
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    response = httpx.post(
        url,
        json={
            "jsonrpc": "2.0",
            "id": 7,
            "method": "subscriptions/listen",
            "params": {"notifications": {"toolsListChanged": True}, "_meta": meta},
        },
        headers={
            "Authorization": f"Token {api_key}",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": MODERN,
            "Mcp-Method": "subscriptions/listen",
        },
        timeout=30,
    )
    assert response.headers["Content-Type"] == "application/json"
    assert (response.json()["id"], response.json()["error"]["message"]) == (
        7,
        "Method not found",
    )


# --- under gunicorn --------------------------------------------------------------------------

CLIENTS = 8


async def add_search_and_get(mcp: Mcp, n: int) -> tuple[str, list[str]]:
    """One client's work: add a memory, search for it, read it back."""

    async def work(client: Client) -> tuple[str, list[str]]:
        added = await client.call_tool(
            "add_memories",
            {"messages": f"Fact number {n}", "user_id": f"user-{n}", "infer": False},
        )
        assert added.is_error is False, added.content
        memory_id = added.structured_content["results"][0]["id"]  # type: ignore[index]
        found = await client.call_tool(
            "search_memories", {"query": f"fact {n}", "user_id": f"user-{n}"}
        )
        got = await client.call_tool("get_memory", {"memory_id": memory_id})
        assert found.is_error is False and got.is_error is False, (found.content, got.content)
        return memory_id, [m["id"] for m in found.structured_content["results"]]  # type: ignore[index]

    return await mcp._session(work)


def test_it_serves_concurrent_clients_under_gunicorn_threaded_workers(project):
    raw = create_api_key(project, role=Role.EDITOR, name="gunicorn mcp key")
    server = WebServer(workers=2, threads=4).start()
    mcp = Mcp(f"{server.url}/mcp", raw)

    async def all_clients() -> list[tuple[str, list[str]]]:
        return await asyncio.gather(*(add_search_and_get(mcp, n) for n in range(CLIENTS)))

    try:
        outcomes = run_async(all_clients())
    except BaseException as exc:
        raise AssertionError(f"the clients failed; gunicorn said:\n{server.output()}") from exc
    finally:
        server.stop()

    actor = key_of(raw).actor
    assert [ids for _memory_id, ids in outcomes] == [[memory_id] for memory_id, _ in outcomes]
    assert Memory.objects.filter(project=project).count() == CLIENTS
    assert events() == [("ADD", "SUCCEEDED", actor)] * CLIENTS
    rows = mcp_reads()
    assert (
        sorted(r.action for r in rows) == ["memories.search"] * CLIENTS + ["memory.get"] * CLIENTS
    )
    assert {(r.project_id, r.actor_label, r.path) for r in rows} == {(project.pk, actor, "/mcp")}
    # Each HTTP request has its own request id: no two reads share one.
    assert len({r.request_id for r in rows}) == 2 * CLIENTS
