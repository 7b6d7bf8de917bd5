"""Legal holds: held memories survive every path that would remove them (423 where the caller
named them, skipped and counted where a filter or an entity did), until the hold is released;
placing and releasing are in the audit trail."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from entities.models import Entity
from memories import trash
from memories.models import Event, Memory, TrashedMemory
from tenancy.models import Role
from tenancy.services import create_api_key
from tests.conftest import add_verbatim, api_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(project):
    return api_client(create_api_key(project, role=Role.COMPLIANCE, name="officer"))


@pytest.fixture
def world(api):
    """maria's two memories (one in the case's run), bob's one."""
    return {
        "tea": add_verbatim(api, "Maria likes green tea", user_id="maria")[0]["id"],
        "case": add_verbatim(api, "Maria reported the fault", user_id="maria", run_id="case-7")[0][
            "id"
        ],
        "bob": add_verbatim(api, "Bob plays chess", user_id="bob")[0]["id"],
    }


def place(officer, **body):
    response = officer.post("/v1/holds/", {"name": "Case 7 litigation", **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_placing_a_hold_needs_compliance_and_good_input_and_is_audited(officer, editor_api, world):
    body = {"name": "Case 7", "entity_type": "user", "entity_id": "maria", "reason": "lawsuit"}
    assert editor_api.post("/v1/holds/", body, format="json").status_code == 403
    for bad, detail in [
        ({**body, "name": ""}, "needs a name"),
        ({**body, "entity_type": "robot"}, "entity_type must be one of"),
        ({"name": "x", "filters": {"colour": "red"}}, "colour"),
        ({**body, "reason": 5}, "reason must be a string"),
    ]:
        response = officer.post("/v1/holds/", bad, format="json")
        assert response.status_code == 400 and detail in response.json()["detail"], response.json()
    response = officer.post("/v1/holds/", body, format="json")
    assert response.status_code == 201
    hold = response.json()
    assert hold["subject"] == {"entity_type": "user", "entity_id": "maria"}
    assert hold["active"] is True and hold["placed_by"].startswith("api-key:")
    row = AuditEntry.objects.get(action="hold.place")
    assert row.target == hold["id"] and row.entities == ["user:maria"]
    assert row.details["reason"] == "lawsuit"
    assert officer.get(f"/v1/holds/{hold['id']}/").json()["name"] == "Case 7"


def test_deleting_held_memories_by_id_is_423_naming_the_hold(api, officer, world):
    place(officer, entity_type="user", entity_id="maria")
    one = api.delete(f"/v1/memories/{world['tea']}/")
    assert one.status_code == 423
    assert "Case 7 litigation" in one.json()["detail"]
    batch = api.delete(
        "/v1/batch/",
        {"memories": [{"memory_id": world["bob"]}, {"memory_id": world["tea"]}]},
        format="json",
    )
    assert batch.status_code == 423
    # All or nothing: bob's memory is still there too.
    assert Memory.objects.filter(pk__in=[world["tea"], world["bob"]]).count() == 2


def test_deletes_by_filter_and_of_an_entity_skip_held_memories_and_say_so(api, officer, world):
    place(officer, filters={"run_id": "case-7"})
    response = api.delete("/v1/memories/?user_id=maria")
    assert response.status_code == 200
    body = response.json()
    assert body["deleted"] == 1 and body["held"] == 1 and "legal hold" in body["message"]
    assert list(Memory.objects.filter(user_id="maria").values_list("memory", flat=True)) == [
        "Maria reported the fault"
    ]
    entity = api.delete("/v2/entities/user/maria/")
    assert entity.status_code == 200 and entity.json()["held"] == 1
    # The entity stays with its held memory.
    assert Entity.objects.filter(kind="user", name="maria").exists()
    assert Event.objects.filter(event_type="DELETE").latest("created_at").results == {
        "deleted": 0,
        "held": 1,
    }


def test_an_erasure_of_a_held_subject_is_refused_and_its_preview_names_the_hold(officer, world):
    place(officer, entity_type="user", entity_id="maria")
    preview = officer.post(
        "/v1/erasures/", {"entity_type": "user", "entity_id": "maria"}, format="json"
    )
    assert preview.status_code == 200 and preview.json()["holds"] == ["Case 7 litigation"]
    confirmed = officer.post(
        "/v1/erasures/",
        {"entity_type": "user", "entity_id": "maria", "dry_run": False, "reason": "asked"},
        format="json",
    )
    assert confirmed.status_code == 423
    assert "cannot be erased" in confirmed.json()["detail"]
    assert Memory.objects.filter(user_id="maria").count() == 2


def test_a_hold_keeps_trashed_memories_from_purges(api, officer, editor_api, world):
    api.delete(f"/v1/memories/{world['tea']}/")
    place(officer, entity_type="user", entity_id="maria")
    refused = editor_api.post("/v1/trash/purge/", {"memory_ids": [world["tea"]]}, format="json")
    assert refused.status_code == 423
    TrashedMemory.objects.update(purge_after=timezone.now() - dt.timedelta(days=1))
    assert trash.purge_expired() == 0
    # Only held rows were due: nothing done, and no Event for it.
    assert not Event.objects.filter(event_type="PURGE").exists()
    # Restoring is not removing: allowed.
    assert (
        editor_api.post(
            "/v1/trash/restore/", {"memory_ids": [world["tea"]]}, format="json"
        ).status_code
        == 200
    )


def test_released_holds_stop_protecting_stay_listed_and_are_audited(api, officer, world):
    hold = place(officer, entity_type="user", entity_id="maria")
    released = officer.post(
        f"/v1/holds/{hold['id']}/release/", {"reason": "settled"}, format="json"
    )
    assert released.status_code == 200
    body = released.json()
    assert body["active"] is False and body["release_reason"] == "settled"
    again = officer.post(f"/v1/holds/{hold['id']}/release/", {}, format="json")
    assert again.status_code == 409 and "was released on" in again.json()["detail"]
    assert api.delete(f"/v1/memories/{world['tea']}/").status_code == 200
    assert AuditEntry.objects.filter(action="hold.release", target=hold["id"]).count() == 1
    listed = officer.get("/v1/holds/").json()
    assert [h["id"] for h in listed["results"]] == [hold["id"]]
    assert officer.get("/v1/holds/?active=true").json()["count"] == 0
    assert officer.get("/v1/holds/?active=false").json()["count"] == 1
    assert officer.get("/v1/holds/?active=maybe").status_code == 400


def test_another_projects_holds_are_out_of_reach(officer, other_api, world):
    hold = place(officer, entity_type="user", entity_id="maria")
    assert other_api.get(f"/v1/holds/{hold['id']}/").status_code == 404
    assert other_api.post(f"/v1/holds/{hold['id']}/release/", {}, format="json").status_code == 404
    assert other_api.get("/v1/holds/").json()["count"] == 0
    assert officer.get("/v1/holds/not-a-uuid/").status_code == 400
