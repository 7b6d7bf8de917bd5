"""POST /v1/summary/: a summary of the memories a filter matches, written by the LLM in the
request (the scripted one here), from the newest MAX_SUMMARY_MEMORIES of them."""

import json

import pytest

from audit.models import AuditEntry
from memories import summaries
from tests.conftest import ANY_TIMESTAMP, add_verbatim

pytestmark = pytest.mark.django_db

NO_LLM = (
    "Memory inference (infer=true) needs an LLM: set OPENAI_API_KEY (and OPENAI_BASE_URL for "
    "any OpenAI-compatible server) on the memdash server, or send infer=false to store "
    "messages verbatim."
)
ALEX_V1 = {"AND": [{"user_id": "alex"}, {"agent_id": None, "app_id": None, "run_id": None}]}


@pytest.fixture
def seeded(api):
    """Alex's two memories (oldest first), one of Alex's in a run, and Sam's."""
    tea = add_verbatim(api, "Alex likes tea", user_id="alex")[0]["id"]
    hiking = add_verbatim(api, "Alex likes hiking", user_id="alex")[0]["id"]
    add_verbatim(api, "Alex on the ticket", user_id="alex", run_id="t-1")
    add_verbatim(api, "Sam likes chess", user_id="sam")
    return [tea, hiking]


def summary(api, body):
    return api.post("/v1/summary/", body, format="json")


def test_summary_of_a_filter_is_pinned(api, fake_llm, seeded):
    fake_llm.on("summarise memories", reply={"summary": "Alex likes tea and hiking."})
    response = summary(api, {"filters": {"user_id": "alex"}})
    assert response.status_code == 200
    assert response.json() == {
        "summary": "Alex likes tea and hiking.",
        "memory_count": 2,
        "memory_ids": [seeded[1], seeded[0]],  # newest first
        "truncated": False,
        "max_memories": summaries.MAX_SUMMARY_MEMORIES,
        # /v1/'s implicit null scoping: the run's memory is not Alex's alone.
        "filters": ALEX_V1,
        "generated_at": ANY_TIMESTAMP,
    }
    (call,) = fake_llm.calls_for("summarise memories")
    assert call.system.startswith("# Task: summarise memories\n")
    shown = json.loads(call.user.split("Memories (newest first):\n", 1)[1])
    assert [m["memory"] for m in shown] == ["Alex likes hiking", "Alex likes tea"]
    assert shown[0]["user_id"] == "alex"


def test_empty_body_summarises_the_whole_project(api, fake_llm, seeded):
    response = summary(api, {})
    assert response.status_code == 200
    body = response.json()
    assert body["memory_count"] == 4
    assert body["filters"] == {}
    assert body["summary"] == "A summary of the memories."


def test_top_level_entity_ids_are_filters_too(api, fake_llm, seeded):
    body = summary(api, {"user_id": "alex"}).json()
    assert body["memory_ids"] == [seeded[1], seeded[0]]


def test_only_the_newest_memories_are_read(api, fake_llm, seeded, monkeypatch):
    monkeypatch.setattr(summaries, "MAX_SUMMARY_MEMORIES", 1)
    body = summary(api, {"filters": {"user_id": "alex"}}).json()
    assert (body["memory_ids"], body["truncated"], body["max_memories"]) == ([seeded[1]], True, 1)


def test_nothing_matching_is_an_empty_summary_without_an_llm_call(api, fake_llm, seeded):
    body = summary(api, {"filters": {"user_id": "nobody"}}).json()
    assert (body["summary"], body["memory_count"], body["memory_ids"]) == ("", 0, [])
    assert fake_llm.calls == []


def test_without_an_llm_it_is_a_501(api, settings, seeded):
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""
    response = summary(api, {"filters": {"user_id": "alex"}})
    assert response.status_code == 501
    assert response.json()["detail"] == NO_LLM


def test_bad_filters_are_a_400(api, fake_llm):
    response = summary(api, {"filters": {"user_id": {"nope": 1}}})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Invalid filters:")


def test_an_unusable_reply_is_a_502_and_an_outage_a_503(api, fake_llm, seeded):
    fake_llm.on("summarise memories", reply={"text": "wrong key"}, times=1)
    bad = summary(api, {"filters": {"user_id": "alex"}})
    assert bad.status_code == 502
    assert bad.json()["detail"] == 'summary reply has no "summary" text'
    fake_llm.on("summarise memories", status=500, times=1)
    down = summary(api, {"filters": {"user_id": "alex"}})
    assert down.status_code == 503
    assert "try again later" in down.json()["detail"]


def test_the_projects_summary_instructions_go_into_the_prompt(api, fake_llm, project, seeded):
    project.options = {"summary_custom_instructions": "One sentence only."}
    project.save()
    summary(api, {"filters": {"user_id": "alex"}})
    (call,) = fake_llm.calls_for("summarise memories")
    assert "Custom instructions:\nOne sentence only." in call.user


def test_a_viewer_may_summarise(viewer_api, fake_llm, api, seeded):
    assert summary(viewer_api, {"filters": {"user_id": "alex"}}).status_code == 200


def test_another_projects_key_sees_none_of_the_memories(other_api, fake_llm, seeded):
    body = summary(other_api, {"filters": {"user_id": "alex"}}).json()
    assert (body["memory_count"], body["memory_ids"]) == (0, [])


def test_a_summary_is_logged_as_a_read(api, fake_llm, project, seeded):
    summary(api, {"filters": {"user_id": "alex"}})
    row = AuditEntry.objects.get(project_id=project.pk, action="memories.summary")
    assert row.kind == "read"
    assert row.entities == ["user:alex"]
    assert sorted(map(str, row.memory_ids)) == sorted(seeded)
    assert (row.total, row.filters) == (2, {"user_id": "alex"})
