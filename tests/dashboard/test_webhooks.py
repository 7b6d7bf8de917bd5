"""The Webhooks page: list, create (secret shown once), edit, disable/enable, delete with an
in-page confirmation, send a test event, and the delivery log; admins only."""

from __future__ import annotations

import datetime as dt

import pytest
from celery import current_app
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from audit.models import AuditEntry
from memories import tasks
from memories.models import Webhook, WebhookDelivery
from memories.webhooks import deliveries
from tests.dashboard.conftest import HOSTILE, HTMX, htmx
from tests.memories.test_async import Receiver

pytestmark = pytest.mark.django_db

LIST = reverse("memories:webhooks")
NEW = {"name": "crm sync", "url": "https://hooks.example.test/in", "event_types": ["memory_add"]}


@pytest.fixture
def hook(project):
    return Webhook.objects.create(
        project=project,
        name="crm",
        url="https://bot:pw@hooks.example.test/in?token=t0k",
        event_types=["memory_add", "memory_delete", "ingest_job_failed"],
    )


def pages(hook) -> list[tuple[str, str]]:
    return [
        ("get", LIST),
        ("post", LIST),
        ("get", reverse("memories:webhook", args=[hook.pk])),
        ("post", reverse("memories:webhook", args=[hook.pk])),
        ("post", reverse("memories:webhook_switch", args=[hook.pk])),
        ("post", reverse("memories:webhook_test", args=[hook.pk])),
        ("get", reverse("memories:webhook_delete", args=[hook.pk])),
        ("post", reverse("memories:webhook_delete", args=[hook.pk])),
    ]


@pytest.mark.parametrize("who", ["editor_client", "viewer_client"])
def test_only_admins_reach_any_webhook_page(request, who, hook):
    client = request.getfixturevalue(who)
    for method, url in pages(hook):
        assert getattr(client, method)(url).status_code == 403, (method, url)
    assert Webhook.objects.filter(pk=hook.pk, is_active=True).exists()


def test_anonymous_users_go_to_the_login_page(client, hook):
    for method, url in pages(hook):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_another_projects_webhook_is_not_found(charlie_client, hook):
    for method, url in pages(hook)[2:]:
        assert getattr(charlie_client, method)(url).status_code == 404, (method, url)
    assert "crm" not in charlie_client.get(LIST).content.decode()


def test_the_list_shows_each_webhook_without_url_secrets(alice_client, hook):
    WebhookDelivery.objects.create(
        webhook=hook, task_id="t", event_type="memory_add", status="failed", attempts=7
    )
    page = alice_client.get(LIST).content.decode()
    assert "https://hooks.example.test/in" in page
    assert "t0k" not in page and "bot:pw" not in page and hook.secret not in page
    assert "memory_delete" in page and "failed" in page
    assert 'id="webhooks-table"' in page


def test_the_list_says_when_there_are_none(alice_client):
    assert "No webhooks yet." in alice_client.get(LIST).content.decode()


def test_settings_links_to_webhooks(alice_client):
    assert f'href="{LIST}"' in alice_client.get(reverse("project_settings")).content.decode()


def test_creating_shows_the_secret_once(alice_client, project):
    response = alice_client.post(LIST, NEW)
    hook = Webhook.objects.get(project=project)
    assert response.status_code == 302
    assert response["Location"] == reverse("memories:webhook", args=[hook.pk])
    first = alice_client.get(response["Location"]).content.decode()
    assert 'id="new-secret"' in first and hook.secret in first
    again = alice_client.get(response["Location"]).content.decode()
    assert hook.secret not in again and 'id="new-secret"' not in again
    assert (hook.name, hook.url, hook.event_types) == (NEW["name"], NEW["url"], ["memory_add"])
    entry = AuditEntry.objects.get(action="webhook.create")
    assert entry.target == str(hook.pk) and hook.secret not in str(entry.details)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**NEW, "url": "http://127.0.0.1/hook"}, "on this machine or a private network"),
        ({**NEW, "url": "ftp://x.test/"}, "url must be an http(s) URL"),
        ({**NEW, "event_types": []}, "This field is required."),
        ({**NEW, "event_types": ["memory_explode"]}, "Select a valid choice."),
        ({**NEW, "name": ""}, "This field is required."),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_saves_nothing(alice_client, data, message):
    response = alice_client.post(LIST, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Webhook.objects.exists()


def test_names_are_escaped(alice_client, project):
    Webhook.objects.create(
        project=project, name=HOSTILE, url="https://x.test/", event_types=["memory_add"]
    )
    page = alice_client.get(LIST).content.decode()
    assert HOSTILE not in page and "&lt;script&gt;" in page


def test_editing_goes_through_the_service_and_keeps_api_only_types(alice_client, hook):
    url = reverse("memories:webhook", args=[hook.pk])
    data = {
        "edit-name": "crm v2",
        "edit-url": "https://hooks.example.test/v2",
        "edit-event_types": ["memory_update"],
    }
    response = alice_client.post(url, data)
    assert response.status_code == 302
    hook.refresh_from_db()
    assert (hook.name, hook.url) == ("crm v2", "https://hooks.example.test/v2")
    assert hook.event_types == ["memory_update", "ingest_job_failed"]
    assert AuditEntry.objects.filter(action="webhook.change", target=str(hook.pk)).exists()


def test_a_refused_edit_changes_nothing(alice_client, hook):
    url = reverse("memories:webhook", args=[hook.pk])
    data = {"edit-name": "x", "edit-url": "http://10.0.0.1/", "edit-event_types": ["memory_add"]}
    response = alice_client.post(url, data)
    assert response.status_code == 400
    assert "on this machine or a private network" in response.content.decode()
    hook.refresh_from_db()
    assert hook.name == "crm"


def test_disable_and_enable(alice_client, hook):
    url = reverse("memories:webhook_switch", args=[hook.pk])
    alice_client.post(url, {"action": "disable"})
    hook.refresh_from_db()
    assert not hook.is_active
    page = alice_client.get(reverse("memories:webhook", args=[hook.pk])).content.decode()
    assert 'id="enable-webhook"' in page
    alice_client.post(url, {"action": "enable"})
    hook.refresh_from_db()
    assert hook.is_active
    assert AuditEntry.objects.filter(action="webhook.change").count() == 2


def test_delete_asks_in_the_page_then_deletes(alice_client, hook):
    url = reverse("memories:webhook_delete", args=[hook.pk])
    fragment = alice_client.get(url, headers=htmx("delete-confirm")).content.decode()
    assert 'id="delete-confirm"' in fragment and "<html" not in fragment
    assert 'data-close="delete-confirm"' in fragment
    full = alice_client.get(url).content.decode()
    assert "<html" in full and 'id="confirm-delete"' in full
    response = alice_client.post(url, headers=HTMX)
    assert response["HX-Redirect"] == LIST
    assert not Webhook.objects.filter(pk=hook.pk).exists()
    assert AuditEntry.objects.filter(action="webhook.delete", target=str(hook.pk)).exists()


def test_delete_without_htmx_redirects(alice_client, hook):
    response = alice_client.post(reverse("memories:webhook_delete", args=[hook.pk]))
    assert (response.status_code, response["Location"]) == (302, LIST)


def test_send_a_test_event_lands_in_the_log(alice_client, project, settings, monkeypatch):
    """The button queues the delivery task; run here, its row shows on the webhook's page."""
    settings.MEMDASH_WEBHOOK_ALLOW_PRIVATE = True
    receiver = Receiver()
    hook = Webhook.objects.create(
        project=project, name="r", url=receiver.url, event_types=["memory_add"]
    )
    queued = []
    monkeypatch.setattr(
        deliveries, "send_or_refuse_on_commit", lambda *args, **kwargs: queued.append(args)
    )
    try:
        response = alice_client.post(reverse("memories:webhook_test", args=[hook.pk]))
        assert response.status_code == 302
        ((task_name, webhook_id, body),) = queued
        assert (task_name, webhook_id, body["event"]) == (
            "memories.tasks.deliver_webhook",
            str(hook.pk),
            "test",
        )
        tasks.deliver_webhook.apply(args=[webhook_id, body])
    finally:
        receiver.server.shutdown()
    url = reverse("memories:webhook", args=[hook.pk])
    log = alice_client.get(url, headers=htmx("webhook-log"))
    assert "<html" not in log.content.decode() and 'id="webhook-log"' in log.content.decode()
    assert [d.event_type for d in log.context["log"].rows] == ["test"]
    assert "succeeded" in log.content.decode()
    restored = alice_client.get(
        url, headers=htmx("webhook-log", **{"HX-History-Restore-Request": "true"})
    )
    assert "<html" in restored.content.decode()


def test_a_disabled_webhook_sends_no_test(alice_client, hook, monkeypatch):
    hook.is_active = False
    hook.save()
    queued = []
    monkeypatch.setattr(
        deliveries, "send_or_refuse_on_commit", lambda *args, **kwargs: queued.append(args)
    )
    alice_client.post(reverse("memories:webhook_test", args=[hook.pk]))
    assert queued == []


# Outside a test's transaction, as in a request: the send happens at once, in the view.
@pytest.mark.django_db(transaction=True)
def test_a_test_event_the_broker_cannot_take_says_it_was_not_sent(alice_client, hook, monkeypatch):
    def unreachable(*args, **kwargs):
        raise BrokerError("connection refused")

    monkeypatch.setattr(current_app, "send_task", unreachable)
    response = alice_client.post(reverse("memories:webhook_test", args=[hook.pk]), follow=True)

    page = response.content.decode()
    assert "the test event was not queued" in page and "Test event queued" not in page
    assert not WebhookDelivery.objects.filter(webhook=hook).exists()


def test_the_log_pages_through_every_kept_delivery(alice_client, hook):
    start = timezone.now()
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            webhook=hook,
            task_id=f"t{i}",
            event_type="memory_add",
            created_at=start - dt.timedelta(seconds=i),
        )
        for i in range(120)
    )
    url = reverse("memories:webhook", args=[hook.pk])
    seen: list[str] = []
    page = alice_client.get(url, headers=htmx("webhook-log"))
    while True:
        log = page.context["log"]
        seen += [d.task_id for d in log.rows]
        if not log.older:
            break
        assert 'rel="next"' in page.content.decode()
        page = alice_client.get(url, {"older": log.older}, headers=htmx("webhook-log"))

    assert seen == [f"t{i}" for i in range(120)]
    assert len(page.context["log"].rows) == 20


def test_the_log_shows_status_attempts_and_error(alice_client, hook):
    WebhookDelivery.objects.create(
        webhook=hook,
        task_id="t",
        event_type="memory_delete",
        status="failed",
        attempts=7,
        last_http_status=503,
        last_error="answered HTTP 503",
    )
    page = alice_client.get(reverse("memories:webhook", args=[hook.pk])).content.decode()
    assert "memory_delete" in page and "answered HTTP 503" in page and ">7<" in page
