"""The webhook delivery log: the task records each attempt on one row per change, against a
real HTTP receiver on loopback (the task runs in this process through Celery's apply, which
also runs its retries, one after the other, without the backoff)."""

from __future__ import annotations

import pytest

from memories import tasks
from memories.models import WEBHOOK_ERROR_CHARS, Webhook, WebhookDelivery
from memories.webhooks import deliveries
from memories.webhooks.delivery import DeliveryError
from tests.memories.test_async import Receiver

pytestmark = pytest.mark.django_db

SECRET_TEXT = "Maria's card number is 4111 1111 1111 1111"
ADD = {
    "event_details": {
        "id": "3f1c9a52-5d7e-4b8e-9a51-0c2d7c4e8b10",
        "data": {"memory": SECRET_TEXT},
        "event": "ADD",
    }
}


@pytest.fixture
def receiver(settings):
    settings.MEMDASH_WEBHOOK_ALLOW_PRIVATE = True
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture
def hook(project, receiver):
    return Webhook.objects.create(
        project=project, name="log", url=receiver.url, event_types=["memory_add"]
    )


def test_a_delivery_accepted_at_once_is_one_succeeded_row(hook, receiver):
    assert tasks.deliver_webhook.apply(args=[str(hook.pk), ADD]).successful()
    (row,) = WebhookDelivery.objects.filter(webhook=hook)
    assert (row.event_type, row.status, row.attempts) == ("memory_add", "succeeded", 1)
    assert (row.last_http_status, row.last_error) == (200, "")
    assert row.finished_at is not None and row.finished_at >= row.created_at
    assert len(receiver.deliveries) == 1


def test_retries_update_the_same_row(hook, receiver):
    receiver.fail_first = 2
    tasks.deliver_webhook.apply(args=[str(hook.pk), ADD])
    (row,) = WebhookDelivery.objects.filter(webhook=hook)
    assert (row.status, row.attempts, row.last_http_status) == ("succeeded", 3, 200)
    assert row.last_error == ""


def test_a_receiver_that_keeps_failing_ends_failed(hook, receiver):
    receiver.fail_first = 100
    tasks.deliver_webhook.apply(args=[str(hook.pk), ADD])
    (row,) = WebhookDelivery.objects.filter(webhook=hook)
    assert (row.status, row.attempts) == ("failed", tasks.DELIVERY_RETRIES + 1)
    assert (row.last_http_status, row.last_error) == (503, "answered HTTP 503")
    assert row.finished_at is not None


def test_no_body_or_url_secret_lands_in_the_log(project, settings):
    """A refused connection's error names neither the URL's credentials nor its query string,
    and no column holds the memory text the body carried."""
    settings.MEMDASH_WEBHOOK_ALLOW_PRIVATE = True
    hook = Webhook.objects.create(
        project=project,
        name="down",
        url="http://bot:hunter2@127.0.0.1:9/hook?token=tok-secret",
        event_types=["memory_add"],
    )
    tasks.deliver_webhook.apply(args=[str(hook.pk), ADD])
    (row,) = WebhookDelivery.objects.filter(webhook=hook).values()
    assert row["status"] == "failed" and row["last_http_status"] is None
    assert row["last_error"]  # says what went wrong (a refused connection)
    stored = " ".join(str(value) for value in row.values())
    for secret in ("hunter2", "tok-secret", "4111", "Maria"):
        assert secret not in stored


def test_a_forbidden_target_fails_at_once_without_the_url(project):
    hook = Webhook.objects.create(
        project=project, name="inside", url="http://localhost:9/x?k=v", event_types=["memory_add"]
    )
    tasks.deliver_webhook.apply(args=[str(hook.pk), ADD])
    (row,) = WebhookDelivery.objects.filter(webhook=hook)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error.startswith("the URL points to localhost")
    assert "k=v" not in row.last_error


def test_long_errors_are_cut_short(project):
    hook = Webhook(project=project, url="https://example.test/")
    cause = RuntimeError("echo " + "x" * 5000)
    try:
        raise DeliveryError("https://example.test/: boom") from cause
    except DeliveryError as exc:
        text = deliveries.error_text(exc, hook.url)
    assert len(text) == WEBHOOK_ERROR_CHARS and text.endswith("…")
    assert text.startswith("RuntimeError: echo x")


def test_a_disabled_webhook_is_sent_nothing_and_logs_nothing(hook, receiver):
    hook.is_active = False
    hook.save()
    tasks.deliver_webhook.apply(args=[str(hook.pk), ADD])
    assert receiver.deliveries == []
    assert not WebhookDelivery.objects.exists()


def test_a_retry_that_finds_the_webhook_disabled_closes_its_row(hook):
    row = WebhookDelivery.objects.create(webhook=hook, task_id="t-1", event_type="memory_add")
    hook.is_active = False
    hook.save()
    tasks.deliver_webhook.apply(args=[str(hook.pk), ADD], task_id="t-1")
    row.refresh_from_db()
    assert row.status == "failed"
    assert row.last_error == "not sent: the webhook was disabled or deleted"


def test_each_webhook_keeps_only_its_newest_rows(hook, receiver, monkeypatch):
    monkeypatch.setattr(deliveries, "KEEP_PER_WEBHOOK", 3)
    for _ in range(5):
        tasks.deliver_webhook.apply(args=[str(hook.pk), ADD])
    assert WebhookDelivery.objects.filter(webhook=hook).count() == 3
    assert len(receiver.deliveries) == 5


def test_the_test_event_goes_through_the_task_and_is_logged(hook, receiver):
    body = deliveries.test_event_body(hook)
    assert body["event"] == "test" and "memory" not in str(body)
    tasks.deliver_webhook.apply(args=[str(hook.pk), body])
    (row,) = WebhookDelivery.objects.filter(webhook=hook)
    assert (row.event_type, row.status) == ("test", "succeeded")
    assert receiver.bodies()[0]["event"] == "test"


@pytest.mark.parametrize(
    ("body", "event_type"),
    [
        (ADD, "memory_add"),
        (
            {
                "event_details": {
                    "event": "CATEGORIZE",
                    "memory_id": "3f1c9a52-5d7e-4b8e-9a51-0c2d7c4e8b10",
                }
            },
            "memory_categorize",
        ),
        ({"event_details": {"event": "DELETE", "count": 5000}}, "memory_delete"),
        ({"event": "test"}, "test"),
        ({"something": "else"}, "unknown"),
    ],
)
def test_event_types_are_read_from_the_body(body, event_type):
    assert deliveries.event_type_of(body) == event_type


def test_deleting_a_webhook_deletes_its_log(hook):
    tasks.deliver_webhook.apply(args=[str(hook.pk), ADD])
    hook.delete()
    assert not WebhookDelivery.objects.exists()
