"""The OpenAPI description of the entity API's operations (applied in entities/api/views.py):
list, get, create and delete entities, and the dashboard's filter definitions."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_view

from memories.api.docs import DELETE_RESPONSE, memory_op
from tenancy.api.docs import (
    ANY_OBJECT,
    ANY_VALUE,
    BOOLEAN,
    DATETIME,
    INTEGER,
    NULLABLE_OBJECT,
    PAGE_PARAMETERS,
    STRING,
    array,
    body,
    component,
    errors,
    obj,
    ok,
    page_of,
    query,
)

KINDS = ["user", "agent", "app", "run"]

ENTITY = component(
    "Entity",
    obj(
        {
            "id": {**STRING, "description": "memdash's numeric id, as a string."},
            "name": {**STRING, "description": "The id memories use (user_id, agent_id...)."},
            "type": {**STRING, "enum": KINDS},
            "created_at": DATETIME,
            "updated_at": {**DATETIME, "description": "The last activity."},
            "owner": {**ANY_VALUE, "nullable": True, "description": "Always null."},
            "metadata": NULLABLE_OBJECT,
            "total_memories": {
                **INTEGER,
                "description": "Exact up to MEMDASH_COUNT_CAP, then the cap.",
            },
        }
    ),
)
ENTITY_PAGE = component(
    "EntityList",
    {
        "allOf": [
            page_of("EntityPage", ENTITY),
            obj({f"total_{kind}s": INTEGER for kind in KINDS}),
        ],
        "description": "A page of entities, and the project's number of each kind.",
    },
)
KIND_PATH = OpenApiParameter(
    "kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=KINDS, description="The entity kind."
)
DELETE_DESCRIPTION = (
    "Delete the entity and all its memories (to the trash for MEMDASH_TRASH_DAYS). Memories "
    "under a legal hold are kept and the answer says how many; then the entity stays too. "
    "Large deletes run as an Event."
)

entity_list = extend_schema_view(
    get=memory_op(
        operation_id="entities_list",
        summary="List entities",
        description=(
            "The project's users, agents, apps and runs, most recently active first, with "
            "their memory counts. With `page` or `page_size` it pages like every list; without "
            "them it lists every entity in one answer (`next` and `previous` null), as the "
            "SDKs' reset() and delete_users() need. A read: one access-log row."
        ),
        tags=["Entities"],
        parameters=[query("type", "Only this kind.", enum=KINDS), *PAGE_PARAMETERS],
        responses={
            200: ok(ENTITY_PAGE, "A page of entities."),
            **errors(400, 403, e404="A page past the end."),
        },
    )
)

entity_by_name = extend_schema_view(
    get=memory_op(
        operation_id="entities_get",
        summary="Get an entity",
        description="One entity by kind and name (a one-item list, as Mem0 answers).",
        tags=["Entities"],
        parameters=[
            KIND_PATH,
            OpenApiParameter(
                "name",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="The entity's id as memories use it (may contain `/`).",
            ),
        ],
        responses={
            200: ok(array(ENTITY), "The entity."),
            **errors(400, 403, 404, e400="Unknown kind."),
        },
    ),
    delete=memory_op(
        operation_id="entities_delete",
        summary="Delete an entity",
        description=DELETE_DESCRIPTION,
        tags=["Entities"],
        parameters=[
            KIND_PATH,
            OpenApiParameter(
                "name", OpenApiTypes.STR, OpenApiParameter.PATH, description="The entity's id."
            ),
        ],
        responses={
            200: ok(DELETE_RESPONSE, "Deleted, or deleting."),
            **errors(400, 403, 404),
        },
    ),
)

entity_by_id = extend_schema_view(
    delete=memory_op(
        operation_id="entities_delete_by_id",
        summary="Delete an entity by numeric id",
        description=f"Deprecated by Mem0 (npm deleteUser); still served. {DELETE_DESCRIPTION}",
        tags=["Entities"],
        deprecated=True,
        parameters=[
            KIND_PATH,
            OpenApiParameter(
                "entity_id",
                OpenApiTypes.INT,
                OpenApiParameter.PATH,
                description="The entity's numeric id (`id` in the list).",
            ),
        ],
        responses={
            200: ok(DELETE_RESPONSE, "Deleted, or deleting."),
            **errors(400, 403, 404),
        },
    )
)


def create_entity(kind: str) -> Any:
    """The documentation of POST /v1/{kind}s/ (one view class per kind, so one id each)."""
    id_field = f"{kind}_id"
    created = component(
        f"Created{kind.capitalize()}",
        obj(
            {
                "id": {**INTEGER, "description": "memdash's numeric id of the entity."},
                id_field: {**STRING, "description": "The id memories use."},
                "name": {**STRING, "description": "The display name (else the id)."},
                "metadata": ANY_OBJECT,
                "created_at": DATETIME,
                "updated_at": DATETIME,
                "graph_entities": {**array(ANY_VALUE), "maxItems": 0},
                "is_deleted": {**BOOLEAN, "description": "Always false."},
                "project": {**INTEGER, "description": "memdash's numeric id of the project."},
            }
        ),
    )
    return extend_schema_view(
        post=memory_op(
            operation_id=f"{kind}s_create",
            summary=f"Create a{'n' if kind[0] in 'aeiou' else ''} {kind}",
            description=(
                f"Create the {kind} before it has memories. An existing one answers 200 with "
                "itself (a repeated create is safe), after applying the `name` and `metadata` "
                "given (metadata replaces the old). The display `name` is kept in metadata as "
                "`display_name`. Editor keys or higher."
            ),
            tags=["Entities"],
            request=body(
                component(
                    f"Create{kind.capitalize()}",
                    obj(
                        {
                            id_field: {**STRING, "minLength": 1, "maxLength": 255},
                            "name": {**STRING, "maxLength": 255, "nullable": True},
                            "metadata": {
                                **NULLABLE_OBJECT,
                                "description": "At most MEMDASH_MAX_METADATA_BYTES as JSON.",
                            },
                        },
                        required=[id_field],
                    ),
                )
            ),
            responses={
                200: ok(created, "It existed: the entity, with what was given applied."),
                201: ok(created, "Created."),
                **errors(
                    400,
                    403,
                    e400=f"No {id_field}, or a bad id, name or metadata.",
                ),
            },
        )
    )


FILTER_PARAMETER = component(
    "FilterParameter",
    obj(
        {
            "name": {**STRING, "description": "The filter key (user_id, categories...)."},
            "label": STRING,
            "type": {**STRING, "enum": ["select", "multiselect", "date", "text"]},
            "placeholder": STRING,
            "options": array(STRING),
        }
    ),
)
entity_filters = extend_schema_view(
    get=memory_op(
        operation_id="entities_filters",
        summary="Dashboard filter definitions",
        description=(
            "The filters the Platform dashboard offers, filled from the project: event types, "
            "categories (the project's own, else the default catalogue), and the most recently "
            "active entities of each kind, at most `option_limit` (100) values per list. A "
            "read: one access-log row naming the entities listed."
        ),
        tags=["Entities"],
        responses={
            200: ok(
                component(
                    "EntityFilters",
                    obj(
                        {
                            "event_type": array(STRING),
                            "categories": array(STRING),
                            "users": array(STRING),
                            "agents": array(STRING),
                            "apps": array(STRING),
                            "runs": array(STRING),
                            "parameters": array(FILTER_PARAMETER),
                            "option_limit": INTEGER,
                        }
                    ),
                ),
                "The filter definitions.",
            ),
            **errors(403),
        },
    )
)
