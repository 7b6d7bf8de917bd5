"""Contract tests of the entity and project-wide reads beside the SDKs' calls: creating
entities (POST /v1/users/ ...), the dashboard's filter definitions, stats, one entity's
memories and the project's history feed."""

import datetime as dt

import pytest

from audit.models import AuditEntry
from entities.models import Entity
from memories.models import Event
from tests.conftest import ANY_HASH, ANY_TIMESTAMP, ANY_UUID, add_verbatim

pytestmark = pytest.mark.django_db

KINDS = ("user", "agent", "app", "run")


def reads(action):
    return list(AuditEntry.objects.filter(kind="read", action=action).order_by("id"))


# --- POST /v1/users/, /v1/agents/, /v1/apps/, /v1/runs/ ------------------------------------------


def created(kind, entity_id, *, pk, project, name=None, metadata=None):
    return {
        "id": pk,
        f"{kind}_id": entity_id,
        "name": name or entity_id,
        "metadata": metadata or {},
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
        "graph_entities": [],
        "is_deleted": False,
        "project": project.pk,
    }


def test_create_user_answers_201_with_mem0s_entity_object(api, project):
    response = api.post(
        "/v1/users/",
        {"user_id": "alex", "name": "Alex Jones", "metadata": {"tier": "gold"}},
        format="json",
    )
    assert response.status_code == 201
    entity = Entity.objects.get(project=project, kind="user", name="alex")
    assert response.json() == created(
        "user",
        "alex",
        pk=entity.pk,
        project=project,
        name="Alex Jones",
        metadata={"tier": "gold", "display_name": "Alex Jones"},
    )
    assert entity.metadata == {"tier": "gold", "display_name": "Alex Jones"}


@pytest.mark.parametrize("kind", KINDS)
def test_create_each_kind(api, project, kind):
    response = api.post(f"/v1/{kind}s/", {f"{kind}_id": "x-1"}, format="json")
    assert response.status_code == 201
    entity = Entity.objects.get(project=project, kind=kind, name="x-1")
    assert response.json() == created(kind, "x-1", pk=entity.pk, project=project)


def test_create_existing_entity_answers_200_with_it(api, project):
    first = api.post("/v1/users/", {"user_id": "alex", "metadata": {"v": 1}}, format="json")
    again = api.post("/v1/users/", {"user_id": "alex"}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    renamed = api.post("/v1/users/", {"user_id": "alex", "name": "Alex"}, format="json")
    assert renamed.status_code == 200
    assert renamed.json()["metadata"] == {"v": 1, "display_name": "Alex"}
    replaced = api.post("/v1/users/", {"user_id": "alex", "metadata": {"v": 2}}, format="json")
    assert replaced.json()["metadata"] == {"v": 2}
    assert replaced.json()["id"] == first.json()["id"]
    assert Entity.objects.filter(project=project).count() == 1


def test_created_entity_is_listed_with_no_memories_and_keeps_its_id_on_write(api, project):
    pk = api.post("/v1/users/", {"user_id": "alex"}, format="json").json()["id"]
    listed = api.get("/v1/entities/?page=1").json()["results"]
    assert [(e["id"], e["name"], e["total_memories"]) for e in listed] == [(str(pk), "alex", 0)]
    add_verbatim(api, "Likes tea", user_id="alex")
    assert Entity.objects.get(project=project, name="alex").pk == pk


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "user_id is required and must be a non-empty string."),
        ({"user_id": "  "}, "user_id is required and must be a non-empty string."),
        ({"user_id": "x" * 256}, "user_id"),
        ({"user_id": ["alex"]}, "user_id"),
        ({"user_id": "alex", "metadata": "gold"}, "metadata"),
        ({"user_id": "alex", "name": 5 * "long name " * 30}, "name"),
    ],
)
def test_create_user_rejects_bad_input(api, body, detail):
    response = api.post("/v1/users/", body, format="json")
    assert response.status_code == 400
    assert detail in str(response.json()["detail"])
    assert not Entity.objects.exists()


def test_create_needs_an_editor_key(viewer_api):
    response = viewer_api.post("/v1/users/", {"user_id": "alex"}, format="json")
    assert response.status_code == 403
    assert not Entity.objects.exists()


def test_create_in_another_project_is_separate(api, other_api, project, other_project):
    api.post("/v1/users/", {"user_id": "alex", "metadata": {"mine": True}}, format="json")
    theirs = other_api.post("/v1/users/", {"user_id": "alex"}, format="json")
    assert theirs.status_code == 201
    assert theirs.json()["project"] == other_project.pk
    assert theirs.json()["metadata"] == {}
    assert other_api.get("/v1/entities/?page=1").json()["count"] == 1


# --- GET /v1/entities/filters/ ----------------------------------------------------------------


def test_filters_lists_the_projects_values(api, project, other_api):
    add_verbatim(api, "a", user_id="alex", run_id="ticket-1")
    add_verbatim(api, [{"role": "assistant", "content": "b"}], agent_id="chef", app_id="shop")
    add_verbatim(other_api, "c", user_id="outsider")
    body = api.get("/v1/entities/filters/").json()
    categories = body["categories"]
    assert categories[:3] == ["personal_details", "family", "professional_details"]
    # Every Event type (other work adds types; the memory ones lead).
    event_types = list(Event.Type.values)
    assert event_types[:3] == ["ADD", "UPDATE", "DELETE"]
    assert body == {
        "event_type": event_types,
        "categories": categories,
        "users": ["alex"],
        "agents": ["chef"],
        "apps": ["shop"],
        "runs": ["ticket-1"],
        "parameters": [
            {
                "name": "user_id",
                "label": "User",
                "type": "select",
                "placeholder": "Select a user",
                "options": ["alex"],
            },
            {
                "name": "agent_id",
                "label": "Agent",
                "type": "select",
                "placeholder": "Select an agent",
                "options": ["chef"],
            },
            {
                "name": "app_id",
                "label": "App",
                "type": "select",
                "placeholder": "Select an app",
                "options": ["shop"],
            },
            {
                "name": "run_id",
                "label": "Run",
                "type": "select",
                "placeholder": "Select a run",
                "options": ["ticket-1"],
            },
            {
                "name": "categories",
                "label": "Categories",
                "type": "multiselect",
                "placeholder": "Select categories",
                "options": categories,
            },
            {
                "name": "event_type",
                "label": "Event type",
                "type": "select",
                "placeholder": "Select an event type",
                "options": event_types,
            },
            {
                "name": "start_date",
                "label": "Created from",
                "type": "date",
                "placeholder": "YYYY-MM-DD",
                "options": [],
            },
            {
                "name": "end_date",
                "label": "Created until",
                "type": "date",
                "placeholder": "YYYY-MM-DD",
                "options": [],
            },
            {
                "name": "keywords",
                "label": "Keywords",
                "type": "text",
                "placeholder": "Words in the memory",
                "options": [],
            },
        ],
        "option_limit": 100,
    }
    (row,) = reads("entities.filters")
    assert sorted(row.entities) == ["agent:chef", "app:shop", "run:ticket-1", "user:alex"]


def test_filters_use_the_projects_own_categories_and_cap_every_list(api, project):
    project.categories.create(name="billing", description="Invoices")
    Entity.objects.bulk_create(
        [Entity(project=project, kind="user", name=f"u{n}") for n in range(150)]
    )
    body = api.get("/v1/entities/filters/").json()
    assert body["categories"] == ["billing"]
    assert len(body["users"]) == 100
    assert body["parameters"][0]["options"] == body["users"]


def test_filters_of_an_empty_project(other_api):
    body = other_api.get("/v1/entities/filters/").json()
    assert (body["users"], body["agents"], body["apps"], body["runs"]) == ([], [], [], [])


# --- GET /v1/stats/ -----------------------------------------------------------------------------


def test_stats_counts_the_projects_memories_reads_and_adds(api, other_api):
    add_verbatim(api, "a1", user_id="alex")
    add_verbatim(api, "a2", user_id="alex", run_id="r1")
    add_verbatim(api, "b1", user_id="bob")
    add_verbatim(api, [{"role": "assistant", "content": "c1"}], agent_id="chef")
    api.post("/v1/users/", {"user_id": "no-memories"}, format="json")
    api.post("/v3/memories/", {"filters": {"user_id": "alex"}}, format="json")
    api.get("/v1/entities/")
    add_verbatim(other_api, "z", user_id="zed")
    other_api.post("/v3/memories/", {"filters": {"user_id": "zed"}}, format="json")
    assert api.get("/v1/stats/").json() == {
        "total_memories": 4,
        "total_retrieval_events": 2,
        "total_add_events": 4,
        "total_api_retrieval_events": 2,
        "total_retrieval_events_limit": None,
        "total_users_with_memories": 2,
        "memories_per_user": 1.5,
        "total_agents_with_memories": 1,
        "memories_per_agent": 1.0,
        "total_apps_with_memories": 0,
        "memories_per_app": 0,
        "total_runs_with_memories": 1,
        "memories_per_run": 1.0,
        "estimated": [],
    }


def test_stats_beyond_the_count_cap_are_estimates_and_say_so(api, settings):
    settings.MEMDASH_COUNT_CAP = 2
    for n in range(4):
        add_verbatim(api, f"fact {n}", user_id=f"u{n}")
    body = api.get("/v1/stats/").json()
    assert body["estimated"] == [
        "total_memories",
        "total_add_events",
        "total_users_with_memories",
        "memories_with_user_id",
    ]
    # Never below cap + 1; PostgreSQL's estimate otherwise (its statistics of a tiny table are
    # rough, so only the bound is pinned).
    assert body["total_memories"] >= 3
    assert body["total_users_with_memories"] >= 3
    assert body["total_agents_with_memories"] == 0


def test_stats_of_an_empty_project_are_zero(other_api, api):
    add_verbatim(api, "a1", user_id="alex")
    body = other_api.get("/v1/stats/").json()
    assert body["total_memories"] == 0
    assert body["total_users_with_memories"] == 0
    assert body["memories_per_user"] == 0


# --- GET /v1/memories/{entity_type}/{entity_id}/ ------------------------------------------------


def entity_memory(text, *, memory_id, scope, input, is_updated=False, created_at=ANY_TIMESTAMP):
    ids = {"user_id": None, "agent_id": None, "app_id": None, "run_id": None, **scope}
    return {
        "id": memory_id,
        "memory": text,
        **ids,
        "session_id": ids["run_id"],
        "actor_id": None,
        "role": "user",
        "hash": ANY_HASH,
        "metadata": None,
        "categories": None,
        "immutable": False,
        "expiration_date": None,
        "created_at": created_at,
        "updated_at": ANY_TIMESTAMP,
        "structured_attributes": {
            "year": 2024,
            "month": 7,
            "day": 20,
            "hour": 12,
            "minute": 0,
            "day_of_week": "saturday",
            "week_of_year": 29,
            "day_of_year": 202,
            "quarter": 3,
            "is_weekend": True,
        },
        "replaced_by": None,
        "synthesized": None,
        "lifecycle_state": None,
        "input": input,
        "is_updated": is_updated,
    }


JULY_20_2024_NOON = int(dt.datetime(2024, 7, 20, 12, tzinfo=dt.UTC).timestamp())


def add_at(api, text, **ids):
    response = api.post(
        "/v3/memories/add/",
        {
            "messages": [{"role": "user", "content": text}],
            "infer": False,
            "timestamp": JULY_20_2024_NOON,
            **ids,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()["results"][0]["id"]


def test_entity_memories_lists_them_with_input_and_is_updated(api):
    first = add_at(api, "Likes tea", user_id="alex")
    second = add_at(api, "Lives in Oslo", user_id="alex", run_id="r1")
    add_at(api, "Not alex", user_id="bob")
    api.put(f"/v1/memories/{first}/", {"text": "Likes green tea"}, format="json")
    response = api.get("/v1/memories/user/alex/")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("count", "next", "previous")} == {
        "count": 2,
        "next": None,
        "previous": None,
    }
    by_id = {item["id"]: item for item in body["results"]}
    assert by_id == {
        first: entity_memory(
            "Likes green tea",
            memory_id=first,
            scope={"user_id": "alex"},
            input=[{"role": "user", "content": "Likes tea"}],
            is_updated=True,
        ),
        second: entity_memory(
            "Lives in Oslo",
            memory_id=second,
            scope={"user_id": "alex", "run_id": "r1"},
            input=[{"role": "user", "content": "Lives in Oslo"}],
        ),
    }
    (row,) = reads("memories.list")[-1:]
    assert row.entities == ["run:r1", "user:alex"]
    assert row.total == 2


def test_entity_memories_of_other_kinds_and_names_with_slashes(api):
    add_at(api, "run fact", user_id="alex", run_id="ticket/1")
    assert api.get("/v1/memories/run/ticket%2F1/").json()["count"] == 1
    assert api.get("/v1/memories/agent/ticket%2F1/").json()["count"] == 0


def test_entity_memories_pages(api):
    for n in range(3):
        add_at(api, f"fact {n}", user_id="alex")
    page = api.get("/v1/memories/user/alex/?page=1&page_size=2").json()
    assert len(page["results"]) == 2
    assert page["next"] == "http://testserver/v1/memories/user/alex/?page=2&page_size=2"
    last = api.get(page["next"]).json()
    assert (len(last["results"]), last["count"], last["next"]) == (1, 3, None)


def test_entity_memories_bad_type_or_id_is_400(api):
    response = api.get("/v1/memories/robot/alex/")
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "Invalid entity type 'robot'; use one of user, agent, app, run."
    )
    response = api.get(f"/v1/memories/user/{'x' * 256}/")
    assert response.status_code == 400
    assert response.json()["detail"] == "entity_id must be 1 to 255 characters, got 256."
    response = api.get("/v1/memories/user/alex/?show_expired=maybe")
    assert response.status_code == 400


def test_entity_memories_of_another_project_are_invisible(api, other_api):
    add_at(api, "Likes tea", user_id="alex")
    body = other_api.get("/v1/memories/user/alex/").json()
    assert (body["count"], body["results"]) == (0, [])


def test_memory_routes_still_reach_memories(api):
    memory_id = add_at(api, "Likes tea", user_id="alex")
    assert api.get(f"/v1/memories/{memory_id}/").json()["id"] == memory_id
    assert api.get(f"/v1/memories/{memory_id}/history/").json()[0]["event"] == "ADD"
    # The entity route comes first, so a user named "history" has a reachable list too.
    assert api.get("/v1/memories/user/history/").json()["results"] == []


# --- GET /v1/memories/events/ -------------------------------------------------------------------


def test_history_events_lists_the_projects_changes_newest_first(api, other_api):
    memory_id = add_at(api, "Likes tea", user_id="alex")
    api.put(f"/v1/memories/{memory_id}/", {"text": "Likes green tea"}, format="json")
    add_at(other_api, "Not ours", user_id="zed")
    response = api.get("/v1/memories/events/")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("count", "next", "previous")} == {
        "count": 2,
        "next": None,
        "previous": None,
    }
    update, add = body["results"]
    assert update == {
        "id": ANY_UUID,
        "memory_id": memory_id,
        "input": None,
        "old_memory": "Likes tea",
        "new_memory": "Likes green tea",
        "user_id": "alex",
        "agent_id": None,
        "app_id": None,
        "run_id": None,
        "session_id": None,
        "categories": None,
        "event": "UPDATE",
        "metadata": None,
        "actor": update["actor"],
        "event_id": update["event_id"],
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
    }
    assert update["actor"].startswith("api-key:")
    assert (add["event"], add["new_memory"], add["input"]) == (
        "ADD",
        "Likes tea",
        [{"role": "user", "content": "Likes tea"}],
    )
    (row,) = reads("history.list")
    assert (row.entities, row.total, [str(i) for i in row.memory_ids]) == (
        ["user:alex"],
        2,
        [memory_id, memory_id],
    )


def test_history_events_pages_with_page_and_limit(api):
    for n in range(3):
        add_at(api, f"fact {n}", user_id="alex")
    page = api.get("/v1/memories/events/?page=1&limit=2").json()
    assert len(page["results"]) == 2
    assert page["next"] is not None
    rest = api.get("/v1/memories/events/?page=2&limit=2").json()
    assert len(rest["results"]) == 1
    assert api.get("/v1/memories/events/?limit=0").status_code == 400
    assert api.get("/v1/memories/events/?page=9&limit=2").status_code == 404


def test_history_events_of_another_project_are_invisible(api, other_api):
    add_at(api, "Likes tea", user_id="alex")
    assert other_api.get("/v1/memories/events/").json()["results"] == []


def test_entity_delete_of_an_entity_without_memories_is_quick(api, project):
    """reset() runs it once per entity: a handful of queries, none of them a scan."""
    api.post("/v1/users/", {"user_id": "empty"}, format="json")
    response = api.delete("/v2/entities/user/empty/")
    assert response.status_code == 200
    assert response.json()["deleted"] == 0
    assert not Entity.objects.filter(project=project).exists()
    assert Event.objects.filter(project=project, event_type="DELETE").count() == 1
