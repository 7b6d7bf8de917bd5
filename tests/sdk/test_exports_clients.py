"""Mem0's memory exports through the official clients, built by a real Celery worker.

- mem0ai 2.x: `create_memory_export(schema, **kwargs)` POSTs /v1/exports/ with the schema as
  given (None included) and the keywords that are not None; `get_memory_export(**kwargs)` POSTs
  /v1/exports/get/ with them. Both return the JSON unchanged, a 202 too, and raise the classes of
  mem0.exceptions on an error status (404 MemoryNotFoundError, 400 and 422 ValidationError) with
  the body's `detail` as the message.
- mem0ai 1.0.11: the same two methods, with the org_id and project_id it learnt from /v1/ping/
  added to every body; the seed documents' form puts the entity ids at the top level
  (`create_memory_export(schema, user_id="alex")`, `get_memory_export(user_id="alex")`).
- npm mem0ai 3.x: `createMemoryExport({schema, filters, ...})` (both required, checked before
  any request) and `getMemoryExport({memoryExportId} | {filters})`. It snake-cases the other
  options and camel-cases every key of the answer but those under `metadata`: the exported
  object's own keys too.

A worker builds the export as an EXPORT Event: without an LLM it lists the memories the filters
match (with /v1's implicit null scoping) with every field; with one (the scripted LLM) it is the
LLM's answer, checked against the schema.
"""

import copy
import json
import re
import uuid

import pytest
from mem0.exceptions import MemoryNotFoundError, ValidationError

from core.api.errors import error_body
from memories.api.exports import PlatformExportGetView, PlatformExportsView
from memories.embeddings import get_embedder
from memories.models import Event, Export
from testkit.workers import REDIS_URL, Worker, use_broker, wait_for
from tests.conftest import ANY_UUID
from tests.sdk.conftest import call
from tests.sdk.payloads import JULY_20_2024, MINUTE, camel, iso, md5

pytestmark = [pytest.mark.sdk, pytest.mark.django_db(transaction=True)]

PROFILE = {
    "title": "Profile",
    "type": "object",
    "properties": {
        "full_name": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "likes": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["likes"],
}
ALEX = {"user_id": "alex"}
RECEIVED = "Memory export request received. The export will be ready in a few seconds."
NOT_READY = "The export is still being built; ask again in a few seconds."
NOT_FOUND = "No memory export request found"
NO_SCHEMA = (
    "Schema is required: send a JSON Schema object, e.g. a Pydantic model's model_json_schema()."
)
NO_LLM_NOTE = (
    "No LLM is configured on this memdash server, so the schema was not filled: this export "
    "lists the memories the filters match, with all their fields."
)

# Added at JULY_20_2024 + n minutes, in this order. {"user_id": "alex"} exports the first two:
# the ticket memory also has a run_id (null scoping leaves it out) and the last is Sam's.
SEEDS = [
    ("Alex likes hiking", {"user_id": "alex", "metadata": {"source": "chat"}}),
    ("Alex likes tea", {"user_id": "alex"}),
    ("Alex on the ticket", {"user_id": "alex", "run_id": "t-1"}),
    ("Sam likes chess", {"user_id": "sam"}),
]


# --- workers and the wire ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plain_worker(django_db_setup, django_db_blocker):
    """A worker without an LLM (the shared Redis worker has the scripted one), on a Redis
    database of its own."""
    broker = REDIS_URL.rsplit("/", 1)[0] + "/13"
    worker = Worker(broker=broker, env={"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}).start()
    yield worker
    worker.stop()


@pytest.fixture
def no_llm(plain_worker, live_server, transactional_db):
    """Exports are built by `plain_worker`: deterministically, without an LLM."""
    with use_broker(plain_worker.broker):
        yield plain_worker


@pytest.fixture
def no_worker(live_server, transactional_db):
    """Tasks go to an in-memory broker that nothing consumes: exports stay PENDING."""
    with use_broker("memory://"):
        yield


def built(get):
    """Ask for an export (`get()`) until the answer is no longer a PENDING or RUNNING 202."""

    def ready():
        answer = get()
        return None if answer.get("status") in ("PENDING", "RUNNING") else answer

    return wait_for(ready, timeout=30, interval=0.2, message="the export to be built")


@pytest.fixture
def received(monkeypatch):
    """(path, JSON body) of every request the two export views read, in order: what the
    clients sent. The live server runs in this process, in a thread."""
    requests = []
    for view in (PlatformExportsView, PlatformExportGetView):

        def body(self, read=view.body):
            data = read(self)
            requests.append((self.request.path, copy.deepcopy(data)))
            return data

        monkeypatch.setattr(view, "body", body)
    return requests


def distinct(requests):
    """The requests without repeats (polling repeats the get), in order."""
    seen = []
    for request in requests:
        if request not in seen:
            seen.append(request)
    return seen


# --- what an export holds --------------------------------------------------------------------


def exported(text, *, id, at, metadata=None):
    """One of Alex's memories in a deterministic export: every column but the vectors and the
    project."""
    return {
        "id": id,
        "user_id": "alex",
        "agent_id": None,
        "app_id": None,
        "run_id": None,
        "actor_id": None,
        "role": "user",
        "memory": text,
        "hash": md5(text),
        "metadata": metadata,
        "categories": None,
        "immutable": False,
        "expiration_date": None,
        "created_at": iso(at),
        "updated_at": iso(at),
        "embedding_model": get_embedder().name,
        "event_id": ANY_UUID,
        "feedback": None,
        "feedback_reason": None,
        "pii_kinds": [],
        # Each seed is one message added verbatim: the memory came from message 0.
        "source_messages": [0],
    }


def alex_export(ids):
    """The deterministic export of {"user_id": "alex"}; `ids` are the seeds' memory ids."""
    return {
        "memories": [  # newest first
            exported("Alex likes tea", id=ids[1], at=JULY_20_2024 + MINUTE),
            exported("Alex likes hiking", id=ids[0], at=JULY_20_2024, metadata={"source": "chat"}),
        ],
        "count": 2,
        # What the export was made of: the filters with the null scoping /v1/ adds.
        "filters": {"AND": [ALEX, {"agent_id": None, "app_id": None, "run_id": None}]},
        "llm_used": False,
        "message": NO_LLM_NOTE,
    }


def pending(export_id):
    return {"id": export_id, "status": "PENDING", "message": NOT_READY, "progress": None}


# --- mem0ai 2.x ------------------------------------------------------------------------------


def seed(py_client):
    """Add SEEDS verbatim; returns their memory ids."""
    ids = []
    for n, (text, entity_ids) in enumerate(SEEDS):
        added = py_client.add(text, infer=False, timestamp=JULY_20_2024 + n * MINUTE, **entity_ids)
        ids.append(added["results"][0]["id"])
    return ids


def test_python_export_is_built_then_found_by_id_and_by_filters(py_client, received, no_llm):
    ids = seed(py_client)
    created = py_client.create_memory_export(
        schema=PROFILE, filters=ALEX, export_instructions="Keep it short"
    )
    assert created == {
        "message": RECEIVED,
        "id": ANY_UUID,
        "event_id": ANY_UUID,
        "status": "PENDING",
    }
    export_id = created["id"]
    by_id = built(lambda: py_client.get_memory_export(memory_export_id=export_id))
    assert by_id == alex_export(ids)
    assert py_client.get_memory_export(filters=ALEX) == by_id

    assert distinct(received) == [
        (
            "/v1/exports/",
            {"schema": PROFILE, "filters": ALEX, "export_instructions": "Keep it short"},
        ),
        ("/v1/exports/get/", {"memory_export_id": export_id}),
        ("/v1/exports/get/", {"filters": ALEX}),
    ]
    record = Export.objects.get(pk=export_id)
    assert (record.schema, record.instructions, str(record.event_id)) == (
        PROFILE,
        "Keep it short",
        created["event_id"],
    )
    assert record.event.status == Event.Status.SUCCEEDED


def test_python_unknown_exports_raise_memory_not_found(py_client, no_worker):
    with pytest.raises(MemoryNotFoundError, match=f"^{NOT_FOUND}$") as by_id:
        py_client.get_memory_export(memory_export_id=str(uuid.uuid4()))
    assert by_id.value.details == error_body(NOT_FOUND)
    assert by_id.value.error_code == "HTTP_404"
    py_client.create_memory_export(schema=PROFILE, filters=ALEX)
    with pytest.raises(MemoryNotFoundError, match=f"^{NOT_FOUND}$"):
        py_client.get_memory_export(filters={"user_id": "sam"})
    with pytest.raises(ValidationError, match="^Send memory_export_id"):
        py_client.get_memory_export()
    with pytest.raises(ValidationError, match="^memory_export_id should be a valid UUID"):
        py_client.get_memory_export(memory_export_id="not-an-id")


def test_python_create_without_a_usable_schema(py_client, received, no_worker):
    # The schema is a required positional parameter: leaving it out fails before any request.
    with pytest.raises(TypeError, match="schema"):
        py_client.create_memory_export(filters=ALEX)
    assert received == []
    # schema=None is sent as null (the client strips None from the keywords only).
    with pytest.raises(ValidationError, match=f"^{re.escape(NO_SCHEMA)}$") as missing:
        py_client.create_memory_export(schema=None, filters=ALEX)
    assert received == [("/v1/exports/", {"schema": None, "filters": ALEX})]
    assert missing.value.details == error_body(NO_SCHEMA, message=NO_SCHEMA)
    assert missing.value.error_code == "HTTP_400"
    with pytest.raises(ValidationError, match="^schema is not a valid JSON Schema: "):
        py_client.create_memory_export(schema={"type": "nonsense"}, filters=ALEX)
    with pytest.raises(ValidationError, match="^filters is required"):
        py_client.create_memory_export(schema=PROFILE)
    assert not Export.objects.exists()


def test_python_llm_fills_the_schema(py_client, on_redis, fake_llm):
    fake_llm.on("fill export schema", reply={"full_name": "Alex", "likes": ["hiking", "tea"]})
    seed(py_client)
    created = py_client.create_memory_export(
        schema=PROFILE, filters=ALEX, export_instructions="Only hobbies"
    )
    export = built(lambda: py_client.get_memory_export(memory_export_id=created["id"]))
    assert export == {"full_name": "Alex", "likes": ["hiking", "tea"]}
    (prompt,) = fake_llm.calls_for("fill export schema")
    assert "Alex likes hiking" in prompt.user and "Alex likes tea" in prompt.user
    assert "Only hobbies" in prompt.user
    assert "Alex on the ticket" not in prompt.user and "Sam likes chess" not in prompt.user
    assert Export.objects.get(pk=created["id"]).llm_used is True


def test_python_llm_answer_outside_the_schema_fails_the_export(py_client, on_redis, fake_llm):
    fake_llm.on("fill export schema", reply={"likes": "hiking"})
    seed(py_client)
    created = py_client.create_memory_export(schema=PROFILE, filters=ALEX)
    # Asked again with the problem, then given up: a 422, raised as a ValidationError.
    with pytest.raises(ValidationError, match="does not follow the schema") as failed:
        built(lambda: py_client.get_memory_export(memory_export_id=created["id"]))
    assert failed.value.error_code == "HTTP_422"
    assert failed.value.details["status"] == "FAILED"
    assert failed.value.details["id"] == created["id"]
    assert str(failed.value).endswith("Create the export again.")
    assert len(fake_llm.calls_for("fill export schema")) == 2


def test_until_it_is_built_every_client_gets_the_202_status(py_client, py1, js, no_worker):
    created = py_client.create_memory_export(schema=PROFILE, filters=ALEX)
    export_id = created["id"]
    assert py_client.get_memory_export(memory_export_id=export_id) == pending(export_id)
    assert py1(call("get_memory_export", memory_export_id=export_id)) == [pending(export_id)]
    assert js(call("getMemoryExport", {"memoryExportId": export_id})) == [camel(pending(export_id))]


# --- mem0ai 1.0.11 ---------------------------------------------------------------------------


def legacy_seed_calls():
    return [
        call("add", text, infer=False, timestamp=JULY_20_2024 + n * MINUTE, **ids)
        for n, (text, ids) in enumerate(SEEDS)
    ]


def added_ids(results):
    return [result["results"][0]["id"] for result in results]


def tenancy(server):
    """What mem0ai 1.0.11 adds to every body."""
    return {
        "org_id": server.project.organization.public_id,
        "project_id": server.project.public_id,
    }


def test_legacy_export_is_built_then_found_by_id_and_by_filters(py1, server, received, no_llm):
    *adds, created = py1(
        *legacy_seed_calls(),
        call(
            "create_memory_export",
            schema=PROFILE,
            filters=ALEX,
            export_instructions="Keep it short",
        ),
    )
    assert created == {
        "message": RECEIVED,
        "id": ANY_UUID,
        "event_id": ANY_UUID,
        "status": "PENDING",
    }
    export_id = created["id"]
    by_id = built(lambda: py1(call("get_memory_export", memory_export_id=export_id))[0])
    assert by_id == alex_export(added_ids(adds))
    assert py1(call("get_memory_export", filters=ALEX)) == [by_id]
    # The org_id and project_id name the key's own project: accepted, and not taken as filters.
    assert distinct(received) == [
        (
            "/v1/exports/",
            {
                "schema": PROFILE,
                "filters": ALEX,
                "export_instructions": "Keep it short",
                **tenancy(server),
            },
        ),
        ("/v1/exports/get/", {"memory_export_id": export_id, **tenancy(server)}),
        ("/v1/exports/get/", {"filters": ALEX, **tenancy(server)}),
    ]
    record = Export.objects.get(pk=export_id)
    assert (record.schema, record.instructions) == (PROFILE, "Keep it short")


def test_legacy_top_level_entity_ids_and_a_json_text_schema(py1, server, received, no_llm):
    *adds, created = py1(
        *legacy_seed_calls(), call("create_memory_export", json.dumps(PROFILE), user_id="alex")
    )
    assert created["message"] == RECEIVED
    export = built(lambda: py1(call("get_memory_export", user_id="alex"))[0])
    assert export == alex_export(added_ids(adds))
    # The same filters, however they are spelt.
    assert py1(call("get_memory_export", filters=ALEX)) == [export]
    assert distinct(received) == [
        ("/v1/exports/", {"schema": json.dumps(PROFILE), "user_id": "alex", **tenancy(server)}),
        ("/v1/exports/get/", {"user_id": "alex", **tenancy(server)}),
        ("/v1/exports/get/", {"filters": ALEX, **tenancy(server)}),
    ]
    assert Export.objects.get(pk=created["id"]).schema == PROFILE


def test_legacy_errors_carry_the_servers_detail(py1, no_worker):
    unknown, no_schema, bad_schema = py1(
        call("get_memory_export", memory_export_id=str(uuid.uuid4())),
        call("create_memory_export", None, filters=ALEX),
        call("create_memory_export", "{nope", filters=ALEX),
    )
    assert unknown == {"error": "MemoryNotFoundError", "message": NOT_FOUND}
    assert no_schema == {"error": "ValidationError", "message": NO_SCHEMA}
    assert bad_schema == {
        "error": "ValidationError",
        "message": "schema is a string but not JSON; send a JSON Schema object",
    }
    assert not Export.objects.exists()


# --- npm mem0ai 3.x --------------------------------------------------------------------------


def npm_seed_calls():
    return [
        call("add", text, {"infer": False, "timestamp": JULY_20_2024 + n * MINUTE, **ids})
        for n, (text, ids) in enumerate(SEEDS)
    ]


def test_npm_export_is_built_then_found_by_id_and_by_filters(js, received, no_llm):
    *adds, created = js(
        *npm_seed_calls(),
        call(
            "createMemoryExport",
            {"schema": PROFILE, "filters": ALEX, "exportInstructions": "Keep it short"},
        ),
    )
    assert created == {
        "message": RECEIVED,
        "id": ANY_UUID,
        "eventId": ANY_UUID,
        "status": "PENDING",
    }
    export_id = created["id"]
    by_id = built(lambda: js(call("getMemoryExport", {"memoryExportId": export_id}))[0])
    # Camel-cased to the last key (userId, createdAt, the echoed filters' agentId), but not
    # under metadata.
    assert by_id == camel(alex_export(added_ids(adds)))
    assert by_id["memories"][1]["metadata"] == {"source": "chat"}
    assert by_id["filters"] == {
        "AND": [{"userId": "alex"}, {"agentId": None, "appId": None, "runId": None}]
    }
    assert js(call("getMemoryExport", {"filters": ALEX})) == [by_id]
    # Options snake-cased, filters and schema as given.
    assert distinct(received) == [
        (
            "/v1/exports/",
            {"export_instructions": "Keep it short", "filters": ALEX, "schema": PROFILE},
        ),
        ("/v1/exports/get/", {"memory_export_id": export_id}),
        ("/v1/exports/get/", {"filters": ALEX}),
    ]
    assert Export.objects.get(pk=export_id).instructions == "Keep it short"


def test_npm_checks_its_arguments_and_throws_the_servers_errors(js, received, no_worker):
    unknown, no_schema, no_filters, nothing, bad_schema = js(
        call("getMemoryExport", {"memoryExportId": str(uuid.uuid4())}),
        call("createMemoryExport", {"filters": ALEX}),
        call("createMemoryExport", {"schema": PROFILE}),
        call("getMemoryExport", {}),
        call("createMemoryExport", {"schema": {"type": "nonsense"}, "filters": ALEX}),
    )
    # The message is the raw response body.
    assert unknown == {
        "error": "MemoryNotFoundError",
        "message": json.dumps(error_body(NOT_FOUND), separators=(",", ":")),
    }
    assert no_schema == no_filters == {"error": "Error", "message": "Missing filters or schema"}
    assert nothing == {"error": "Error", "message": "Missing memoryExportId or filters"}
    assert bad_schema["error"] == "ValidationError"
    body = json.loads(bad_schema["message"])
    assert body["message"] == body["detail"]
    assert body["detail"].startswith("schema is not a valid JSON Schema: ")
    # The argument checks sent nothing.
    assert [path for path, _body in received] == ["/v1/exports/get/", "/v1/exports/"]
    assert not Export.objects.exists()


def test_npm_camel_cases_the_keys_of_an_llm_filled_export(js, on_redis, fake_llm):
    fake_llm.on("fill export schema", reply={"full_name": "Alex", "likes": ["hiking", "tea"]})
    *_, created = js(
        *npm_seed_calls(), call("createMemoryExport", {"schema": PROFILE, "filters": ALEX})
    )
    export = built(lambda: js(call("getMemoryExport", {"memoryExportId": created["id"]}))[0])
    # The schema's own property full_name comes back as fullName.
    assert export == {"fullName": "Alex", "likes": ["hiking", "tea"]}
    assert Export.objects.get(pk=created["id"]).result == {
        "full_name": "Alex",
        "likes": ["hiking", "tea"],
    }
