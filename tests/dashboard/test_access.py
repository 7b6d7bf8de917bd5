"""Login, logout, the current project, the switcher and role checks."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tenancy.access import SESSION_KEY
from tenancy.models import Membership, Role
from tenancy.services import get_or_create_project
from tests.dashboard.conftest import HTMX, logged_in, make_user, remember

pytestmark = pytest.mark.django_db

DASHBOARD_PAGES = ["/", "/entities/", "/activity/"]
ADMIN_PAGES = ["/keys/", "/settings/"]


def test_login_page_renders_a_form(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content


def test_login_with_password_lands_on_memories(client, alice):
    response = client.post("/login/", {"username": "alice", "password": "pw-123456"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_login_with_wrong_password_says_so(client, alice):
    response = client.post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b'role="alert"' in response.content
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post(alice_client):
    assert alice_client.get("/logout/").status_code == 405
    response = alice_client.post("/logout/")
    assert response.status_code == 302
    assert alice_client.get("/").status_code == 302


@pytest.mark.parametrize("path", DASHBOARD_PAGES + ADMIN_PAGES)
def test_pages_require_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_htmx_request_without_session_redirects_the_whole_page(client):
    response = client.get(
        "/?user_id=a", headers={**HTMX, "HX-Current-URL": "http://testserver/?user_id=a"}
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/?next=%2F%3Fuser_id%3Da"
    assert response.content == b""


def test_user_without_membership_sees_no_project_page(db):
    client = logged_in(make_user("nobody"))
    response = client.get("/")
    assert response.status_code == 403
    assert b"No project yet" in response.content


@pytest.mark.parametrize("path", DASHBOARD_PAGES)
def test_viewer_can_read_every_page(viewer_client, path):
    assert viewer_client.get(path).status_code == 200


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_only_admins_reach_keys_and_settings(viewer_client, editor_client, alice_client, path):
    assert viewer_client.get(path).status_code == 403
    assert editor_client.get(path).status_code == 403
    assert alice_client.get(path).status_code == 200


def test_navigation_shows_admin_links_to_admins_only(viewer_client, alice_client):
    assert b'href="/keys/"' not in viewer_client.get("/").content
    assert b'href="/keys/"' in alice_client.get("/").content


def test_body_carries_the_csrf_header_for_htmx(alice_client):
    content = alice_client.get("/").content.decode()
    assert '<body hx-headers=\'{"x-csrftoken": "' in content


def test_htmx_script_is_vendored_htmx_2(alice_client):
    content = alice_client.get("/").content.decode()
    assert '<script src="/static/django_htmx/htmx-2.min.js" defer>' in content
    # Every script is served by memdash itself (the CSRF token is random text, so a plain
    # search for "cdn" in the page would fail now and then).
    assert all(src.startswith("/static/") for src in re.findall(r'<script src="([^"]*)"', content))


def test_switcher_changes_the_current_project(alice, project, other_project):
    Membership.objects.create(user=alice, project=other_project, role=Role.VIEWER)
    remember(other_project, "globex secret plan", user_id="gus")
    client = logged_in(alice)
    assert b"globex secret plan" not in client.get("/").content
    response = client.post("/project/", {"project": other_project.public_id, "next": "/"})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == other_project.pk
    page = client.get("/")
    assert b"globex secret plan" in page.content
    assert page.context["membership"].role == Role.VIEWER


def test_switcher_refuses_projects_the_user_is_not_in(alice_client, other_project):
    response = alice_client.post("/project/", {"project": other_project.public_id})
    assert response.status_code == 404


def test_switcher_ignores_offsite_next(alice, project):
    second = get_or_create_project("second", organization="Acme")
    Membership.objects.create(user=alice, project=second, role=Role.ADMIN)
    client = logged_in(alice)
    response = client.post(
        "/project/", {"project": second.public_id, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_switcher_lists_only_own_memberships(alice_client, other_project):
    content = alice_client.get("/").content.decode()
    assert "support-bot" in content
    assert other_project.public_id not in content


def test_stale_session_project_falls_back_to_a_membership(alice, project, other_project):
    client = logged_in(alice)
    session = client.session
    session[SESSION_KEY] = other_project.pk  # not a member there
    session.save()
    response = client.get("/")
    assert response.status_code == 200
    assert response.context["current_project"] == project


def test_switch_project_requires_post(alice_client):
    assert alice_client.get(reverse("switch_project")).status_code == 405


def test_mutations_need_the_csrf_token(alice, project):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(reverse("memories:bulk_delete"), {"all": "1", "confirmed": "1"})
    assert response.status_code == 403


def test_htmx_posts_pass_csrf_with_the_body_header(alice, project):
    """The token htmx sends (from <body hx-headers>) is what CsrfViewMiddleware accepts."""
    import re

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    page = client.get("/").content.decode()
    token = re.search(r'"x-csrftoken": "([^"]+)"', page).group(1)
    response = client.post(
        reverse("memories:bulk_delete"),
        {"all": "1"},
        headers={"HX-Request": "true", "HX-Target": "bulk-confirm", "X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert "Nothing to delete" in response.content.decode()
