"""Login rate limiting (django-axes): a username is locked out from one address after
AXES_FAILURE_LIMIT failures, for AXES_COOLOFF_TIME; other users, other addresses and API keys
are not affected, and the lockout is in the audit log."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client

from audit.models import AuditEntry
from tests.dashboard.conftest import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "pw-123456"
LIMIT = 5


@pytest.fixture(autouse=True)
def _documented_limits(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)


def log_in(client: Client, username: str, password: str, **extra: str):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_passwords_lock_the_user_out_and_the_right_one_is_refused(alice):
    client = Client()
    statuses = [log_in(client, "alice", f"wrong-{i}").status_code for i in range(30)]
    assert statuses == [200] * (LIMIT - 1) + [429] * (30 - LIMIT + 1)

    response = log_in(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert not is_logged_in(client)
    page = response.content.decode()
    assert 'id="locked-out"' in page
    assert "after 5 failed attempts" in page and "Try again in 15 minutes" in page
    assert 'class="login"' in page  # the login page's card, not axes' bare text


def test_the_failures_before_the_limit_say_the_password_is_wrong(alice):
    response = log_in(Client(), "alice", "wrong")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_another_user_from_the_same_address_is_not_affected(alice, eddie):
    client = Client()
    for i in range(LIMIT):
        log_in(client, "alice", f"wrong-{i}")
    assert log_in(client, "alice", PASSWORD).status_code == 429

    other = Client()
    response = log_in(other, "eddie", PASSWORD)
    assert response.status_code == 302 and is_logged_in(other)


def test_the_same_user_from_another_address_is_not_affected(alice):
    for i in range(LIMIT):
        log_in(Client(), "alice", f"wrong-{i}", REMOTE_ADDR="203.0.113.7")
    assert log_in(Client(), "alice", PASSWORD, REMOTE_ADDR="203.0.113.7").status_code == 429

    elsewhere = Client()
    assert log_in(elsewhere, "alice", PASSWORD, REMOTE_ADDR="198.51.100.2").status_code == 302
    assert is_logged_in(elsewhere)


def test_behind_a_trusted_proxy_the_forwarded_address_counts(settings, alice):
    settings.MEMDASH_TRUSTED_PROXIES = ["10.0.0.1/32"]
    via_proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for i in range(LIMIT):
        log_in(Client(), "alice", f"w-{i}", HTTP_X_FORWARDED_FOR="203.0.113.7", **via_proxy)
    locked = log_in(Client(), "alice", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7", **via_proxy)
    assert locked.status_code == 429
    assert AccessAttempt.objects.get().ip_address == "203.0.113.7"
    # Another client behind the same proxy is another address.
    other = log_in(Client(), "alice", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.2", **via_proxy)
    assert other.status_code == 302


def test_a_client_cannot_escape_the_lockout_by_writing_x_forwarded_for(alice):
    # No trusted proxies: the header is the client's own words, and the peer address counts.
    for i in range(LIMIT):
        log_in(Client(), "alice", f"w-{i}", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    response = log_in(Client(), "alice", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert response.status_code == 429


def test_the_lockout_ends_after_the_cool_off(alice):
    client = Client()
    for i in range(LIMIT):
        log_in(client, "alice", f"wrong-{i}")
    assert log_in(client, "alice", PASSWORD).status_code == 429
    # Trying again while locked out does not extend the lockout: 14 minutes on, still locked...
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=14))
    assert log_in(client, "alice", PASSWORD).status_code == 429
    # ... and once the 15 minutes have passed since the last failure, the login works.
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))
    response = log_in(client, "alice", PASSWORD)
    assert response.status_code == 302 and is_logged_in(client)


def test_an_admin_command_lifts_the_lockout(alice):
    client = Client()
    for i in range(LIMIT):
        log_in(client, "alice", f"wrong-{i}")
    assert log_in(client, "alice", PASSWORD).status_code == 429
    call_command("axes_reset_username", "alice")
    response = log_in(client, "alice", PASSWORD)
    assert response.status_code == 302 and is_logged_in(client)


def test_a_successful_login_forgets_earlier_failures(alice):
    client = Client()
    for i in range(LIMIT - 1):
        log_in(client, "alice", f"wrong-{i}")
    assert log_in(client, "alice", PASSWORD).status_code == 302
    client.post("/logout/")
    # A fresh count: LIMIT - 1 more failures do not lock.
    statuses = [log_in(client, "alice", f"again-{i}").status_code for i in range(LIMIT - 1)]
    assert statuses == [200] * (LIMIT - 1)
    assert log_in(client, "alice", PASSWORD).status_code == 302


def test_the_lockout_is_in_the_audit_log_once(alice):
    client = Client()
    for i in range(LIMIT + 3):
        log_in(client, "alice", f"wrong-{i}")
    locked = AuditEntry.objects.filter(action="login.locked")
    assert [(row.target, row.details, row.project_id) for row in locked] == [
        ("alice", {"failures": LIMIT, "minutes": 15}, None)
    ]
    assert locked.get().ip == "127.0.0.1"
    # Every refused attempt is still a failed login in the log.
    assert AuditEntry.objects.filter(action="login.failed", target="alice").count() == LIMIT + 3


def test_api_keys_are_not_affected(alice, api):
    client = Client()
    for i in range(LIMIT + 1):
        log_in(client, "alice", f"wrong-{i}")
    assert api.get("/v1/ping/").status_code == 200


def test_unknown_usernames_are_locked_out_too(db):
    client = Client()
    statuses = [log_in(client, "ghost", f"wrong-{i}").status_code for i in range(LIMIT + 1)]
    assert statuses[-1] == 429
    make_user("ghost")
    assert log_in(client, "ghost", PASSWORD).status_code == 429
