"""The history of a memory in a real browser: edit with a reason, restore an old version."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from memories.models import Memory, MemoryHistory
from tests.browser.conftest import log_in
from tests.dashboard.conftest import remember

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_restore_an_old_version_from_history_with_a_reason_shown(
    page: Page, live_server, alice, project, screenshot
):
    memory = remember(project, "Prefers tea", user_id="alex", metadata={"source": "chat"})[0]
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}{memory.get_absolute_url()}")
    expect(page.locator("[data-testid=source-message]")).to_contain_text("source")

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Text").fill("Prefers coffee")
    page.get_by_label("food").check()
    page.get_by_label("Reason (optional)").fill("Said so on the phone")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#memory-text")).to_have_text("Prefers coffee")
    timeline = page.locator("#history-timeline > li")
    expect(timeline).to_have_count(2)
    expect(timeline.first.locator("[data-testid=history-reason]")).to_have_text(
        "Reason: Said so on the phone"
    )
    expect(timeline.first.locator("[data-testid=field-changes]")).to_contain_text("+ food")
    # The current version has nothing to restore; the first one has.
    expect(timeline.first.get_by_text("Restore this version…")).to_have_count(0)

    first = timeline.last
    first.get_by_text("Restore this version…").click()
    first.get_by_role("button", name="Restore this version").click()
    expect(page.locator("#memory-text")).to_have_text("Prefers tea")
    expect(page.get_by_text("Version restored.")).to_be_visible()
    expect(timeline).to_have_count(3)
    expect(timeline.first.locator("[data-testid=history-reason]")).to_contain_text(
        "Restored the version of"
    )
    expect(timeline.first.locator("[data-testid=field-changes]")).to_contain_text("− food")
    expect(timeline.nth(1).locator("[data-testid=history-reason]")).to_have_text(
        "Reason: Said so on the phone"
    )
    screenshot(page, "memory-history-restored")

    memory.refresh_from_db()
    assert (memory.memory, memory.categories, memory.metadata) == (
        "Prefers tea",
        None,
        {"source": "chat"},
    )
    assert MemoryHistory.objects.filter(memory_id=memory.id, event="UPDATE").count() == 2
    assert Memory.objects.count() == 1
