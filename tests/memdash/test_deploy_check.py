"""Production settings: with MEMDASH_PRODUCTION=1 (and the SECRET_KEY and ALLOWED_HOSTS every
deployment sets), `manage.py check --deploy` finds nothing; /admin/ is off unless MEMDASH_ADMIN
is on, and then only for superusers; every dashboard page sends a strict Content-Security-Policy.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.dashboard.conftest import logged_in, make_user

ROOT = Path(__file__).resolve().parents[2]


def check_deploy(**env: str) -> subprocess.CompletedProcess[str]:
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MEMDASH_", "SECURE_"))
        # The browser tests' conftest sets DJANGO_ALLOW_ASYNC_UNSAFE for Playwright's event loop;
        # a deployment never has it (check --deploy reports it).
        and key not in ("DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    # Settings only: `check` connects to no database, so the embedded one is never started.
    base["MEMDASH_PGDATA"] = str(django_settings.MEMDASH_PGDATA)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "MEMDASH_PRODUCTION": "1",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "memdash.example.com",
}


def test_check_deploy_is_clean_in_production():
    result = check_deploy(**PRODUCTION)
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    # Only HSTS preload is silenced (opt-in: MEMDASH_HSTS_PRELOAD).
    assert "System check identified no issues (1 silenced)." in result.stdout
    assert "WARNING" not in result.stderr and "Warning" not in result.stderr


def test_check_deploy_is_clean_with_hsts_preload_and_a_proxy_header():
    result = check_deploy(
        **PRODUCTION, MEMDASH_HSTS_PRELOAD="1", MEMDASH_PROXY_SSL_HEADER="X-Forwarded-Proto"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_without_the_switch_check_deploy_names_what_is_missing():
    result = check_deploy(SECRET_KEY=PRODUCTION["SECRET_KEY"])
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr, check


def test_production_refuses_to_start_without_a_secret_key():
    result = check_deploy(MEMDASH_PRODUCTION="1", ALLOWED_HOSTS="memdash.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr


# --- /admin/ ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_is_off_by_default(client):
    root = make_user("root")
    root.is_staff = root.is_superuser = True
    root.save()
    assert client.get("/admin/").status_code == 404
    assert client.get("/admin/login/").status_code == 404
    assert logged_in(root).get("/admin/").status_code == 404
    assert logged_in(root).get("/admin/auth/user/").status_code == 404


@pytest.mark.django_db
def test_when_on_the_admin_is_for_superusers_only(settings):
    settings.MEMDASH_ADMIN = True
    staff = make_user("staffer")
    staff.is_staff = True
    staff.save()
    response = logged_in(staff).get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    root = make_user("root")
    root.is_staff = root.is_superuser = True
    root.save()
    assert logged_in(root).get("/admin/").status_code == 200
    assert logged_in(root).get("/admin/auth/user/").status_code == 200


# --- the Content-Security-Policy header --------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/", "/developers/api/"])
def test_pages_send_a_strict_content_security_policy(path, project):
    from tenancy.models import Role

    user = make_user("alice", project, Role.ADMIN)
    client = Client() if path == "/login/" else logged_in(user)
    policy = client.get(path)["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives == {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "frame-ancestors": "'none'",
        "form-action": "'self'",
    }


@pytest.mark.django_db
def test_the_https_redirect_spares_the_health_probes(settings):
    settings.SECURE_SSL_REDIRECT = True
    client = Client()
    redirected = client.get("/login/")
    assert redirected.status_code == 301
    assert redirected["Location"] == "https://testserver/login/"
    assert client.get("/healthz").status_code != 301
