"""An admin's webhook in a real browser, delivered by a real Celery worker: from Settings she
opens Webhooks, adds one pointing at a local receiver, copies the secret shown once (gone on
reload), sends a test event, and finds its delivery in the log. Then she deletes it with the
in-page confirmation (Cancel first). The strict CSP must raise no console errors on the way."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from memories.models import Webhook, WebhookDelivery
from testkit.workers import wait_for
from tests.browser.conftest import log_in
from tests.memories.test_async import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_see_the_secret_once_send_a_test_and_read_the_log(
    page: Page, live_server, on_redis, alice, settings, screenshot
):
    settings.MEMDASH_WEBHOOK_ALLOW_PRIVATE = True  # the receiver listens on loopback
    receiver = Receiver()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        log_in(page, live_server, "alice")
        page.goto(f"{live_server.url}/settings/")
        page.get_by_role("link", name="Webhooks").click()
        expect(page).to_have_url(f"{live_server.url}/webhooks/")
        expect(page.locator("#webhooks-table")).to_contain_text("No webhooks yet.")

        page.get_by_label("Name").fill("crm sync")
        page.get_by_label("URL").fill(receiver.url)
        page.get_by_label("memory_add").check()
        page.get_by_role("button", name="Add the webhook").click()

        hook = Webhook.objects.get(name="crm sync")
        expect(page.locator("#new-secret-value")).to_have_text(hook.secret)
        screenshot(page, "webhook-created")
        page.reload()
        expect(page.locator("#new-secret")).to_have_count(0)
        expect(page.locator("#delivery-log")).to_contain_text("No deliveries yet.")

        page.get_by_role("button", name="Send a test event").click()
        expect(page.locator(".toast")).to_contain_text("Test event queued")
        wait_for(
            lambda: WebhookDelivery.objects.filter(webhook=hook, status="succeeded").exists(),
            timeout=30,
            message="the test delivery",
        )
        page.get_by_role("link", name="Refresh").click()
        row = page.locator("#delivery-log tbody tr").first
        expect(row).to_contain_text("test")
        expect(row).to_contain_text("succeeded")
        expect(row).to_contain_text("HTTP 200")
        assert receiver.bodies()[0]["event"] == "test"
        screenshot(page, "webhook-log")

        page.get_by_role("link", name="Delete…").click()
        expect(page.locator("#delete-confirm .confirm")).to_be_visible()
        page.get_by_role("link", name="Cancel").click()
        expect(page.locator("#delete-confirm .confirm")).to_have_count(0)
        page.get_by_role("link", name="Delete…").click()
        page.get_by_role("button", name="Delete webhook").click()
        expect(page).to_have_url(f"{live_server.url}/webhooks/")
        expect(page.locator("#webhooks-table")).to_contain_text("No webhooks yet.")
    finally:
        receiver.server.shutdown()
    assert not Webhook.objects.exists()
    assert errors == []
