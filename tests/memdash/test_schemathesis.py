"""A bounded schemathesis run over memdash's own schema, against the live server.

schemathesis (the CLI, as a developer would run it) reads /api/schema/ from the live server and
sends generated requests to every operation with a real admin key of a seeded project: the
seeded ids (memories, entities, holds, policies, webhooks, exports, events, profile jobs) are
offered as path parameters, so operations reach their real answers and not only 404s. It runs
the examples, coverage and fuzzing phases in deterministic mode (the same cases every run) with
at most MAX_EXAMPLES fuzzed cases per operation, and checks that

- no request is answered with a server error (5xx);
- every status code, content type and response body is the one the schema documents;
- no request the schema calls valid is refused (schemathesis' positive data acceptance).

A request the schema calls invalid may get any documented 4xx; memdash accepts some of them on
purpose (Mem0's SDKs send loose types), so negative data rejection is not checked.

Operations that would wreck the run's own project (deleting it, its organization, every
memory, an entity, a subject's data) run in a second pass with a throwaway project and key of
their own (DESTRUCTIVE). Where memdash is deliberately stricter than anything a schema can say
(a state the request depends on), the statuses it may answer are listed in STATE_DEPENDENT.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tenancy.models import Role
from tenancy.services import create_api_key, get_or_create_project
from tests.conftest import add_verbatim, api_client

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# Fuzzed cases per operation (the coverage phase adds its own boundary cases on top).
MAX_EXAMPLES = 5
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "positive_data_acceptance",
]

# Run in their own pass, with a throwaway project: each deletes what the main pass needs.
DESTRUCTIVE = [
    # The organization and the project of the run's key: every later request would be a 410.
    ("DELETE", "/api/v1/orgs/organizations/{org_id}/"),
    ("DELETE", "/api/v1/orgs/organizations/{org_id}/projects/{project_id}/"),
    # Every memory matching the filters (without filters, all of them), and reset-like deletes
    # of entities with their memories.
    ("DELETE", "/v1/memories/"),
    ("DELETE", "/v1/entities/{kind}/{entity_id}/"),
    ("DELETE", "/v2/entities/{kind}/{name}/"),
    # A real erasure (dry_run=false) removes the subject's memories, trash and history.
    ("POST", "/v1/erasures/"),
    ("POST", "/v1/trash/purge/"),
]

# Statuses a valid request may get because of the state it meets, not because of its shape.
STATE_DEPENDENT: dict[tuple[str, str], list[str]] = {
    # Once the throwaway project is deleted, its key is answered 410 (documented everywhere).
    **{operation: ["410"] for operation in DESTRUCTIVE},
    # A 400 until profiles are enabled, which POST /v2/profiles/settings/ turns on and off.
    ("POST", "/v2/profiles/jobs/"): ["400"],
}

# Where memdash is deliberately stricter than its schema can say: a schema-valid request these
# operations may refuse with a 400, and why. (Each is a rule OpenAPI 3.0 has no word for.)
STRICTER: dict[tuple[str, str], str] = {
    # DELETE bodies: OpenAPI 3.0 tools ignore them, but Mem0's SDKs send the ids there.
    ("DELETE", "/v1/batch/"): "the ids go in a JSON body",
    ("DELETE", "/v1/memories/batch/"): "the ids go in a JSON body",
    ("DELETE", "/api/v1/orgs/organizations/{org_id}/members/"): "email: query or body",
    ("DELETE", "/api/v1/orgs/organizations/{org_id}/projects/{project_id}/members/"): (
        "email: query or body"
    ),
    # A filter language: key names, operators and values no JSON Schema of ours spells out.
    ("POST", "/v1/memories/search/"): "filters",
    ("POST", "/v2/memories/search/"): "filters",
    ("POST", "/v3/memories/search/"): "filters",
    ("POST", "/v2/memories/"): "filters",
    ("POST", "/v3/memories/"): "filters",
    ("POST", "/v1/trash/list/"): "filters",
    ("POST", "/v1/summary/"): "filters",
    ("POST", "/v1/erasures/"): "filters",
    # A delete of "everything" must still name an entity.
    ("DELETE", "/v1/memories/"): "an entity id",
    ("POST", "/v1/exports/get/"): "memory_export_id or filters",
    ("POST", "/v1/exports/"): "filters or an entity id",
    # One of two ways to name a subject: `subject`, or entity_type and entity_id at the top.
    ("POST", "/v1/holds/"): "subject or entity_type and entity_id",
    ("POST", "/v1/subject-exports/"): "subject or entity_type and entity_id",
    # A page of rows past MEMDASH_MAX_PAGE_OFFSET (page x page_size) is refused; follow `next`.
    **{
        ("GET", route): "page depth"
        for route in (
            "/v1/memories/",
            "/v1/memories/{kind}/{name}/",
            "/v1/memories/events/",
            "/v1/events/",
            "/v1/entities/",
            "/v1/erasures/",
            "/v1/holds/",
            "/v1/subject-exports/",
            "/v1/trash/",
            "/v1/audit/",
            "/v1/retention-policies/",
        )
    },
    # A memory belongs to someone: at least one of user_id, agent_id, app_id or run_id.
    ("POST", "/v1/memories/"): "an entity id",
    ("POST", "/v3/memories/add/"): "an entity id",
    # At least one of the text (text, data, message or memory), metadata, expiration_date or
    # timestamp.
    ("PUT", "/v1/memories/{memory_id}/"): "something to change",
    ("PATCH", "/v1/memories/{memory_id}/"): "something to change",
    # Entity ids must be visible text: a control character in one is refused.
    **{("POST", f"/v1/{kind}s/"): "visible ids" for kind in ("user", "agent", "app", "run")},
    # A profile schema must be an object schema with at least one property.
    ("POST", "/v2/profiles/settings/"): "a profile schema",
    # A body of listed fields only: an unknown field is named in a 400.
    ("POST", "/v1/retention-policies/"): "no unknown fields",
    # Lengths the server checks on text it stores (a webhook's name: 200 characters).
    ("POST", "/api/v1/webhooks/projects/{project_id}/"): "name length",
    # The batch serializer refuses an empty list (its schema says no minItems; see the report).
    ("PUT", "/v1/batch/"): "at least one memory",
    ("PUT", "/v1/memories/batch/"): "at least one memory",
}


def seed(project, *, hold: bool = True) -> dict[str, list[str]]:
    """Memories, entities and one of each other resource (a legal hold unless `hold` is
    False: it would keep the project from being deleted), through the API; their ids by the
    path parameter that names them."""
    admin = api_client(create_api_key(project, role=Role.ADMIN, name="seed key"))
    memories = []
    for user in ("alice", "bob"):
        results = add_verbatim(
            admin, f"My name is {user} and I drink green tea", user_id=user, agent_id="helper"
        )
        memories.append(results[0]["id"])
    event = admin.get("/v1/events/").json()["results"][0]["id"]

    def created(path: str, payload: dict, id_key: str = "id") -> str:
        response = admin.post(path, payload, format="json")
        assert response.status_code in (200, 201, 202), (path, response.content)
        return response.json()[id_key]

    holds = (
        [created("/v1/holds/", {"name": "litigation", "entity_type": "user", "entity_id": "bob"})]
        if hold
        else []
    )
    policy = created("/v1/retention-policies/", {"name": "old", "rule": "created", "days": 30})
    webhook = created(
        f"/api/v1/webhooks/projects/{project.public_id}/",
        {"name": "hook", "url": "https://example.com/hook", "event_types": ["memory_add"]},
        id_key="webhook_id",
    )
    export = created("/v1/subject-exports/", {"entity_type": "user", "entity_id": "alice"})
    return {
        "org_id": [project.organization.public_id],
        "project_id": [project.public_id],
        "memory_id": memories,
        "event_id": [event],
        **({"hold_id": holds} if holds else {}),
        "policy_id": [policy],
        "webhook_id": [webhook],
        "export_id": [export],
        "entity_id": ["alice"],
        "name": ["alice", "helper"],
    }


def toml_value(value) -> str:
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
        )
    return json.dumps(value)  # strings, numbers, booleans and lists: JSON is TOML here


def write_config(path: Path, ids: dict[str, list[str]], operations: list[tuple[str, str]]) -> Path:
    """A schemathesis.toml: the seeded ids as dictionaries of path parameters (drawn most of
    the time, so unknown ids are still tried), and the per-operation expected statuses."""
    # A page cursor is an opaque token from `next` and `previous`; none can be generated.
    lines = ["[parameters]", '"query.cursor" = ""']
    for name in ids:
        lines.append(f'"path.{name}" = {{ dictionary = "{name}", probability = 0.8 }}')
    # The coverage phase's boundary cases of valid data, without its duplicated query
    # parameters and calls of undocumented methods (a 4xx by construction). Its invalid cases
    # would triple the run; the fuzzing phase sends invalid data too.
    lines += [
        "[phases.coverage]",
        "unexpected-methods = []",
        "generate-duplicate-query-parameters = false",
        "[phases.coverage.generation]",
        'mode = "positive"',
    ]
    lines.append("[dictionaries]")
    for name, values in ids.items():
        lines.append(f"{name} = {toml_value({'values': values})}")
    refusals = {operation: ["400"] for operation in STRICTER}
    for operation, statuses in STATE_DEPENDENT.items():
        refusals[operation] = [*refusals.get(operation, []), *statuses]
    for (method, route), statuses in refusals.items():
        if operations and (method, route) not in operations:
            continue
        accepted = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx", *statuses]
        lines += [
            "[[operations]]",
            f"include-name = {json.dumps(f'{method} {route}')}",
            f"checks.positive_data_acceptance.expected-statuses = {toml_value(accepted)}",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_schemathesis(base_url: str, key: str, config: Path, selection: list[str]) -> str:
    """Run the CLI; its whole output is printed (pytest shows it when the test fails)."""
    # The schema the server serves, read once here: generating it takes seconds on a busy
    # machine, longer than schemathesis waits for a schema URL.
    schema = config.with_suffix(".json")
    response = httpx.get(f"{base_url}/api/schema/?format=json", timeout=120)
    assert response.status_code == 200, response.text
    schema.write_text(response.text)
    command = [
        str(SCHEMATHESIS), "--config-file", str(config), "run", str(schema), "--url", base_url,
        "--header", f"Authorization: Token {key}",
        "--checks", ",".join(CHECKS),
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(MAX_EXAMPLES),
        "--generation-deterministic",
        # PostgreSQL text cannot hold NUL: memdash refuses it anywhere with a 400.
        "--generation-allow-x00", "false",
        "--workers", "2",
        "--request-timeout", "60",
        "--no-color",
        *selection,
    ]  # fmt: skip
    started = time.monotonic()
    finished = subprocess.run(command, capture_output=True, text=True, timeout=1200)
    output = finished.stdout + finished.stderr
    print(output)
    print(f"schemathesis took {time.monotonic() - started:.1f} s")
    summary = output[output.find("=== SUMMARY ===") :]
    assert finished.returncode == 0, f"schemathesis failed (its output is above):\n{summary}"
    return output


def selection_of(operations: list[tuple[str, str]], *, exclude: bool) -> list[str]:
    """CLI filters that select (or leave out) exactly `operations`, by their labels."""
    flag = "--exclude-name" if exclude else "--include-name"
    return [arg for method, route in operations for arg in (flag, f"{method} {route}")]


def test_schemathesis_finds_no_server_error_schema_break_or_refused_valid_request(
    live_server, fake_llm, tmp_path
):
    project = get_or_create_project("schemathesis-bot", organization="Fuzz Inc")
    key = create_api_key(project, role=Role.ADMIN, name="schemathesis key")
    config = write_config(tmp_path / "main.toml", seed(project), [])
    run_schemathesis(live_server.url, key, config, selection_of(DESTRUCTIVE, exclude=True))

    throwaway = get_or_create_project("throwaway-bot", organization="Throwaway Ltd")
    throwaway_key = create_api_key(throwaway, role=Role.ADMIN, name="throwaway key")
    ids = seed(throwaway, hold=False)
    config = write_config(tmp_path / "destructive.toml", ids, DESTRUCTIVE)
    run_schemathesis(
        live_server.url, throwaway_key, config, selection_of(DESTRUCTIVE, exclude=False)
    )
