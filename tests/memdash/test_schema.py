"""The OpenAPI schema at /api/schema/: complete (every operation documented for API users, with
bodies, responses and the key scheme) and true (real answers validate against it)."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import jsonschema
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator

from memories import profiles
from tenancy.models import Membership, Role
from tenancy.services import create_api_key
from tests.conftest import add_verbatim, api_client

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
# Operations that answer without an API key (an auditor verifies a receipt with nothing else).
KEYLESS = {("/v1/receipts/public-key/", "get"), ("/v1/receipts/verify/", "post")}
# A POST that takes no body: the dry run of a stored policy.
BODYLESS = {("/v1/retention-policies/{policy_id}/preview/", "post")}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict[str, Any]):
    for path, item in schema["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def view_docstrings() -> set[str]:
    """Every docstring of the API's view classes and methods: internal wording."""
    texts = set()
    for _path, _regex, method, callback in EndpointEnumerator().get_api_endpoints():
        view = callback.cls
        for doc in (view.__doc__, getattr(view, method.lower()).__doc__):
            if doc:
                texts.add(" ".join(doc.split()))
    return texts


def test_schema_generates_and_validates_without_warnings():
    out = io.StringIO()
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out
    )
    assert json.loads(out.getvalue())["info"]["title"] == "memdash API"


def test_every_operation_has_a_summary_and_description_for_api_users(schema):
    internal = view_docstrings()
    problems = []
    for path, method, operation in operations(schema):
        summary = operation.get("summary", "")
        description = " ".join(operation.get("description", "").split())
        # "GET /v1/…: …" or a view's docstring is internal wording, not documentation.
        if not summary or "/" in summary or len(summary) > 60 or summary in internal:
            problems.append((method, path, "summary", summary))
        if not description or description in internal:
            problems.append((method, path, "description", description[:60]))
    assert problems == []


def test_operation_ids_are_unique(schema):
    ids = [operation["operationId"] for _path, _method, operation in operations(schema)]
    assert len(ids) == len(set(ids))


def test_every_write_that_takes_a_body_documents_it(schema):
    problems = []
    for path, method, operation in operations(schema):
        if method in ("post", "put", "patch") and (path, method) not in BODYLESS:
            content = operation.get("requestBody", {}).get("content", {})
            if not content.get("application/json", {}).get("schema"):
                problems.append((method, path))
    assert problems == []


def test_every_operation_documents_its_success_with_a_schema(schema):
    problems = []
    for path, method, operation in operations(schema):
        successes = {code: r for code, r in operation["responses"].items() if code[0] == "2"}
        if not successes:
            problems.append((method, path, "no 2xx"))
        for code, response in successes.items():
            media = response.get("content", {})
            if not media or not all(m.get("schema") for m in media.values()):
                problems.append((method, path, code))
    assert problems == []


def test_deletes_document_200_not_204(schema):
    problems = [
        path
        for path, method, operation in operations(schema)
        if method == "delete"
        and ("200" not in operation["responses"] or "204" in operation["responses"])
    ]
    assert problems == []


def test_errors_are_documented_with_the_error_shape(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["detail", "error", "details"]
    problems = []
    for path, method, operation in operations(schema):
        if (path, method) not in KEYLESS and "401" not in operation["responses"]:
            problems.append((method, path, "401"))
        for code, response in operation["responses"].items():
            if code[0] == "4" and code != "422":
                documented = response.get("content", {}).get("application/json", {})
                if documented.get("schema") != {"$ref": "#/components/schemas/Error"}:
                    problems.append((method, path, code))
    assert problems == []


def test_the_api_key_scheme_guards_every_keyed_operation(schema):
    scheme = schema["components"]["securitySchemes"]["ApiKeyAuth"]
    assert {k: v for k, v in scheme.items() if k != "description"} == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
    }
    assert "Token <key>" in scheme["description"]
    problems = []
    for path, method, operation in operations(schema):
        expected = [] if (path, method) in KEYLESS else [{"ApiKeyAuth": []}]
        if operation.get("security", []) != expected:
            problems.append((method, path))
    assert problems == []


def test_every_operation_has_a_declared_tag(schema):
    declared = {tag["name"] for tag in schema["tags"]}
    problems = [
        (method, path, operation.get("tags"))
        for path, method, operation in operations(schema)
        if not operation.get("tags") or not set(operation["tags"]) <= declared
    ]
    assert problems == []


def test_every_reference_resolves(schema):
    text = json.dumps(schema)
    names = set(schema["components"]["schemas"])
    for chunk in text.split('"#/components/schemas/')[1:]:
        assert chunk.split('"', 1)[0] in names


# --- real answers against the documented responses ---------------------------------------------


def as_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's schema dialect as JSON Schema: `nullable` becomes a null alternative."""
    if isinstance(node, list):
        return [as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: as_json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


def check(schema: dict[str, Any], path: str, method: str, response) -> None:
    """Validate a live response against what the schema documents for its status code."""
    documented = schema["paths"][path][method]["responses"][str(response.status_code)]
    target = documented["content"]["application/json"]["schema"]
    root = {
        **as_json_schema(copy.deepcopy(target)),
        "components": {"schemas": as_json_schema(copy.deepcopy(schema["components"]["schemas"]))},
    }
    if response.streaming:  # the whole entity list is streamed
        answer = json.loads(b"".join(response.streaming_content))
    else:
        answer = response.json()
    jsonschema.validate(answer, root)


@pytest.mark.django_db
def test_add_list_search_get_and_history_answer_as_documented(schema, api):
    added = api.post(
        "/v3/memories/add/",
        {"messages": "I am vegetarian and love Lisbon.", "user_id": "alex", "infer": False},
        format="json",
    )
    check(schema, "/v3/memories/add/", "post", added)
    memory_id = added.json()["results"][0]["id"]

    listed = api.post("/v3/memories/", {"filters": {"user_id": "alex"}}, format="json")
    check(schema, "/v3/memories/", "post", listed)
    assert listed.json()["count"] == 1

    found = api.post(
        "/v3/memories/search/",
        {"query": "What does alex eat?", "filters": {"user_id": "alex"}, "threshold": 0},
        format="json",
    )
    check(schema, "/v3/memories/search/", "post", found)
    assert [hit["id"] for hit in found.json()["results"]] == [memory_id]

    check(schema, "/v1/memories/{memory_id}/", "get", api.get(f"/v1/memories/{memory_id}/"))
    check(
        schema,
        "/v1/memories/{memory_id}/history/",
        "get",
        api.get(f"/v1/memories/{memory_id}/history/"),
    )
    legacy = api.post("/v2/memories/", {"filters": {"user_id": "alex"}}, format="json")
    check(schema, "/v2/memories/", "post", legacy)


@pytest.mark.django_db
def test_ping_entities_events_and_deletes_answer_as_documented(schema, api):
    memory_id = add_verbatim(api, "I drink tea.", user_id="sam")[0]["id"]
    check(schema, "/v1/ping/", "get", api.get("/v1/ping/"))
    check(schema, "/v1/entities/", "get", api.get("/v1/entities/"))
    check(schema, "/v1/entities/", "get", api.get("/v1/entities/?page=1"))
    check(schema, "/v1/events/", "get", api.get("/v1/events/"))

    deleted = api.delete(f"/v1/memories/{memory_id}/")
    assert deleted.status_code == 200
    check(schema, "/v1/memories/{memory_id}/", "delete", deleted)
    entity = api.delete("/v2/entities/user/sam/")
    check(schema, "/v2/entities/{kind}/{name}/", "delete", entity)


@pytest.mark.django_db
def test_errors_answer_with_the_documented_error_shape(schema, api, viewer_api):
    unknown = api.get("/v1/memories/00000000-0000-0000-0000-000000000000/")
    assert unknown.status_code == 404
    check(schema, "/v1/memories/{memory_id}/", "get", unknown)

    invalid = api.post("/v3/memories/add/", {"messages": []}, format="json")
    assert invalid.status_code == 400
    check(schema, "/v3/memories/add/", "post", invalid)

    refused = viewer_api.post("/v3/memories/add/", {"messages": "x", "user_id": "a"}, format="json")
    assert refused.status_code == 403
    check(schema, "/v3/memories/add/", "post", refused)


@pytest.mark.django_db
def test_the_schema_stays_served_as_json(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    assert response.json()["components"]["securitySchemes"]["ApiKeyAuth"]["type"] == "apiKey"


# --- organizations, projects and members --------------------------------------------------------

ORGS = "/api/v1/orgs/organizations/"
ORG = "/api/v1/orgs/organizations/{org_id}/"
PROJECTS = "/api/v1/orgs/organizations/{org_id}/projects/"
PROJECT = "/api/v1/orgs/organizations/{org_id}/projects/{project_id}/"
ORG_MEMBERS = "/api/v1/orgs/organizations/{org_id}/members/"
PROJECT_MEMBERS = "/api/v1/orgs/organizations/{org_id}/projects/{project_id}/members/"


@pytest.fixture
def alice_api(project):
    """An admin key made by alice, an admin of the project: it reaches what she creates."""
    alice = User.objects.create_user("alice", email="alice@example.com", password="pw")
    Membership.objects.create(user=alice, project=project, role=Role.ADMIN)
    return api_client(create_api_key(project, role=Role.ADMIN, name="alice", created_by=alice))


@pytest.mark.django_db
def test_organizations_and_their_members_answer_as_documented(schema, project, alice_api):
    org_id = project.organization.public_id
    org = ORG.format(org_id=org_id)
    check(schema, ORGS, "get", alice_api.get(ORGS))
    check(schema, ORG, "get", alice_api.get(org))

    members = ORG_MEMBERS.format(org_id=org_id)
    listed = alice_api.get(members)
    check(schema, ORG_MEMBERS, "get", listed)
    assert [m["email"] for m in listed.json()["members"]] == ["alice@example.com"]
    added = alice_api.post(members, {"email": "bob@example.com"}, format="json")
    check(schema, ORG_MEMBERS, "post", added)
    again = alice_api.post(members, {"email": "bob@example.com"}, format="json")
    assert again.status_code == 409
    check(schema, ORG_MEMBERS, "post", again)
    changed = alice_api.put(members, {"email": "bob@example.com", "role": "OWNER"}, format="json")
    check(schema, ORG_MEMBERS, "put", changed)
    check(schema, ORG_MEMBERS, "delete", alice_api.delete(f"{members}?email=bob@example.com"))

    created = alice_api.post(ORGS, {"name": "Initech"}, format="json")
    assert created.status_code == 201
    check(schema, ORGS, "post", created)
    elsewhere = alice_api.get(ORG.format(org_id=created.json()["org_id"]))
    assert elsewhere.status_code == 404
    check(schema, ORG, "get", elsewhere)


@pytest.mark.django_db
def test_projects_and_project_members_answer_as_documented(schema, project, alice_api, viewer_api):
    org_id = project.organization.public_id
    projects = PROJECTS.format(org_id=org_id)
    created = alice_api.post(projects, {"name": "billing-bot"}, format="json")
    assert created.status_code == 201
    check(schema, PROJECTS, "post", created)
    new_id = created.json()["project_id"]
    listed = alice_api.get(projects)
    check(schema, PROJECTS, "get", listed)
    assert [p["name"] for p in listed.json()] == ["billing-bot", "support-bot"]

    detail = PROJECT.format(org_id=org_id, project_id=new_id)
    check(schema, PROJECT, "get", alice_api.get(detail))
    taken = alice_api.patch(detail, {"name": "support-bot"}, format="json")
    assert taken.status_code == 409
    check(schema, PROJECT, "patch", taken)

    members = PROJECT_MEMBERS.format(org_id=org_id, project_id=new_id)
    check(schema, PROJECT_MEMBERS, "get", alice_api.get(members))
    check(
        schema,
        PROJECT_MEMBERS,
        "post",
        alice_api.post(members, {"email": "bob@example.com"}, format="json"),
    )
    changed = alice_api.put(members, {"email": "bob@example.com", "role": "editor"}, format="json")
    check(schema, PROJECT_MEMBERS, "put", changed)
    last_admin = alice_api.delete(f"{members}?email=alice@example.com")
    assert last_admin.status_code == 409
    check(schema, PROJECT_MEMBERS, "delete", last_admin)
    check(schema, PROJECT_MEMBERS, "delete", alice_api.delete(f"{members}?email=bob@example.com"))

    refused = viewer_api.get(projects)
    assert refused.status_code == 403
    check(schema, PROJECTS, "get", refused)
    deleted = alice_api.delete(detail)
    assert deleted.json() == {"message": "Project deleted successfully"}
    check(schema, PROJECT, "delete", deleted)


# --- summaries, profiles and stats --------------------------------------------------------------


@pytest.mark.django_db
def test_summaries_and_profiles_answer_as_documented(schema, api, editor_api, fake_llm):
    settings_read = api.get("/v2/profiles/settings/")
    check(schema, "/v2/profiles/settings/", "get", settings_read)
    assert settings_read.json()["enabled"] is False
    enabled = api.post("/v2/profiles/settings/", {"enabled": True}, format="json")
    check(schema, "/v2/profiles/settings/", "post", enabled)
    unsupported = api.post("/v2/profiles/settings/", {"schema": {}}, format="json")
    assert unsupported.status_code == 400
    check(schema, "/v2/profiles/settings/", "post", unsupported)

    add_verbatim(api, "Alex is vegetarian.", user_id="alex")
    summary = api.post("/v1/summary/", {"filters": {"user_id": "alex"}}, format="json")
    check(schema, "/v1/summary/", "post", summary)
    assert summary.json()["memory_count"] == 1

    trigger = {"operation": "trigger", "entity_type": "user", "entity_id": "alex"}
    job = editor_api.post(
        "/v2/profiles/jobs/", trigger, format="json", headers={"Idempotency-Key": "k-1"}
    )
    assert job.status_code == 202
    check(schema, "/v2/profiles/jobs/", "post", job)
    reused = editor_api.post(
        "/v2/profiles/jobs/",
        {"operation": "sample", "entity_type": "user"},
        format="json",
        headers={"Idempotency-Key": "k-1"},
    )
    assert reused.status_code == 422
    check(schema, "/v2/profiles/jobs/", "post", reused)
    check(
        schema,
        "/v2/entities/user/{entity_id}/profile/",
        "get",
        api.get("/v2/entities/user/alex/profile/"),
    )

    profiles.run(job.json()["event_id"])  # as the worker would
    done = api.get(job.json()["status_url"])
    assert done.json()["job"]["status"] == "succeeded"
    check(schema, "/v2/profiles/jobs/{job_id}/", "get", done)
    profile = api.get("/v2/entities/user/alex/profile/")
    assert profile.json()["status"] == "succeeded"
    check(schema, "/v2/entities/user/{entity_id}/profile/", "get", profile)


@pytest.mark.django_db
def test_stats_entity_creates_filters_and_feeds_answer_as_documented(schema, api, viewer_api):
    add_verbatim(api, "I drink tea.", user_id="sam")
    check(schema, "/v1/stats/", "get", api.get("/v1/stats/"))

    created = api.post("/v1/users/", {"user_id": "kim", "name": "Kim"}, format="json")
    assert created.status_code == 201
    check(schema, "/v1/users/", "post", created)
    check(schema, "/v1/agents/", "post", api.post("/v1/agents/", {"agent_id": "a"}, format="json"))
    again = api.post("/v1/agents/", {"agent_id": "a", "metadata": {"v": 2}}, format="json")
    assert again.status_code == 200
    check(schema, "/v1/agents/", "post", again)
    missing = api.post("/v1/apps/", {}, format="json")
    assert missing.status_code == 400
    check(schema, "/v1/apps/", "post", missing)
    refused = viewer_api.post("/v1/runs/", {"run_id": "r-1"}, format="json")
    assert refused.status_code == 403
    check(schema, "/v1/runs/", "post", refused)

    check(schema, "/v1/entities/filters/", "get", api.get("/v1/entities/filters/"))
    memories = api.get("/v1/memories/user/sam/")
    assert memories.json()["count"] == 1
    check(schema, "/v1/memories/{kind}/{name}/", "get", memories)
    bad_kind = api.get("/v1/memories/team/sam/")
    assert bad_kind.status_code == 400
    check(schema, "/v1/memories/{kind}/{name}/", "get", bad_kind)
    check(schema, "/v1/memories/events/", "get", api.get("/v1/memories/events/?limit=5"))


@pytest.mark.django_db
def test_keys_of_a_project_being_deleted_answer_the_documented_410(schema, project, api):
    project.options = {**(project.options or {}), "deletion": {"event_id": "e-1"}}
    project.save(update_fields=["options"])
    gone = api.get("/v1/ping/")
    assert gone.status_code == 410
    check(schema, "/v1/ping/", "get", gone)
    check(schema, ORGS, "get", api.get(ORGS))


def test_request_bodies_are_required_but_where_the_view_reads_none_as_empty(schema):
    from tenancy.api.docs import OPTIONAL_BODIES

    problems = [
        (method, path)
        for path, method, operation in operations(schema)
        if "requestBody" in operation
        and operation["requestBody"].get("required", False) is ((method, path) in OPTIONAL_BODIES)
    ]
    assert problems == []


def test_every_operation_documents_the_400_of_an_unreadable_request(schema):
    # core.middleware refuses a NUL in the URL or bytes that are not UTF-8 before any view.
    problems = [
        (method, path)
        for path, method, operation in operations(schema)
        if "400" not in operation["responses"]
    ]
    assert problems == []


def test_operations_that_take_a_page_document_the_404_of_a_page_past_the_last(schema):
    problems = [
        (method, path)
        for path, method, operation in operations(schema)
        if any(p["name"] == "page" for p in operation.get("parameters", []))
        and "404" not in operation["responses"]
    ]
    assert problems == []
