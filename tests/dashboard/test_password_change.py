"""Every dashboard user changes their own password (Django's validators apply, the change is
audited); the demo admin of setup_demo gets a random password, printed once, and must change it
at the first login."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from audit.models import AuditEntry
from tenancy.models import PasswordChangeRequired
from tests.dashboard.conftest import HTMX

pytestmark = pytest.mark.django_db

OLD = "pw-123456"
NEW = "Correct-horse-battery-7"


def change(client: Client, old: str, new: str, again: str | None = None, **extra: str):
    body = {"old_password": old, "new_password1": new, "new_password2": again or new}
    return client.post("/password/", body, **extra)


def can_log_in(username: str, password: str) -> bool:
    client = Client()
    client.post("/login/", {"username": username, "password": password})
    return "_auth_user_id" in client.session


def test_the_user_menu_links_to_the_password_page(alice_client):
    page = alice_client.get("/").content.decode()
    assert 'id="change-password" href="/password/"' in page or (
        'href="/password/" id="change-password"' in page
    )


def test_a_user_without_a_project_has_the_link_too(db):
    from tests.dashboard.conftest import logged_in, make_user

    client = logged_in(make_user("loner"))
    assert 'href="/password/"' in client.get("/").content.decode()


def test_the_page_asks_for_the_old_password_and_the_new_one_twice(alice_client):
    response = alice_client.get("/password/")
    assert response.status_code == 200
    page = response.content.decode()
    for name in ("old_password", "new_password1", "new_password2"):
        assert f'name="{name}"' in page
    # The validators' rules are shown with the field.
    assert "can’t be entirely numeric" in page or "can&#x27;t be entirely numeric" in page


def test_visitors_must_log_in_first(client):
    response = client.get("/password/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_changing_the_password(alice_client, alice):
    response = change(alice_client, OLD, NEW)
    assert response.status_code == 302 and response["Location"] == "/"
    # This session stays logged in, with a message; the new password works, the old one not.
    followed = alice_client.get("/")
    assert followed.status_code == 200
    assert "Your password was changed." in followed.content.decode()
    assert can_log_in("alice", NEW) and not can_log_in("alice", OLD)


def test_the_change_is_in_the_audit_log(alice_client, alice):
    change(alice_client, OLD, NEW)
    row = AuditEntry.objects.get(action="password.change")
    assert (row.target, row.actor_label, row.surface, row.project_id, row.details) == (
        "alice",
        "user:alice",
        "dashboard",
        None,
        None,
    )


def test_other_sessions_end(alice, alice_client):
    other = Client()
    other.post("/login/", {"username": "alice", "password": OLD})
    assert other.get("/").status_code == 200
    change(alice_client, OLD, NEW)
    assert other.get("/").status_code == 302


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("12345678901", "This password is entirely numeric."),
        ("password123", "This password is too common."),
        ("Ab-3", "This password is too short."),
        ("alice-example", "The password is too similar to the"),
    ],
)
def test_django_password_validators_apply(alice_client, alice, new, message):
    response = change(alice_client, OLD, new)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert can_log_in("alice", OLD)
    assert not AuditEntry.objects.filter(action="password.change").exists()


def test_the_old_password_must_be_right(alice_client, alice):
    response = change(alice_client, "not-it", NEW)
    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    assert can_log_in("alice", OLD)


def test_the_two_new_passwords_must_match(alice_client, alice):
    response = change(alice_client, OLD, NEW, NEW + "x")
    assert "The two password fields didn’t match." in response.content.decode()
    assert can_log_in("alice", OLD)


# --- the demo admin ---------------------------------------------------------------------------


def setup_demo(tmp_path, *args: str) -> str:
    out = io.StringIO()
    call_command("setup_demo", "--key-file", str(tmp_path / "key"), *args, stdout=out)
    return out.getvalue()


def printed_password(output: str) -> str:
    found = re.search(r"user admin, password (\S+): shown once", output)
    assert found, output
    return found.group(1)


def test_setup_demo_makes_a_random_admin_password_and_prints_it_once(tmp_path):
    first = setup_demo(tmp_path)
    password = printed_password(first)
    assert password != "admin" and len(password) >= 16
    admin = get_user_model().objects.get(username="admin")
    assert admin.check_password(password) and admin.is_superuser
    assert PasswordChangeRequired.objects.filter(user=admin).exists()

    again = setup_demo(tmp_path)
    assert password not in again
    assert "user admin, password as set; setup_demo --reset-admin-password" in again
    admin.refresh_from_db()
    assert admin.check_password(password)


def test_setup_demo_leaves_a_changed_password_alone(tmp_path):
    password = printed_password(setup_demo(tmp_path))
    client = Client()
    client.post("/login/", {"username": "admin", "password": password})
    change(client, password, NEW)
    setup_demo(tmp_path)
    assert can_log_in("admin", NEW)
    assert not PasswordChangeRequired.objects.exists()


def test_reset_admin_password_makes_a_new_one_to_change_again(tmp_path):
    first = printed_password(setup_demo(tmp_path))
    client = Client()
    client.post("/login/", {"username": "admin", "password": first})
    change(client, first, NEW)
    second = printed_password(setup_demo(tmp_path, "--reset-admin-password"))
    assert second != first
    assert can_log_in("admin", second) and not can_log_in("admin", NEW)
    assert PasswordChangeRequired.objects.filter(user__username="admin").exists()


def test_the_first_login_with_the_printed_password_asks_for_a_new_one(tmp_path):
    password = printed_password(setup_demo(tmp_path))
    client = Client()
    response = client.post("/login/", {"username": "admin", "password": password})
    assert response.status_code == 302 and response["Location"] == "/password/"
    page = client.get("/password/").content.decode()
    assert 'id="password-change-required"' in page

    # Every dashboard page sends the admin back there until the password changes...
    for path in ("/", "/entities/", "/keys/", "/activity/"):
        response = client.get(path)
        assert (response.status_code, response["Location"]) == (302, "/password/"), path
    assert client.get("/", headers=HTMX)["HX-Redirect"] == "/password/"
    # ... but logging out works, and so does the API with a key.
    change(client, password, NEW)
    assert client.get("/").status_code == 200
    assert not PasswordChangeRequired.objects.exists()
    assert 'id="password-change-required"' not in client.get("/password/").content.decode()


def test_the_forced_change_cannot_keep_the_printed_password_or_a_weak_one(tmp_path):
    password = printed_password(setup_demo(tmp_path))
    client = Client()
    client.post("/login/", {"username": "admin", "password": password})
    response = change(client, password, "12345678901")
    assert "This password is entirely numeric." in response.content.decode()
    assert client.get("/")["Location"] == "/password/"


def test_logging_out_is_allowed_before_the_change(tmp_path):
    password = printed_password(setup_demo(tmp_path))
    client = Client()
    client.post("/login/", {"username": "admin", "password": password})
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session
