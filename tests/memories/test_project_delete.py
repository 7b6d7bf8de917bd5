"""Deleting a project (and an organization) over the API: everything of the project goes, the
audit log stays, a legal hold refuses it, a large one runs on a real Celery worker, and the
project's keys are refused while it is being deleted."""

import httpx
import pytest
from django.contrib.auth.models import User

from audit.models import AuditEntry
from entities.models import Entity
from memories import events, projects
from memories.models import Event, LegalHold, Memory, MemoryHistory, TrashedMemory
from tenancy.deletion import DELETION_MARK
from tenancy.models import ApiKey, Membership, Organization, Project, Role
from tenancy.services import create_api_key, get_or_create_project
from testkit.workers import wait_for
from tests.conftest import ANY_UUID, add_verbatim, api_client
from tests.dashboard.conftest import logged_in, make_user

ORGS = "/api/v1/orgs/organizations/"
IN_PROGRESS = (
    "Project deletion in progress: it is too large to delete within the request. Its API keys "
    "are refused (410) from now on; the audit log records the deletion."
)


def project_url(project):
    return f"{ORGS}{project.organization.public_id}/projects/{project.public_id}/"


def fill(client):
    """Memories, history, trash, entities, events and a released hold, in the client's project."""
    kept = add_verbatim(
        client, [{"role": "user", "content": f"fact {i}"} for i in range(3)], user_id="alex"
    )
    client.delete(f"/v1/memories/{kept[0]['id']}/")  # into the trash
    hold = client.post(
        "/v1/holds/", {"name": "old case", "entity_type": "user", "entity_id": "bob"}, format="json"
    ).json()
    client.post(f"/v1/holds/{hold['id']}/release/", {}, format="json")


def contents(project_pk):
    return {
        "memories": Memory.objects.filter(project_id=project_pk).count(),
        "history": MemoryHistory.objects.filter(project_id=project_pk).count(),
        "trash": TrashedMemory.objects.filter(project_id=project_pk).count(),
        "entities": Entity.objects.filter(project_id=project_pk).count(),
        "events": Event.objects.filter(project_id=project_pk).count(),
        "holds": LegalHold.objects.filter(project_id=project_pk).count(),
        "keys": ApiKey.objects.filter(project_id=project_pk).count(),
    }


NOTHING = dict.fromkeys(("memories", "history", "trash", "entities", "events", "holds", "keys"), 0)


@pytest.mark.django_db
def test_delete_a_small_project_at_once(api, api_key, project):
    fill(api)
    pk = project.pk
    assert contents(pk) == {
        "memories": 2,
        "history": 4,
        "trash": 1,
        "entities": 1,
        "events": 2,
        "holds": 1,
        "keys": 1,
    }
    response = api.delete(project_url(project))
    assert (response.status_code, response.json()) == (
        200,
        {"message": "Project deleted successfully"},
    )
    assert not Project.objects.filter(pk=pk).exists()
    assert contents(pk) == NOTHING
    assert Organization.objects.filter(name="Acme").exists()
    # The audit log outlives the project: it names it by its plain id.
    rows = AuditEntry.objects.filter(project_id=pk, kind="change")
    (deleted,) = rows.filter(action="project.delete")
    assert (deleted.target, deleted.details) == (
        project.public_id,
        {"name": "support-bot", "event_id": ANY_UUID, "queued": False},
    )
    assert rows.filter(action__in=["hold.place", "hold.release", "key.create"]).count() == 3
    # The key went with its project.
    assert api.get("/v1/ping/").status_code == 401


@pytest.mark.django_db
def test_a_legal_hold_refuses_the_deletion_up_front(api, project):
    fill(api)
    api.post(
        "/v1/holds/", {"name": "Case 7", "entity_type": "user", "entity_id": "alex"}, format="json"
    )
    before = contents(project.pk)
    response = api.delete(project_url(project))
    assert response.status_code == 423
    assert "'Case 7'" in response.json()["detail"]
    assert (
        "cannot be deleted with the project until the hold is released" in response.json()["detail"]
    )
    assert contents(project.pk) == before
    project.refresh_from_db()
    assert DELETION_MARK not in project.options
    assert api.get("/v1/ping/").status_code == 200


@pytest.mark.django_db
def test_a_hold_on_trashed_memories_refuses_it_too(api, project):
    (memory,) = add_verbatim(api, "in the trash", user_id="tess")
    api.delete(f"/v1/memories/{memory['id']}/")
    api.post(
        "/v1/holds/",
        {"name": "Trash case", "entity_type": "user", "entity_id": "tess"},
        format="json",
    )
    assert api.delete(project_url(project)).status_code == 423


@pytest.mark.django_db
def test_a_large_project_is_queued_and_its_keys_get_410_meanwhile(api, api_key, project, settings):
    """Without a worker (the test's transaction never commits, so nothing is sent) the project
    stays marked: what its keys see while a worker deletes it."""
    settings.MEMDASH_SYNC_DELETE_LIMIT = 2
    fill(api)
    response = api.delete(project_url(project))
    body = response.json()
    assert (response.status_code, body) == (200, {"message": IN_PROGRESS, "event_id": ANY_UUID})
    event = Event.objects.get(pk=body["event_id"])
    assert (event.event_type, event.status, event.payload) == (
        "DELETE",
        "PENDING",
        {"project": project.public_id, "name": "support-bot"},
    )
    for path in ("/v1/ping/", "/v3/memories/", project_url(project)):
        gone = api.get(path)
        assert (gone.status_code, gone.json()["detail"]) == (
            410,
            f"Project {project.public_id} is being deleted (event {event.pk}); its API keys no "
            "longer work.",
        )
    assert Memory.objects.filter(project=project).count() == 2
    # Its dashboard says so, for every member, instead of showing half of it.
    page = logged_in(make_user("erin", project, Role.VIEWER)).get("/")
    assert page.status_code == 410
    assert "support-bot is being deleted" in page.content.decode()
    # A worker lost mid-way: the stale sweep queues the project's deletion again, not a
    # delete by filter.
    assert events.task_for(event) == "memories.tasks.process_project_delete"
    # The task body, as the worker runs it.
    projects.run_deletion(event.pk)
    assert not Project.objects.filter(pk=project.pk).exists()
    assert contents(project.pk) == NOTHING


@pytest.fixture
def alice(project):
    user = User.objects.create_user("alice", email="alice@example.com")
    Membership.objects.create(user=user, project=project, role=Role.ADMIN)
    return user


@pytest.fixture
def billing(alice):
    billing = get_or_create_project("billing-bot", organization="Acme")
    Membership.objects.create(user=alice, project=billing, role=Role.ADMIN)
    return billing


@pytest.fixture
def alice_api(project, alice):
    return api_client(create_api_key(project, role=Role.ADMIN, created_by=alice))


@pytest.mark.django_db
def test_a_deletion_under_way_is_409_for_other_projects_keys_and_restarts_after_a_failure(
    alice_api, billing, settings
):
    settings.MEMDASH_SYNC_DELETE_LIMIT = 0
    billing_api = api_client(create_api_key(billing))
    add_verbatim(billing_api, "an invoice", user_id="acme")
    first = alice_api.delete(project_url(billing)).json()
    again = alice_api.delete(project_url(billing))
    assert (again.status_code, again.json()["detail"]) == (
        409,
        f"Project 'billing-bot' is already being deleted (event {first['event_id']}).",
    )
    # Being deleted, it is out of the lists.
    org = f"{ORGS}{billing.organization.public_id}/projects/"
    assert [p["name"] for p in alice_api.get(org).json()] == ["support-bot"]
    Event.objects.filter(pk=first["event_id"]).update(status="FAILED", error="worker lost")
    settings.MEMDASH_SYNC_DELETE_LIMIT = 1000
    assert alice_api.delete(project_url(billing)).json() == {
        "message": "Project deleted successfully"
    }
    assert not Project.objects.filter(pk=billing.pk).exists()


@pytest.mark.django_db
def test_delete_another_reached_project_keeps_the_callers(alice_api, project, billing):
    response = alice_api.delete(project_url(billing))
    assert response.json() == {"message": "Project deleted successfully"}
    assert list(Project.objects.values_list("name", flat=True)) == ["support-bot"]
    assert alice_api.get("/v1/ping/").status_code == 200


@pytest.mark.django_db
def test_delete_an_organization_with_every_project(alice_api, project, billing):
    add_verbatim(api_client(create_api_key(billing)), "an invoice", user_id="acme")
    org = project.organization
    response = alice_api.delete(f"{ORGS}{org.public_id}/")
    assert response.json() == {"message": "Organization deleted successfully"}
    assert not Organization.objects.filter(pk=org.pk).exists()
    assert not Project.objects.filter(organization_id=org.pk).exists()
    assert Memory.objects.count() == 0
    (row,) = AuditEntry.objects.filter(action="org.delete")
    assert (row.project_id, row.target, row.details) == (
        None,
        org.public_id,
        {"name": "Acme", "projects": [billing.public_id, project.public_id]},
    )
    assert AuditEntry.objects.filter(action="project.delete").count() == 2


@pytest.mark.django_db
def test_an_organization_with_a_project_the_key_does_not_reach_is_403(alice_api, project, billing):
    get_or_create_project("hr-bot", organization="Acme")
    response = alice_api.delete(f"{ORGS}{project.organization.public_id}/")
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "The organization has 1 project(s) this API key does not reach (its creator is not "
        "their admin); deleting the organization would delete them too. Delete it from the "
        "dashboard, or become an admin of every project first."
    )
    assert Project.objects.count() == 3


@pytest.mark.django_db
def test_an_organization_with_a_held_project_is_423_and_nothing_goes(alice_api, project, billing):
    billing_api = api_client(create_api_key(billing))
    add_verbatim(billing_api, "an invoice", user_id="acme")
    billing_api.post(
        "/v1/holds/", {"name": "Audit", "entity_type": "user", "entity_id": "acme"}, format="json"
    )
    response = alice_api.delete(f"{ORGS}{project.organization.public_id}/")
    assert response.status_code == 423
    assert Project.objects.count() == 2
    assert not AuditEntry.objects.filter(action__in=["org.delete", "project.delete"]).exists()
    assert not Project.objects.filter(options__has_key=DELETION_MARK).exists()


@pytest.mark.django_db(transaction=True)
def test_a_large_project_is_deleted_by_a_real_worker(on_redis, live_server, settings):
    settings.MEMDASH_SYNC_DELETE_LIMIT = 3
    project = get_or_create_project("big", organization="Bigcorp")
    key = create_api_key(project)
    with httpx.Client(
        base_url=live_server.url, headers={"Authorization": f"Token {key}"}, timeout=30
    ) as client:
        messages = [{"role": "user", "content": f"fact {i}"} for i in range(8)]
        added = client.post(
            "/v3/memories/add/", json={"messages": messages, "user_id": "alex", "infer": False}
        )
        assert added.status_code == 200
        response = client.delete(project_url(project))
        assert response.json() == {"message": IN_PROGRESS, "event_id": ANY_UUID}
        try:
            wait_for(lambda: not Project.objects.filter(pk=project.pk).exists(), timeout=30)
        except AssertionError as exc:
            raise AssertionError(
                f"the project is still there:\n{on_redis.output()[-4000:]}"
            ) from exc
        assert client.get("/v1/ping/").status_code == 401
    assert contents(project.pk) == NOTHING
    assert Organization.objects.filter(name="Bigcorp").exists()
    (row,) = AuditEntry.objects.filter(project_id=project.pk, action="project.delete")
    assert row.details["queued"] is True
