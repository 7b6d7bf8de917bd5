"""The Retention page: admins add, pause, resume and delete policies; the compliance role sees
them and their dry runs; others are turned away; bad input is a clear form error."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from memories import retention
from memories.models import Memory, RetentionPolicy
from tenancy.models import Role
from tests.dashboard.conftest import HOSTILE, htmx, logged_in, make_user, remember

pytestmark = pytest.mark.django_db

URL = "/compliance/retention/"


@pytest.fixture
def olga_client(project):
    return logged_in(make_user("olga", project, Role.COMPLIANCE))


def add(client, **fields):
    body = {
        "name": "chat 30 days",
        "filters": '{"app_id": "chat"}',
        "rule": "created",
        "days": "30",
        "enabled": "on",
        **fields,
    }
    return client.post(URL, body)


def test_an_admin_adds_a_policy_and_sees_its_dry_run(alice_client, project):
    old = remember(project, "Old chat line", user_id="maria", app_id="chat")[0]
    remember(project, "New chat line", user_id="maria", app_id="chat")
    Memory.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=40))
    response = add(alice_client)
    assert response.status_code == 302
    policy = RetentionPolicy.objects.get()
    assert (policy.filters, policy.rule, policy.days, policy.enabled) == (
        {"app_id": "chat"},
        "created",
        30,
        True,
    )
    assert policy.created_by == "user:alice"
    page = alice_client.get(URL)
    assert page.status_code == 200
    assert (
        "chat 30 days" in page.content.decode()
        and "Added the retention policy" in page.content.decode()
    )
    preview = alice_client.get(f"{URL}{policy.pk}/preview/", headers=htmx("preview"))
    text = " ".join(preview.content.decode().split())
    assert "Would delete <strong>1</strong> memory now, the oldest from" in text
    assert AuditEntry.objects.filter(action="retention.create").count() == 1


def test_pause_resume_and_delete(alice_client, project):
    policy = retention.create_policy(
        project, {"name": "p", "rule": "updated", "days": 7}, actor="user:alice"
    )
    assert alice_client.post(f"{URL}{policy.pk}/", {"action": "pause"}).status_code == 302
    policy.refresh_from_db()
    assert policy.enabled is False
    assert "paused" in alice_client.get(URL).content.decode()
    alice_client.post(f"{URL}{policy.pk}/", {"action": "resume"})
    policy.refresh_from_db()
    assert policy.enabled is True
    alice_client.post(f"{URL}{policy.pk}/", {"action": "delete"})
    assert not RetentionPolicy.objects.exists()
    assert [
        a
        for a in AuditEntry.objects.order_by("at", "id").values_list("action", flat=True)
        if a.startswith("retention.")
    ] == ["retention.create", "retention.change", "retention.change", "retention.delete"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"filters": "{not json"}, "not JSON"),
        ({"filters": "[1]"}, "a filter is a JSON object"),
        ({"filters": '{"colour": "red"}'}, "colour"),
        ({"days": "0"}, "greater than or equal to 1"),
        ({"rule": "forever"}, "Select a valid choice"),
        ({"name": ""}, "This field is required"),
    ],
)
def test_bad_input_is_a_form_error_and_nothing_is_added(alice_client, fields, message):
    response = add(alice_client, **fields)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not RetentionPolicy.objects.exists()


def test_a_duplicate_name_is_a_form_error(alice_client, project):
    retention.create_policy(
        project, {"name": "chat 30 days", "rule": "created", "days": 9}, actor="x"
    )
    response = add(alice_client)
    assert response.status_code == 400 and "exists" in response.content.decode()


def test_compliance_sees_and_previews_but_does_not_manage(olga_client, project):
    policy = retention.create_policy(
        project, {"name": "p", "rule": "created", "days": 7}, actor="x"
    )
    page = olga_client.get(URL)
    assert page.status_code == 200 and "Add a policy" not in page.content.decode()
    assert olga_client.get(f"{URL}{policy.pk}/preview/").status_code == 200
    assert add(olga_client).status_code == 403
    assert olga_client.post(f"{URL}{policy.pk}/", {"action": "delete"}).status_code == 403
    assert RetentionPolicy.objects.count() == 1


def test_editors_and_viewers_and_outsiders_are_turned_away(
    editor_client, viewer_client, charlie_client, project
):
    policy = retention.create_policy(
        project, {"name": "p", "rule": "created", "days": 7}, actor="x"
    )
    assert editor_client.get(URL).status_code == 403
    assert viewer_client.get(URL).status_code == 403
    assert charlie_client.get(f"{URL}{policy.pk}/preview/").status_code == 404


def test_names_are_escaped(alice_client):
    add(alice_client, name=HOSTILE)
    content = alice_client.get(URL).content.decode()
    assert HOSTILE not in content and "&lt;script&gt;" in content
