"""Webhook management API (deliveries are tested end to end in test_async.py)."""

import uuid

import pytest

from tests.conftest import ANY_TIMESTAMP, ANY_UUID

pytestmark = pytest.mark.django_db


@pytest.fixture
def hooks_path(project):
    return f"/api/v1/webhooks/projects/{project.public_id}/"


def test_create_list_update_delete(api, hooks_path, project):
    created = api.post(
        hooks_path,
        {
            "name": "audit",
            "url": "https://example.test/hook",
            "event_types": ["memory_add", "memory.delete", "ADD"],
        },
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body == {
        "webhook_id": ANY_UUID,
        "name": "audit",
        "url": "https://example.test/hook",
        "event_types": ["memory_add", "memory_delete"],
        "owner": None,
        "is_active": True,
        "project": project.public_id,
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
        "secret": body["secret"],
    }
    assert len(body["secret"]) == 64
    listing = api.get(hooks_path).json()
    assert [h["webhook_id"] for h in listing] == [body["webhook_id"]]
    assert "secret" not in listing[0]
    detail = f"/api/v1/webhooks/{body['webhook_id']}/"
    assert api.put(
        detail, {"is_active": False, "event_types": ["memory_update"]}, format="json"
    ).json() == {"message": "Webhook updated successfully"}
    assert api.get(hooks_path).json()[0]["event_types"] == ["memory_update"]
    assert api.delete(detail).json() == {"message": "Webhook deleted successfully"}
    assert api.get(hooks_path).json() == []


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"url": "https://x.test", "event_types": ["memory_add"]}, "name is required"),
        (
            {"name": "n", "url": "ftp://x.test", "event_types": ["memory_add"]},
            "url must be an http(s) URL",
        ),
        (
            {"name": "n", "url": "https://x.test", "event_types": []},
            "event_types must be a non-empty list",
        ),
        (
            {"name": "n", "url": "https://x.test", "event_types": ["memory_explode"]},
            "Unknown webhook event type 'memory_explode'",
        ),
    ],
)
def test_create_validation(api, hooks_path, body, detail):
    response = api.post(hooks_path, body, format="json")
    assert response.status_code == 400
    assert detail in response.json()["detail"]


def test_only_admins_manage_webhooks(editor_api, hooks_path):
    assert editor_api.get(hooks_path).status_code == 403


def test_other_projects_webhooks_are_invisible(api, other_api, hooks_path, other_project):
    hook = api.post(
        hooks_path,
        {"name": "a", "url": "https://x.test", "event_types": ["memory_add"]},
        format="json",
    ).json()
    assert other_api.get(hooks_path).status_code == 404
    assert other_api.delete(f"/api/v1/webhooks/{hook['webhook_id']}/").status_code == 404
    assert other_api.get(f"/api/v1/webhooks/projects/{other_project.public_id}/").json() == []
    assert api.get(f"/api/v1/webhooks/{uuid.uuid4()}/").json() == {"detail": "Webhook not found"}
