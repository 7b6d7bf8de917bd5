"""Profiles and summaries through the official clients, on a live server with a real Celery
worker (shared Redis worker) and the scripted LLM.

- mem0ai 2.2.1 `MemoryClient` and `AsyncMemoryClient` (every test runs on both, `mem0`):
  `get_summary(filters)`, `get_profile(entity_id)`, `generate_profile(entity_id,
  idempotency_key?)`, `sample_profiles(limit?, idempotency_key?)`, `get_profile_job(job id or
  status_url)`, `get_profile_settings()`, `update_profile_settings(enabled?, schema?,
  custom_instructions?)`. They return the JSON unchanged, and send an `Idempotency-Key` (a
  uuid4 hex unless given) with every job.
- npm mem0ai 3.3.1: `getProfile({entityId})`, `generateProfile({entityId, idempotencyKey?})`,
  `sampleProfiles({limit?, idempotencyKey?})`, `getProfileJob(idOrStatusUrl)`,
  `getProfileSettings()`, `updateProfileSettings({enabled, schema, customInstructions})`.
  Keys come back camel-cased except a profile's and a schema's own (a uuidv7 key by default).
"""

import re

import pytest
from mem0 import AsyncMemoryClient, MemoryClient
from mem0.exceptions import MemoryError as Mem0Error
from mem0.exceptions import MemoryNotFoundError, ValidationError

from memories import profiles, summaries
from memories.api.profiles import ProfileJobsView
from tenancy.models import Role
from tenancy.services import create_api_key, get_or_create_project
from testkit.workers import wait_for
from tests.conftest import ANY_TIMESTAMP, ANY_UUID, LoopThread
from tests.sdk.conftest import call
from tests.sdk.payloads import camel

pytestmark = [pytest.mark.sdk, pytest.mark.django_db(transaction=True)]

SCHEMA = {
    "type": "object",
    "properties": {
        "favourite_food": {"type": "string", "description": "What the user likes to eat"},
        "home_town": {"type": "string", "description": "Where the user lives"},
    },
    "required": ["favourite_food"],
}
ALEX_PROFILE = {"favourite_food": "ramen", "home_town": "Oslo"}
NOT_ENABLED = (
    "Profiles are not enabled for this project: turn them on first with "
    'update_profile_settings(enabled=True) (POST /v2/profiles/settings/ {"enabled": true}).'
)
UUID4_HEX = re.compile(r"^[0-9a-f]{32}$")
UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def settings_body(enabled=False, schema=None, instructions=None):
    return {
        "enabled": enabled,
        "capabilities": {
            "entity_types": ["user"],
            "operations": ["trigger", "sample"],
            "sample_limit": {"default": 3, "max": 10},
            "max_memories_read": profiles.MAX_PROFILE_MEMORIES,
            "llm_configured": True,
            "default_schema": profiles.DEFAULT_SCHEMA,
        },
        "entities": {"user": {"schema": schema, "custom_instructions": instructions}},
    }


def created(job_id, event_id, *, operation="trigger", total=1, replayed=False, **extra):
    return {
        "job_id": job_id,
        "status": "pending",
        "status_url": f"/v2/profiles/jobs/{job_id}/",
        "operation": operation,
        "entity_type": "user",
        "entity_count_reserved": total,
        "event_id": event_id,
        "replayed": replayed,
        **extra,
    }


def profile_body(profile, status="succeeded", count=1, entity_id="alex"):
    return {
        "profile": profile,
        "status": status,
        "entity_type": "user",
        "entity_id": entity_id,
        "updated_at": ANY_TIMESTAMP,
        "generation_count": count,
        "error": None,
    }


def finished_job(job_id, event_id, *, operation="trigger", total=1, succeeded=1):
    return {
        "job": {
            "id": job_id,
            "operation": operation,
            "entity_type": "user",
            "status": "succeeded",
            "total": total,
            "enumeration_complete": True,
            "completed": total,
            "succeeded": succeeded,
            "failed": 0,
            "skipped": total - succeeded,
            "event_id": event_id,
            "error": None,
        }
    }


@pytest.fixture
def idempotency_keys(monkeypatch):
    """The Idempotency-Key of every job request the server received, in order."""
    keys = []
    post = ProfileJobsView.post

    def recording(self, request):
        keys.append(request.headers.get("Idempotency-Key"))
        return post(self, request)

    monkeypatch.setattr(ProfileJobsView, "post", recording)
    return keys


@pytest.fixture(params=["sync", "async"])
def mem0(request, server, on_redis):
    """Call a mem0ai 2.x method by name: `mem0("get_profile", "alex")`, on MemoryClient or on
    AsyncMemoryClient (awaited on one event loop for the whole test)."""
    if request.param == "sync":
        client = MemoryClient(api_key=server.api_key, host=server.host)
        yield lambda name, *args, **kwargs: getattr(client, name)(*args, **kwargs)
        client.client.close()
        return
    loop = LoopThread()
    async_client = AsyncMemoryClient(api_key=server.api_key, host=server.host)
    yield lambda name, *args, **kwargs: loop.run(getattr(async_client, name)(*args, **kwargs))
    loop.run(async_client.async_client.aclose())
    loop.close()


def seed(mem0):
    mem0("add", "Alex loves ramen", user_id="alex", infer=False)
    mem0("add", "Alex lives in Oslo", user_id="alex", infer=False)
    mem0("add", "Sam plays chess", user_id="sam", infer=False)


def enable(mem0, **options):
    return mem0("update_profile_settings", enabled=True, schema=SCHEMA, **options)


def written(get, entity_id="alex"):
    """Poll a profile (`get(entity_id)`) until it is no longer pending."""
    return wait_for(
        lambda: (lambda body: None if body["status"] == "pending" else body)(get(entity_id)),
        timeout=30,
        interval=0.2,
        message=f"the profile of {entity_id}",
    )


def done(get, status_url):
    """Poll a job (`get(status_url)`) until it is finished."""
    return wait_for(
        lambda: (lambda body: body if body["job"]["status"] in ("succeeded", "failed") else None)(
            get(status_url)
        ),
        timeout=30,
        interval=0.2,
        message="the profile job",
    )


# --- mem0ai 2.2.1, sync and async --------------------------------------------------------------


def test_get_profile_settings_starts_disabled(mem0):
    assert mem0("get_profile_settings") == settings_body()


def test_update_profile_settings_nests_schema_and_instructions_under_user(mem0):
    assert enable(mem0, custom_instructions="Keep it short") == settings_body(
        True, SCHEMA, "Keep it short"
    )
    assert mem0("update_profile_settings", custom_instructions=None) == settings_body(True, SCHEMA)
    assert mem0("get_profile_settings") == settings_body(True, SCHEMA)


def test_update_profile_settings_with_a_bad_schema_raises_validation_error(mem0):
    with pytest.raises(ValidationError, match="needs a description; missing for x"):
        mem0(
            "update_profile_settings",
            schema={"type": "object", "properties": {"x": {"type": "string"}}},
        )


def test_generate_profile_is_written_by_the_worker(mem0, fake_llm, idempotency_keys):
    seed(mem0)
    enable(mem0)
    fake_llm.on("write user profile", reply=ALEX_PROFILE)
    job = mem0("generate_profile", "alex")
    assert job == created(job["job_id"], ANY_UUID)
    assert job["job_id"] == ANY_UUID
    assert UUID4_HEX.match(idempotency_keys[0])
    assert written(lambda entity_id: mem0("get_profile", entity_id)) == profile_body(ALEX_PROFILE)
    finished = mem0("get_profile_job", job["job_id"])
    assert finished == finished_job(job["job_id"], job["event_id"])


def test_generate_profile_with_the_same_idempotency_key_replays_the_job(mem0, fake_llm):
    seed(mem0)
    enable(mem0)
    first = mem0("generate_profile", "alex", idempotency_key="retry-1")
    again = mem0("generate_profile", "alex", idempotency_key="retry-1")
    assert again["job_id"] == first["job_id"]
    assert again["replayed"] is True
    with pytest.raises(ValidationError, match="was already used for a different request"):
        mem0("generate_profile", "sam", idempotency_key="retry-1")


def test_generate_profile_before_profiles_are_enabled_raises_validation_error(mem0):
    seed(mem0)
    with pytest.raises(ValidationError, match=re.escape(NOT_ENABLED)):
        mem0("generate_profile", "alex")


def test_get_profile_of_an_unknown_user_raises_not_found(mem0):
    with pytest.raises(MemoryNotFoundError, match="user 'ghost' not found"):
        mem0("get_profile", "ghost")


def test_get_profile_before_enabling_is_not_enabled(mem0):
    seed(mem0)
    body = mem0("get_profile", "alex")
    assert body == {**profile_body({}, "not_enabled", 0), "updated_at": None}


def test_sample_profiles_picks_recent_users_and_the_job_counts_them(
    mem0, fake_llm, idempotency_keys
):
    seed(mem0)
    enable(mem0)
    fake_llm.on("write user profile", reply=ALEX_PROFILE)
    job = mem0("sample_profiles", limit=2)
    assert job == created(
        job["job_id"], ANY_UUID, operation="sample", total=2, sampled=2, entity_ids=["sam", "alex"]
    )
    assert UUID4_HEX.match(idempotency_keys[0])
    finished = done(lambda url: mem0("get_profile_job", url), job["status_url"])
    assert finished == finished_job(
        job["job_id"], job["event_id"], operation="sample", total=2, succeeded=2
    )
    assert mem0("get_profile", "sam") == profile_body(ALEX_PROFILE, entity_id="sam")


def test_get_profile_job_takes_a_job_id_or_the_status_url(mem0, fake_llm):
    seed(mem0)
    enable(mem0)
    fake_llm.on("write user profile", reply=ALEX_PROFILE)
    job = mem0("generate_profile", "alex")
    by_url = done(lambda url: mem0("get_profile_job", url), job["status_url"])
    assert mem0("get_profile_job", job["job_id"]) == by_url
    with pytest.raises(MemoryNotFoundError, match="Profile job 'nope' not found"):
        mem0("get_profile_job", "nope")


def test_get_summary_summarises_the_filtered_memories(mem0, fake_llm):
    seed(mem0)
    fake_llm.on("summarise memories", reply={"summary": "Alex loves ramen and lives in Oslo."})
    body = mem0("get_summary", {"user_id": "alex"})
    assert body == {
        "summary": "Alex loves ramen and lives in Oslo.",
        "memory_count": 2,
        "memory_ids": [ANY_UUID, ANY_UUID],
        "truncated": False,
        "max_memories": summaries.MAX_SUMMARY_MEMORIES,
        "filters": {
            "AND": [{"user_id": "alex"}, {"agent_id": None, "app_id": None, "run_id": None}]
        },
        "generated_at": ANY_TIMESTAMP,
    }
    assert mem0("get_summary")["memory_count"] == 3  # {}: the whole project


def test_get_summary_without_an_llm_raises_the_501(mem0, settings):
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""
    with pytest.raises(Mem0Error, match=r"needs an LLM: set OPENAI_API_KEY"):
        mem0("get_summary", {"user_id": "alex"})


def test_another_projects_key_sees_no_profile_and_no_job(mem0, server, fake_llm):
    seed(mem0)
    enable(mem0)
    job = mem0("generate_profile", "alex")
    elsewhere = get_or_create_project("elsewhere", organization="Other")
    outsider = create_api_key(elsewhere, role=Role.ADMIN, name="outsider")
    other = MemoryClient(api_key=outsider, host=server.host)
    try:
        with pytest.raises(MemoryNotFoundError):
            other.get_profile("alex")
        with pytest.raises(MemoryNotFoundError):
            other.get_profile_job(job["status_url"])
    finally:
        other.client.close()


# --- npm mem0ai 3.3.1 ------------------------------------------------------------------------


def npm_settings(enabled=False, schema=None, instructions=None):
    """The settings as the npm client returns them: camel-cased, the schema verbatim."""
    body = camel(settings_body(enabled, schema, instructions))
    body["entities"]["user"]["schema"] = schema
    return body


def test_npm_get_profile_settings_and_update_profile_settings(js, on_redis):
    before, updated, after, bad = js(
        call("getProfileSettings"),
        call(
            "updateProfileSettings",
            {"enabled": True, "schema": SCHEMA, "customInstructions": "Short"},
        ),
        call("getProfileSettings"),
        call("updateProfileSettings", {"schema": {"type": "array", "items": {}}}),
    )
    assert before == npm_settings()
    assert updated == after == npm_settings(True, SCHEMA, "Short")
    assert bad["error"] == "ValidationError"
    assert "A profile schema describes an object" in bad["message"]


def test_npm_generate_profile_and_get_profile(js, on_redis, fake_llm, idempotency_keys):
    fake_llm.on("write user profile", reply=ALEX_PROFILE)
    *_, job = js(
        call("add", "Alex loves ramen", {"user_id": "alex", "infer": False}),
        call("updateProfileSettings", {"enabled": True, "schema": SCHEMA}),
        call("generateProfile", {"entityId": "alex"}),
    )
    assert job == camel(created(job["jobId"], ANY_UUID))
    assert UUID7.match(idempotency_keys[0])
    profile = written(lambda entity_id: js(call("getProfile", {"entityId": entity_id}))[0])
    # The profile's own keys stay as the schema spells them.
    assert profile == camel(profile_body(ALEX_PROFILE))
    (unknown,) = js(call("getProfile", {"entityId": "ghost"}))
    assert unknown["error"] == "MemoryNotFoundError"


def test_npm_sample_profiles_and_get_profile_job(js, on_redis, fake_llm, idempotency_keys):
    fake_llm.on("write user profile", reply=ALEX_PROFILE)
    *_, job, replay = js(
        call("add", "Alex loves ramen", {"user_id": "alex", "infer": False}),
        call("updateProfileSettings", {"enabled": True, "schema": SCHEMA}),
        call("sampleProfiles", {"limit": 1, "idempotencyKey": "npm-1"}),
        call("sampleProfiles", {"limit": 1, "idempotencyKey": "npm-1"}),
    )
    assert job == camel(
        created(job["jobId"], ANY_UUID, operation="sample", sampled=1, entity_ids=["alex"])
    )
    assert replay == {**job, "replayed": True, "status": replay["status"]}
    assert idempotency_keys == ["npm-1", "npm-1"]
    finished = done(lambda url: js(call("getProfileJob", url))[0], job["statusUrl"])
    assert finished == camel(finished_job(job["jobId"], job["eventId"], operation="sample"))
    assert js(call("getProfileJob", job["jobId"])) == [finished]
