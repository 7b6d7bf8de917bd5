"""The OpenAPI description of the memory API's operations (applied in memories/api/*.py).

Shapes follow the payload functions of memories.api.serializers and the views' answers; where
memdash is stricter than the Mem0 Platform, the descriptions say so.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)

from memories.api.serializers import AddRequest, BatchRequest, FeedbackRequest, UpdateRequest
from memories.models import Event
from tenancy.api.docs import (
    ANY_OBJECT,
    ANY_VALUE,
    BOOLEAN,
    DATETIME,
    FILTERS,
    INTEGER,
    MEMBER,
    NULLABLE_DATETIME,
    NULLABLE_OBJECT,
    NULLABLE_STRING,
    ORG_ID_PATH,
    ORG_NOT_FOUND,
    ORG_PROJECT_PARAMETERS,
    ORGANIZATION,
    PAGE_PARAMETERS,
    REACH,
    STRING,
    UUID,
    Schema,
    array,
    body,
    component,
    errors,
    nullable,
    obj,
    ok,
    org_op,
    page_of,
    path_id,
    query,
)
from tenancy.api.docs import (
    PROJECT_ID_PATH as REACHED_PROJECT_PATH,
)

# --- request fields the serializers cannot describe themselves ---------------------------------

MESSAGE = component(
    "Message",
    obj(
        {
            "role": {**STRING, "enum": ["user", "assistant", "system", "agent"]},
            "content": {
                "oneOf": [{**STRING, "minLength": 1}, ANY_OBJECT],
                "description": (
                    "Text, or a multimodal object ({type: image_url|pdf_url|txt_url|mdx_url, "
                    "...}); text only when infer=false."
                ),
            },
            "name": {
                **STRING,
                "maxLength": 255,
                "description": "The speaker: becomes the entity the message's memory belongs to.",
            },
        },
        required=["role", "content"],
    ),
)


class MessagesFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "memories.api.serializers.MessagesField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> Schema:
        return {
            "oneOf": [{**array(MESSAGE), "minItems": 1}, MESSAGE, {**STRING, "minLength": 1}],
            "description": (
                "The conversation: a list of messages (a bare string is one user message). "
                "At most MEMDASH_MAX_MESSAGES (200) messages; empty content is a 400."
            ),
        }


class TimestampFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "memories.api.serializers.TimestampField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> Schema:
        return {
            "oneOf": [{"type": "number"}, DATETIME],
            "nullable": True,
            "description": (
                "Unix seconds or an ISO 8601 time; sets created_at. Stricter than Mem0: only "
                "the years 1900-2999 (UTC), anything else is a 400."
            ),
        }


# --- response shapes ---------------------------------------------------------------------------

ENTITY_ID = NULLABLE_STRING
MEMORY_PROPERTIES: Schema = {
    "id": UUID,
    "memory": {**STRING, "description": "The memory's text."},
    "user_id": ENTITY_ID,
    "agent_id": ENTITY_ID,
    "app_id": ENTITY_ID,
    "run_id": ENTITY_ID,
    "session_id": {**ENTITY_ID, "description": "The run id again, as Mem0's lists name it."},
    "actor_id": ENTITY_ID,
    "role": NULLABLE_STRING,
    "hash": {**STRING, "description": "MD5 of the text."},
    "metadata": NULLABLE_OBJECT,
    "categories": nullable(array(STRING)),
    "immutable": BOOLEAN,
    "expiration_date": {**NULLABLE_STRING, "format": "date"},
    "created_at": DATETIME,
    "updated_at": DATETIME,
    "structured_attributes": obj(
        {
            "year": INTEGER,
            "month": INTEGER,
            "day": INTEGER,
            "hour": INTEGER,
            "minute": INTEGER,
            "day_of_week": STRING,
            "week_of_year": INTEGER,
            "day_of_year": INTEGER,
            "quarter": INTEGER,
            "is_weekend": BOOLEAN,
        },
        description="Calendar facts about created_at (UTC).",
    ),
    "replaced_by": {
        **ANY_VALUE,
        "nullable": True,
        "description": "Always null: memdash does not consolidate memories.",
    },
    "synthesized": {**ANY_VALUE, "nullable": True, "description": "Always null."},
    "lifecycle_state": {**ANY_VALUE, "nullable": True, "description": "Always null."},
}
FIELDS_NOTE = (
    "Every key is present unless the request's `fields` narrows them (`id`, and a search "
    "hit's `score`, always stay)."
)
MEMORY = component(
    "Memory", obj(MEMORY_PROPERTIES, required=["id"], description=f"A memory. {FIELDS_NOTE}")
)
SEARCH_HIT = component(
    "SearchHit",
    obj(
        {
            **MEMORY_PROPERTIES,
            "score": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "Cosine similarity (local model), lightly boosted by keywords.",
            },
        },
        required=["id", "score"],
        description=f"A memory that matched a search. {FIELDS_NOTE}",
    ),
)
MEMORY_PAGE = page_of("MemoryPage", MEMORY)

HISTORY_ENTRY = component(
    "HistoryEntry",
    obj(
        {
            "id": UUID,
            "memory_id": UUID,
            "input": {
                **nullable(array(ANY_OBJECT)),
                "description": "The messages that caused the change.",
            },
            "old_memory": NULLABLE_STRING,
            "new_memory": NULLABLE_STRING,
            "user_id": ENTITY_ID,
            "agent_id": ENTITY_ID,
            "app_id": ENTITY_ID,
            "run_id": ENTITY_ID,
            "session_id": ENTITY_ID,
            "categories": nullable(array(STRING)),
            "event": {**STRING, "enum": ["ADD", "UPDATE", "DELETE", "RESTORE"]},
            "metadata": NULLABLE_OBJECT,
            "actor": {**STRING, "description": "Who made the change (an API key, a user...)."},
            "event_id": {**UUID, "nullable": True, "description": "The Event that made it."},
            "created_at": DATETIME,
            "updated_at": DATETIME,
        }
    ),
)

# From the model, so a new kind of Event (PROFILE, a wildcard delete...) is in the schema too.
EVENT_TYPES = list(Event.Type.values)
EVENT_STATUSES = list(Event.Status.values)
EVENT = component(
    "Event",
    obj(
        {
            "id": UUID,
            "event_type": {**STRING, "enum": EVENT_TYPES},
            "status": {**STRING, "enum": EVENT_STATUSES},
            "payload": {**ANY_VALUE, "nullable": True, "description": "What was asked."},
            "metadata": {**ANY_VALUE, "nullable": True, "description": "The entities concerned."},
            "results": {**ANY_VALUE, "nullable": True, "description": "What it did."},
            "error": NULLABLE_STRING,
            "created_at": DATETIME,
            "updated_at": DATETIME,
            "started_at": NULLABLE_DATETIME,
            "completed_at": NULLABLE_DATETIME,
            "latency": {"type": "number", "nullable": True, "description": "Milliseconds."},
            "graph_status": {**ANY_VALUE, "nullable": True, "description": "Always null."},
            "progress": obj(
                {"done": INTEGER, "total": INTEGER},
                nullable=True,
                description="How far a long operation has got while it runs (a large "
                "delete, a trash purge, a profile job; an erasure's or a subject export's "
                "current phase); null for events that do not report it. A memdash addition.",
            ),
        }
    ),
)

MEMORY_CHANGE = component(
    "MemoryChange",
    obj(
        {
            "id": UUID,
            "memory": STRING,
            "data": obj({"memory": STRING}),
            "event": {**STRING, "enum": ["ADD", "UPDATE", "DELETE", "NONE"]},
        },
        required=["id", "event"],
        additionalProperties=True,
        description="One memory an add created, changed or deleted.",
    ),
)
QUEUED = component(
    "Queued",
    obj(
        {
            "message": STRING,
            "status": {**STRING, "enum": ["PENDING"]},
            "event_id": {**UUID, "description": "Poll GET /v1/event/{event_id}/."},
        },
        description="The add runs in the background.",
    ),
)
ADD_V3_RESPONSE = component(
    "AddResponse",
    obj(
        {
            "message": STRING,
            "status": {**STRING, "enum": ["PENDING", "SUCCEEDED"]},
            "event_id": UUID,
            "results": {
                **array(MEMORY_CHANGE),
                "description": "Only when the add finished in the request (infer=false).",
            },
        },
        required=["message", "status", "event_id"],
    ),
)
ADD_V1_ITEM: Schema = {"oneOf": [MEMORY_CHANGE, QUEUED]}
ADD_V1_RESPONSE = component(
    "LegacyAddResponse",
    {
        "oneOf": [
            array(ADD_V1_ITEM),
            obj(
                {
                    "results": array(ADD_V1_ITEM),
                    "relations": {**array(ANY_VALUE), "maxItems": 0},
                }
            ),
        ],
        "description": (
            'A bare list, or {"results", "relations": []} with output_format "v1.1". With '
            "async_mode the one result is the queued Event."
        ),
    },
)

MESSAGE_RESPONSE = component("MessageResponse", obj({"message": STRING}))
DELETE_RESPONSE = component(
    "DeleteResponse",
    obj(
        {
            "message": STRING,
            "event_id": {**UUID, "description": "The delete's Event."},
            "deleted": {**INTEGER, "description": "Memories deleted (only when done)."},
            "held": {
                **INTEGER,
                "description": "memdash: memories a legal hold kept (only when there are some).",
            },
        },
        required=["message", "event_id"],
        description=(
            "Done in the request, or (more than MEMDASH_SYNC_DELETE_LIMIT memories) running "
            "as an Event: then only message and event_id; poll GET /v1/event/{event_id}/."
        ),
    ),
)

# --- request bodies written out (the views read them without a serializer) -----------------

ENTITY_ID_FIELDS: Schema = {
    name: {**STRING, "description": f"Legacy top-level {name}: implies the others are null."}
    for name in ("user_id", "agent_id", "app_id", "run_id")
}
LEGACY_READ_FIELDS: Schema = {
    **ENTITY_ID_FIELDS,
    "filters": FILTERS,
    "categories": {"oneOf": [array(STRING), STRING], "description": "Any of these."},
    "metadata": {**ANY_OBJECT, "description": "Memories whose metadata contains this."},
    "keywords": {**STRING, "description": "Text contains."},
    "start_date": {**STRING, "format": "date"},
    "end_date": {**STRING, "format": "date"},
    "fields": {"oneOf": [array(STRING), STRING], "description": "Keys to return."},
    "show_expired": {**BOOLEAN, "default": False},
    "org_id": STRING,
    "project_id": STRING,
}
PAGE_FIELDS: Schema = {
    "page": {**INTEGER, "minimum": 1},
    "page_size": {**INTEGER, "minimum": 1, "maximum": 1000},
}
LIST_V2_BODY = component(
    "LegacyListRequest",
    obj(
        {**LEGACY_READ_FIELDS, **PAGE_FIELDS},
        required=[],
        description=(
            "Some condition is required (an entity id, `filters`...): stricter than Mem0, an "
            "empty filter would read the whole project. Naming some entity ids implies the "
            "others are null (the 2025 docs' implicit null scoping)."
        ),
    ),
)
LIST_V3_BODY = component(
    "ListRequest",
    obj(
        {
            "filters": FILTERS,
            "categories": LEGACY_READ_FIELDS["categories"],
            "metadata": LEGACY_READ_FIELDS["metadata"],
            "keywords": LEGACY_READ_FIELDS["keywords"],
            "start_date": LEGACY_READ_FIELDS["start_date"],
            "end_date": LEGACY_READ_FIELDS["end_date"],
            "fields": LEGACY_READ_FIELDS["fields"],
            "show_expired": LEGACY_READ_FIELDS["show_expired"],
            "as_of": {
                "anyOf": [{**STRING, "format": "date"}, DATETIME],
                "description": (
                    "memdash: the memories as they were at this moment, rebuilt from history "
                    "(each result then has `changed_by`)."
                ),
            },
            **PAGE_FIELDS,
        },
        required=["filters"],
        description=(
            '`filters` must scope to at least one entity id (`"*"` for any); top-level '
            "entity ids are a 400 here."
        ),
    ),
)
SEARCH_FIELDS: Schema = {
    "query": {**STRING, "minLength": 1},
    "top_k": {**INTEGER, "minimum": 1, "maximum": 1000, "default": 10},
    "limit": {**INTEGER, "description": "Legacy name of top_k."},
    "threshold": {"type": "number", "minimum": 0, "maximum": 1},
    "keyword_search": {**BOOLEAN, "default": True},
    "show_expired": {**BOOLEAN, "default": False},
    "fields": LEGACY_READ_FIELDS["fields"],
    "rerank": {**BOOLEAN, "description": "Accepted and ignored (no reranker); must be a boolean."},
    "filter_memories": {**BOOLEAN, "description": "Accepted and ignored; must be a boolean."},
    "only_metadata_based_search": {**BOOLEAN, "description": "Accepted and ignored."},
}
SEARCH_V3_BODY = component(
    "SearchRequest",
    obj(
        {
            **SEARCH_FIELDS,
            "filters": FILTERS,
            "categories": LEGACY_READ_FIELDS["categories"],
            "metadata": LEGACY_READ_FIELDS["metadata"],
            "output_format": {**STRING, "description": "Ignored."},
        },
        required=["query", "filters"],
        description="`threshold` defaults to 0.1. `filters` must scope to an entity id.",
    ),
)
SEARCH_LEGACY_BODY = component(
    "LegacySearchRequest",
    obj(
        {
            **SEARCH_FIELDS,
            **LEGACY_READ_FIELDS,
            "output_format": {**STRING, "enum": ["v1.0", "v1.1"]},
            "version": STRING,
        },
        required=["query"],
        description=(
            "Entity ids top-level or in `filters`, with implicit null scoping; some condition "
            "is required. `threshold` defaults to 0 on /v1/ and 0.1 on /v2/ (Mem0's old 0.3 "
            "would hide relevant results of the local model)."
        ),
    ),
)
MEMORY_IDS_BODY = component(
    "MemoryIds",
    obj({"memory_ids": {**array(UUID), "minItems": 1}}),
)
SUBJECT: Schema = {
    "oneOf": [
        obj(
            {
                "entity_type": {**STRING, "enum": ["user", "agent", "app", "run"]},
                "entity_id": {**STRING, "minLength": 1},
            }
        ),
        obj({"filters": FILTERS}),
    ],
    "description": "An entity, or a filter of the filter language (not both).",
}
SUBJECT_COMPONENT = component("Subject", SUBJECT)


def with_subject(name: str, properties: Schema, required: list[str], description: str) -> Schema:
    """A body naming a subject, either nested under `subject` or at its top level."""
    return component(
        name,
        {
            "allOf": [
                obj(
                    {
                        "subject": SUBJECT_COMPONENT,
                        "entity_type": {**STRING, "enum": ["user", "agent", "app", "run"]},
                        "entity_id": STRING,
                        "filters": FILTERS,
                        **properties,
                    },
                    required=required,
                )
            ],
            "description": (
                f"{description} The subject goes in `subject`, or its keys at the top level."
            ),
        },
    )


def memory_op(**kwargs: Any) -> Any:
    """extend_schema with the memory API's defaults: org_id/project_id accepted."""
    parameters = kwargs.pop("parameters", [])
    return extend_schema(parameters=[*parameters, *ORG_PROJECT_PARAMETERS], **kwargs)


ENTITY_QUERY = [
    query(name, f"Memories of this {name[:-3]} (exact id).")
    for name in ("user_id", "agent_id", "app_id", "run_id")
]
MEMORY_ID = path_id("memory_id", "memory")

# --- memories ------------------------------------------------------------------------------------

add_v3 = extend_schema_view(
    post=memory_op(
        operation_id="memories_add",
        summary="Add memories",
        description=(
            "Store what a conversation says about a user, an agent, an app or a run. With "
            "`infer` (the default) an LLM extracts the facts in the background: the answer "
            "is the PENDING Event to poll. With `infer=false` each non-system message is "
            "stored verbatim at once (exact duplicates in the scope are skipped) and the "
            "answer lists the new memories. At least one entity id is required, at the top "
            "level or in `filters`. Stricter than Mem0: text with NUL characters, JSON nested "
            "over 64 levels or numbers like 1e309 are 400s."
        ),
        tags=["Memories"],
        request=AddRequest,
        responses={
            200: ok(ADD_V3_RESPONSE, "Stored, or queued."),
            **errors(400, 403, 413, 503),
        },
    )
)

memories_v1 = extend_schema_view(
    post=memory_op(
        operation_id="memories_add_legacy",
        summary="Add memories (legacy)",
        description=(
            "The 2025 add. Without `async_mode` inference runs inside the request (as Mem0's "
            "curl examples show) and the answer lists the changes; with `async_mode=true` "
            "(mem0ai 1.0.x) it is queued. `infer=false` is always synchronous."
        ),
        tags=["Memories"],
        request=AddRequest,
        responses={
            200: ok(ADD_V1_RESPONSE, "What the add did, or the queued Event."),
            **errors(400, 403, 413, 501, 502, 503),
        },
    ),
    get=memory_op(
        operation_id="memories_list_legacy",
        summary="List memories (legacy)",
        description=(
            "A bare list of at most `limit` memories, or a page with `page` and `page_size`. "
            "An entity id is required; naming some implies the others are null. With "
            "`version=v2` the conditions may come in a JSON body too."
        ),
        tags=["Memories"],
        parameters=[
            *ENTITY_QUERY,
            query("limit", "At most this many (100 unless given, at most 200).", OpenApiTypes.INT),
            query("categories", "Comma-separated: any of these."),
            query("metadata", "A JSON object the metadata must contain."),
            query("keywords", "Text contains."),
            query("start_date", "Created on or after.", OpenApiTypes.DATE),
            query("end_date", "Created on or before.", OpenApiTypes.DATE),
            query("fields", "Comma-separated keys to return."),
            query("show_expired", "Include expired memories.", OpenApiTypes.BOOL),
            query("version", "`v2`: read `filters` from the body as well.", enum=["v2"]),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: ok(
                {"oneOf": [array(MEMORY), MEMORY_PAGE]},
                "A list, or a page when page and page_size are given.",
            ),
            **errors(400, 403, e404="A page past the end."),
        },
    ),
    delete=memory_op(
        operation_id="memories_delete_all",
        summary="Delete an entity's memories",
        description=(
            "Every memory of the entities named (at least one; `*` for all of a kind), "
            "optionally narrowed by `metadata`. Deleted memories go to the trash for "
            "MEMDASH_TRASH_DAYS; memories under a legal hold are kept, and the answer says how "
            "many. Large deletes run as an Event."
        ),
        tags=["Memories"],
        parameters=[
            *ENTITY_QUERY,
            query("metadata", "A JSON object the metadata must contain."),
            query("filters", "mem0ai 2.x: a Python repr (or JSON) of {entity field: id}."),
        ],
        responses={200: ok(DELETE_RESPONSE, "Deleted, or deleting."), **errors(400, 403)},
    ),
)

list_v2 = extend_schema_view(
    post=memory_op(
        operation_id="memories_list_v2",
        summary="List memories (v2)",
        description=(
            "mem0ai 1.0.x's get_all: a bare list of at most 100 memories, or a page when "
            "`page` and `page_size` are given (body or query string)."
        ),
        tags=["Memories"],
        request=body(LIST_V2_BODY),
        parameters=PAGE_PARAMETERS[:2],
        responses={
            200: ok({"oneOf": [array(MEMORY), MEMORY_PAGE]}, "A list, or a page."),
            **errors(400, 403, e404="A page past the end."),
        },
    )
)

list_v3 = extend_schema_view(
    post=memory_op(
        operation_id="memories_list",
        summary="List memories",
        description=(
            "The current SDKs' get_all: memories matching `filters`, newest first, always "
            "paged. Expired memories are left out unless `show_expired`. memdash's `as_of` "
            "lists them as they were at a moment."
        ),
        tags=["Memories"],
        request=body(LIST_V3_BODY),
        parameters=PAGE_PARAMETERS,
        responses={
            200: ok(MEMORY_PAGE, "A page of memories (with `as_of`: also `as_of`)."),
            **errors(400, 403, e404="A page past the end."),
        },
    )
)

SEARCH_ERRORS = errors(400, 403, 503)

search_v1 = extend_schema_view(
    post=memory_op(
        operation_id="memories_search_v1",
        summary="Search memories (v1)",
        description=(
            "Semantic and keyword search. A bare list; `output_format: v1.1` gives "
            '{"results", "relations": []}, `?version=v2` gives {"results"}.'
        ),
        tags=["Search"],
        request=body(SEARCH_LEGACY_BODY),
        parameters=[query("version", "`v2`: answer {results}.", enum=["v2"])],
        responses={
            200: ok(
                {
                    "oneOf": [
                        array(SEARCH_HIT),
                        obj({"results": array(SEARCH_HIT)}, required=["results"]),
                    ]
                },
                "The hits, best first.",
            ),
            **SEARCH_ERRORS,
        },
    )
)

search_v2 = extend_schema_view(
    post=memory_op(
        operation_id="memories_search_v2",
        summary="Search memories (v2)",
        description="mem0ai 1.0.x's search: a bare list of hits, best first.",
        tags=["Search"],
        request=body(SEARCH_LEGACY_BODY),
        responses={200: ok(array(SEARCH_HIT), "The hits, best first."), **SEARCH_ERRORS},
    )
)

search_v3 = extend_schema_view(
    post=memory_op(
        operation_id="memories_search",
        summary="Search memories",
        description=(
            "The current SDKs' search: semantic similarity (local embedder) lightly boosted "
            "by keyword matches, within `filters`. memdash has no reranker: `rerank` is "
            "accepted and ignored, but must be a boolean."
        ),
        tags=["Search"],
        request=body(SEARCH_V3_BODY),
        responses={
            200: ok(
                component("SearchResults", obj({"results": array(SEARCH_HIT)})),
                "The hits, best first.",
            ),
            **SEARCH_ERRORS,
        },
    )
)

UPDATE = {
    "summary": "Update a memory",
    "description": (
        "Change a memory's text, metadata, expiration_date (null clears it) or timestamp; "
        "`data`, `message` or `memory` are accepted for the text. An UPDATE history row "
        "records the change. Immutable memories cannot be updated (400): delete and add. "
        "Stricter than Mem0: `text` must be a string."
    ),
    "tags": ["Memories"],
    "request": UpdateRequest,
    "responses": {
        200: ok(MEMORY, "The updated memory."),
        **errors(400, 403, 404, 503, e404="Memory not found."),
    },
    "parameters": [MEMORY_ID],
}
memory_detail = extend_schema_view(
    get=memory_op(
        operation_id="memories_get",
        summary="Get a memory",
        description="One memory by id, expired or not.",
        tags=["Memories"],
        parameters=[MEMORY_ID],
        responses={
            200: ok(MEMORY, "The memory."),
            **errors(400, 403, 404, e400="Not a UUID.", e404="Memory not found."),
        },
    ),
    # `patch = put` in the view: one function, so one documentation (and generated ids).
    put=memory_op(**UPDATE),
    delete=memory_op(
        operation_id="memories_delete",
        summary="Delete a memory",
        description=(
            "Delete one memory: its history stays (plus a DELETE row), and it goes to the "
            "trash for MEMDASH_TRASH_DAYS. Refused (423) under a legal hold."
        ),
        tags=["Memories"],
        parameters=[
            MEMORY_ID,
            query("delete_linked", "Answer `cascade_count` (always 0).", OpenApiTypes.BOOL),
        ],
        responses={
            200: ok(
                component(
                    "MemoryDeleted",
                    obj({"message": STRING, "cascade_count": INTEGER}, required=["message"]),
                ),
                "Deleted.",
            ),
            **errors(400, 403, 404, 423, e404="Memory not found."),
        },
    ),
)

memory_history = extend_schema_view(
    get=memory_op(
        operation_id="memories_history",
        summary="A memory's history",
        description="Every change of a memory, oldest first; still there after deletion.",
        tags=["Memories"],
        parameters=[MEMORY_ID],
        responses={
            200: ok(array(HISTORY_ENTRY), "The changes."),
            **errors(400, 403, 404, e404="Memory not found!"),
        },
    )
)

batch = extend_schema_view(
    put=memory_op(
        summary="Update memories in a batch",
        description=(
            "Up to 1000 memories (text and/or metadata), all or nothing: one unknown id and "
            "nothing changes. Items may be bare ids; `memory_ids` is accepted for `memories`."
        ),
        tags=["Memories"],
        request=BatchRequest(verb="updated"),
        responses={200: ok(MESSAGE_RESPONSE, "Updated."), **errors(400, 403, 404, 503)},
    ),
    delete=memory_op(
        summary="Delete memories in a batch",
        description=(
            "Up to 1000 memories by id, all or nothing, with a JSON body. Refused (423) when a "
            "legal hold covers one of them."
        ),
        tags=["Memories"],
        request=BatchRequest(verb="deleted"),
        responses={200: ok(MESSAGE_RESPONSE, "Deleted."), **errors(400, 403, 404, 423)},
    ),
)

feedback = extend_schema_view(
    post=memory_op(
        operation_id="memories_feedback",
        summary="Give feedback on a memory",
        description="POSITIVE, NEGATIVE or VERY_NEGATIVE (any case), or null to clear it.",
        tags=["Memories"],
        request=FeedbackRequest,
        responses={
            200: ok(
                component(
                    "Feedback",
                    obj(
                        {
                            "id": UUID,
                            "feedback": {
                                **NULLABLE_STRING,
                                "enum": ["POSITIVE", "NEGATIVE", "VERY_NEGATIVE", None],
                            },
                            "feedback_reason": NULLABLE_STRING,
                        }
                    ),
                ),
                "The memory's feedback now.",
            ),
            **errors(400, 403, 404, e404="Memory not found."),
        },
    )
)

# --- events ----------------------------------------------------------------------------------------

event_detail = extend_schema_view(
    get=memory_op(
        operation_id="events_get",
        summary="Get an event",
        description="One operation (an add, a delete, an erasure...) and its progress or results.",
        tags=["Events"],
        parameters=[path_id("event_id", "event")],
        responses={200: ok(EVENT, "The event."), **errors(400, 403, 404)},
    )
)

event_list = extend_schema_view(
    get=memory_op(
        operation_id="events_list",
        summary="List events",
        description=(
            "The project's operations, newest first. memdash also filters by `entity`, "
            "`actor`, `since` and `until`, and refuses an unknown type or status (400)."
        ),
        tags=["Events"],
        parameters=[
            query("event_type", "Of this type (any case).", enum=EVENT_TYPES),
            query("type", "Same as event_type."),
            query("status", "In this status (any case).", enum=EVENT_STATUSES),
            query("entity", "About this user, agent, app or run id."),
            query("actor", "By this API key (name or prefix), user, or actor label."),
            query("since", "From this date or ISO time.", OpenApiTypes.DATETIME),
            query("until", "Up to this date (inclusive) or ISO time.", OpenApiTypes.DATETIME),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: ok(page_of("EventPage", EVENT), "A page of events."),
            **errors(400, 403, e404="A page past the end."),
        },
    )
)

# --- trash -----------------------------------------------------------------------------------------

TRASHED = component(
    "TrashedMemory",
    obj(
        {
            **MEMORY_PROPERTIES,
            "trashed_at": DATETIME,
            "trashed_by": STRING,
            "purge_after": NULLABLE_DATETIME,
        },
        required=["id", "trashed_at"],
    ),
)
TRASH_PAGE = page_of("TrashPage", TRASHED)

trash_list = extend_schema_view(
    get=memory_op(
        operation_id="trash_list",
        summary="List the trash",
        description=(
            "memdash: deleted memories, newest deletes first, for MEMDASH_TRASH_DAYS after "
            "the delete. A read of memory content: one access-log row."
        ),
        tags=["Trash"],
        parameters=[*ENTITY_QUERY, *PAGE_PARAMETERS],
        responses={200: ok(TRASH_PAGE, "A page of trashed memories."), **errors(400, 403, 404)},
    )
)
trash_filter = extend_schema_view(
    post=memory_op(
        operation_id="trash_filter",
        summary="List the trash by filter",
        description="memdash: the trash narrowed by a filter of the filter language.",
        tags=["Trash"],
        request=body(
            component("TrashListRequest", obj({"filters": FILTERS, **PAGE_FIELDS}, required=[]))
        ),
        parameters=PAGE_PARAMETERS,
        responses={200: ok(TRASH_PAGE, "A page of trashed memories."), **errors(400, 403, 404)},
    )
)
trash_restore = extend_schema_view(
    post=memory_op(
        operation_id="trash_restore",
        summary="Restore from the trash",
        description="memdash: bring memories back with their ids (a RESTORE history row each).",
        tags=["Trash"],
        request=body(MEMORY_IDS_BODY),
        responses={
            200: ok(
                component(
                    "Restored",
                    obj({"event_id": UUID, "restored": INTEGER}, additionalProperties=True),
                ),
                "Restored.",
            ),
            **errors(400, 403, 404),
        },
    )
)
trash_purge = extend_schema_view(
    post=memory_op(
        operation_id="trash_purge",
        summary="Purge from the trash",
        description="memdash: remove trashed memories for good. Refused (423) under a legal hold.",
        tags=["Trash"],
        request=body(MEMORY_IDS_BODY),
        responses={
            200: ok(
                component(
                    "Purged",
                    obj({"event_id": UUID, "purged": INTEGER}, additionalProperties=True),
                ),
                "Purged.",
            ),
            **errors(400, 403, 404, 423),
        },
    )
)

# --- project settings and webhooks -----------------------------------------------------------------

CATEGORIES = array({"type": "object", "additionalProperties": STRING, "minProperties": 1})
PROJECT_OPTIONS = (
    "memory_depth",
    "usecase_setting",
    "version",
    "inclusion_prompt",
    "exclusion_prompt",
    "update_custom_instructions",
    "summary_custom_instructions",
)
ATTRIBUTION = {
    **STRING,
    "enum": ["speaker", "all_ids"],
    "description": (
        "memdash: whose memory each message of an add becomes when the add names several "
        "entities: `speaker` (user messages under user_id, assistant ones under agent_id) or "
        "`all_ids` (every memory carries every id of the call)."
    ),
}
PROJECT = component(
    "Project",
    obj(
        {
            "project_id": STRING,
            "org_id": STRING,
            "name": STRING,
            "description": NULLABLE_STRING,
            "created_at": DATETIME,
            "updated_at": DATETIME,
            "members": array(MEMBER),
            "custom_instructions": NULLABLE_STRING,
            "agent_custom_instructions": NULLABLE_STRING,
            "custom_categories": CATEGORIES,
            "is_default": BOOLEAN,
            "user_role": {
                **NULLABLE_STRING,
                "description": "memdash's role name (viewer, editor, compliance, admin).",
            },
            "pii_mode": {**STRING, "enum": ["flag", "redact", "reject"]},
            "attribution": ATTRIBUTION,
            "multilingual": {**BOOLEAN, "nullable": True},
            "decay": {**BOOLEAN, "nullable": True},
            "enable_graph": {**BOOLEAN, "nullable": True},
            **dict.fromkeys(PROJECT_OPTIONS, NULLABLE_STRING),
        }
    ),
)
PROJECT_UPDATE = component(
    "ProjectUpdate",
    obj(
        {
            "name": {
                **STRING,
                "minLength": 1,
                "maxLength": 200,
                "description": "Unique within the organization (else a 409).",
            },
            "description": STRING,
            "custom_instructions": STRING,
            "agent_custom_instructions": STRING,
            "custom_categories": {
                "oneOf": [CATEGORIES, array({**STRING, "minLength": 1})],
                "description": "Replaces the project's categories: {name: description} or names.",
            },
            "pii_mode": {**STRING, "enum": ["flag", "redact", "reject"]},
            "attribution": ATTRIBUTION,
            "multilingual": BOOLEAN,
            "decay": BOOLEAN,
            "enable_graph": BOOLEAN,
            **dict.fromkeys(PROJECT_OPTIONS, STRING),
            "org_id": {**STRING, "description": "Accepted and ignored (the path counts)."},
            "project_id": {**STRING, "description": "Accepted and ignored (the path counts)."},
        },
        required=[],
        description="Only the keys given change.",
    ),
)
PROJECT_PATH = [ORG_ID_PATH, REACHED_PROJECT_PATH]
PROJECT_UPDATE_DOC = {
    "tags": ["Project"],
    "summary": "Update project settings",
    "description": (
        "Custom instructions and categories (they steer memory extraction), Mem0's project "
        f"flags, and memdash's `pii_mode` and `attribution`. {REACH}"
    ),
    "request": body(PROJECT_UPDATE),
    "parameters": PROJECT_PATH,
    "responses": {
        200: ok(MESSAGE_RESPONSE, "Updated."),
        **errors(
            400,
            403,
            404,
            409,
            e403="The key is not an admin key.",
            e404=ORG_NOT_FOUND,
            e409="The organization has another project of that name.",
        ),
    },
}
DELETE_PROJECT_ERRORS: dict[str, Any] = {
    "e403": "The key is not an admin key.",
    "e404": ORG_NOT_FOUND,
    "e409": "A deletion of the project is already running (asking again after one failed "
    "restarts it).",
    "e423": "A legal hold covers memories (or trashed memories) of the project: nothing is "
    "deleted until it is released.",
}
project_detail = extend_schema_view(
    get=org_op(
        operation_id="project_get",
        tags=["Project"],
        summary="Get project settings",
        description=(
            "A project's settings, members and flags. Any key may read its own project; "
            "another project needs an admin key whose maker is an admin there (else a 404)."
        ),
        parameters=[*PROJECT_PATH, query("fields", "Accepted; every key is returned.")],
        responses={
            200: ok(PROJECT, "The project."),
            **errors(
                403,
                404,
                e403="A project other than the key's own, asked with a non-admin key.",
                e404=ORG_NOT_FOUND,
            ),
        },
    ),
    # `put = patch` in the view: one function, so one documentation (and generated ids).
    patch=org_op(**PROJECT_UPDATE_DOC),
    delete=org_op(
        operation_id="project_delete",
        tags=["Project"],
        summary="Delete a project",
        description=(
            "Delete the project and everything in it (memories, history, trash, entities, "
            "events, keys, webhooks...). A small project (at most MEMDASH_SYNC_DELETE_LIMIT "
            "rows) is deleted in the request: `{message}`. A larger one is deleted by a "
            "worker: `{message, event_id}`, and from that moment the project's keys are "
            "answered 410, so the audit log, not the Event, is the lasting record. The key's "
            f"own project may be deleted (the key goes with it). {REACH}"
        ),
        parameters=PROJECT_PATH,
        responses={
            200: ok(
                component(
                    "ProjectDeleted",
                    obj(
                        {
                            "message": STRING,
                            "event_id": {
                                **UUID,
                                "description": "Only when a worker deletes it: the DELETE Event.",
                            },
                        },
                        required=["message"],
                    ),
                ),
                "Deleted, or deleting.",
            ),
            **errors(403, 404, 409, 423, **DELETE_PROJECT_ERRORS),
        },
    ),
)
organization_detail = extend_schema_view(
    get=org_op(
        operation_id="organization_get",
        summary="Get an organization",
        description=(
            f"The key's organization, with the members of the projects the key reaches. {REACH}"
        ),
        parameters=[ORG_ID_PATH],
        responses={
            200: ok(ORGANIZATION, "The organization."),
            **errors(403, 404, e403="The key is not an admin key.", e404=ORG_NOT_FOUND),
        },
    ),
    delete=org_op(
        operation_id="organization_delete",
        summary="Delete an organization",
        description=(
            "Delete every project of the organization, as a project delete does, then the "
            "organization. Refused unless the key reaches every one of its projects. Small "
            "projects go in the request; when some need a worker the answer lists their "
            "`event_ids`, and the organization goes after the last of them. Nothing is "
            f"deleted when any project is refused. {REACH}"
        ),
        parameters=[ORG_ID_PATH],
        responses={
            200: ok(
                component(
                    "OrganizationDeleted",
                    obj(
                        {
                            "message": STRING,
                            "event_ids": {
                                **array(UUID),
                                "description": "Only when workers delete some projects.",
                            },
                        },
                        required=["message"],
                    ),
                ),
                "Deleted, or deleting.",
            ),
            **errors(
                403,
                404,
                409,
                423,
                **{
                    **DELETE_PROJECT_ERRORS,
                    "e403": "The key is not an admin key, or the organization has projects "
                    "the key does not reach.",
                    "e404": "Not the key's organization.",
                    "e409": "A deletion of one of its projects is already running.",
                    "e423": "A legal hold covers memories of one of its projects.",
                },
            ),
        },
    ),
)

WEBHOOK_EVENTS = ["memory_add", "memory_update", "memory_delete", "memory_categorize"]
WEBHOOK_PROPERTIES: Schema = {
    "webhook_id": UUID,
    "name": STRING,
    "url": {**STRING, "format": "uri"},
    "event_types": array({**STRING, "enum": WEBHOOK_EVENTS}),
    "owner": {**ANY_VALUE, "nullable": True, "description": "Always null."},
    "is_active": BOOLEAN,
    "project": STRING,
    "created_at": DATETIME,
    "updated_at": DATETIME,
}
WEBHOOK = component("Webhook", obj(WEBHOOK_PROPERTIES))
WEBHOOK_WITH_SECRET = component(
    "WebhookWithSecret",
    obj(
        {**WEBHOOK_PROPERTIES, "secret": {**STRING, "description": "Signs each delivery."}},
    ),
)
WEBHOOK_FIELDS: Schema = {
    "name": STRING,
    "url": {
        **STRING,
        "format": "uri",
        "description": (
            "http(s). Stricter than Mem0: private and loopback addresses are refused unless "
            "MEMDASH_WEBHOOK_ALLOW_PRIVATE, link-local ones always."
        ),
    },
    "event_types": {**array({**STRING, "enum": WEBHOOK_EVENTS}), "minItems": 1},
    "is_active": BOOLEAN,
}
WEBHOOK_ID = path_id("webhook_id", "webhook")
WEBHOOK_UPDATE = {
    "summary": "Update a webhook",
    "description": "Change a webhook's name, url, event types or is_active. Admin keys only.",
    "tags": ["Webhooks"],
    "parameters": [WEBHOOK_ID],
    "request": body(component("WebhookUpdate", obj(WEBHOOK_FIELDS, required=[]))),
    "responses": {200: ok(MESSAGE_RESPONSE, "Updated."), **errors(400, 403, 404)},
}
PROJECT_ID_PATH = path_id("project_id", "project")
PROJECT_ID_PATH.type = OpenApiTypes.STR
project_webhooks = extend_schema_view(
    get=memory_op(
        operation_id="webhooks_list",
        summary="List webhooks",
        description="The project's webhooks (a bare list). Admin keys only.",
        tags=["Webhooks"],
        parameters=[PROJECT_ID_PATH],
        responses={200: ok(array(WEBHOOK), "The webhooks."), **errors(403, 404)},
    ),
    post=memory_op(
        operation_id="webhooks_create",
        summary="Create a webhook",
        description=(
            "memdash POSTs each memory change of the chosen types to `url`, signed with the "
            "webhook's secret (shown here and on GET of the webhook). Admin keys only."
        ),
        tags=["Webhooks"],
        parameters=[PROJECT_ID_PATH],
        request=body(
            component("WebhookCreate", obj(WEBHOOK_FIELDS, required=["name", "url", "event_types"]))
        ),
        responses={201: ok(WEBHOOK_WITH_SECRET, "Created."), **errors(400, 403, 404)},
    ),
)
webhook_detail = extend_schema_view(
    get=memory_op(
        operation_id="webhooks_get",
        summary="Get a webhook",
        description="One webhook, with its secret. Admin keys only.",
        tags=["Webhooks"],
        parameters=[WEBHOOK_ID],
        responses={200: ok(WEBHOOK_WITH_SECRET, "The webhook."), **errors(400, 403, 404)},
    ),
    # `patch = put` in the view: one function, so one documentation (and generated ids).
    put=memory_op(**WEBHOOK_UPDATE),
    delete=memory_op(
        operation_id="webhooks_delete",
        summary="Delete a webhook",
        description="Stop deliveries and remove the webhook. Admin keys only.",
        tags=["Webhooks"],
        parameters=[WEBHOOK_ID],
        responses={200: ok(MESSAGE_RESPONSE, "Deleted."), **errors(400, 403, 404)},
    ),
)

# --- exports ---------------------------------------------------------------------------------------

EXPORT_CREATED = component(
    "ExportCreated",
    obj({"message": STRING, "id": UUID, "event_id": UUID, "status": STRING}),
)
EXPORT_PENDING = component(
    "ExportPending",
    obj(
        {
            "id": UUID,
            "status": {**STRING, "enum": ["PENDING", "RUNNING"]},
            "message": STRING,
            "progress": NULLABLE_OBJECT,
        }
    ),
)
EXPORT_FAILED = OpenApiResponse(
    response={"allOf": [component("ExportFailed", obj({"id": UUID, "status": STRING}))]},
    description="Building the export failed: the Error shape plus `id` and `status`.",
)
platform_exports = extend_schema_view(
    post=memory_op(
        operation_id="exports_create",
        summary="Create a memory export",
        description=(
            "Mem0's structured export: an LLM fills `schema` (a JSON Schema) from the "
            "memories matching the filters (the newest MEMDASH_EXPORT_LLM_MEMORIES), in the "
            "background. Filters follow the /v1/ rules. Exports are purged after "
            "MEMDASH_EXPORT_TTL_HOURS."
        ),
        tags=["Exports"],
        request=body(
            component(
                "ExportRequest",
                obj(
                    {
                        "schema": {
                            **ANY_OBJECT,
                            "minProperties": 1,
                            "description": "The JSON Schema to fill.",
                        },
                        "filters": FILTERS,
                        "export_instructions": STRING,
                        **ENTITY_ID_FIELDS,
                    },
                    required=["schema"],
                ),
            )
        ),
        responses={
            201: ok(EXPORT_CREATED, "Queued."),
            **errors(400, 403, e400="Invalid schema or filters (also under `message`)."),
        },
    )
)
platform_export_get = extend_schema_view(
    post=memory_op(
        operation_id="exports_get",
        summary="Get a memory export",
        description=(
            "The export by `memory_export_id`, or the newest made with the same filters. 200 "
            "with the exported object (shaped by its schema) once built; 202 while it is."
        ),
        tags=["Exports"],
        request=body(
            component(
                "ExportGetRequest",
                obj(
                    {"memory_export_id": UUID, "filters": FILTERS, **ENTITY_ID_FIELDS},
                    required=[],
                ),
            )
        ),
        responses={
            200: ok({**ANY_OBJECT, "description": "Shaped by the export's schema."}, "The export."),
            202: ok(EXPORT_PENDING, "Still being built; ask again in a few seconds."),
            **errors(400, 403, 404, 410, e404="No memory export request found (also `error`)."),
            422: EXPORT_FAILED,
        },
    )
)

SUBJECT_EXPORT = component(
    "SubjectExport",
    obj(
        {
            "id": UUID,
            "event_id": UUID,
            "status": {**STRING, "enum": EVENT_STATUSES},
            "subject": ANY_OBJECT,
            "requested_by": STRING,
            "progress": NULLABLE_OBJECT,
            "counts": NULLABLE_OBJECT,
            "error": NULLABLE_STRING,
            "size": {**INTEGER, "nullable": True},
            "sha256": NULLABLE_STRING,
            "created_at": DATETIME,
            "completed_at": NULLABLE_DATETIME,
            "expires_at": NULLABLE_DATETIME,
            "expired": BOOLEAN,
            "download_url": {**NULLABLE_STRING, "description": "Once ready: the zip's path."},
        }
    ),
)
EXPORT_ID = path_id("export_id", "export")
subject_exports = extend_schema_view(
    post=memory_op(
        operation_id="subject_exports_create",
        summary="Export a data subject",
        description=(
            "memdash: everything held about a person (memories, trash, history, events, "
            "inputs) as a zip, built in the background (GDPR art. 15/20). Compliance keys."
        ),
        tags=["Subject exports"],
        request=body(with_subject("SubjectExportRequest", {}, [], "The person to export.")),
        responses={
            202: ok(
                {"allOf": [SUBJECT_EXPORT, obj({"message": STRING})]},
                "Queued; poll GET /v1/subject-exports/{id}/.",
            ),
            **errors(400, 403, 404, e404="Nothing is held about that subject."),
        },
    ),
    get=memory_op(
        operation_id="subject_exports_list",
        summary="List subject exports",
        description="memdash: the project's subject exports, newest first. Compliance keys.",
        tags=["Subject exports"],
        parameters=PAGE_PARAMETERS,
        responses={
            200: ok(page_of("SubjectExportPage", SUBJECT_EXPORT), "A page of exports."),
            **errors(400, 403, e404="A page past the end."),
        },
    ),
)
subject_export_detail = extend_schema_view(
    get=memory_op(
        operation_id="subject_exports_get",
        summary="Get a subject export",
        description="memdash: one export and its progress. Compliance keys.",
        tags=["Subject exports"],
        parameters=[EXPORT_ID],
        responses={200: ok(SUBJECT_EXPORT, "The export."), **errors(400, 403, 404)},
    )
)
subject_export_download = extend_schema_view(
    get=memory_op(
        operation_id="subject_exports_download",
        summary="Download a subject export",
        description=(
            "memdash: the zip, once built (recorded as a DOWNLOAD Event and an access-log "
            "row). Compliance keys."
        ),
        tags=["Subject exports"],
        parameters=[EXPORT_ID],
        responses={
            (200, "application/zip"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="The zip archive."
            ),
            202: ok(EXPORT_PENDING, "Still being built."),
            **errors(400, 403, 404, 410),
            422: EXPORT_FAILED,
        },
    )
)

# --- erasures and receipts ---------------------------------------------------------------------

ERASURE = component(
    "Erasure",
    obj(
        {
            "id": UUID,
            "event_id": UUID,
            "status": {**STRING, "enum": EVENT_STATUSES},
            "subject": obj(
                {"type": STRING, "hash": {**STRING, "description": "Salted; never the id."}}
            ),
            "reference": STRING,
            "reason": STRING,
            "requested_by": STRING,
            "confirmed_by": STRING,
            "progress": NULLABLE_OBJECT,
            "counts": NULLABLE_OBJECT,
            "error": NULLABLE_STRING,
            "created_at": DATETIME,
            "completed_at": NULLABLE_DATETIME,
            "receipt": {**NULLABLE_OBJECT, "description": "The signed receipt, once done."},
        }
    ),
)
MENTION = obj(
    {
        "id": UUID,
        "memory": STRING,
        "user_id": ENTITY_ID,
        "agent_id": ENTITY_ID,
        "app_id": ENTITY_ID,
        "run_id": ENTITY_ID,
    }
)
ERASURE_PREVIEW = component(
    "ErasurePreview",
    obj(
        {
            "dry_run": {**BOOLEAN, "enum": [True]},
            "subject": obj({"type": STRING}),
            "holds": {**array(STRING), "description": "Legal holds covering the subject."},
            "counts": obj(
                dict.fromkeys(
                    ("memories", "trash", "history", "events", "inputs", "exports", "mentions"),
                    INTEGER,
                )
            ),
            "mentions": {
                **array(MENTION),
                "description": "Other entities' memories naming the subject, to review.",
            },
        }
    ),
)
erasures = extend_schema_view(
    post=memory_op(
        operation_id="erasures_create",
        summary="Preview or confirm an erasure",
        description=(
            "memdash: erase a data subject (GDPR art. 17). `dry_run` (the default) previews "
            "what would go; `dry_run: false` confirms, and the erasure runs in the background "
            "and ends with a signed receipt. Refused (423) while a legal hold covers the "
            "subject, (409) while another erasure of it runs, (501) without a receipt key. "
            "Compliance keys."
        ),
        tags=["Erasures"],
        request=body(
            with_subject(
                "ErasureRequest",
                {
                    "dry_run": {**BOOLEAN, "default": True},
                    "aliases": {**array(STRING), "description": "Other names to find mentions by."},
                    "mentions": {
                        "oneOf": [{**STRING, "enum": ["all"]}, array(UUID)],
                        "description": "Which previewed mentions to erase too.",
                    },
                    "reference": {**STRING, "maxLength": 200},
                    "reason": {**STRING, "maxLength": 2000},
                },
                [],
                "The subject to erase.",
            )
        ),
        responses={
            200: ok(ERASURE_PREVIEW, "The dry run."),
            202: ok(
                {"allOf": [ERASURE, obj({"message": STRING})]},
                "Confirmed; poll GET /v1/erasures/{id}/.",
            ),
            **errors(
                400,
                403,
                404,
                409,
                423,
                501,
                e404="Nothing is held about that subject.",
                e501="No key to sign the receipt is configured.",
            ),
        },
    ),
    get=memory_op(
        operation_id="erasures_list",
        summary="List erasures",
        description="memdash: the project's erasures, newest first. Compliance keys.",
        tags=["Erasures"],
        parameters=PAGE_PARAMETERS,
        responses={
            200: ok(page_of("ErasurePage", ERASURE), "A page of erasures."),
            **errors(400, 403, e404="A page past the end."),
        },
    ),
)
erasure_detail = extend_schema_view(
    get=memory_op(
        operation_id="erasures_get",
        summary="Get an erasure",
        description="memdash: one erasure, its progress, and its receipt once done.",
        tags=["Erasures"],
        parameters=[path_id("erasure_id", "erasure")],
        responses={200: ok(ERASURE, "The erasure."), **errors(400, 403, 404)},
    )
)
public_key = extend_schema_view(
    get=extend_schema(
        operation_id="receipts_public_key",
        summary="The receipts' public key",
        description="memdash: the Ed25519 key that verifies this deployment's receipts. No key.",
        tags=["Receipts"],
        auth=[],
        responses={
            200: ok(
                component(
                    "PublicKey",
                    obj(
                        {
                            "algorithm": {**STRING, "enum": ["Ed25519"]},
                            "key_id": STRING,
                            "public_key_pem": STRING,
                        }
                    ),
                ),
                "The key.",
            ),
            **errors(501, keyed=False, e501="No receipt key is configured."),
        },
    )
)
verify_receipt = extend_schema_view(
    post=extend_schema(
        operation_id="receipts_verify",
        summary="Verify a receipt",
        description=(
            "memdash: whether an erasure receipt is intact and signed by this deployment's "
            'key. Send the receipt, or {"receipt": ...}. No key needed.'
        ),
        tags=["Receipts"],
        auth=[],
        request={
            "application/json": {
                # anyOf: {"receipt": {...}} is an object too.
                "anyOf": [obj({"receipt": ANY_OBJECT}), ANY_OBJECT],
            }
        },
        responses={
            200: ok(
                component(
                    "Verification",
                    obj(
                        {"valid": BOOLEAN, "reason": NULLABLE_STRING, "key_id": STRING},
                        required=["valid", "reason"],
                    ),
                ),
                "Whether it verifies, and if not, why.",
            ),
            **errors(400, keyed=False, e400="The body is not JSON, or cannot be read."),
        },
    )
)

# --- legal holds and retention ----------------------------------------------------------------

HOLD = component(
    "LegalHold",
    obj(
        {
            "id": UUID,
            "name": STRING,
            "subject": SUBJECT_COMPONENT,
            "reason": STRING,
            "active": BOOLEAN,
            "placed_by": STRING,
            "placed_at": DATETIME,
            "released_by": NULLABLE_STRING,
            "released_at": NULLABLE_DATETIME,
            "release_reason": NULLABLE_STRING,
        }
    ),
)
HOLD_ID = path_id("hold_id", "hold")
holds = extend_schema_view(
    get=memory_op(
        operation_id="holds_list",
        summary="List legal holds",
        description="memdash: every hold, newest first. Compliance keys.",
        tags=["Legal holds"],
        parameters=[
            query(
                "active", "Only active (true) or released (false) holds.", enum=["true", "false"]
            ),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: ok(page_of("LegalHoldPage", HOLD), "A page of holds."),
            **errors(400, 403, e404="A page past the end."),
        },
    ),
    post=memory_op(
        operation_id="holds_create",
        summary="Place a legal hold",
        description=(
            "memdash: while a hold is active, the memories it covers cannot be deleted, "
            "purged or erased (423); bulk deletes skip them and say so. Compliance keys."
        ),
        tags=["Legal holds"],
        request=body(
            with_subject(
                "LegalHoldRequest",
                {"name": {**STRING, "minLength": 1}, "reason": STRING},
                ["name"],
                "What to hold.",
            )
        ),
        responses={201: ok(HOLD, "Placed."), **errors(400, 403)},
    ),
)
hold_detail = extend_schema_view(
    get=memory_op(
        operation_id="holds_get",
        summary="Get a legal hold",
        description="memdash: one hold. Compliance keys.",
        tags=["Legal holds"],
        parameters=[HOLD_ID],
        responses={200: ok(HOLD, "The hold."), **errors(400, 403, 404)},
    )
)
hold_release = extend_schema_view(
    post=memory_op(
        operation_id="holds_release",
        summary="Release a legal hold",
        description="memdash: end a hold; the record stays. Compliance keys.",
        tags=["Legal holds"],
        parameters=[HOLD_ID],
        request=body(component("HoldRelease", obj({"reason": STRING}, required=[]))),
        responses={
            200: ok(HOLD, "Released."),
            **errors(400, 403, 404, 409, e409="The hold was released already."),
        },
    )
)

POLICY = component(
    "RetentionPolicy",
    obj(
        {
            "id": UUID,
            "name": STRING,
            "filters": {**NULLABLE_OBJECT, "description": "Which memories (null: all)."},
            "rule": {**STRING, "enum": ["created", "updated", "run_activity"]},
            "days": INTEGER,
            "enabled": BOOLEAN,
            "created_by": STRING,
            "created_at": DATETIME,
            "updated_at": DATETIME,
            "last_run_at": NULLABLE_DATETIME,
            "last_event_id": {**UUID, "nullable": True},
        }
    ),
)
POLICY_FIELDS: Schema = {
    "name": {**STRING, "minLength": 1},
    "filters": {**FILTERS, "nullable": True},
    "rule": {**STRING, "enum": ["created", "updated", "run_activity"]},
    "days": {**INTEGER, "minimum": 1},
    "enabled": BOOLEAN,
}
POLICY_ID = path_id("policy_id", "policy")
retention_policies = extend_schema_view(
    get=memory_op(
        operation_id="retention_list",
        summary="List retention policies",
        description="memdash: the project's policies, newest first. Admin keys.",
        tags=["Retention"],
        parameters=PAGE_PARAMETERS,
        responses={
            200: ok(page_of("RetentionPolicyPage", POLICY), "A page of policies."),
            **errors(400, 403, e404="A page past the end."),
        },
    ),
    post=memory_op(
        operation_id="retention_create",
        summary="Create a retention policy",
        description=(
            "memdash: delete memories matching `filters` `days` after their creation, last "
            "update or run's last activity (hourly; held memories are kept). An unknown key "
            "is a 400. Admin keys."
        ),
        tags=["Retention"],
        request=body(
            component(
                "RetentionPolicyCreate", obj(POLICY_FIELDS, required=["name", "rule", "days"])
            )
        ),
        responses={
            201: ok(POLICY, "Created."),
            **errors(400, 403, 409, e409="A policy of that name exists."),
        },
    ),
)
retention_policy = extend_schema_view(
    get=memory_op(
        operation_id="retention_get",
        summary="Get a retention policy",
        description="memdash: one policy. Admin keys.",
        tags=["Retention"],
        parameters=[POLICY_ID],
        responses={200: ok(POLICY, "The policy."), **errors(400, 403, 404)},
    ),
    patch=memory_op(
        operation_id="retention_update",
        summary="Update a retention policy",
        description="memdash: change the keys given (e.g. `enabled: false` pauses it).",
        tags=["Retention"],
        parameters=[POLICY_ID],
        request=body(component("RetentionPolicyUpdate", obj(POLICY_FIELDS, required=[]))),
        responses={200: ok(POLICY, "Updated."), **errors(400, 403, 404, 409)},
    ),
    delete=memory_op(
        operation_id="retention_delete",
        summary="Delete a retention policy",
        description="memdash: remove the policy (the memories stay).",
        tags=["Retention"],
        parameters=[POLICY_ID],
        responses={200: ok(MESSAGE_RESPONSE, "Deleted."), **errors(400, 403, 404)},
    ),
)
retention_preview = extend_schema_view(
    post=memory_op(
        operation_id="retention_preview",
        summary="Dry-run a retention policy",
        description="memdash: what the policy would delete now, and what holds would keep.",
        tags=["Retention"],
        parameters=[POLICY_ID],
        request=None,
        responses={
            200: ok(
                component(
                    "RetentionPreview",
                    obj(
                        {
                            "would_delete": INTEGER,
                            "held": INTEGER,
                            "oldest": NULLABLE_DATETIME,
                        }
                    ),
                ),
                "The dry run.",
            ),
            **errors(400, 403, 404),
        },
    )
)

# --- summaries and profiles ----------------------------------------------------------------

SUMMARY_BODY = component(
    "SummaryRequest",
    obj(
        {
            name: LEGACY_READ_FIELDS[name]
            for name in (
                "user_id",
                "agent_id",
                "app_id",
                "run_id",
                "filters",
                "categories",
                "metadata",
                "keywords",
                "start_date",
                "end_date",
                "org_id",
                "project_id",
            )
        },
        required=[],
        description=(
            "The memories to summarise: `filters` and/or top-level conditions, with /v1's "
            "implicit null scoping (naming some entity ids implies the others are null). An "
            "empty body summarises the whole project."
        ),
    ),
)
SUMMARY = component(
    "Summary",
    obj(
        {
            "summary": {**STRING, "description": "Empty when no memory matched."},
            "memory_count": {
                **INTEGER,
                "description": "The memories the summary was written from.",
            },
            "memory_ids": array(UUID),
            "truncated": {
                **BOOLEAN,
                "description": "More memories matched than max_memories: only the newest were read.",
            },
            "max_memories": INTEGER,
            "filters": {**ANY_OBJECT, "description": "The filter applied, null scoping included."},
            "generated_at": DATETIME,
        }
    ),
)
summary = extend_schema_view(
    post=memory_op(
        operation_id="memories_summary",
        summary="Summarise memories",
        description=(
            "An LLM writes a summary, in the request, of the newest unexpired memories that "
            "match (at most `max_memories`, 100); nothing is stored. When nothing matches the "
            "summary is empty and the LLM is not called. The project's "
            "`summary_custom_instructions` steer it. Any key may ask. A read: one access-log "
            "row naming the memories read."
        ),
        tags=["Summary"],
        request=body(SUMMARY_BODY),
        responses={
            200: ok(SUMMARY, "The summary."),
            **errors(400, 403, 501, 502, 503),
        },
    )
)

PROFILE_STATUSES = ["not_enabled", "pending", "succeeded", "failed", "insufficient_data"]
JOB_STATUSES = ["pending", "running", "succeeded", "failed"]
JOB_OPERATIONS = ["trigger", "sample"]
USER_ONLY: Schema = {**STRING, "enum": ["user"], "description": "Profiles are for users only."}
PROFILE_USER_SETTINGS = obj(
    {
        "schema": {
            **NULLABLE_OBJECT,
            "description": (
                "The JSON Schema profiles are written to: an object with properties, each "
                "(nested ones too) with a `description`. Null: the built-in schema "
                "(capabilities.default_schema)."
            ),
        },
        "custom_instructions": {
            **NULLABLE_STRING,
            "maxLength": 10000,
            "description": "Extra instructions for the LLM that writes profiles.",
        },
    }
)
PROFILE_SETTINGS = component(
    "ProfileSettings",
    obj(
        {
            "enabled": {**BOOLEAN, "description": "Off unless set: jobs are refused while off."},
            "capabilities": obj(
                {
                    "entity_types": array(USER_ONLY),
                    "operations": array({**STRING, "enum": JOB_OPERATIONS}),
                    "sample_limit": obj({"default": INTEGER, "max": INTEGER}),
                    "max_memories_read": {
                        **INTEGER,
                        "description": "A profile is written from at most this many memories.",
                    },
                    "llm_configured": {
                        **BOOLEAN,
                        "description": "Whether this server has an LLM (jobs need one).",
                    },
                    "default_schema": {
                        **ANY_OBJECT,
                        "description": "The schema used while the project sets none.",
                    },
                },
                description="What this server's profiles can do.",
            ),
            "entities": obj({"user": PROFILE_USER_SETTINGS}),
        }
    ),
)
PROFILE_SETTINGS_UPDATE = component(
    "ProfileSettingsUpdate",
    obj(
        {
            "enabled": BOOLEAN,
            "entities": obj(
                {
                    "user": {
                        **obj(
                            PROFILE_USER_SETTINGS["properties"],
                            required=[],
                            additionalProperties=False,
                        ),
                        "description": "A key given as null is cleared; one left out is kept.",
                    }
                },
                required=[],
                additionalProperties=False,
            ),
            "org_id": STRING,
            "project_id": STRING,
        },
        required=[],
        additionalProperties=False,
        description=(
            "Only the keys given change. Any other key (a flat `schema`, `entities.agent`...) "
            'is a 400 "Unsupported settings".'
        ),
    ),
)
profile_settings = extend_schema_view(
    get=memory_op(
        operation_id="profile_settings_get",
        summary="Get profile settings",
        description=(
            "Whether user profiles are on, the project's profile schema and instructions, and "
            "what this server's profiles can do."
        ),
        tags=["Profiles"],
        responses={200: ok(PROFILE_SETTINGS, "The settings."), **errors(403)},
    ),
    post=memory_op(
        operation_id="profile_settings_update",
        summary="Update profile settings",
        description=(
            "Turn profiles on or off, and set the user profile schema or custom instructions. "
            "A change of schema or instructions makes the next job regenerate every profile it "
            "reaches; profiles are never regenerated on their own. Each real change is written "
            "to the audit trail. Admin keys only."
        ),
        tags=["Profiles"],
        request=body(PROFILE_SETTINGS_UPDATE),
        responses={
            200: ok(PROFILE_SETTINGS, "The settings, as changed."),
            **errors(
                400,
                403,
                e400=(
                    "An unsupported key, or a schema that is not a valid JSON Schema of an "
                    "object whose every property has a description."
                ),
            ),
        },
    ),
)

PROFILE_JOB_REQUEST = {
    "oneOf": [
        component(
            "ProfileTrigger",
            obj(
                {
                    "operation": {**STRING, "enum": ["trigger"]},
                    "entity_type": USER_ONLY,
                    "entity_id": {**STRING, "minLength": 1, "description": "The user's id."},
                },
                description="Write the profile of one user.",
            ),
        ),
        component(
            "ProfileSample",
            obj(
                {
                    "operation": {**STRING, "enum": ["sample"]},
                    "entity_type": USER_ONLY,
                    "limit": {**INTEGER, "minimum": 1, "maximum": 10, "default": 3},
                },
                required=["operation", "entity_type"],
                description="Write the profiles of the `limit` most recently active users with memories.",
            ),
        ),
    ]
}
PROFILE_JOB_CREATED = component(
    "ProfileJobCreated",
    obj(
        {
            "job_id": UUID,
            "status": {**STRING, "enum": JOB_STATUSES},
            "status_url": {**STRING, "description": "The job's path, to poll with GET."},
            "operation": {**STRING, "enum": JOB_OPERATIONS},
            "entity_type": USER_ONLY,
            "entity_count_reserved": {**INTEGER, "description": "The users the job covers."},
            "event_id": {**UUID, "description": "The job's PROFILE Event."},
            "replayed": {
                **BOOLEAN,
                "description": "True when an earlier request with this Idempotency-Key made it.",
            },
            "sampled": {**INTEGER, "description": "Sample jobs only: the users chosen."},
            "entity_ids": {**array(STRING), "description": "Sample jobs only: their ids."},
        },
        required=[
            "job_id",
            "status",
            "status_url",
            "operation",
            "entity_type",
            "entity_count_reserved",
            "event_id",
            "replayed",
        ],
    ),
)
PROFILE_JOB = component(
    "ProfileJob",
    obj(
        {
            "job": obj(
                {
                    "id": UUID,
                    "operation": {**STRING, "enum": JOB_OPERATIONS},
                    "entity_type": USER_ONLY,
                    "status": {**STRING, "enum": JOB_STATUSES},
                    "total": {**INTEGER, "description": "Users the job covers (known at once)."},
                    "enumeration_complete": {**BOOLEAN, "description": "Always true."},
                    "completed": {**INTEGER, "description": "succeeded + failed + skipped."},
                    "succeeded": INTEGER,
                    "failed": INTEGER,
                    "skipped": {
                        **INTEGER,
                        "description": "Users with no change since their last profile, or no memories.",
                    },
                    "event_id": UUID,
                    "error": NULLABLE_STRING,
                }
            )
        }
    ),
)
profile_jobs = extend_schema_view(
    post=memory_op(
        operation_id="profile_jobs_create",
        summary="Generate profiles",
        description=(
            "Queue a job that writes user profiles on a worker: one user (`trigger`) or a "
            "sample of the most recently active users (`sample`). A user is regenerated only "
            "when something changed since their last profile (memories, schema or "
            "instructions); otherwise they are skipped. Poll `status_url`. With an "
            "Idempotency-Key a retry is safe: the same key and body answer the same job "
            "(`replayed: true`). Editor keys or higher."
        ),
        tags=["Profiles"],
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description=(
                    "Up to 255 characters, kept per project with the job: a repeat with the "
                    "same body is the same job, with another body a 422."
                ),
            )
        ],
        request=body(PROFILE_JOB_REQUEST),
        responses={
            202: ok(PROFILE_JOB_CREATED, "Queued (or the job this Idempotency-Key made)."),
            **errors(
                400,
                403,
                404,
                422,
                501,
                e400="A bad operation, entity_type, entity_id or limit, or profiles are off.",
                e404="The project has no user of that id.",
                e422="The Idempotency-Key was used before with another request.",
            ),
        },
    )
)
profile_job = extend_schema_view(
    get=memory_op(
        operation_id="profile_jobs_get",
        summary="Get a profile job",
        description="A profile job's status and its counts of users done so far.",
        tags=["Profiles"],
        parameters=[
            OpenApiParameter(
                "job_id",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="The job's id (`job_id`); a malformed id is a 404 too.",
            )
        ],
        responses={
            200: ok(PROFILE_JOB, "The job."),
            **errors(403, 404, e404="No profile job of that id in the key's project."),
        },
    )
)
entity_profile = extend_schema_view(
    get=memory_op(
        operation_id="profiles_get",
        summary="Get a user's profile",
        description=(
            "The user's profile, written by the last profile job, and its status. A failed "
            "generation keeps the last good profile and says why in `error`. A read: one "
            "access-log row naming the memories the profile was written from."
        ),
        tags=["Profiles"],
        parameters=[
            OpenApiParameter(
                "entity_id",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="The user's id, as memories use it.",
            )
        ],
        responses={
            200: ok(
                component(
                    "Profile",
                    obj(
                        {
                            "profile": {
                                **ANY_OBJECT,
                                "description": "Shaped by the profile schema; {} until written.",
                            },
                            "status": {
                                **STRING,
                                "enum": PROFILE_STATUSES,
                                "description": (
                                    "not_enabled: profiles are off; pending: a job for the user "
                                    "is queued or running, or none has run; insufficient_data: "
                                    "the user has no memories."
                                ),
                            },
                            "entity_type": USER_ONLY,
                            "entity_id": STRING,
                            "updated_at": {
                                **NULLABLE_DATETIME,
                                "description": "When the profile was last written.",
                            },
                            "generation_count": INTEGER,
                            "error": {
                                **NULLABLE_STRING,
                                "description": "Why the last generation failed.",
                            },
                        }
                    ),
                ),
                "The profile.",
            ),
            **errors(403, 404, e404="The project has no user of that id."),
        },
    )
)


# --- stats, one entity's memories, the history feed -------------------------------------------

ENTITY_KINDS = ["user", "agent", "app", "run"]
COUNT: Schema = {**INTEGER, "description": "Exact up to MEMDASH_COUNT_CAP; past it an estimate."}
AVERAGE: Schema = {
    "type": "number",
    "description": "Memories per entity of the kind, among those that have any.",
}
stats = extend_schema_view(
    get=memory_op(
        operation_id="stats",
        summary="Project stats",
        description=(
            "Memories, retrievals (the access log's reads; `total_api_retrieval_events`: "
            "those made through the API), adds (ADD Events), and per kind of entity how many "
            "have memories and their average. Counts are exact up to MEMDASH_COUNT_CAP and "
            "PostgreSQL's estimate beyond; `estimated` names those. No retrieval quota: the "
            "limit is null. Counts only, so no access-log row."
        ),
        tags=["Stats"],
        responses={
            200: ok(
                component(
                    "Stats",
                    obj(
                        {
                            "total_memories": COUNT,
                            "total_retrieval_events": COUNT,
                            "total_add_events": COUNT,
                            "total_api_retrieval_events": COUNT,
                            "total_retrieval_events_limit": {
                                **INTEGER,
                                "nullable": True,
                                "description": "Always null (no quota).",
                            },
                            **{f"total_{kind}s_with_memories": COUNT for kind in ENTITY_KINDS},
                            **{f"memories_per_{kind}": AVERAGE for kind in ENTITY_KINDS},
                            "estimated": {
                                **array(STRING),
                                "description": "The counts that are estimates.",
                            },
                        }
                    ),
                ),
                "The project's numbers.",
            ),
            **errors(403),
        },
    )
)

ENTITY_MEMORY = component(
    "EntityMemory",
    obj(
        {
            **MEMORY_PROPERTIES,
            "input": {
                **nullable(array(ANY_OBJECT)),
                "description": "The messages that added the memory.",
            },
            "is_updated": {**BOOLEAN, "description": "Whether it was changed since."},
        }
    ),
)
entity_memories = extend_schema_view(
    get=memory_op(
        operation_id="entities_memories",
        summary="An entity's memories",
        description=(
            "The memories of one user, agent, app or run, newest first, in pages of 100 "
            "(`page`, `page_size`), each with the messages that added it. An unknown entity "
            "has none: an empty page. A read: one access-log row."
        ),
        tags=["Entities"],
        parameters=[
            OpenApiParameter(
                "kind",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                enum=ENTITY_KINDS,
                description="The entity kind.",
            ),
            OpenApiParameter(
                "name",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="The entity's id as memories use it (1 to 255 characters).",
            ),
            query("show_expired", "Include expired memories.", OpenApiTypes.BOOL),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: ok(page_of("EntityMemoryPage", ENTITY_MEMORY), "A page of memories."),
            **errors(
                400,
                403,
                404,
                e400="An unknown kind, or an id that is empty or too long.",
                e404="A page past the end.",
            ),
        },
    )
)

history_events = extend_schema_view(
    get=memory_op(
        operation_id="memories_history_list",
        summary="List the project's memory history",
        description=(
            "Every ADD, UPDATE, DELETE and RESTORE of the project's memories, newest first. "
            "`limit` is the page size (Mem0's name; `page_size` works too). A read: one "
            "access-log row."
        ),
        tags=["Memories"],
        parameters=[
            query("limit", "Entries per page: 100 unless given, at most 1000.", OpenApiTypes.INT),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: ok(page_of("HistoryPage", HISTORY_ENTRY), "A page of history entries."),
            **errors(400, 403, 404, e404="A page past the end."),
        },
    )
)
