"""Exports: the Platform's (a schema filled from memories, or the deterministic export without
an LLM) and memdash's full export of a data subject (a zip), and what an erasure does to them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile

import pytest
from django.utils import timezone

from memories import erasure, exports
from memories.models import Event, Export, Memory
from tenancy.models import Role
from tenancy.services import create_api_key
from tests.conftest import add_verbatim, api_client
from tests.memories.test_erasure import scan

pytestmark = pytest.mark.django_db

PROFILE = {
    "title": "Profile",
    "type": "object",
    "properties": {
        "full_name": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "likes": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["likes"],
}


@pytest.fixture
def officer(project):
    return api_client(create_api_key(project, role=Role.COMPLIANCE, name="officer"))


@pytest.fixture
def alex(api):
    add_verbatim(api, "Alex likes hiking", user_id="alex", metadata={"source": "chat"})
    add_verbatim(api, "Alex likes tea", user_id="alex")
    add_verbatim(api, "Alex on the ticket", user_id="alex", run_id="t-1")  # not null-scoped
    add_verbatim(api, "Sam likes chess", user_id="sam")


def create(api, **body):
    response = api.post("/v1/exports/", {"schema": PROFILE, **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def build(export_id):
    event = exports.run(Export.objects.get(pk=export_id).event_id)
    assert event is not None
    return event


# --- the Platform's exports ------------------------------------------------------------------


def test_create_answers_the_platform_shape_and_get_waits_for_the_worker(api, alex):
    body = create(api, filters={"user_id": "alex"})
    assert body["message"].startswith("Memory export request received.")
    pending = api.post("/v1/exports/get/", {"memory_export_id": body["id"]}, format="json")
    assert pending.status_code == 202
    assert pending.json()["status"] == "PENDING"
    assert build(body["id"]).status == "SUCCEEDED"
    ready = api.post("/v1/exports/get/", {"memory_export_id": body["id"]}, format="json")
    assert ready.status_code == 200
    # Without an LLM: the memories the filters match, every field, and a note saying so.
    data = ready.json()
    assert data["llm_used"] is False and "No LLM is configured" in data["message"]
    assert sorted(m["memory"] for m in data["memories"]) == ["Alex likes hiking", "Alex likes tea"]
    hiking = next(m for m in data["memories"] if m["memory"] == "Alex likes hiking")
    assert hiking["metadata"] == {"source": "chat"} and hiking["user_id"] == "alex"
    assert {"id", "hash", "created_at", "categories", "event_id"} <= set(hiking)
    assert "embedding" not in hiking
    # Found again by the filters it was made with, and every read is an Event.
    by_filters = api.post("/v1/exports/get/", {"filters": {"user_id": "alex"}}, format="json")
    assert by_filters.json() == data
    downloads = Event.objects.filter(event_type=Event.Type.DOWNLOAD)
    assert downloads.count() == 2
    assert downloads.first().metadata == {"user_id": "alex"}
    assert Event.objects.get(event_type=Event.Type.EXPORT).results["memories"] == 2


def test_with_an_llm_the_schema_is_filled_and_checked(api, alex, fake_llm):
    fake_llm.on("fill export schema", reply={"full_name": None, "likes": ["hiking", "tea"]})
    body = create(api, filters={"user_id": "alex"}, export_instructions="Keep it short")
    build(body["id"])
    data = api.post("/v1/exports/get/", {"memory_export_id": body["id"]}, format="json").json()
    assert data == {"full_name": None, "likes": ["hiking", "tea"]}
    call = fake_llm.calls_for("fill export schema")[0]
    assert "Alex likes hiking" in call.user and "Keep it short" in call.user
    assert "Sam likes chess" not in call.user


def test_an_llm_answer_outside_the_schema_is_retried_then_fails(api, alex, fake_llm):
    fake_llm.on("fill export schema", reply={"likes": "hiking"})
    body = create(api, filters={"user_id": "alex"})
    assert build(body["id"]).status == "FAILED"
    assert len(fake_llm.calls_for("fill export schema")) == 2
    assert "is not of type 'array'" in fake_llm.calls_for("fill export schema")[1].user
    failed = api.post("/v1/exports/get/", {"memory_export_id": body["id"]}, format="json")
    assert failed.status_code == 422
    assert "does not follow the schema" in failed.json()["detail"]


def test_legacy_top_level_ids_and_a_json_string_schema(api, alex):
    response = api.post(
        "/v1/exports/",
        {"schema": json.dumps(PROFILE), "user_id": "alex", "org_id": None},
        format="json",
    )
    assert response.status_code == 201, response.content
    build(response.json()["id"])
    got = api.post("/v1/exports/get/", {"user_id": "alex"}, format="json")
    assert got.json()["count"] == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"filters": {"user_id": "alex"}}, "Schema is required"),
        ({"schema": {}, "filters": {"user_id": "alex"}}, "Schema is required"),
        ({"schema": "{nope", "filters": {"user_id": "alex"}}, "not JSON"),
        ({"schema": {"type": "nonsense"}, "filters": {"user_id": "a"}}, "not a valid JSON Schema"),
        ({"schema": PROFILE, "filters": {"bogus": 1}}, "Invalid filters"),
        ({"schema": PROFILE}, "filters is required"),
        ({"schema": PROFILE, "filters": {"user_id": "a"}, "export_instructions": 3}, "string"),
    ],
)
def test_bad_requests_say_what_is_wrong_and_create_nothing(api, body, message):
    response = api.post("/v1/exports/", body, format="json")
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Export.objects.exists() and not Event.objects.exists()


def test_unknown_other_projects_and_expired_exports(api, other_api, alex):
    missing = api.post(
        "/v1/exports/get/",
        {"memory_export_id": "00000000-0000-0000-0000-000000000000"},
        format="json",
    )
    assert missing.status_code == 404
    assert missing.json()["error"] == "No memory export request found"
    assert (
        api.post("/v1/exports/get/", {"filters": {"user_id": "nobody"}}, format="json").status_code
        == 404
    )
    assert api.post("/v1/exports/get/", {}, format="json").status_code == 400
    body = create(api, filters={"user_id": "alex"})
    build(body["id"])
    theirs = other_api.post("/v1/exports/get/", {"memory_export_id": body["id"]}, format="json")
    assert theirs.status_code == 404
    later = timezone.now() + dt.timedelta(hours=73)
    assert exports.purge_expired(later) == 1
    gone = api.post("/v1/exports/get/", {"memory_export_id": body["id"]}, format="json")
    assert gone.status_code == 410
    assert Export.objects.get().result is None


# --- a data subject's full export ------------------------------------------------------------


def test_a_subject_export_is_a_zip_of_everything_with_a_readme(api, officer, alex):
    hiking = Memory.objects.get(memory="Alex likes hiking")
    api.put(f"/v1/memories/{hiking.pk}/", {"text": "Alex likes long hikes"}, format="json")
    tea = Memory.objects.get(memory="Alex likes tea").pk
    api.delete(f"/v1/memories/{tea}/")
    queued = officer.post(
        "/v1/subject-exports/", {"entity_type": "user", "entity_id": "alex"}, format="json"
    )
    assert queued.status_code == 202, queued.content
    record = queued.json()
    assert record["download_url"] is None
    early = officer.get(f"/v1/subject-exports/{record['id']}/download/")
    assert early.status_code == 202
    build(record["id"])
    detail = officer.get(f"/v1/subject-exports/{record['id']}/").json()
    assert detail["status"] == "SUCCEEDED" and detail["counts"]["memories"] == 2
    response = officer.get(detail["download_url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == sorted(
        [
            "README.txt",
            "subject.json",
            "memories.json",
            "memories.csv",
            "trash.json",
            "history.json",
            "history.csv",
            "events.json",
            "access_log.json",
        ]
    )
    readme = archive.read("README.txt").decode()
    assert "user alex" in readme and "history.json" in readme and "access log" in readme
    memories = json.loads(archive.read("memories.json"))
    assert sorted(m["memory"] for m in memories) == ["Alex likes long hikes", "Alex on the ticket"]
    history = json.loads(archive.read("history.json"))
    # The deleted memory's history is theirs too, with its provenance.
    texts = {(h["event"], h["old_memory"], h["new_memory"]) for h in history}
    assert ("DELETE", "Alex likes tea", None) in texts
    assert ("UPDATE", "Alex likes hiking", "Alex likes long hikes") in texts
    assert all(h["actor"] and h["event_id"] for h in history)
    rows = list(csv.DictReader(io.StringIO(archive.read("memories.csv").decode())))
    assert {r["memory"] for r in rows} == {m["memory"] for m in memories}
    events = json.loads(archive.read("events.json"))
    assert {e["event_type"] for e in events} >= {"ADD", "UPDATE", "DELETE"}
    # Nobody read alex's memories before the export (queueing and a pending download are not
    # reads of them): test_a_subject_export_carries_who_read_their_data reads some.
    assert json.loads(archive.read("access_log.json")) == []
    assert json.loads(archive.read("subject.json"))["counts"]["history"] == len(history)
    # The tea memory was deleted the ordinary way: it is still held, in the trash.
    assert [m["memory"] for m in json.loads(archive.read("trash.json"))] == ["Alex likes tea"]
    assert Event.objects.filter(event_type="DOWNLOAD", metadata={"user_id": "alex"}).count() == 1


def test_a_subject_export_carries_who_read_their_data_and_nothing_of_others(api, officer, alex):
    hiking = str(Memory.objects.get(memory="Alex likes hiking").pk)
    sam = str(Memory.objects.get(memory="Sam likes chess").pk)
    api.post(
        "/v3/memories/search/", {"query": "hiking", "filters": {"user_id": "alex"}}, format="json"
    )
    api.get(f"/v1/memories/{hiking}/")
    # A read about everyone: alex is in it, sam too.
    api.post(
        "/v3/memories/search/",
        {"query": "what does sam like", "filters": {"user_id": "*"}},
        format="json",
    )
    api.get(f"/v1/memories/{sam}/")  # sam's alone: not alex's business
    queued = officer.post(
        "/v1/subject-exports/", {"entity_type": "user", "entity_id": "alex"}, format="json"
    )
    build(queued.json()["id"])
    archive = zipfile.ZipFile(
        io.BytesIO(officer.get(f"/v1/subject-exports/{queued.json()['id']}/download/").content)
    )
    log = json.loads(archive.read("access_log.json"))
    assert [(r["action"], r["query"]) for r in log] == [
        ("memories.search", "hiking"),
        ("memory.get", None),
        ("memories.search", None),  # the question was about sam too: left out
    ]
    assert all(
        r["actor"] == {"type": "key", "name": "test admin key", "role": "admin"} for r in log
    )
    assert log[1]["memory_ids"] == [hiking] and log[1]["entities"] == ["user:alex"]
    everyone = log[2]
    assert everyone["entities"] == ["run:t-1", "user:alex"] and everyone["filters"] is None
    assert sam not in everyone["memory_ids"] and everyone["memory_ids"]
    assert set(everyone["memory_ids"]) <= {str(m.pk) for m in Memory.objects.filter(user_id="alex")}
    text = archive.read("access_log.json").decode()
    assert "sam" not in text.lower() and "ip" not in log[0] and "user_agent" not in log[0]
    assert json.loads(archive.read("subject.json"))["counts"]["access_log"] == 3


def test_subject_exports_need_the_compliance_role_and_a_known_subject(
    api, officer, editor_api, alex
):
    body = {"entity_type": "user", "entity_id": "alex"}
    assert editor_api.post("/v1/subject-exports/", body, format="json").status_code == 403
    unknown = officer.post(
        "/v1/subject-exports/", {"entity_type": "user", "entity_id": "nobody"}, format="json"
    )
    assert unknown.status_code == 404
    bad = officer.post("/v1/subject-exports/", {"entity_type": "robot"}, format="json")
    assert bad.status_code == 400
    assert officer.get("/v1/subject-exports/not-a-uuid/").status_code == 400
    queued = officer.post(
        "/v1/subject-exports/", {"filters": {"metadata": {"source": "chat"}}}, format="json"
    )
    assert queued.status_code == 202
    build(queued.json()["id"])
    listing = officer.get("/v1/subject-exports/").json()
    assert listing["count"] == 1 and listing["results"][0]["counts"]["memories"] == 1


# --- what an erasure does to them ------------------------------------------------------------


def test_an_erasure_deletes_every_export_holding_the_subject(api, officer, alex, project):
    of_alex = officer.post(
        "/v1/subject-exports/", {"entity_type": "user", "entity_id": "alex"}, format="json"
    ).json()["id"]
    platform = create(api, filters={"user_id": "alex"})["id"]
    # An export that names nobody but holds one of alex's memories.
    tagged = create(api, filters={"metadata": {"source": "chat"}})["id"]
    of_sam = create(api, filters={"user_id": "sam"})["id"]
    for export_id in (of_alex, platform, tagged, of_sam):
        build(export_id)
    api.post("/v1/exports/get/", {"memory_export_id": platform}, format="json")
    preview = officer.post(
        "/v1/erasures/", {"entity_type": "user", "entity_id": "alex"}, format="json"
    ).json()
    assert preview["counts"]["exports"] == 3
    done = officer.post(
        "/v1/erasures/",
        {"entity_type": "user", "entity_id": "alex", "dry_run": False},
        format="json",
    ).json()
    erasure.run(done["event_id"])
    assert list(Export.objects.values_list("pk", flat=True)) == [Export.objects.get(pk=of_sam).pk]
    assert officer.get(f"/v1/erasures/{done['id']}/").json()["receipt"]["counts"]["exports"] == 3
    assert scan("Alex likes", "alex") == []
    # The exports' Events remain, with their ids and nothing else.
    for event in Event.objects.filter(event_type__in=["EXPORT", "DOWNLOAD"]).exclude(
        payload__export_id=of_sam
    ):
        assert event.payload["erased"] is True and event.metadata == {}
    assert (
        api.post("/v1/exports/get/", {"memory_export_id": of_sam}, format="json").status_code == 200
    )


def test_a_subject_export_reports_its_progress_as_every_long_operation(
    api, officer, alex, monkeypatch
):
    monkeypatch.setattr(exports, "CHUNK", 1)
    queued = officer.post(
        "/v1/subject-exports/", {"entity_type": "user", "entity_id": "alex"}, format="json"
    )
    event = build(queued.json()["id"])
    event.refresh_from_db()
    # The phase's counts in its results while it runs, and the Activity page's bar.
    assert event.progress is not None and event.progress["done"] == event.progress["total"] > 0


def test_no_export_of_a_subject_being_erased(api, officer, alex):
    officer.post(
        "/v1/erasures/",
        {"entity_type": "user", "entity_id": "alex", "dry_run": False},
        format="json",
    )
    refused = api.post(
        "/v1/exports/", {"schema": PROFILE, "filters": {"user_id": "alex"}}, format="json"
    )
    assert refused.status_code == 409
    assert "erasure" in refused.json()["detail"]
    subject = officer.post(
        "/v1/subject-exports/", {"entity_type": "user", "entity_id": "alex"}, format="json"
    )
    assert subject.status_code == 409


def test_an_export_read_while_an_erasure_started_is_discarded(api, officer, alex):
    body = create(api, filters={"metadata": {"source": "chat"}})
    officer.post(
        "/v1/erasures/",
        {"entity_type": "user", "entity_id": "alex", "dry_run": False},
        format="json",
    )
    record = Export.objects.get(pk=body["id"])
    erasure.run(Event.objects.get(event_type="ERASE").pk)
    # The export was queued before the erasure and built after it: it holds nothing of alex.
    event = exports.run(record.event_id)
    assert event.status == "SUCCEEDED"
    got = api.post("/v1/exports/get/", {"memory_export_id": body["id"]}, format="json").json()
    assert got["count"] == 0
