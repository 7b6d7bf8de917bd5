"""Webhook management API (deliveries are tested end to end in test_async.py)."""

import uuid

import pytest

from core.api.errors import error_body
from tests.conftest import ANY_TIMESTAMP, ANY_UUID

pytestmark = pytest.mark.django_db


@pytest.fixture
def hooks_path(project):
    return f"/api/v1/webhooks/projects/{project.public_id}/"


def test_create_list_update_delete(api, hooks_path, project):
    created = api.post(
        hooks_path,
        {
            "name": "audit",
            "url": "https://example.test/hook",
            "event_types": ["memory_add", "memory.delete", "ADD"],
        },
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body == {
        "webhook_id": ANY_UUID,
        "name": "audit",
        "url": "https://example.test/hook",
        "event_types": ["memory_add", "memory_delete"],
        "owner": None,
        "is_active": True,
        "project": project.public_id,
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
        "secret": body["secret"],
    }
    assert len(body["secret"]) == 64
    listing = api.get(hooks_path).json()
    assert [h["webhook_id"] for h in listing] == [body["webhook_id"]]
    assert "secret" not in listing[0]
    detail = f"/api/v1/webhooks/{body['webhook_id']}/"
    assert api.put(
        detail, {"is_active": False, "event_types": ["memory_update"]}, format="json"
    ).json() == {"message": "Webhook updated successfully"}
    assert api.get(hooks_path).json()[0]["event_types"] == ["memory_update"]
    assert api.delete(detail).json() == {"message": "Webhook deleted successfully"}
    assert api.get(hooks_path).json() == []


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"url": "https://x.test", "event_types": ["memory_add"]}, "name is required"),
        (
            {"name": "n", "url": "ftp://x.test", "event_types": ["memory_add"]},
            "url must be an http(s) URL",
        ),
        (
            {"name": "n", "url": "https://x.test", "event_types": []},
            "event_types must be a non-empty list",
        ),
        (
            {"name": "n", "url": "https://x.test", "event_types": ["memory_explode"]},
            "Unknown webhook event type 'memory_explode'",
        ),
    ],
)
def test_create_validation(api, hooks_path, body, detail):
    response = api.post(hooks_path, body, format="json")
    assert response.status_code == 400
    assert detail in response.json()["detail"]


def test_only_admins_manage_webhooks(editor_api, hooks_path):
    assert editor_api.get(hooks_path).status_code == 403


def test_other_projects_webhooks_are_invisible(api, other_api, hooks_path, other_project):
    hook = api.post(
        hooks_path,
        {"name": "a", "url": "https://x.test", "event_types": ["memory_add"]},
        format="json",
    ).json()
    assert other_api.get(hooks_path).status_code == 404
    assert other_api.delete(f"/api/v1/webhooks/{hook['webhook_id']}/").status_code == 404
    assert other_api.get(f"/api/v1/webhooks/projects/{other_project.public_id}/").json() == []
    assert api.get(f"/api/v1/webhooks/{uuid.uuid4()}/").json() == error_body("Webhook not found")


# --- where deliveries may go ----------------------------------------------------------------------

PRIVATE = (
    "on this machine or a private network; "
    "set MEMDASH_WEBHOOK_ALLOW_PRIVATE=true to allow such receivers"
)
LINK_LOCAL = "a link-local, multicast or unspecified address"


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("http://127.0.0.1:8000/hook", f"url points to 127.0.0.1 (127.0.0.1), {PRIVATE}"),
        ("http://localhost/hook", f"url points to localhost (127.0.0.1), {PRIVATE}"),
        ("http://[::1]/hook", f"url points to ::1 (::1), {PRIVATE}"),
        ("http://[::ffff:10.0.0.5]/hook", f"url points to ::ffff:10.0.0.5 (10.0.0.5), {PRIVATE}"),
        ("https://192.168.1.20/hook", f"url points to 192.168.1.20 (192.168.1.20), {PRIVATE}"),
        (
            "http://169.254.169.254/latest/meta-data/",
            f"url points to 169.254.169.254 (169.254.169.254), {LINK_LOCAL}",
        ),
        ("http://0.0.0.0/hook", f"url points to 0.0.0.0 (0.0.0.0), {LINK_LOCAL}"),
    ],
)
def test_webhooks_may_not_target_this_machine_or_private_networks(api, hooks_path, url, detail):
    response = api.post(
        hooks_path, {"name": "n", "url": url, "event_types": ["memory_add"]}, format="json"
    )
    assert (response.status_code, response.json()) == (400, error_body(detail))
    assert api.get(hooks_path).json() == []


@pytest.mark.parametrize(
    "url",
    [
        "http://[::127.0.0.1]/hook",  # IPv4-compatible
        "http://[::ffff:0:7f00:1]/hook",  # IPv4-translated
        "http://[64:ff9b::10.0.0.5]/hook",  # NAT64
        "http://[2002:7f00:1::]/hook",  # 6to4
    ],
)
def test_ipv6_forms_of_inside_ipv4_addresses_are_refused(api, hooks_path, url):
    response = api.post(
        hooks_path, {"name": "n", "url": url, "event_types": ["memory_add"]}, format="json"
    )
    assert response.status_code == 400
    assert "on this machine or a private network" in response.json()["detail"]


def test_private_targets_can_be_allowed_but_link_local_never(api, hooks_path, settings):
    settings.MEMDASH_WEBHOOK_ALLOW_PRIVATE = True
    body = {"name": "n", "url": "http://10.0.0.5/hook", "event_types": ["memory_add"]}
    assert api.post(hooks_path, body, format="json").status_code == 201
    body["url"] = "http://169.254.169.254/"
    assert api.post(hooks_path, body, format="json").status_code == 400


def test_updates_are_checked_too(api, hooks_path):
    hook = api.post(
        hooks_path,
        {"name": "a", "url": "https://x.test", "event_types": ["memory_add"]},
        format="json",
    ).json()
    response = api.put(
        f"/api/v1/webhooks/{hook['webhook_id']}/", {"url": "http://127.0.0.1/"}, format="json"
    )
    assert response.status_code == 400
    assert api.get(hooks_path).json()[0]["url"] == "https://x.test"


def test_deliveries_resolve_the_host_and_refuse_without_retrying(project, settings, caplog):
    """Deliveries judge the addresses a name resolves to (a webhook saved while private targets
    were allowed, or a public name pointing inside), and the task gives up instead of retrying."""
    from memories import tasks
    from memories.models import Webhook
    from memories.webhooks import delivery, targets

    hook = Webhook.objects.create(
        project=project, name="inside", url="http://localhost:9/hook", event_types=["memory_add"]
    )
    with pytest.raises(targets.ForbiddenTarget, match="on this machine or a private network"):
        delivery.deliver(hook, {"event_details": {}})
    assert tasks.deliver_webhook.apply(args=[str(hook.pk), {"event_details": {}}]).successful()
    assert f"webhook {hook.pk}: not delivered" in caplog.text
    # An unresolvable name is left to the HTTP client: a network error, retried later.
    assert targets.target_problem("http://receiver.invalid/", resolve=True) is None
    settings.MEMDASH_WEBHOOK_ALLOW_PRIVATE = True
    with pytest.raises(delivery.DeliveryError, match="localhost:9"):  # nothing listens there
        delivery.deliver(hook, {"event_details": {}})


def test_deliveries_connect_to_the_address_that_was_checked(project, settings, monkeypatch):
    """The name is resolved once, judged, and the connection goes to that address (no second
    lookup a re-pointed name could answer differently); Host names the URL's host."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from memories.models import Webhook
    from memories.webhooks import delivery, targets

    seen = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.path, self.headers["Host"], self.headers["Authorization"]))
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    lookups = []

    def resolve(host):
        lookups.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(targets, "_resolve", resolve)
    settings.MEMDASH_WEBHOOK_ALLOW_PRIVATE = True
    hook = Webhook.objects.create(
        project=project,
        name="pinned",
        url=f"http://bot:pw@hooks.receiver.invalid:{port}/in?x=1",
        event_types=["memory_add"],
    )
    try:
        assert delivery.deliver(hook, {"event_details": {}}) == 204
    finally:
        server.shutdown()
    assert lookups == ["hooks.receiver.invalid"]
    assert seen == [("/in?x=1", f"hooks.receiver.invalid:{port}", "Basic Ym90OnB3")]


def test_https_deliveries_keep_the_name_for_tls(monkeypatch):
    from memories.webhooks import targets

    monkeypatch.setattr(targets, "_resolve", lambda host: ["93.184.216.34", "2606:2800::1"])
    assert targets.pinned("https://hooks.example.com/in") == (
        "https://93.184.216.34/in",
        {"Host": "hooks.example.com"},
        {"sni_hostname": "hooks.example.com"},
    )
    monkeypatch.setattr(targets, "_resolve", lambda host: ["2606:2800::1"])
    assert targets.pinned("https://hooks.example.com:8443/in")[0] == (
        "https://[2606:2800::1]:8443/in"
    )
    # One inside address among public ones is enough to refuse the name.
    monkeypatch.setattr(targets, "_resolve", lambda host: ["93.184.216.34", "10.1.2.3"])
    with pytest.raises(targets.ForbiddenTarget, match=r"\(10.1.2.3\)"):
        targets.pinned("https://hooks.example.com/in")
