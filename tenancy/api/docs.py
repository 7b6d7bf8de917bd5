"""The OpenAPI description of the API: what every app's docs module shares, and the key check.

Response bodies are built by plain functions (memories.api.serializers), not serializers, so
their schemas are written here as JSON Schema and registered as components (`component`);
`add_components`, a drf-spectacular postprocessing hook, puts them into the schema. Each app
keeps its operations' documentation in its own `api/docs.py`, so the views stay readable.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)

Schema = dict[str, Any]

# Component schemas by name, filled when the docs modules load (the URLconf imports the views,
# which import them), and copied into every generated schema by add_components.
COMPONENTS: dict[str, Schema] = {}

SECURITY_SCHEME = "ApiKeyAuth"


class ApiKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """tenancy.authentication.ApiKeyAuthentication as an OpenAPI security scheme."""

    target_class = "tenancy.authentication.ApiKeyAuthentication"
    name = SECURITY_SCHEME

    def get_security_definition(self, auto_schema: AutoSchema) -> Schema:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "An API key of the project, created on the dashboard's API keys page, sent as "
                "`Authorization: Token <key>` (`Bearer <key>` works too). The key decides the "
                "project and the role (viewer, editor, compliance, admin). While the key's "
                "project is being deleted, every request with it is answered 410."
            ),
        }


def component(name: str, schema: Schema) -> Schema:
    """Register `schema` as components/schemas/`name`; returns a reference to it."""
    COMPONENTS[name] = schema
    return ref(name)


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def add_components(result: Schema, generator: Any, **kwargs: Any) -> Schema:
    """drf-spectacular postprocessing hook: the registered components into the schema."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in sorted(COMPONENTS.items()):
        schemas.setdefault(name, schema)
    return result


# --- schema shorthands -----------------------------------------------------------------------


def obj(properties: Schema, *, required: list[str] | None = None, **extra: Any) -> Schema:
    """An object with `properties`; every property is required unless `required` names some."""
    schema: Schema = {"type": "object", "properties": properties}
    named = list(properties) if required is None else required
    if named:  # OpenAPI 3.0 forbids an empty list
        schema["required"] = named
    return {**schema, **extra}


def body(schema: Schema) -> dict[str, Schema]:
    """A JSON request body of `schema` (extend_schema reads a plain dict as media types)."""
    return {"application/json": schema}


def nullable(schema: Schema) -> Schema:
    if "$ref" in schema:
        return {"allOf": [schema], "nullable": True}
    return {**schema, "nullable": True}


STRING: Schema = {"type": "string"}
NULLABLE_STRING: Schema = {"type": "string", "nullable": True}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
UUID: Schema = {"type": "string", "format": "uuid"}
DATETIME: Schema = {"type": "string", "format": "date-time"}
NULLABLE_DATETIME: Schema = {"type": "string", "format": "date-time", "nullable": True}
ANY_OBJECT: Schema = {"type": "object", "additionalProperties": True}
NULLABLE_OBJECT: Schema = {"type": "object", "additionalProperties": True, "nullable": True}
ANY_VALUE: Schema = {}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


ERROR = component(
    "Error",
    obj(
        {
            "detail": {
                **STRING,
                "description": "What is wrong and how to fix it (the key the SDKs read).",
            },
            "error": {**STRING, "description": "The same message, under Mem0's key."},
            "details": {
                **ANY_OBJECT,
                "description": (
                    "Machine-readable parts: `message` always, and for validation errors "
                    "`errors`, the problems by field."
                ),
                "properties": {
                    "message": STRING,
                    "errors": {**ANY_VALUE, "description": "Validation problems by field."},
                },
                "required": ["message"],
            },
        },
        description="Every error memdash answers has this shape.",
    ),
)

FILTERS = component(
    "Filters",
    {
        **ANY_OBJECT,
        "description": (
            "A filter of Mem0's filter language: entity ids (`user_id`, `agent_id`, `app_id`, "
            '`run_id`; `"*"` for any value), `created_at`/`updated_at` ranges (`gte`, `lte`...), '
            "`categories` (`in`, `contains`), `metadata`, `keywords`, combined with `AND`, "
            "`OR`, `NOT`. memdash adds `expired` (true/false) and `pii` (a kind of personal "
            "data, a list with `in`, or true/false). An unknown key is a 400 that names it."
        ),
        "example": {"AND": [{"user_id": "alex"}, {"categories": {"in": ["travel"]}}]},
    },
)

ERROR_MEANINGS = {
    400: "The request is invalid; `detail` says what to change.",
    401: "No API key, or the key is unknown or revoked.",
    403: "The key's role does not allow this operation, or the request names another project.",
    404: "Nothing of that id in the key's project (another project's objects are never shown).",
    409: "The request collides with work under way.",
    410: "The export expired; create it again.",
    413: "The request body is larger than MEMDASH_MAX_BODY_BYTES.",
    422: "Building the export failed; create it again.",
    423: "Data under a legal hold cannot be changed or deleted until the hold is released.",
    501: "Memory inference needs an LLM, and none is configured on this server.",
    502: "The LLM answered with something unusable.",
    503: "A provider (the LLM or the embedder) is unreachable; try again later.",
}


UNREADABLE = (
    "The request cannot be read: a NUL character in the URL, bytes that are not UTF-8 text, "
    "or a charset that is no text encoding."
)
PROJECT_GONE = "The key's project is being deleted: its API keys no longer work."


def errors(*codes: int, keyed: bool = True, **meanings: str) -> dict[int, OpenApiResponse]:
    """Error responses for `codes`, plus 401 and 410 when `keyed` (every operation that needs a
    key can answer them: a missing or bad key, a key of a project being deleted); a `meanings`
    entry such as `e404="Memory not found."` replaces a code's text."""
    described = {code: meanings.get(f"e{code}", ERROR_MEANINGS[code]) for code in codes}
    # Any request can be refused before its view reads it (core.middleware): a NUL in the URL,
    # bytes that are not UTF-8, a charset that is no text encoding.
    described.setdefault(400, meanings.get("e400", UNREADABLE))
    if keyed:
        described.setdefault(401, meanings.get("e401", ERROR_MEANINGS[401]))
        gone = described.get(410)
        described[410] = f"{gone} Or: {PROJECT_GONE}" if gone else PROJECT_GONE
    return {
        code: OpenApiResponse(response=ERROR, description=described[code])
        for code in sorted(described)
    }


def ok(schema: Schema, description: str) -> OpenApiResponse:
    return OpenApiResponse(response=schema, description=description)


def page_of(name: str, item: Schema) -> Schema:
    """Mem0's paginated list: {count, next, previous, results}, as a component `name`."""
    return component(
        name,
        obj(
            {
                "count": {
                    **INTEGER,
                    "description": "Matching rows: exact up to MEMDASH_COUNT_CAP, then the cap.",
                },
                "next": {
                    **NULLABLE_STRING,
                    "format": "uri",
                    "description": (
                        "The next page's absolute URL (past MEMDASH_MAX_PAGE_OFFSET rows it "
                        "carries a keyset `cursor`: follow the links as given)."
                    ),
                },
                "previous": {**NULLABLE_STRING, "format": "uri"},
                "results": array(item),
            }
        ),
    )


PAGE_PARAMETERS = [
    OpenApiParameter(
        "page",
        {**INTEGER, "minimum": 1},
        OpenApiParameter.QUERY,
        description="Page number, from 1. Pages reach MEMDASH_MAX_PAGE_OFFSET rows deep.",
    ),
    OpenApiParameter(
        "page_size",
        {**INTEGER, "minimum": 1, "maximum": 1000},
        OpenApiParameter.QUERY,
        description="Rows per page: 100 unless given, at most 1000.",
    ),
    OpenApiParameter(
        "cursor",
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        description="A keyset position, as `next` and `previous` carry it past the page depth.",
    ),
]


def path_id(name: str, what: str) -> OpenApiParameter:
    """A UUID in the path (a malformed one is a 400, an unknown one a 404)."""
    return OpenApiParameter(
        name, OpenApiTypes.UUID, OpenApiParameter.PATH, description=f"The {what}'s id."
    )


def query(
    name: str,
    description: str,
    kind: Any = OpenApiTypes.STR,
    *,
    enum: list[str] | None = None,
    required: bool = False,
) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        kind,
        OpenApiParameter.QUERY,
        description=description,
        enum=enum,
        required=required,
    )


ORG_PROJECT_PARAMETERS = [
    query(
        "org_id",
        "Optional, for seed-era SDKs: must be the key's organization (else a 403).",
    ),
    query("project_id", "Optional, for seed-era SDKs: must be the key's project (else a 403)."),
]


# --- tenancy's operations --------------------------------------------------------------------


ping = extend_schema_view(
    get=extend_schema(
        operation_id="ping",
        summary="Check an API key",
        description=(
            "Which organization and project the key belongs to, and its role. The SDKs call this "
            "when a client is created: Python mem0ai keeps `org_id` and `project_id`, the npm "
            'client needs `status: "ok"`.'
        ),
        tags=["Ping"],
        responses={
            200: ok(
                component(
                    "Ping",
                    obj(
                        {
                            "status": {**STRING, "enum": ["ok"]},
                            "org_id": STRING,
                            "project_id": STRING,
                            "user_email": {
                                **NULLABLE_STRING,
                                "description": "The email of the user who created the key.",
                            },
                            "org_name": STRING,
                            "project_name": STRING,
                            "role": {**STRING, "enum": ["viewer", "editor", "compliance", "admin"]},
                        }
                    ),
                ),
                "The key is valid.",
            ),
            **errors(403),
        },
        parameters=ORG_PROJECT_PARAMETERS,
    )
)

AUDIT_ENTRY = component(
    "AuditEntry",
    obj(
        {
            "id": INTEGER,
            "at": DATETIME,
            "kind": {**STRING, "enum": ["read", "change"]},
            "action": {**STRING, "description": "e.g. memories.search, key.create, hold.place."},
            "surface": {**STRING, "description": "api, dashboard, mcp, admin or system."},
            "actor": obj(
                {
                    "type": STRING,
                    "id": NULLABLE_STRING,
                    "name": NULLABLE_STRING,
                    "label": NULLABLE_STRING,
                    "role": NULLABLE_STRING,
                }
            ),
            "ip": NULLABLE_STRING,
            "user_agent": NULLABLE_STRING,
            "request_id": NULLABLE_STRING,
            "path": NULLABLE_STRING,
            "entities": array(STRING),
            "filters": {**ANY_VALUE, "nullable": True},
            "query": NULLABLE_STRING,
            "memory_ids": array(UUID),
            "total": {**INTEGER, "nullable": True},
            "target": NULLABLE_STRING,
            "details": {**ANY_VALUE, "nullable": True},
        }
    ),
)

audit_log = extend_schema_view(
    get=extend_schema(
        operation_id="audit_list",
        summary="Read the audit log",
        description=(
            "memdash's access log (every read of memory content) and audit trail (every change "
            "of keys, members, settings, holds, erasures...), newest first. Admin keys only. An "
            "unknown filter name or value is a 400 (memdash refuses what it would otherwise "
            "ignore). Paged like every list; past the page depth, follow `next`."
        ),
        tags=["Audit"],
        parameters=[
            query("kind", "Only reads or only changes.", enum=["read", "change"]),
            query("action", "An action (e.g. `memories.search`) or a family (e.g. `memories.`)."),
            query("actor", "An API key's name or prefix, a username, or an actor label."),
            query("entity", "An entity id, or `kind:id` (e.g. `user:alex`)."),
            query("memory_id", "Rows that read or changed this memory.", OpenApiTypes.UUID),
            query("since", "From this date or ISO time.", OpenApiTypes.DATETIME),
            query("until", "Up to this date (the whole day) or ISO time.", OpenApiTypes.DATETIME),
            *PAGE_PARAMETERS,
            *ORG_PROJECT_PARAMETERS,
        ],
        responses={
            200: ok(page_of("AuditPage", AUDIT_ENTRY), "A page of audit rows."),
            **errors(400, 403, e404="Another project's log, or a page past the end."),
        },
    )
)


# --- organizations, projects and members (tenancy.api.orgs) ----------------------------------

MEM0_ROLE_NAMES = ["READER", "OWNER", "EDITOR", "COMPLIANCE"]
ROLE_NAMES = ["viewer", "editor", "compliance", "admin"]
ROLE_INPUT: Schema = {
    **STRING,
    # The spellings as given here; memdash also takes them in any other case.
    "enum": ["READER", "OWNER", "viewer", "editor", "compliance", "admin"],
    "description": (
        "READER (viewer) or OWNER (admin), or memdash's own role names viewer, editor, "
        "compliance, admin; any case."
    ),
    "example": "READER",
}

MEMBER = component(
    "Member",
    obj(
        {
            "username": {**STRING, "description": "The dashboard user's username."},
            "email": STRING,
            "role": {
                **STRING,
                "enum": MEM0_ROLE_NAMES,
                "description": "Mem0's spelling: READER is viewer, OWNER is admin.",
            },
            "memdash_role": {**STRING, "enum": ROLE_NAMES},
        },
        description="A dashboard user with a role in a project.",
    ),
)
MEMBER_LIST = component("MemberList", obj({"members": array(MEMBER)}))
MEMBER_ADD = component(
    "MemberAdd",
    obj(
        {
            "email": {**STRING, "format": "email"},
            "role": {**ROLE_INPUT, "default": "READER"},
        },
        required=["email"],
        description=(
            "An email no dashboard user has creates an invited user (username = the email), "
            "who can sign in once an admin sets their password."
        ),
    ),
)
MEMBER_ROLE = component(
    "MemberRoleChange",
    obj({"email": {**STRING, "format": "email"}, "role": ROLE_INPUT}),
)
MEMBER_MESSAGE = component(
    "MemberMessage", obj({"message": {**STRING, "description": "What was done, to whom."}})
)

ORGANIZATION = component(
    "Organization",
    obj(
        {
            "org_id": STRING,
            "name": STRING,
            "created_at": DATETIME,
            "updated_at": DATETIME,
            "members": {
                **array(MEMBER),
                "description": (
                    "The members of the projects the key reaches, each with their highest "
                    "role among them."
                ),
            },
            "is_default": BOOLEAN,
            "byok_enabled": {**BOOLEAN, "description": "Always false."},
            "invitations": {**array(ANY_OBJECT), "maxItems": 0},
            "owner_pricing_plan": {**ANY_VALUE, "nullable": True, "description": "Always null."},
            "is_owner": BOOLEAN,
            "user_role": {**STRING, "enum": ROLE_NAMES},
        }
    ),
)
PROJECT_SUMMARY = component(
    "ProjectSummary",
    obj(
        {
            "project_id": STRING,
            "org_id": STRING,
            "name": STRING,
            "description": STRING,
            "created_at": DATETIME,
            "updated_at": DATETIME,
            "members": array(MEMBER),
            "is_default": BOOLEAN,
            "user_role": {
                **STRING,
                "enum": ROLE_NAMES,
                "description": (
                    "The key's role in its own project; in the others, the role of the user "
                    "who made the key."
                ),
            },
        },
        description="A project in its organization's list (its settings: get the project).",
    ),
)

ORG_ID_PATH = OpenApiParameter(
    "org_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The organization's id (`org_…`): the key's own, else a 404.",
)
PROJECT_ID_PATH = OpenApiParameter(
    "project_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The project's id (`proj_…`): a project the key reaches, else a 404.",
)
# The Python SDKs send the ids their client was built for; only the path counts here.
ORG_QUERY_PARAMETERS = [
    query(name, "Accepted and ignored: the path names the organization and project.")
    for name in ("org_id", "project_id")
]
REACH = (
    "Admin keys only. A key reaches its own organization, its own project and each project "
    "whose admin is the user who made the key; any other organization or project is a 404."
)
ORG_NOT_FOUND = "Organization or project not found: not the key's, or not one it reaches."
MEMBER_ERRORS: dict[str, Any] = {
    "e400": "The email or the role is missing or invalid.",
    "e403": "The key is not an admin key.",
    "e404": ORG_NOT_FOUND,
}


def org_op(**kwargs: Any) -> Any:
    """extend_schema for the organization API: with the ignored org/project query, tagged
    Organizations unless `tags` says otherwise (the project operations are tagged Project)."""
    parameters = kwargs.pop("parameters", [])
    kwargs.setdefault("tags", ["Organizations"])
    return extend_schema(parameters=[*parameters, *ORG_QUERY_PARAMETERS], **kwargs)


organizations = extend_schema_view(
    get=org_op(
        operation_id="organizations_list",
        summary="List organizations",
        description=(
            "The organizations the key reaches: always one, the key's own, with the members "
            f"of the projects the key reaches. {REACH}"
        ),
        responses={
            200: ok(array(ORGANIZATION), "The key's organization."),
            **errors(403, e403="The key is not an admin key."),
        },
    ),
    post=org_op(
        operation_id="organizations_create",
        summary="Create an organization",
        description=(
            "A new organization with a project named `default`, whose admin is the user who "
            "made the key. Names are unique across the server. The key stays in its own "
            "organization: manage the new one from the dashboard, or with a key made in one "
            "of its projects. Admin keys only."
        ),
        request=body(
            component(
                "OrganizationCreate",
                obj({"name": {**STRING, "minLength": 1, "maxLength": 200}}),
            )
        ),
        responses={
            201: ok(
                component("OrganizationCreated", obj({"message": STRING, "org_id": STRING})),
                "Created.",
            ),
            **errors(
                400,
                403,
                409,
                e400="No name, or a name that is too long.",
                e403="The key is not an admin key.",
                e409="An organization of that name exists.",
            ),
        },
    ),
)

ORG_MEMBERS_NOTE = (
    "The organization's members are the members of the projects the key reaches; a change "
    "is made in each of those projects, in one transaction (any refusal changes nothing)."
)
organization_members = extend_schema_view(
    get=org_op(
        operation_id="organization_members_list",
        summary="List organization members",
        description=(
            "Everyone with a role in a project the key reaches, with their highest role "
            f"there, in username order. {REACH}"
        ),
        parameters=[ORG_ID_PATH],
        responses={
            200: ok(MEMBER_LIST, "The members."),
            **errors(403, 404, **MEMBER_ERRORS),
        },
    ),
    post=org_op(
        operation_id="organization_members_add",
        summary="Add an organization member",
        description=(
            "Give the user with this email the role in every project the key reaches where "
            f"they are not a member yet. {ORG_MEMBERS_NOTE} Admin keys only."
        ),
        parameters=[ORG_ID_PATH],
        request=body(MEMBER_ADD),
        responses={
            200: ok(MEMBER_MESSAGE, "Added (the message says to how many projects)."),
            **errors(
                400,
                403,
                404,
                409,
                **MEMBER_ERRORS,
                e409=(
                    "Already a member of every project here, several users share the email, "
                    "or a user named like the email has another email."
                ),
            ),
        },
    ),
    put=org_op(
        operation_id="organization_members_update",
        summary="Change an organization member's role",
        description=(
            f"Set the member's role in every project the key reaches where they are one. "
            f"{ORG_MEMBERS_NOTE} A project keeps an admin. Admin keys only."
        ),
        parameters=[ORG_ID_PATH],
        request=body(MEMBER_ROLE),
        responses={
            200: ok(MEMBER_MESSAGE, "Changed."),
            **errors(
                400,
                403,
                404,
                409,
                **{
                    **MEMBER_ERRORS,
                    "e404": f"{ORG_NOT_FOUND} Or the email is not a member of any project here.",
                },
                e409="It would demote a project's last admin, or several users share the email.",
            ),
        },
    ),
    delete=org_op(
        operation_id="organization_members_remove",
        summary="Remove an organization member",
        description=(
            "Remove the member from every project the key reaches (their dashboard account "
            f"stays). {ORG_MEMBERS_NOTE} A project keeps an admin. Admin keys only."
        ),
        parameters=[
            ORG_ID_PATH,
            query(
                "email",
                'The member\'s email (a JSON body {"email": …} works too).',
                required=True,
            ),
        ],
        responses={
            200: ok(MEMBER_MESSAGE, "Removed."),
            **errors(
                400,
                403,
                404,
                409,
                **{
                    **MEMBER_ERRORS,
                    "e400": "No email, or an invalid one.",
                    "e404": f"{ORG_NOT_FOUND} Or the email is not a member of any project here.",
                },
                e409="The member is a project's last admin, or several users share the email.",
            ),
        },
    ),
)

projects = extend_schema_view(
    get=org_op(
        tags=["Project"],
        operation_id="projects_list",
        summary="List projects",
        description=(
            "The organization's projects the key reaches, by name, with their members; "
            f"projects being deleted are left out. {REACH}"
        ),
        parameters=[ORG_ID_PATH],
        responses={
            200: ok(array(PROJECT_SUMMARY), "The projects."),
            **errors(403, 404, e403="The key is not an admin key.", e404=ORG_NOT_FOUND),
        },
    ),
    post=org_op(
        tags=["Project"],
        operation_id="projects_create",
        summary="Create a project",
        description=(
            "A new project in the key's organization, whose admin is the user who made the key "
            "(so the key reaches it). Names are unique within the organization. Admin keys only."
        ),
        parameters=[ORG_ID_PATH],
        request=body(
            component(
                "ProjectCreate",
                obj(
                    {
                        "name": {**STRING, "minLength": 1, "maxLength": 200},
                        "description": {**NULLABLE_STRING, "default": ""},
                    },
                    required=["name"],
                ),
            )
        ),
        responses={
            201: ok(
                component("ProjectCreated", obj({"message": STRING, "project_id": STRING})),
                "Created.",
            ),
            **errors(
                400,
                403,
                404,
                409,
                e400="No name, a name that is too long, or a description that is not a string.",
                e403="The key is not an admin key.",
                e404=ORG_NOT_FOUND,
                e409="The organization has a project of that name.",
            ),
        },
    ),
)

PROJECT_MEMBER_PATH = [ORG_ID_PATH, PROJECT_ID_PATH]
project_members = extend_schema_view(
    get=org_op(
        tags=["Project"],
        operation_id="project_members_list",
        summary="List project members",
        description=f"The project's members, in username order. {REACH}",
        parameters=PROJECT_MEMBER_PATH,
        responses={
            200: ok(MEMBER_LIST, "The members."),
            **errors(403, 404, **MEMBER_ERRORS),
        },
    ),
    post=org_op(
        tags=["Project"],
        operation_id="project_members_add",
        summary="Add a project member",
        description=(
            "Give the user with this email a role in the project (READER unless given). "
            "Admin keys only."
        ),
        parameters=PROJECT_MEMBER_PATH,
        request=body(MEMBER_ADD),
        responses={
            200: ok(MEMBER_MESSAGE, "Added."),
            **errors(
                400,
                403,
                404,
                409,
                **MEMBER_ERRORS,
                e409=(
                    "Already a member, several users share the email, or a user named like "
                    "the email has another email."
                ),
            ),
        },
    ),
    put=org_op(
        tags=["Project"],
        operation_id="project_members_update",
        summary="Change a project member's role",
        description="Set the member's role. A project keeps an admin. Admin keys only.",
        parameters=PROJECT_MEMBER_PATH,
        request=body(MEMBER_ROLE),
        responses={
            200: ok(MEMBER_MESSAGE, "Changed."),
            **errors(
                400,
                403,
                404,
                409,
                **{**MEMBER_ERRORS, "e404": f"{ORG_NOT_FOUND} Or the email is not a member."},
                e409="It would demote the last admin, or several users share the email.",
            ),
        },
    ),
    delete=org_op(
        tags=["Project"],
        operation_id="project_members_remove",
        summary="Remove a project member",
        description=(
            "Remove the member from the project (their dashboard account stays). A project "
            "keeps an admin. Admin keys only."
        ),
        parameters=[
            *PROJECT_MEMBER_PATH,
            query(
                "email",
                'The member\'s email (a JSON body {"email": …} works too).',
                required=True,
            ),
        ],
        responses={
            200: ok(MEMBER_MESSAGE, "Removed."),
            **errors(
                400,
                403,
                404,
                409,
                **{
                    **MEMBER_ERRORS,
                    "e400": "No email, or an invalid one.",
                    "e404": f"{ORG_NOT_FOUND} Or the email is not a member.",
                },
                e409="The member is the last admin, or several users share the email.",
            ),
        },
    ),
)


# Operations whose view reads a missing body as an empty one (every field is optional there).
OPTIONAL_BODIES = {
    ("put", "/api/v1/orgs/organizations/{org_id}/projects/{project_id}/"),
    ("patch", "/api/v1/orgs/organizations/{org_id}/projects/{project_id}/"),
    ("put", "/api/v1/webhooks/{webhook_id}/"),
    ("patch", "/api/v1/webhooks/{webhook_id}/"),
    ("patch", "/v1/retention-policies/{policy_id}/"),
    ("post", "/v1/holds/{hold_id}/release/"),
    ("post", "/v1/trash/list/"),
    ("post", "/v2/profiles/settings/"),
}


def document_page_errors(result: Schema, generator: Any, **kwargs: Any) -> Schema:
    """drf-spectacular postprocessing hook: a 404 on every operation that takes a `page`
    (DRF's paginator answers a page past the last one with "Invalid page.")."""
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            names = {
                p.get("name") for p in operation.get("parameters", []) if p.get("in") == "query"
            }
            responses = operation.get("responses", {})
            if "page" in names and "404" not in responses:
                responses["404"] = {
                    "description": "A page past the last one.",
                    "content": {"application/json": {"schema": ERROR}},
                }
    return result


def require_bodies(result: Schema, generator: Any, **kwargs: Any) -> Schema:
    """drf-spectacular postprocessing hook: mark every request body required but those of
    OPTIONAL_BODIES (drf-spectacular leaves a body it was handed as a dict optional, and a
    client that sends none would get a 400)."""
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if body is not None and (method, path) not in OPTIONAL_BODIES:
                body["required"] = True
    return result
