"""Profiles: settings, jobs (with Idempotency-Key) and a user's profile, at the Platform's
paths. Jobs are run here by calling the worker's function (memories.profiles.run) in-process
with the scripted LLM; tests/sdk/test_profile_clients.py runs them on a real Celery worker."""

import json

import pytest

from audit.models import AuditEntry
from memories import profiles
from memories.models import Event, Profile, ProfileJob
from tests.conftest import ANY_TIMESTAMP, ANY_UUID, add_verbatim

pytestmark = pytest.mark.django_db

SCHEMA = {
    "type": "object",
    "properties": {
        "diet": {"type": "string", "description": "What the user eats"},
        "hobbies": {"type": "array", "items": {"type": "string"}, "description": "Pastimes"},
    },
    "required": ["diet"],
}
NO_LLM = (
    "Memory inference (infer=true) needs an LLM: set OPENAI_API_KEY (and OPENAI_BASE_URL for "
    "any OpenAI-compatible server) on the memdash server, or send infer=false to store "
    "messages verbatim."
)
NOT_ENABLED = (
    "Profiles are not enabled for this project: turn them on first with "
    'update_profile_settings(enabled=True) (POST /v2/profiles/settings/ {"enabled": true}).'
)


def capabilities(llm_configured):
    return {
        "entity_types": ["user"],
        "operations": ["trigger", "sample"],
        "sample_limit": {"default": 3, "max": 10},
        "max_memories_read": 200,
        "llm_configured": llm_configured,
        "default_schema": profiles.DEFAULT_SCHEMA,
    }


def settings_body(enabled=False, schema=None, instructions=None, llm_configured=True):
    return {
        "enabled": enabled,
        "capabilities": capabilities(llm_configured),
        "entities": {"user": {"schema": schema, "custom_instructions": instructions}},
    }


def trigger(entity_id):
    return {"operation": "trigger", "entity_type": "user", "entity_id": entity_id}


def created(operation="trigger", total=1, replayed=False, **extra):
    return {
        "job_id": ANY_UUID,
        "status": "pending",
        "status_url": ANY_STATUS_URL,
        "operation": operation,
        "entity_type": "user",
        "entity_count_reserved": total,
        "event_id": ANY_UUID,
        "replayed": replayed,
        **extra,
    }


class _AnyStatusUrl:
    def __eq__(self, other):
        return (
            isinstance(other, str)
            and other.startswith("/v2/profiles/jobs/")
            and other.endswith("/")
            and other.split("/")[-2] == ANY_UUID
        )

    def __repr__(self):
        return "ANY_STATUS_URL"


ANY_STATUS_URL = _AnyStatusUrl()


@pytest.fixture
def enabled(api):
    response = api.post(
        "/v2/profiles/settings/",
        {"enabled": True, "entities": {"user": {"schema": SCHEMA}}},
        format="json",
    )
    assert response.status_code == 200, response.content


@pytest.fixture
def alex(api):
    """Alex's two memories (oldest first)."""
    return [
        add_verbatim(api, "Alex is vegetarian", user_id="alex")[0]["id"],
        add_verbatim(api, "Alex climbs on weekends", user_id="alex")[0]["id"],
    ]


def post_job(api, body, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return api.post("/v2/profiles/jobs/", body, format="json", headers=headers)


def run_job(response):
    """Run a created job's Event as the worker would; returns the Event."""
    return profiles.run(response.json()["event_id"])


# --- settings --------------------------------------------------------------------------------


def test_settings_start_disabled_with_the_default_schema_in_capabilities(api, fake_llm):
    response = api.get("/v2/profiles/settings/")
    assert response.status_code == 200
    assert response.json() == settings_body()


def test_settings_are_updated_under_entities_user_and_read_back(api, fake_llm):
    body = {
        "enabled": True,
        "entities": {"user": {"schema": SCHEMA, "custom_instructions": "Be brief"}},
    }
    response = api.post("/v2/profiles/settings/", body, format="json")
    expected = settings_body(enabled=True, schema=SCHEMA, instructions="Be brief")
    assert (response.status_code, response.json()) == (200, expected)
    assert api.get("/v2/profiles/settings/").json() == expected


def test_omitted_settings_stay_and_null_clears(api, fake_llm, enabled):
    api.post(
        "/v2/profiles/settings/",
        {"entities": {"user": {"custom_instructions": "x"}}},
        format="json",
    )
    kept = api.post("/v2/profiles/settings/", {}, format="json").json()
    assert kept["enabled"] is True
    assert kept["entities"]["user"] == {"schema": SCHEMA, "custom_instructions": "x"}
    cleared = api.post(
        "/v2/profiles/settings/",
        {"entities": {"user": {"schema": None, "custom_instructions": None}}},
        format="json",
    ).json()
    assert cleared["entities"]["user"] == {"schema": None, "custom_instructions": None}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {"schema": SCHEMA, "custom_instructions": "x"},
            "Unsupported settings: custom_instructions, schema. Only enabled is project-wide; "
            "schema and custom_instructions go under entities.user: "
            '{"enabled": true, "entities": {"user": {"schema": {...}, "custom_instructions": "..."}}}',
        ),
        (
            {"entities": {"agent": {"schema": SCHEMA}}},
            "Unsupported settings: entities.agent (profiles are for users only: use entities.user)",
        ),
        (
            {"entities": {"user": {"auto": True}}},
            "Unsupported settings: entities.user.auto; entities.user takes schema and "
            "custom_instructions",
        ),
        ({"enabled": "yes"}, "enabled must be true or false, got 'yes'"),
        (
            {
                "entities": {
                    "user": {"schema": {"type": "object", "properties": {"a": {"type": "string"}}}}
                }
            },
            "Every property of a profile schema needs a description; missing for a",
        ),
        (
            {"entities": {"user": {"schema": {"type": "array", "items": {}}}}},
            'A profile schema describes an object: {"type": "object", "properties": {...}} '
            "with at least one property.",
        ),
        (
            {"entities": {"user": {"schema": {"type": 12}}}},
            "schema is not a valid JSON Schema: 12 is not valid under any of the given schemas",
        ),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(api, fake_llm, body, detail):
    response = api.post("/v2/profiles/settings/", body, format="json")
    assert (response.status_code, response.json()["detail"]) == (400, detail)
    assert api.get("/v2/profiles/settings/").json() == settings_body()


def test_nested_properties_need_descriptions_too(api, fake_llm):
    schema = {
        "type": "object",
        "properties": {
            "pets": {
                "type": "array",
                "description": "Pets",
                "items": {"type": "object", "properties": {"name": {"type": "string"}}},
            }
        },
    }
    response = api.post(
        "/v2/profiles/settings/", {"entities": {"user": {"schema": schema}}}, format="json"
    )
    assert response.json()["detail"].endswith("missing for pets[].name")


def test_only_admins_change_settings_and_viewers_read_them(viewer_api, editor_api, fake_llm):
    assert viewer_api.get("/v2/profiles/settings/").status_code == 200
    assert (
        editor_api.post("/v2/profiles/settings/", {"enabled": True}, format="json").status_code
        == 403
    )


def test_a_settings_change_is_in_the_audit_trail(api, fake_llm, project):
    api.post(
        "/v2/profiles/settings/",
        {"enabled": True, "entities": {"user": {"schema": SCHEMA}}},
        format="json",
    )
    api.post("/v2/profiles/settings/", {"enabled": True}, format="json")  # no change, no row
    (row,) = AuditEntry.objects.filter(project_id=project.pk, action="profile.settings")
    assert row.kind == "change"
    assert row.target == project.public_id
    assert row.details == {
        "enabled": {"before": False, "after": True},
        "schema": {"before": None, "after": f"sha256:{profiles._digest(SCHEMA)[:16]}"},
        "version": 2,
    }


# --- jobs ------------------------------------------------------------------------------------


def test_trigger_creates_a_pending_job(api, fake_llm, enabled, alex):
    response = post_job(api, trigger("alex"), key="k-1")
    assert response.status_code == 202
    assert response.json() == created()
    job = ProfileJob.objects.get()
    assert response.json()["status_url"] == f"/v2/profiles/jobs/{job.pk}/"
    assert (job.entity_ids, job.idempotency_key, job.event.event_type) == (
        ["alex"],
        "k-1",
        "PROFILE",
    )
    assert job.event.metadata == {"user_id": "alex"}


def test_the_same_key_and_body_is_the_same_job_replayed(api, fake_llm, enabled, alex):
    first = post_job(api, trigger("alex"), key="k-1").json()
    again = post_job(api, trigger("alex"), key="k-1")
    assert (again.status_code, again.json()) == (202, {**first, "replayed": True})
    assert ProfileJob.objects.count() == 1


def test_the_same_key_with_another_body_is_a_422(api, fake_llm, enabled, alex, project):
    add_verbatim(api, "Sam plays chess", user_id="sam")
    first = post_job(api, trigger("alex"), key="k-1").json()
    response = post_job(api, trigger("sam"), key="k-1")
    assert response.status_code == 422
    assert response.json()["detail"] == (
        f"Idempotency-Key 'k-1' was already used for a different request (job {first['job_id']}); "
        "send a new key for a new request."
    )


def test_without_a_key_every_request_is_a_new_job(api, fake_llm, enabled, alex):
    post_job(api, trigger("alex"))
    post_job(api, trigger("alex"))
    assert ProfileJob.objects.count() == 2


def test_a_job_needs_profiles_enabled(api, fake_llm, alex):
    response = post_job(api, trigger("alex"))
    assert (response.status_code, response.json()["detail"]) == (400, NOT_ENABLED)


def test_a_job_needs_an_llm(api, enabled, alex, settings):
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""
    response = post_job(api, trigger("alex"))
    assert (response.status_code, response.json()["detail"]) == (501, NO_LLM)
    assert not ProfileJob.objects.exists()


def test_a_job_for_an_unknown_user_is_a_404(api, fake_llm, enabled):
    response = post_job(api, trigger("ghost"))
    assert (response.status_code, response.json()["detail"]) == (404, "user 'ghost' not found")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {"operation": "delete", "entity_type": "user"},
            "operation must be one of trigger, sample, got 'delete'",
        ),
        (
            {"operation": "trigger", "entity_type": "agent", "entity_id": "a"},
            "entity_type must be \"user\" (profiles are for users), got 'agent'",
        ),
        (
            {"operation": "trigger", "entity_type": "user"},
            "entity_id is required: the user's id, as given on add",
        ),
        (
            {"operation": "sample", "entity_type": "user", "limit": 11},
            "limit must be a whole number from 1 to 10, got 11",
        ),
    ],
)
def test_bad_job_requests_are_400s(api, fake_llm, enabled, body, detail):
    response = post_job(api, body)
    assert (response.status_code, response.json()["detail"]) == (400, detail)


def test_sample_picks_the_most_recently_active_users_with_memories(api, fake_llm, enabled):
    for name in ("ana", "bo", "cy"):
        add_verbatim(api, f"{name} likes tea", user_id=name)
    add_verbatim(api, "agent only", agent_id="helper")
    response = post_job(api, {"operation": "sample", "entity_type": "user", "limit": 2})
    assert response.status_code == 202
    assert response.json() == created("sample", total=2, sampled=2, entity_ids=["cy", "bo"])


def test_sample_defaults_to_three_users(api, fake_llm, enabled):
    for name in ("ana", "bo", "cy", "di"):
        add_verbatim(api, f"{name} likes tea", user_id=name)
    body = post_job(api, {"operation": "sample", "entity_type": "user"}).json()
    assert (body["sampled"], body["entity_ids"]) == (3, ["di", "cy", "bo"])


def test_a_job_is_read_back_by_id_pending_then_done(api, fake_llm, enabled, alex):
    fake_llm.on("write user profile", reply={"diet": "vegetarian", "hobbies": ["climbing"]})
    response = post_job(api, trigger("alex"))
    job_id = response.json()["job_id"]
    job = {
        "id": job_id,
        "operation": "trigger",
        "entity_type": "user",
        "status": "pending",
        "total": 1,
        "enumeration_complete": True,
        "completed": 0,
        "succeeded": 0,
        "failed": 0,
        "skipped": 0,
        "event_id": response.json()["event_id"],
        "error": None,
    }
    assert api.get(f"/v2/profiles/jobs/{job_id}/").json() == {"job": job}
    run_job(response)
    done = {**job, "status": "succeeded", "completed": 1, "succeeded": 1}
    assert api.get(f"/v2/profiles/jobs/{job_id}/").json() == {"job": done}
    # Its Event reports the job's progress as every long operation does (Activity's bar).
    event = api.get(f"/v1/event/{response.json()['event_id']}/").json()
    assert event["progress"] == {"done": 1, "total": 1}


def test_unknown_jobs_are_404s(api, fake_llm):
    for job_id in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        response = api.get(f"/v2/profiles/jobs/{job_id}/")
        assert (response.status_code, response.json()["detail"]) == (
            404,
            f"Profile job '{job_id}' not found",
        )


def test_another_projects_key_sees_no_job_and_no_profile(api, other_api, fake_llm, enabled, alex):
    job_id = post_job(api, trigger("alex")).json()["job_id"]
    assert other_api.get(f"/v2/profiles/jobs/{job_id}/").status_code == 404
    response = other_api.get("/v2/entities/user/alex/profile/")
    assert (response.status_code, response.json()["detail"]) == (404, "user 'alex' not found")
    # Its key is not the same job either: keys are per project.
    assert post_job(other_api, trigger("alex"), key="k-1").status_code == 400


# --- a user's profile ------------------------------------------------------------------------


def profile_body(status, profile=None, count=0, updated=None, error=None, entity_id="alex"):
    return {
        "profile": profile or {},
        "status": status,
        "entity_type": "user",
        "entity_id": entity_id,
        "updated_at": updated,
        "generation_count": count,
        "error": error,
    }


def get_profile(api, entity_id="alex"):
    return api.get(f"/v2/entities/user/{entity_id}/profile/")


def test_profile_route_wins_over_the_entity_route(api, fake_llm, alex):
    response = get_profile(api)
    assert (response.status_code, response.json()) == (200, profile_body("not_enabled"))
    # The entity routes still answer for the entity itself.
    assert api.get("/v2/entities/user/alex/").json()[0]["name"] == "alex"


def test_profile_of_an_unknown_user_is_a_404(api, fake_llm, enabled):
    response = get_profile(api, "ghost")
    assert (response.status_code, response.json()["detail"]) == (404, "user 'ghost' not found")


def test_profile_is_pending_until_a_job_writes_it(api, fake_llm, enabled, alex):
    assert get_profile(api).json() == profile_body("pending")
    fake_llm.on("write user profile", reply={"diet": "vegetarian", "hobbies": ["climbing"]})
    response = post_job(api, trigger("alex"))
    assert get_profile(api).json()["status"] == "pending"
    event = run_job(response)
    assert event.status == Event.Status.SUCCEEDED
    assert event.results == {
        "succeeded": 1,
        "failed": 0,
        "skipped": 0,
        "total": 1,
        "usage": {
            "calls": 1,
            "prompt_tokens": event.results["usage"]["prompt_tokens"],
            "completion_tokens": event.results["usage"]["completion_tokens"],
            "by_task": {"write user profile": 1},
        },
    }
    expected = profile_body(
        "succeeded", {"diet": "vegetarian", "hobbies": ["climbing"]}, count=1, updated=ANY_TIMESTAMP
    )
    assert get_profile(api).json() == expected
    stored = Profile.objects.get()
    assert sorted(map(str, stored.memory_ids)) == sorted(alex)
    (call,) = fake_llm.calls_for("write user profile")
    assert call.system.startswith("# Task: write user profile\n")
    assert json.loads(call.user.split("\n\n", 1)[0].removeprefix("JSON Schema:\n")) == SCHEMA
    shown = json.loads(call.user.split("Memories of the user (newest first):\n", 1)[1])
    assert [m["memory"] for m in shown] == ["Alex climbs on weekends", "Alex is vegetarian"]


def test_a_user_without_memories_has_insufficient_data(api, fake_llm, enabled, alex):
    api.delete(f"/v1/memories/{alex[0]}/")
    api.delete(f"/v1/memories/{alex[1]}/")
    assert get_profile(api).json() == profile_body("insufficient_data")
    response = post_job(api, trigger("alex"))
    event = run_job(response)
    assert (event.status, event.results["skipped"]) == (Event.Status.SUCCEEDED, 1)
    assert get_profile(api).json() == profile_body("insufficient_data")
    assert fake_llm.calls == []


def test_an_unchanged_user_is_skipped_and_a_change_regenerates(api, fake_llm, enabled, alex):
    fake_llm.on("write user profile", reply={"diet": "vegetarian"})
    run_job(post_job(api, trigger("alex")))
    again = run_job(post_job(api, trigger("alex")))
    assert (again.results["succeeded"], again.results["skipped"]) == (0, 1)
    assert len(fake_llm.calls_for("write user profile")) == 1
    add_verbatim(api, "Alex now eats fish", user_id="alex")
    fake_llm.on("write user profile", reply={"diet": "pescatarian"})
    run_job(post_job(api, trigger("alex")))
    assert get_profile(api).json()["profile"] == {"diet": "pescatarian"}
    assert get_profile(api).json()["generation_count"] == 2


def test_new_custom_instructions_regenerate_the_profile(api, fake_llm, enabled, alex):
    fake_llm.on("write user profile", reply={"diet": "vegetarian"})
    run_job(post_job(api, trigger("alex")))
    api.post(
        "/v2/profiles/settings/",
        {"entities": {"user": {"custom_instructions": "Use lowercase"}}},
        format="json",
    )
    event = run_job(post_job(api, trigger("alex")))
    assert event.results["succeeded"] == 1
    assert (
        "Custom instructions:\nUse lowercase" in fake_llm.calls_for("write user profile")[-1].user
    )


def test_a_reply_outside_the_schema_gets_one_correction(api, fake_llm, enabled, alex):
    fake_llm.on("write user profile", reply={"diet": "vegan"})
    fake_llm.on("write user profile", reply={"hobbies": ["climbing"]}, times=1)
    run_job(post_job(api, trigger("alex")))
    first, second = fake_llm.calls_for("write user profile")
    assert (
        "Your previous answer did not follow the schema: at the top level: 'diet' is a required property"
        in second.user
    )
    assert get_profile(api).json()["profile"] == {"diet": "vegan"}


def test_a_failed_generation_keeps_the_last_profile_and_says_why(api, fake_llm, enabled, alex):
    fake_llm.on("write user profile", reply={"diet": "vegetarian"})
    run_job(post_job(api, trigger("alex")))
    add_verbatim(api, "Alex moved to Oslo", user_id="alex")
    fake_llm.on("write user profile", status=400)
    response = post_job(api, trigger("alex"))
    event = run_job(response)
    assert event.status == Event.Status.FAILED
    assert event.error == "1 of 1 profile generations failed; each profile's error says why"
    body = get_profile(api).json()
    assert (body["status"], body["profile"], body["generation_count"]) == (
        "failed",
        {"diet": "vegetarian"},
        1,
    )
    assert body["error"].startswith("LLM provider refused the write user profile request: HTTP 400")
    job = api.get(response.json()["status_url"]).json()["job"]
    assert (job["status"], job["failed"], job["completed"]) == ("failed", 1, 1)


def test_turning_profiles_off_shows_not_enabled_and_skips_jobs(api, fake_llm, enabled, alex):
    response = post_job(api, trigger("alex"))
    api.post("/v2/profiles/settings/", {"enabled": False}, format="json")
    event = run_job(response)
    assert event.results["skipped"] == 1
    assert get_profile(api).json()["status"] == "not_enabled"


def test_the_default_schema_is_used_without_one(api, fake_llm, alex):
    api.post("/v2/profiles/settings/", {"enabled": True}, format="json")
    fake_llm.on("write user profile", reply={"summary": "A climber.", "facts": ["vegetarian"]})
    run_job(post_job(api, trigger("alex")))
    assert get_profile(api).json()["profile"] == {"summary": "A climber.", "facts": ["vegetarian"]}


def test_reading_a_profile_is_logged(api, fake_llm, enabled, alex, project):
    fake_llm.on("write user profile", reply={"diet": "vegetarian"})
    run_job(post_job(api, trigger("alex")))
    get_profile(api)
    row = AuditEntry.objects.get(project_id=project.pk, action="profile.get")
    assert (row.kind, row.entities, row.total) == ("read", ["user:alex"], 2)
    assert sorted(map(str, row.memory_ids)) == sorted(alex)


def test_a_viewer_reads_profiles_but_cannot_start_jobs(viewer_api, api, fake_llm, enabled, alex):
    assert get_profile(viewer_api).status_code == 200
    assert post_job(viewer_api, trigger("alex")).status_code == 403
