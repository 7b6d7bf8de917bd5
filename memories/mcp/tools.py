"""memdash's memory operations as MCP tools, for an LLM to call on its user's behalf.

Each tool is what an API view is: it checks the caller's role, validates its arguments with the
API's own serializers and parameter rules, calls the same service (memories.services,
memories.search, memories.listing), writes the same access-log row for a read, and answers
with the API's memory payloads. A refusal reaches the model as a tool error carrying the
message the API would have answered with, so it can correct the call and try again.

The tools run their Django code through `sync_to_async(thread_sensitive=True)`: inside the
request memories.mcp.http serves, that is the request's own thread, so the ORM uses the
request's database connection and sees its audit context (actor, project, surface "mcp").
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

from asgiref.sync import sync_to_async
from django.conf import settings
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from audit import log as audit_log
from core.api.pagination import parse_positive_int
from core.errors import InvalidRequest, api_exception_handler
from core.keyset import InvalidCursor, capped_count, keyset_page
from memories import listing, services
from memories import search as memory_search
from memories.api import params
from memories.api.serializers import AddRequest, UpdateRequest, memory_payload
from memories.api.views import (
    DEFAULT_THRESHOLD,
    DEFAULT_TOP_K,
    MAX_TOP_K,
    delete_response,
    parse_uuid,
)
from memories.filters import ENTITY_FIELDS, all_of
from tenancy.models import ApiKey, Role
from tenancy.permissions import role_refusal

DEFAULT_LIST_SIZE = 50
MAX_LIST_SIZE = 200

INSTRUCTIONS = """\
memdash stores memories: short facts about the people, agents and apps you work with, kept \
between conversations. Every memory belongs to one or more entities: user_id (a person), \
agent_id (an assistant), app_id (an application) and run_id (one session). Name at least one \
of them in every call; a bare "*" means any id.

Before answering something that depends on what you know about the user, search_memories \
with their user_id. When you learn a lasting fact or preference, add_memories (with infer \
true, memdash extracts the facts and updates what it already knew). Use list_memories to \
see everything stored for an entity, update_memory or delete_memory to fix one memory, and \
delete_all_memories only when the user asks to be forgotten.

Your API key decides the project you see and what you may do: a viewer key may only read."""

server: MCPServer[Any] = MCPServer(
    "memdash",
    title="memdash memories",
    instructions=INSTRUCTIONS,
    # No `subscriptions/listen`: its answer is an endless event stream, which a stateless
    # exchange inside a WSGI request cannot serve (it would hold a worker thread forever).
    subscriptions=False,
)

_caller: contextvars.ContextVar[ApiKey] = contextvars.ContextVar("memdash_mcp_caller")


def serve_as(key: ApiKey) -> contextvars.Token[ApiKey]:
    """Make `key` the caller of the tools for the rest of this context (the MCP request)."""
    return _caller.set(key)


def stop_serving(token: contextvars.Token[ApiKey]) -> None:
    _caller.reset(token)


def caller() -> ApiKey:
    """The API key of the MCP request being served (memories.mcp.http set it)."""
    return _caller.get()


# --- registration ----------------------------------------------------------------------------


def tool(
    *, needs: str, annotations: ToolAnnotations
) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Register a synchronous function as a tool that callers with role `needs` may call.

    Its signature is the tool's input schema and its docstring the description the model
    reads, so both are written for an LLM.
    """

    def register(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        run_here = sync_to_async(functools.partial(_call, fn, needs), thread_sensitive=True)

        @functools.wraps(fn)
        async def run(**arguments: Any) -> dict[str, Any]:
            return await run_here(arguments)

        server.add_tool(
            run,
            name=fn.__name__,
            description=inspect.getdoc(fn),
            annotations=annotations,
        )
        return fn

    return register


def _call(fn: Callable[..., dict[str, Any]], needs: str, arguments: dict[str, Any]) -> Any:
    """Run a tool for the caller: its role first, then the tool; the API's refusals become
    tool errors with the API's message (anything else is a crash the SDK logs)."""
    refusal = role_refusal(caller(), needs)
    if refusal:
        raise ToolError(refusal)
    try:
        return fn(**arguments)
    except Exception as exc:
        answer = api_exception_handler(exc, {})
        if answer is None:
            raise
        raise ToolError(str(answer.data["detail"])) from exc


READ = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
ADD = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
CHANGE = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)
DELETE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)

# --- arguments -------------------------------------------------------------------------------

UserId = Annotated[str | None, Field(description="The person the memories are about.")]
AgentId = Annotated[str | None, Field(description="The assistant or agent they belong to.")]
AppId = Annotated[str | None, Field(description="The application they belong to.")]
RunId = Annotated[str | None, Field(description="One conversation or session.")]
MemoryId = Annotated[str, Field(description="The memory's id (a UUID) as other tools return it.")]
Filters = Annotated[
    dict[str, Any] | None,
    Field(
        description=(
            "Optional conditions in memdash's filter language, AND-ed with the ids above. "
            'Sibling keys are AND-ed; "AND", "OR" (lists) and "NOT" nest. Fields: user_id, '
            "agent_id, app_id, run_id, categories, metadata, created_at, updated_at, "
            "keywords, memory_ids. Example: "
            '{"AND": [{"user_id": "alex"}, {"created_at": {"gte": "2025-01-01"}}]}'
        )
    ),
]


def _ids(**given: str | None) -> dict[str, str]:
    return {name: value for name, value in given.items() if value is not None}


def _read_filter(ids: dict[str, str], filters: dict[str, Any] | None) -> dict[str, Any]:
    """The filter a read asks for: the ids and `filters`, by the API's /v3/ rules (at least one
    entity positively named; unnamed entity fields are not constrained)."""
    if not ids and not filters:
        raise InvalidRequest(
            "Name whose memories to read: user_id, agent_id, app_id or run_id "
            '(a bare "*" means any), or filters, e.g. user_id="alex".'
        )
    if filters is not None and not isinstance(filters, dict):
        raise InvalidRequest("filters must be a JSON object")
    scope = [{name: value} for name, value in ids.items()]
    return params.current_filter({"filters": all_of(*scope, filters)})


# --- tools -----------------------------------------------------------------------------------


@tool(needs=Role.EDITOR, annotations=ADD)
def add_memories(
    messages: Annotated[
        str | list[dict[str, Any]],
        Field(
            description=(
                "What to remember: a plain text (one user message), or the conversation as a "
                'list of {"role": "user" | "assistant" | "system" | "agent", "content": '
                '"...", "name": "optional speaker"} objects.'
            )
        ),
    ],
    user_id: UserId = None,
    agent_id: AgentId = None,
    app_id: AppId = None,
    run_id: RunId = None,
    metadata: Annotated[
        dict[str, Any] | None,
        Field(description="Optional JSON object stored on every memory this call adds."),
    ] = None,
    infer: Annotated[
        bool,
        Field(
            description=(
                "true (the default): memdash's LLM extracts the lasting facts and adds, updates "
                "or deletes memories to match. false: store each user/assistant message "
                "verbatim as one memory."
            )
        ),
    ] = True,
) -> dict[str, Any]:
    """Remember something about a user, agent, app or session.

    Name at least one of user_id, agent_id, app_id or run_id. Returns the add's event_id, its
    status and the memories it added, updated or deleted (each with its id and text).
    Exact duplicates of stored memories are skipped.
    """
    key = caller()
    data: dict[str, Any] = {
        "messages": messages,
        "infer": infer,
        **_ids(user_id=user_id, agent_id=agent_id, app_id=app_id, run_id=run_id),
    }
    if metadata is not None:
        data["metadata"] = metadata
    serializer = AddRequest(data=data)
    serializer.is_valid(raise_exception=True)
    attrs = serializer.validated_data
    # Run in this request, as /v1/memories/ does: the model gets the outcome in its answer.
    event = services.submit_add(
        key.project,
        AddRequest.to_add(attrs),
        actor=key.actor,
        infer=attrs["infer"],
        run_inline=True,
        payload=data,
    )
    return {"event_id": str(event.id), "status": event.status, "results": event.results}


@tool(needs=Role.VIEWER, annotations=READ)
def search_memories(
    query: Annotated[str, Field(description="What to look for, in natural language.")],
    user_id: UserId = None,
    agent_id: AgentId = None,
    app_id: AppId = None,
    run_id: RunId = None,
    filters: Filters = None,
    top_k: Annotated[
        int, Field(description=f"How many memories to return at most (1-{MAX_TOP_K}).")
    ] = DEFAULT_TOP_K,
    threshold: Annotated[
        float,
        Field(description="The lowest relevance score (0-1) a memory needs to be returned."),
    ] = DEFAULT_THRESHOLD["v3"],
) -> dict[str, Any]:
    """Find the stored memories most relevant to a question, best first, each with a `score`.

    Name whose memories to search (user_id, agent_id, app_id, run_id, or filters). Search
    before answering anything that depends on what is known about the user.
    """
    key = caller()
    ids = _ids(user_id=user_id, agent_id=agent_id, app_id=app_id, run_id=run_id)
    if not isinstance(query, str) or not query.strip():
        raise InvalidRequest("query is required and must be a non-empty string")
    hits = memory_search.search_memories(
        key.project,
        query=query.strip(),
        filters=_read_filter(ids, filters),
        top_k=parse_positive_int(top_k, "top_k", default=DEFAULT_TOP_K, maximum=MAX_TOP_K),
        threshold=params.number(
            threshold, "threshold", default=DEFAULT_THRESHOLD["v3"], low=0.0, high=1.0
        ),
    )
    audit_log.read(
        "memories.search",
        project_id=key.project_id,
        memories=[hit.memory for hit in hits],
        scope=ids,
        filters=filters,
        query=query,
    )
    return {"results": [memory_payload(hit.memory, score=hit.score) for hit in hits]}


@tool(needs=Role.VIEWER, annotations=READ)
def list_memories(
    user_id: UserId = None,
    agent_id: AgentId = None,
    app_id: AppId = None,
    run_id: RunId = None,
    filters: Filters = None,
    page_size: Annotated[
        int, Field(description=f"Memories per page (1-{MAX_LIST_SIZE}).")
    ] = DEFAULT_LIST_SIZE,
    cursor: Annotated[
        str | None,
        Field(description="The next_cursor of the previous page, to read the page after it."),
    ] = None,
) -> dict[str, Any]:
    """List stored memories, newest first, a page at a time.

    Name whose memories to list (user_id, agent_id, app_id, run_id, or filters). Returns
    `count` (the total, counted up to a cap), `results`, and `next_cursor` (null on the last
    page; pass it back as `cursor` for the next one). Expired memories are left out.
    """
    key = caller()
    ids = _ids(user_id=user_id, agent_id=agent_id, app_id=app_id, run_id=run_id)
    memories = listing.memory_list(key.project, _read_filter(ids, filters), show_expired=False)
    size = parse_positive_int(
        page_size, "page_size", default=DEFAULT_LIST_SIZE, maximum=MAX_LIST_SIZE
    )
    try:
        page = keyset_page(memories, key="created_at", size=size, older=cursor or None)
    except InvalidCursor as exc:
        raise InvalidRequest(f"{exc}; pass next_cursor exactly as a page returned it") from exc
    count, _capped = capped_count(memories, settings.MEMDASH_COUNT_CAP)
    results = [memory_payload(memory) for memory in page.rows]
    audit_log.read(
        "memories.list",
        project_id=key.project_id,
        memories=results,
        total=count,
        scope=ids,
        filters=filters,
    )
    return {"count": count, "results": results, "next_cursor": page.older}


@tool(needs=Role.VIEWER, annotations=READ)
def get_memory(memory_id: MemoryId) -> dict[str, Any]:
    """Read one memory by its id: its text, entity ids, metadata, categories and dates."""
    key = caller()
    memory = listing.get_memory(key.project, parse_uuid(memory_id))
    audit_log.read("memory.get", project_id=key.project_id, memories=[memory])
    return memory_payload(memory)


@tool(needs=Role.EDITOR, annotations=CHANGE)
def update_memory(
    memory_id: MemoryId,
    text: Annotated[str | None, Field(description="The memory's new text.")] = None,
    metadata: Annotated[
        dict[str, Any] | None,
        Field(description="New metadata: a JSON object that replaces the memory's metadata."),
    ] = None,
    expiration_date: Annotated[
        str | None,
        Field(description="The date (YYYY-MM-DD) after which the memory is hidden from reads."),
    ] = None,
) -> dict[str, Any]:
    """Correct one memory: give its id and at least one of text, metadata or expiration_date.

    Returns the memory as it is now. Immutable memories cannot be changed (delete and re-add).
    """
    key = caller()
    memory = listing.get_memory(key.project, parse_uuid(memory_id))
    given = {"text": text, "metadata": metadata, "expiration_date": expiration_date}
    serializer = UpdateRequest(data={k: v for k, v in given.items() if v is not None})
    serializer.is_valid(raise_exception=True)
    attrs = serializer.validated_data
    services.update_memory(
        memory,
        actor=key.actor,
        text=attrs.get("text"),
        metadata=attrs.get("metadata", services.UNSET),
        expiration_date=attrs.get("expiration_date", services.UNSET),
    )
    return memory_payload(memory)


@tool(needs=Role.EDITOR, annotations=DELETE)
def delete_memory(memory_id: MemoryId) -> dict[str, Any]:
    """Delete one memory by its id. It goes to the project's trash (when the trash is on),
    from which a person can restore it.

    A memory under a legal hold cannot be deleted; the error says so.
    """
    key = caller()
    memory = listing.get_memory(key.project, parse_uuid(memory_id))
    event = services.delete_memory(memory, actor=key.actor)
    return {"message": "Memory deleted successfully!", "event_id": str(event.id)}


@tool(needs=Role.EDITOR, annotations=DELETE)
def delete_all_memories(
    user_id: UserId = None,
    agent_id: AgentId = None,
    app_id: AppId = None,
    run_id: RunId = None,
) -> dict[str, Any]:
    """Delete every memory of a user, agent, app or session (all the ids given must match).

    Only when the user asks for it: this forgets everything stored about them. Returns how
    many were deleted (`deleted`) and how many a legal hold kept (`held`); a very large delete
    runs in the background and returns its event_id instead.
    """
    key = caller()
    ids = _ids(user_id=user_id, agent_id=agent_id, app_id=app_id, run_id=run_id)
    filters = params.delete_filters({name: ids[name] for name in ENTITY_FIELDS if name in ids})
    event = services.delete_matching(key.project, filters, actor=key.actor, source="mcp")
    return delete_response(event, "Memories deleted successfully!")
