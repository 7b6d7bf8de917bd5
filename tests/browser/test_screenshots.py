"""Screenshots of every dashboard page in light, dark and phone width (.artifacts/screenshots/
<page>-<mode>.png), and the phone layout's promises: the header leaves room for the page, the
filter box hides behind a "Filters" button that works, Activity keeps time and actor."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from memories.models import Event, Memory
from tests.browser.conftest import log_in
from tests.browser.test_dashboard import world  # noqa: F401  (the shared fixture)

MODES = {
    "light": {"viewport": {"width": 1366, "height": 900}, "color_scheme": "light"},
    "dark": {"viewport": {"width": 1366, "height": 900}, "color_scheme": "dark"},
    "phone": {"viewport": {"width": 390, "height": 844}, "color_scheme": "light"},
}


def dashboard_pages() -> list[tuple[str, str]]:
    """(name, path) of every page a logged-in admin can open, with the world's objects."""
    memory = Memory.objects.filter(memory__startswith="I am allergic").get()
    event = Event.objects.order_by("created_at").first()
    assert event is not None
    return [
        ("memories-list", reverse("memories:list")),
        ("memory-detail", reverse("memories:detail", args=[memory.pk])),
        ("memory-edit", reverse("memories:edit", args=[memory.pk])),
        ("memories-as-of", reverse("memories:as_of") + "?user_id=alex"),
        ("entities", reverse("entities:list")),
        ("entity-detail", reverse("entities:detail", args=["user", "alex"])),
        ("activity", reverse("memories:activity")),
        ("event-detail", reverse("memories:event", args=[event.pk])),
        ("trash", reverse("memories:trash")),
        ("compliance", reverse("memories:compliance")),
        ("person", reverse("memories:person") + "?entity_type=user&entity_id=alex"),
        ("holds", reverse("memories:holds")),
        ("retention", reverse("memories:retention")),
        ("exports", reverse("memories:exports")),
        ("erasures", reverse("memories:erasures")),
        ("webhooks", reverse("memories:webhooks")),
        ("audit", reverse("audit_log")),
        ("api-keys", reverse("api_keys")),
        ("settings", reverse("project_settings")),
        ("developers", reverse("developers")),
        ("developers-api", reverse("api_reference")),
        ("password-change", reverse("password_change")),
    ]


@pytest.mark.parametrize("mode", list(MODES))
def test_every_page_in_light_dark_and_phone(browser, live_server, alice, world, screenshot, mode):  # noqa: F811
    context = browser.new_context(**MODES[mode])
    page = context.new_page()
    log_in(page, live_server, "alice")
    for name, path in dashboard_pages():
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, (name, response and response.status)
        # The layout's own <main> (Swagger UI adds one of its own to the API reference, once
        # it has rendered).
        expect(page.locator("main#main")).to_be_visible()
        screenshot(page, f"{name}-{mode}")
    context.close()
    login = browser.new_context(**MODES[mode]).new_page()
    login.goto(f"{live_server.url}/login/")
    screenshot(login, f"login-{mode}")
    login.context.close()


def test_phone_filters_collapse_open_and_filter(browser, live_server, alice, world):  # noqa: F811
    context = browser.new_context(**MODES["phone"])
    page = context.new_page()
    log_in(page, live_server, "alice")
    # The header is a strip, not the first screen.
    header = page.locator("header.topbar").bounding_box()
    assert header is not None and header["height"] < 844 / 3
    # Collapsed: the table is visible at once, the filter box is not.
    toggle = page.locator("#filters-toggle")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#filter-form")).to_be_hidden()
    expect(page.locator("#memory-table tbody tr a.mem-text").first).to_be_in_viewport()
    # Opens; a filter applied from it narrows the list.
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#filter-form")).to_be_visible()
    page.get_by_label("Keyword").fill("Japan")
    expect(page.locator("#memory-table tbody tr a.mem-text")).to_have_count(1)
    expect(page.locator("#memory-table")).to_contain_text("Planning a trip to Japan")
    # Closes again.
    toggle.click()
    expect(page.locator("#filter-form")).to_be_hidden()
    # Activity keeps the time and the actor at phone width.
    page.goto(f"{live_server.url}{reverse('memories:activity')}")
    first = page.locator("#event-table tbody tr").first
    expect(first.locator("td.col-when")).to_be_visible()
    expect(first.locator("td.col-actor")).to_be_visible()
    # Its filter box folds the same way.
    expect(page.locator("#event-filters")).to_be_hidden()
    page.locator('[data-toggle-open="event-filters"]').click()
    expect(page.locator("#event-filters")).to_be_visible()
    context.close()


def test_column_picker_adds_columns_and_category_chips_filter(page, live_server, alice, world):  # noqa: F811
    log_in(page, live_server, "alice")
    page.locator("#columns-button").click()
    page.locator("#column-app_id").check()
    page.locator("#column-categories").check()
    page.locator("#column-metadata-keys").fill("diet")
    page.locator("#save-columns").click()
    expect(page.locator("#memory-table th.col-app_id")).to_have_text("App")
    expect(page.locator("#memory-table thead")).to_contain_text("diet")
    expect(page.locator("#memory-table")).to_contain_text("vegan")
    page.locator("#memory-table td.col-categories a.chip", has_text="health").click()
    expect(page).to_have_url(f"{live_server.url}/?category=health")
    expect(page.locator("#memory-table tbody tr a.mem-text")).to_have_count(1)
    # Dense rows: at least 15 fit in a 900px-high window (measured on one row).
    height = page.locator("#memory-table tbody tr").first.bounding_box()["height"]
    assert height * 15 <= 900 - 300, height
