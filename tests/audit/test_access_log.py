"""Every read of memory content writes exactly one access-log row, with who, what was asked and
what came back: one table row per read endpoint of the API and per page of the dashboard."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from memories import exports
from memories.models import Event, Export, Memory
from memories.subjects import Subject
from tenancy.models import ApiKey, Role
from tenancy.services import create_api_key
from tests.conftest import add_verbatim, api_client
from tests.dashboard.conftest import htmx, logged_in, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(project):
    raw = create_api_key(project, role=Role.ADMIN, name="reader bot")
    return api_client(raw), ApiKey.objects.get(name="reader bot")


@pytest.fixture
def world(api, project):
    """maria's memories, bob's, an Event, and a built export of each kind."""
    maria = add_verbatim(api, "Maria likes green tea", user_id="maria")[0]["id"]
    add_verbatim(api, "Maria takes the night train", user_id="maria", run_id="t-7")
    add_verbatim(api, "Bob likes chess", user_id="bob")
    subject = exports.create_subject(project, Subject("user", "maria"), actor="x")
    platform = exports.create_platform(
        project,
        filters={"user_id": "maria"},
        lookup_filters={"user_id": "maria"},
        schema={"type": "object"},
        instructions="",
        actor="x",
    )
    for record in (subject, platform):
        exports.run(record.event_id)
    return {
        "maria": maria,
        "event": str(Memory.objects.get(pk=maria).source_event_id),
        "subject_export": str(subject.pk),
        "platform_export": str(platform.pk),
    }


def only_row(response) -> AuditEntry:
    rows = list(AuditEntry.objects.filter(request_id=response["X-Request-ID"]))
    assert len(rows) == 1, [r.action for r in rows]
    return rows[0]


API_READS = [
    # (method, path, body, action, entities the row must name)
    ("get", "/v1/memories/{maria}/", None, "memory.get", {"user:maria"}),
    ("get", "/v1/memories/?user_id=maria", None, "memories.list", {"user:maria"}),
    ("post", "/v2/memories/", {"filters": {"user_id": "maria"}}, "memories.list", {"user:maria"}),
    ("post", "/v3/memories/", {"filters": {"user_id": "maria"}}, "memories.list", {"user:maria"}),
    ("post", "/v1/memories/search/", {"query": "tea", "user_id": "maria"}, "memories.search", {"user:maria"}),
    ("post", "/v2/memories/search/", {"query": "tea", "filters": {"user_id": "maria"}}, "memories.search", {"user:maria"}),
    ("post", "/v3/memories/search/", {"query": "tea", "filters": {"user_id": "*"}}, "memories.search", {"user:maria", "user:bob"}),
    ("get", "/v1/memories/{maria}/history/", None, "memory.history", {"user:maria"}),
    ("get", "/v1/event/{event}/", None, "event.get", {"user:maria"}),
    ("get", "/v1/events/?entity=maria", None, "events.list", {"user:maria"}),
    ("get", "/v1/entities/", None, "entities.list", {"user:maria", "user:bob"}),
    ("get", "/v2/entities/user/maria/", None, "entity.get", {"user:maria"}),
    ("post", "/v1/exports/get/", {"memory_export_id": "{platform_export}"}, "export.download", {"user:maria"}),
    ("get", "/v1/subject-exports/{subject_export}/download/", None, "export.download", {"user:maria"}),
    ("post", "/v1/erasures/", {"entity_type": "user", "entity_id": "maria"}, "erasure.preview", {"user:maria"}),
    ("get", "/v1/trash/?user_id=maria", None, "trash.list", {"user:maria"}),
    ("post", "/v1/trash/list/", {"filters": {"user_id": "maria"}}, "trash.list", {"user:maria"}),
]  # fmt: skip


def _fill(value, world):
    if isinstance(value, str):
        return value.format(**world)
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body", "action", "entities"), API_READS)
def test_every_api_read_writes_one_row(
    reader, world, project, method, path, body, action, entities
):
    client, key = reader
    response = getattr(client, method)(
        _fill(path, world), _fill(body, world), format="json", HTTP_USER_AGENT="auditor-test/1"
    )
    assert response.status_code == 200, response.content
    row = only_row(response)
    assert (row.kind, row.action, row.surface, row.project_id) == (
        "read",
        action,
        "api",
        project.pk,
    )
    assert (row.actor_type, row.actor_id, row.actor_name) == ("key", str(key.pk), "reader bot")
    assert (row.actor_label, row.role) == (key.actor, "admin")
    assert row.user_agent == "auditor-test/1" and row.ip == "127.0.0.1"
    assert entities <= set(row.entities), row.entities
    if action in ("memory.get", "memory.history"):
        assert [str(i) for i in row.memory_ids] == [world["maria"]]


def test_a_search_records_its_query_filters_and_what_came_back(reader, world):
    client, _key = reader
    response = client.post(
        "/v3/memories/search/",
        {"query": "green tea", "filters": {"user_id": "maria"}},
        format="json",
    )
    row = only_row(response)
    returned = [r["id"] for r in response.json()["results"]]
    assert row.query == "green tea"
    assert row.filters == {"user_id": "maria"}
    assert [str(i) for i in row.memory_ids] == returned and row.total == len(returned)


def test_a_page_records_the_lists_total_and_caps_the_ids(reader, world, settings):
    settings.MEMDASH_ACCESS_LOG_IDS = 1
    client, _key = reader
    response = client.post(
        "/v3/memories/", {"filters": {"user_id": "*"}, "page_size": 2}, format="json"
    )
    row = only_row(response)
    assert row.total == 3 and len(row.memory_ids) == 1


def test_failed_and_refused_reads_write_nothing(reader, world, viewer_api):
    client, _key = reader
    missing = client.get("/v1/memories/00000000-0000-0000-0000-000000000000/")
    assert missing.status_code == 404
    bad = client.post("/v3/memories/", {"filters": {"bogus": 1}}, format="json")
    assert bad.status_code == 400
    refused = viewer_api.get(f"/v1/subject-exports/{world['subject_export']}/download/")
    assert refused.status_code == 403
    for response in (missing, bad, refused):
        assert not AuditEntry.objects.filter(request_id=response["X-Request-ID"]).exists()


def test_a_client_request_id_is_kept(reader, world):
    client, _key = reader
    response = client.get(f"/v1/memories/{world['maria']}/", HTTP_X_REQUEST_ID="trace-abc-123")
    assert response["X-Request-ID"] == "trace-abc-123"
    assert only_row(response).request_id == "trace-abc-123"


def test_with_the_log_off_reads_write_nothing(reader, world, settings):
    settings.MEMDASH_ACCESS_LOG = False
    client, _key = reader
    response = client.get(f"/v1/memories/{world['maria']}/")
    assert not AuditEntry.objects.filter(request_id=response["X-Request-ID"]).exists()


# --- the dashboard -------------------------------------------------------------------------


@pytest.fixture
def olga(project):
    return logged_in(make_user("olga", project, Role.COMPLIANCE))


DASHBOARD_READS = [
    # (path, htmx target or None, action, entities)
    ("/", None, "memories.list", {"user:maria", "user:bob"}),
    ("/?user_id=maria", None, "memories.list", {"user:maria"}),
    ("/?user_id=maria", "memory-table", "memories.list", {"user:maria"}),
    ("/?search=tea", None, "memories.search", {"user:maria"}),
    # "More results" of a semantic search, and a jump to a date: the same reads, paged.
    ("/?search=tea&shown=100", "memory-table", "memories.search", {"user:maria"}),
    ("/?user_id=maria&jump=2030-01-01", "memory-table", "memories.list", {"user:maria"}),
    ("/memories/{maria}/", None, "memory.get", {"user:maria"}),
    ("/memories/{maria}/", "history-more", "memory.history", {"user:maria"}),
    ("/entities/user/maria/", None, "memories.list", {"user:maria"}),
    ("/compliance/person/?entity_type=user&entity_id=maria", None, "person.page", {"user:maria"}),
    ("/activity/{event}/", None, "event.get", {"user:maria"}),
    ("/exports/{subject_export}/download/", None, "export.download", {"user:maria"}),
    ("/erasures/new/?entity_type=user&entity_id=maria", None, "erasure.preview", {"user:maria"}),
    ("/trash/?user_id=maria", None, "trash.list", {"user:maria"}),
    (
        "/memories/as-of/?as_of=2030-01-01T00:00&user_id=maria",
        None,
        "memories.list",
        {"user:maria"},
    ),
]


@pytest.mark.parametrize(("path", "target", "action", "entities"), DASHBOARD_READS)
def test_every_dashboard_read_writes_one_row(olga, world, project, path, target, action, entities):
    response = olga.get(_fill(path, world), headers=htmx(target) if target else {})
    assert response.status_code == 200, response.content[:300]
    row = only_row(response)
    assert (row.kind, row.action, row.surface, row.project_id) == (
        "read",
        action,
        "dashboard",
        project.pk,
    )
    assert (row.actor_type, row.actor_name, row.actor_label, row.role) == (
        "user",
        "olga",
        "user:olga",
        "compliance",
    )
    assert entities <= set(row.entities), row.entities


def test_pages_without_memory_content_write_no_read(olga, world):
    for path in ("/entities/", "/activity/", "/compliance/", reverse("memories:erasures")):
        response = olga.get(path)
        assert response.status_code == 200
        assert not AuditEntry.objects.filter(request_id=response["X-Request-ID"]).exists()


def test_export_downloads_are_an_event_and_a_read(olga, world):
    export = Export.objects.get(pk=world["subject_export"])
    response = olga.get(reverse("memories:export_download", args=[export.pk]))
    row = only_row(response)
    assert {str(i) for i in row.memory_ids} == {str(i) for i in export.memory_ids}
    assert Event.objects.filter(event_type="DOWNLOAD", actor="user:olga").exists()
