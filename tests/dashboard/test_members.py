"""The Settings page's members panel, the 403 page inside the layout, key revoke confirmation,
and new projects and organizations from the dashboard."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from tenancy.models import ApiKey, Membership, Organization, PasswordChangeRequired, Project, Role

from .conftest import htmx, make_user

pytestmark = pytest.mark.django_db
User = get_user_model()
ADD = "/settings/members/"


def role_url(user) -> str:
    return reverse("member_role", args=[user.pk])


def remove_url(user) -> str:
    return reverse("member_remove", args=[user.pk])


def reset_url(user) -> str:
    return reverse("member_reset_password", args=[user.pk])


def role_of(user, project) -> str | None:
    membership = Membership.objects.filter(user=user, project=project).first()
    return membership.role if membership else None


# --- the panel -------------------------------------------------------------------------------


def test_admin_sees_members_with_role_controls(alice_client, eddie, vera):
    content = alice_client.get("/settings/").content.decode()
    assert 'id="members"' in content
    assert f'id="role-{eddie.pk}"' in content and f'id="remove-{vera.pk}"' in content
    assert "manage.py add_member" not in content


def test_add_existing_user_by_username_keeps_their_password(alice_client, project):
    nina = make_user("nina")
    response = alice_client.post(ADD, {"person": "NINA", "role": "editor"}, headers=htmx("members"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "<html" not in content and 'id="members"' in content
    assert "one-time-password" not in content
    assert role_of(nina, project) == Role.EDITOR
    nina.refresh_from_db()
    assert nina.check_password("pw-123456")
    assert "nina added as editor" in response.headers["HX-Trigger"]


def test_add_existing_user_by_email(alice_client, project):
    nina = make_user("nina")
    alice_client.post(
        ADD, {"person": "Nina@Example.com", "role": "viewer"}, headers=htmx("members")
    )
    assert role_of(nina, project) == Role.VIEWER


@pytest.mark.parametrize(
    ("person", "username", "email"),
    [
        ("newbie", "newbie", ""),
        ("new.person@example.org", "new.person@example.org", "new.person@example.org"),
    ],
)
def test_add_new_person_shows_a_one_time_password_once(
    alice_client, project, person, username, email
):
    response = alice_client.post(ADD, {"person": person, "role": "viewer"}, headers=htmx("members"))
    password = response.context["one_time"]["password"]
    assert f'<code id="one-time-password-value">{password}</code>' in response.content.decode()
    user = User.objects.get(username=username)
    assert user.email == email
    assert role_of(user, project) == Role.VIEWER
    assert PasswordChangeRequired.objects.filter(user=user).exists()
    # Shown once: the next page load does not have it.
    assert password not in alice_client.get("/settings/").content.decode()
    # The new person logs in with it and must choose their own password first.
    client = Client()
    response = client.post("/login/", {"username": username, "password": password})
    assert response.status_code == 302 and response.url == reverse("password_change")


def test_add_without_htmx_renders_the_page_with_the_password(alice_client):
    response = alice_client.post(ADD, {"person": "newbie", "role": "editor"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "<html" in content and response.context["one_time"]["password"] in content


def test_add_a_member_twice_is_refused_in_the_panel(alice_client, eddie):
    response = alice_client.post(ADD, {"person": "eddie", "role": "admin"}, headers=htmx("members"))
    assert response.status_code == 200
    assert "already a member" in response.context["refusal"]
    assert role_of(eddie, eddie.memberships.get().project) == Role.EDITOR


@pytest.mark.parametrize("person", ["bad name!", "x" * 151, "   ", "broken@"])
def test_add_refuses_bad_names_without_creating_anyone(alice_client, person):
    before = User.objects.count()
    response = alice_client.post(ADD, {"person": person, "role": "viewer"}, headers=htmx("members"))
    assert response.status_code == 200
    assert response.context["refusal"] or response.context["member_form"].errors
    assert User.objects.count() == before


def test_add_refuses_an_unknown_role(alice_client):
    response = alice_client.post(
        ADD, {"person": "newbie", "role": "owner"}, headers=htmx("members")
    )
    assert response.context["member_form"].errors
    assert not User.objects.filter(username="newbie").exists()


def test_change_role(alice_client, vera, project):
    response = alice_client.post(role_url(vera), {"role": "compliance"}, headers=htmx("members"))
    assert response.status_code == 200
    assert role_of(vera, project) == Role.COMPLIANCE
    assert '<option value="compliance" selected>' in response.content.decode()
    row = AuditEntry.objects.filter(action="member.role").get()
    assert row.details == {"before": "viewer", "after": "compliance"}


def test_last_admin_cannot_be_demoted_or_removed(alice_client, alice, project):
    response = alice_client.post(role_url(alice), {"role": "viewer"}, headers=htmx("members"))
    assert "last admin" in response.context["refusal"]
    response = alice_client.post(remove_url(alice), headers=htmx("members"))
    assert "last admin" in response.context["refusal"]
    assert role_of(alice, project) == Role.ADMIN


def test_remove_asks_in_the_page_then_removes(alice_client, eddie, project):
    confirm = alice_client.get(remove_url(eddie), headers=htmx("delete-confirm"))
    content = confirm.content.decode()
    assert "<html" not in content and 'id="delete-confirm"' in content
    assert "Remove eddie from project" in content and 'data-close="delete-confirm"' in content
    assert role_of(eddie, project) == Role.EDITOR  # asking changes nothing
    response = alice_client.post(remove_url(eddie), headers=htmx("members"))
    assert response.status_code == 200 and 'id="members"' in response.content.decode()
    assert role_of(eddie, project) is None
    assert User.objects.filter(username="eddie").exists()  # the account stays


def test_remove_confirmation_without_htmx_is_a_page(alice_client, eddie):
    response = alice_client.get(remove_url(eddie))
    assert response.status_code == 200 and "<html" in response.content.decode()


def test_reset_password(alice_client, vera, project):
    response = alice_client.post(reset_url(vera), headers=htmx("members"))
    password = response.context["one_time"]["password"]
    assert password in response.content.decode()
    vera.refresh_from_db()
    assert vera.check_password(password) and not vera.check_password("pw-123456")
    assert PasswordChangeRequired.objects.filter(user=vera).exists()
    row = AuditEntry.objects.filter(action="member.password_reset").get()
    assert row.target == "vera" and row.project_id == project.pk


def test_reset_password_refusals(alice_client, alice, vera, other_project):
    response = alice_client.post(reset_url(alice), headers=htmx("members"))
    assert "your own password" in response.context["refusal"]
    # vera also reaches a project alice does not administer: alice must not take her account.
    Membership.objects.create(user=vera, project=other_project, role=Role.VIEWER)
    response = alice_client.post(reset_url(vera), headers=htmx("members"))
    assert "do not administer" in response.context["refusal"]
    vera.refresh_from_db()
    assert vera.check_password("pw-123456")
    assert not AuditEntry.objects.filter(action="member.password_reset").exists()


def test_members_of_other_projects_are_not_found(alice_client, charlie, other_project):
    response = alice_client.post(role_url(charlie), {"role": "viewer"}, headers=htmx("members"))
    assert "not a member" in response.context["refusal"]
    assert alice_client.get(remove_url(charlie)).status_code == 404
    assert role_of(charlie, other_project) == Role.ADMIN


@pytest.mark.parametrize("client_name", ["editor_client", "viewer_client"])
def test_only_admins_manage_members(request, client_name, alice, vera, project):
    client = request.getfixturevalue(client_name)
    assert client.post(ADD, {"person": "newbie", "role": "admin"}).status_code == 403
    assert client.post(role_url(vera), {"role": "admin"}).status_code == 403
    assert client.get(remove_url(alice)).status_code == 403
    assert client.post(remove_url(alice)).status_code == 403
    assert client.post(reset_url(alice)).status_code == 403
    assert not User.objects.filter(username="newbie").exists()
    assert role_of(vera, project) == Role.VIEWER and role_of(alice, project) == Role.ADMIN


# --- the 403 page inside the layout ----------------------------------------------------------


@pytest.mark.parametrize("client_name", ["editor_client", "viewer_client"])
def test_refused_admin_page_keeps_the_navigation(request, client_name):
    client = request.getfixturevalue(client_name)
    response = client.get("/settings/")
    assert response.status_code == 403
    content = response.content.decode()
    assert 'id="not-allowed"' in content and "this needs admin" in content
    assert 'id="project-switcher"' in content and 'aria-label="Main"' in content


# --- key revoke confirmation -----------------------------------------------------------------


def test_revoke_asks_in_the_page_naming_the_key(alice_client, project):
    key, _raw = ApiKey.generate(project=project, role=Role.EDITOR, name="support bot")
    page = alice_client.get("/keys/").content.decode()
    assert "hx-confirm" not in page and 'id="delete-confirm"' in page
    url = reverse("confirm_revoke_api_key", args=[key.pk])
    content = alice_client.get(url, headers=htmx("delete-confirm")).content.decode()
    assert "<html" not in content
    assert "support bot" in content and f"{key.prefix}…" in content
    assert reverse("revoke_api_key", args=[key.pk]) in content
    key.refresh_from_db()
    assert key.revoked_at is None  # asking revokes nothing


def test_revoke_confirmation_refusals(editor_client, alice_client, project, other_project):
    key, _raw = ApiKey.generate(project=project, role=Role.EDITOR, name="mine")
    theirs, _raw = ApiKey.generate(project=other_project, role=Role.EDITOR, name="theirs")
    assert editor_client.get(reverse("confirm_revoke_api_key", args=[key.pk])).status_code == 403
    assert alice_client.get(reverse("confirm_revoke_api_key", args=[theirs.pk])).status_code == 404


# --- new projects and organizations ----------------------------------------------------------


def test_admin_creates_a_project_in_their_organization(alice_client, alice, project):
    response = alice_client.post("/projects/new/", {"name": "Support", "description": "bots"})
    assert response.status_code == 302
    created = Project.objects.get(name="Support")
    assert created.organization_id == project.organization_id
    assert role_of(alice, created) == Role.ADMIN
    page = alice_client.get("/settings/").content.decode()
    # Now the current project: the switcher's option for it is the selected one.
    assert re.search(rf'<option value="{created.public_id}"[^>]* selected>', page)
    assert AuditEntry.objects.filter(action="project.create").count() == 1


def test_duplicate_project_name_is_shown_on_the_form(alice_client, project):
    response = alice_client.post("/projects/new/", {"name": project.name.upper()})
    assert response.status_code == 200
    assert "already has a project named" in response.content.decode()
    assert Project.objects.filter(organization=project.organization).count() == 1


def test_editor_cannot_create_a_project(editor_client, project):
    assert editor_client.post("/projects/new/", {"name": "Sneaky"}).status_code == 403
    assert not Project.objects.filter(name="Sneaky").exists()


def test_any_user_creates_an_organization_and_administers_it(viewer_client, vera):
    assert viewer_client.get("/organizations/new/").status_code == 200
    response = viewer_client.post("/organizations/new/", {"name": "Vera's lab"})
    assert response.status_code == 302
    organization = Organization.objects.get(name="Vera's lab")
    assert role_of(vera, organization.projects.get()) == Role.ADMIN
    assert viewer_client.get("/settings/").status_code == 200  # she is admin there now


def test_user_without_projects_creates_an_organization():
    client = Client()
    client.force_login(make_user("loner"))
    assert client.post("/organizations/new/", {"name": "Solo"}).status_code == 302
    assert Membership.objects.get(user__username="loner").role == Role.ADMIN


def test_duplicate_organization_and_anonymous(viewer_client, project):
    response = viewer_client.post("/organizations/new/", {"name": project.organization.name})
    assert "already exists" in response.content.decode()
    assert Client().post("/organizations/new/", {"name": "Anon"}).status_code == 302
    assert not Organization.objects.filter(name="Anon").exists()
