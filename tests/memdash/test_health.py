"""GET /healthz (liveness) and GET /readyz (readiness: database, broker, embedder).

An unreachable broker is also checked against a real server in test_broker_outage.py, and an
unreachable database in test_db_outage.py.
"""

from __future__ import annotations

import pytest
from celery import current_app
from django.db import connection
from django.test import Client

from memdash import health

CHECKS = {"database", "broker", "embedder"}


@pytest.mark.parametrize("path", ["/healthz", "/healthz/"])
def test_healthz_answers_without_touching_the_database(path):
    """No `db` fixture: a query would fail the request (pytest-django blocks it)."""
    response = Client(raise_request_exception=True).get(path)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/readyz", "/readyz/"])
def test_readyz_reports_every_check_ok(path):
    response = Client().get(path)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "checks": {name: {"status": "ok"} for name in CHECKS},
    }


@pytest.mark.django_db
def test_readyz_needs_no_api_key_and_refuses_writes():
    assert Client().post("/readyz").status_code == 405
    assert Client().head("/readyz").status_code == 200


def failing(response, check):
    assert response.status_code == 503, response.content
    assert response["Retry-After"]
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"][check]["status"] == "failing"
    assert body["detail"].startswith(f"Not ready: {check}: ")
    assert {name for name, result in body["checks"].items() if result["status"] == "ok"} == (
        CHECKS - {check}
    )
    return body["checks"][check]["reason"]


@pytest.mark.django_db
def test_readyz_fails_when_the_broker_is_unreachable(monkeypatch):
    monkeypatch.setattr(current_app.conf, "broker_write_url", "redis://127.0.0.1:1/0")
    reason = failing(Client().get("/readyz"), "broker")
    assert "Connection refused" in reason


@pytest.mark.django_db
def test_readyz_fails_when_the_database_is_unreachable(monkeypatch, tmp_path):
    # A socket directory where no server listens: the check's own connection is refused (the
    # test's connection, already open, is left alone).
    monkeypatch.setitem(connection.settings_dict, "HOST", str(tmp_path))
    reason = failing(Client().get("/readyz"), "database")
    assert reason.startswith("OperationalError: ")


@pytest.mark.django_db
def test_readyz_fails_until_the_embedder_has_embedded(monkeypatch):
    def broken(text):
        raise OSError("model files missing")

    monkeypatch.setattr(health, "_embedder_ready", False)
    monkeypatch.setattr(health.embeddings, "embed_one", broken)
    assert failing(Client().get("/readyz"), "embedder") == "OSError: model files missing"
    # Once it has worked, the check is not repeated: it is cached for the process.
    monkeypatch.undo()
    monkeypatch.setattr(health, "_embedder_ready", False)
    assert Client().get("/readyz").status_code == 200
    monkeypatch.setattr(health.embeddings, "embed_one", broken)
    assert Client().get("/readyz").status_code == 200
