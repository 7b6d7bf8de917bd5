"""Retention policies: a policy deletes exactly what it should (by creation, last update, or a
run's last activity, in its scope), its preview says so beforehand, held memories survive, and
a run of 100k deletions goes in batches while writers keep writing."""

from __future__ import annotations

import datetime as dt
import os
import threading

import pytest
from django.db import connection
from django.utils import timezone

from audit.models import AuditEntry
from entities.models import Entity
from memories import holds, retention
from memories.models import Event, Memory, MemoryHistory, RetentionPolicy, TrashedMemory
from memories.subjects import Subject
from tenancy.models import Role
from tenancy.services import create_api_key
from tests.conftest import add_verbatim, api_client
from tests.memories.bulk import seed

BULK = int(os.environ.get("MEMDASH_TEST_RETENTION_MEMORIES", "100000"))


def age(memory_id: str, *, created: int, updated: int | None = None) -> None:
    """Make a memory `created` days old (and last updated `updated` days ago)."""
    now = timezone.now()
    Memory.objects.filter(pk=memory_id).update(
        created_at=now - dt.timedelta(days=created),
        updated_at=now - dt.timedelta(days=created if updated is None else updated),
    )


@pytest.fixture
def world(api):
    ids = {
        "old_chat": add_verbatim(api, "Old chat line", user_id="maria", app_id="chat")[0]["id"],
        "new_chat": add_verbatim(api, "New chat line", user_id="maria", app_id="chat")[0]["id"],
        "old_edited": add_verbatim(api, "Old but edited", user_id="maria", app_id="chat")[0]["id"],
        "old_crm": add_verbatim(api, "Old CRM note", user_id="maria", app_id="crm")[0]["id"],
        "quiet_run": add_verbatim(api, "Quiet ticket", user_id="bob", run_id="t-1")[0]["id"],
        "busy_run": add_verbatim(api, "Busy ticket", user_id="bob", run_id="t-2")[0]["id"],
    }
    age(ids["old_chat"], created=40)
    age(ids["new_chat"], created=5)
    age(ids["old_edited"], created=40, updated=2)
    age(ids["old_crm"], created=400)
    Entity.objects.filter(kind="run", name="t-1").update(
        updated_at=timezone.now() - dt.timedelta(days=10)
    )
    return ids


def policy(api, **body):
    response = api.post("/v1/retention-policies/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def left(world) -> set[str]:
    alive = {str(pk) for pk in Memory.objects.values_list("pk", flat=True)}
    return {name for name, pk in world.items() if pk in alive}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "taken"),
    [
        (
            {"rule": "created", "days": 30, "filters": {"app_id": "chat"}},
            {"old_chat", "old_edited"},
        ),
        ({"rule": "updated", "days": 30, "filters": {"app_id": "chat"}}, {"old_chat"}),
        ({"rule": "created", "days": 365}, {"old_crm"}),
        ({"rule": "run_activity", "days": 7}, {"quiet_run"}),
    ],
)
def test_a_policy_deletes_exactly_what_it_should_and_its_preview_said_so(api, world, body, taken):
    made = policy(api, name="chat 30 days", **body)
    preview = api.post(f"/v1/retention-policies/{made['id']}/preview/").json()
    assert preview["would_delete"] == len(taken) and preview["held"] == 0
    event = retention.enforce(RetentionPolicy.objects.get(pk=made["id"]))
    assert event.results == {"deleted": len(taken)}
    assert left(world) == set(world) - taken
    # Final, not trashed, and the history names the policy.
    assert not TrashedMemory.objects.exists()
    for name in taken:
        row = MemoryHistory.objects.filter(memory_id=world[name]).latest("created_at")
        assert (row.event, row.actor) == ("DELETE", "retention:chat 30 days")
    assert Event.objects.get(pk=event.pk).payload["retention_policy"] == made["id"]
    after = api.get(f"/v1/retention-policies/{made['id']}/").json()
    assert after["last_event_id"] == str(event.pk) and after["last_run_at"]


@pytest.mark.django_db
def test_held_memories_survive_retention_and_are_counted(api, project, world):
    holds.place(project, Subject("user", "maria"), name="Case 7", actor="user:olga")
    age(world["quiet_run"], created=3)
    made = policy(api, name="everything a day", rule="created", days=1)
    preview = api.post(f"/v1/retention-policies/{made['id']}/preview/").json()
    assert (preview["would_delete"], preview["held"]) == (1, 4)
    assert preview["oldest"][:10] == (timezone.now() - dt.timedelta(days=3)).date().isoformat()
    event = retention.enforce(RetentionPolicy.objects.get(pk=made["id"]))
    # bob's old ticket goes; maria's four old memories are held, bob's new one is not due.
    assert event.results == {"deleted": 1, "held": 4}
    assert left(world) == set(world) - {"quiet_run"}


@pytest.mark.django_db
def test_the_beat_enforces_enabled_policies_only(api, world):
    policy(api, name="crm", rule="created", days=365, filters={"app_id": "crm"})
    policy(api, name="off", rule="created", days=1, enabled=False)
    assert retention.enforce_all() == 1
    assert left(world) == set(world) - {"old_crm"}


@pytest.mark.django_db
def test_policies_need_an_admin_and_good_input_and_are_audited(api, editor_api, project):
    body = {"name": "chat", "rule": "created", "days": 30}
    assert editor_api.post("/v1/retention-policies/", body, format="json").status_code == 403
    assert editor_api.get("/v1/retention-policies/").status_code == 403
    for bad, detail in [
        ({**body, "days": 0}, "days must be a whole number"),
        ({**body, "days": "30"}, "days must be a whole number"),
        ({**body, "rule": "forever"}, "rule must be one of"),
        ({"name": "x"}, "needs rule, days"),
        ({**body, "filters": {"colour": "red"}}, "colour"),
        ({**body, "color": 1}, "unknown field 'color'"),
        ({**body, "enabled": "yes"}, "enabled must be true or false"),
    ]:
        response = api.post("/v1/retention-policies/", bad, format="json")
        assert response.status_code == 400 and detail in response.json()["detail"], response.json()
    made = policy(api, **body)
    assert api.post("/v1/retention-policies/", body, format="json").status_code == 409
    changed = api.patch(f"/v1/retention-policies/{made['id']}/", {"days": 60}, format="json")
    assert changed.status_code == 200 and changed.json()["days"] == 60
    assert api.delete(f"/v1/retention-policies/{made['id']}/").json() == {
        "message": "Retention policy deleted; its memories stay."
    }
    assert api.get(f"/v1/retention-policies/{made['id']}/").status_code == 404
    actions = list(
        AuditEntry.objects.filter(action__startswith="retention.")
        .order_by("at", "id")
        .values_list("action", "details")
    )
    assert [a for a, _ in actions] == ["retention.create", "retention.change", "retention.delete"]
    assert actions[1][1] == {"days": {"before": 30, "after": 60}}


@pytest.mark.django_db
def test_another_projects_policies_are_out_of_reach(api, other_api, project):
    made = policy(api, name="chat", rule="created", days=30)
    assert other_api.get(f"/v1/retention-policies/{made['id']}/").status_code == 404
    assert other_api.delete(f"/v1/retention-policies/{made['id']}/").status_code == 404
    assert other_api.get("/v1/retention-policies/").json()["count"] == 0


@pytest.mark.django_db(transaction=True)
def test_100k_deletions_go_in_batches_while_writers_keep_writing(project, without_vector_index):
    seed(project, BULK, "old-user")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE memories_memory SET created_at = now() - interval '100 days' WHERE project_id = %s",
            [project.pk],
        )
    made = retention.create_policy(
        project, {"name": "90 days", "rule": "created", "days": 90}, actor="user:admin"
    )
    stop = threading.Event()
    answers: list[int] = []

    def write() -> None:
        client = api_client(create_api_key(project, role=Role.EDITOR, name="writer"))
        n = 0
        while not stop.is_set():
            n += 1
            response = client.post(
                "/v3/memories/add/",
                {"messages": f"fresh fact {n}", "user_id": "old-user", "infer": False},
                format="json",
            )
            answers.append(response.status_code)
        connection.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        event = retention.enforce(made)
    finally:
        stop.set()
        writer.join()
    assert event.results == {"deleted": BULK}
    assert answers and set(answers) == {200}
    # What the writer wrote meanwhile is new: it stays.
    assert Memory.objects.filter(project=project).count() == len(answers)
    assert MemoryHistory.objects.filter(event="DELETE", actor="retention:90 days").count() == BULK
