"""The Developers pages: Connect (/developers/) and the API reference (/developers/api/)."""

from __future__ import annotations

import pytest

from tenancy.models import Role
from tests.dashboard.conftest import HOSTILE, logged_in, make_user

pytestmark = pytest.mark.django_db


def test_connect_shows_the_host_the_ids_and_every_snippet(alice_client, project):
    response = alice_client.get("/developers/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<code id="connect-host">http://testserver</code>' in html
    assert f'<code id="connect-org">{project.organization.public_id}</code>' in html
    assert f'<code id="connect-project">{project.public_id}</code>' in html
    assert 'MemoryClient(api_key="YOUR_MEMDASH_API_KEY", host="http://testserver")' in html
    assert 'new MemoryClient({ apiKey: "YOUR_MEMDASH_API_KEY", host: "http://testserver" })' in html
    assert "curl -X POST http://testserver/v3/memories/add/" in html
    assert '-H "Authorization: Token YOUR_MEMDASH_API_KEY"' in html
    assert '"url": "http://testserver/mcp/"' in html
    assert '"headers": { "Authorization": "Token YOUR_MEMDASH_API_KEY" }' in html
    assert 'href="/keys/"' in html
    assert 'href="/developers/api/"' in html
    # The navigation marks the page.
    assert '<a href="/developers/" aria-current="page">Developers</a>' in html


def test_connect_uses_the_host_the_page_was_reached_at(alice_client, settings):
    settings.ALLOWED_HOSTS = ["memory.example.com"]
    response = alice_client.get("/developers/", headers={"host": "memory.example.com"}, secure=True)
    assert '<code id="connect-host">https://memory.example.com</code>' in response.content.decode()


def test_connect_tells_a_viewer_to_ask_an_admin_for_a_key(viewer_client):
    response = viewer_client.get("/developers/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ask an admin of this project for a key" in html
    assert "Create one on the" not in html
    # Every member sees the Developers link; only admins see API keys.
    assert '<a href="/developers/" aria-current="page">Developers</a>' in html
    assert '<a href="/keys/"' not in html.split("</nav>")[0]


def test_connect_shows_the_current_project_only(alice, project, other_project):
    from tenancy.models import Membership

    Membership.objects.create(user=alice, project=other_project, role=Role.VIEWER)
    client = logged_in(alice)
    client.post("/project/", {"project": other_project.public_id})
    html = client.get("/developers/").content.decode()
    assert other_project.public_id in html
    assert f'<code id="connect-project">{project.public_id}</code>' not in html


def test_connect_escapes_the_project_name(project):
    project.name = HOSTILE
    project.save()
    client = logged_in(make_user("hal", project, Role.VIEWER))
    html = client.get("/developers/").content.decode()
    assert HOSTILE not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize("path", ["/developers/", "/developers/api/"])
def test_developer_pages_need_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("path", ["/developers/", "/developers/api/"])
def test_developer_pages_refuse_posts(alice_client, path):
    assert alice_client.post(path).status_code == 405


def test_a_user_without_a_project_is_told_so(db):
    client = logged_in(make_user("nobody"))
    assert client.get("/developers/").status_code == 403


def test_the_api_reference_loads_swagger_ui_from_this_server(viewer_client):
    response = viewer_client.get("/developers/api/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-schema-url="/api/schema/?format=json"' in html
    assert (
        '<script src="/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js">'
        in html
    )
    assert 'href="/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css"' in html
    assert '<script src="/static/developers-api.js">' in html
    # No CDN: every script and stylesheet is this server's.
    assert "https://" not in html
    assert '<a href="/developers/" aria-current="page">Developers</a>' in html
