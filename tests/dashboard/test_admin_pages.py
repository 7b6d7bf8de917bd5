"""API keys (create shown once, revoke, last used) and project settings, for admins."""

import pytest
from django.urls import reverse

from memories.models import Category
from tenancy.models import ApiKey, hash_key
from tests.conftest import api_client
from tests.dashboard.conftest import htmx

pytestmark = pytest.mark.django_db


def test_create_key_shows_it_once_and_stores_a_hash(alice_client, alice, project):
    response = alice_client.post(
        "/keys/", {"name": "support bot", "role": "viewer"}, headers=htmx("api-keys")
    )
    raw = response.context["new_key"]
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="api-keys">')
    assert raw in content
    key = ApiKey.objects.get(name="support bot")
    assert (key.project, key.role, key.created_by) == (project, "viewer", alice)
    assert key.key_hash == hash_key(raw)
    assert raw not in alice_client.get("/keys/").content.decode()
    assert "no-store" in response["Cache-Control"]
    assert api_client(raw).get("/v1/ping/").json()["role"] == "viewer"


def test_keys_page_lists_last_use(alice_client, api_key, api):
    api.get("/v1/ping/")
    content = alice_client.get("/keys/").content.decode()
    assert ApiKey.objects.get().prefix in content
    assert "just now</time>" in content


def test_revoke_key(alice_client, api_key, api):
    key = ApiKey.objects.get()
    response = alice_client.post(reverse("revoke_api_key", args=[key.pk]), headers=htmx("api-keys"))
    assert response.status_code == 200
    assert "revoked" in response.content.decode()
    assert api.get("/v1/ping/").status_code == 401


def test_other_projects_key_cannot_be_revoked(alice_client, other_api):
    key = ApiKey.objects.get()
    assert alice_client.post(reverse("revoke_api_key", args=[key.pk])).status_code == 404
    key.refresh_from_db()
    assert key.is_active is True


def test_keys_of_other_projects_are_not_listed(alice_client, other_api):
    assert ApiKey.objects.get().prefix not in alice_client.get("/keys/").content.decode()


def test_editor_cannot_create_or_revoke(editor_client, api_key):
    key = ApiKey.objects.get()
    assert editor_client.post("/keys/", {"name": "x", "role": "admin"}).status_code == 403
    assert editor_client.post(reverse("revoke_api_key", args=[key.pk])).status_code == 403
    assert ApiKey.objects.count() == 1


def test_revoke_is_post_only(alice_client, api_key):
    assert (
        alice_client.get(reverse("revoke_api_key", args=[ApiKey.objects.get().pk])).status_code
        == 405
    )


def test_settings_update_custom_instructions_and_categories(alice_client, project):
    response = alice_client.post(
        "/settings/",
        {
            "name": "support-bot",
            "description": "",
            "custom_instructions": "Only keep food preferences.",
            "agent_custom_instructions": "",
            "custom_categories": "food: what people eat\ntravel:\n\n",
        },
        headers=htmx("settings-form"),
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section id="settings-form"')
    project.refresh_from_db()
    assert project.custom_instructions == "Only keep food preferences."
    assert list(Category.objects.filter(project=project).values_list("name", "description")) == [
        ("food", "what people eat"),
        ("travel", ""),
    ]
    assert "toast" in response["HX-Trigger"]


def test_settings_errors_come_back_in_the_form(alice_client, project):
    response = alice_client.post(
        "/settings/",
        {"name": "support-bot", "custom_categories": "food:\nfood:"},
        headers=htmx("settings-form"),
    )
    assert response.status_code == 200
    assert "duplicate names" in response.content.decode()
    assert not Category.objects.filter(project=project).exists()


def test_settings_without_htmx_redirect(alice_client, project):
    response = alice_client.post("/settings/", {"name": "renamed"})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.name == "renamed"


def test_settings_page_shows_current_values(alice_client, project):
    project.custom_instructions = "<b>keep</b>"
    project.save()
    content = alice_client.get("/settings/").content.decode()
    assert "&lt;b&gt;keep&lt;/b&gt;" in content
    assert "alice" in content


def test_settings_need_admin(editor_client, project):
    assert editor_client.post("/settings/", {"name": "hijack"}).status_code == 403
    project.refresh_from_db()
    assert project.name == "support-bot"
