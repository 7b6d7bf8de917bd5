"""The dashboard in a real browser: log in, filter, search, read history, bulk delete."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from memories import services
from memories.models import Memory, MemoryHistory
from tests.browser.conftest import log_in
from tests.dashboard.conftest import HOSTILE, bulk_memories, remember

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(project, other_project):
    nuts = remember(project, "I am allergic to nuts", user_id="alex", metadata={"diet": "vegan"})[0]
    Memory.objects.filter(pk=nuts.pk).update(categories=["health", "food"])
    remember(project, "Prefers window seats on long flights", user_id="alex", app_id="travel-app")
    remember(project, "Planning a trip to Japan in April", user_id="bob", app_id="travel-app")
    remember(project, "Collects vintage fountain pens", user_id="bob")
    remember(project, "Works night shifts at the hospital", user_id="bob")
    remember(project, "Support agent answers in French", agent_id="support-bot")
    remember(project, HOSTILE, user_id="mallory", metadata={"note": HOSTILE})
    remember(other_project, "globex secret", user_id="alex")
    return project


def rows(page: Page):
    return page.locator("#memory-table tbody tr a.mem-text")


def test_log_in_filter_with_pills_remove_a_pill_and_search(
    page: Page, live_server, alice, world, screenshot
):
    log_in(page, live_server, "alice")
    expect(rows(page)).to_have_count(7)
    expect(page.locator("#memory-count")).to_contain_text("7 memories")
    page.on("dialog", lambda d: pytest.fail(f"unexpected dialog: {d.message}"))  # no alert() ran
    screenshot(page, "memories-list")

    # Add a pill with the "filter by" row: the table, count, pills and URL follow.
    page.get_by_label("Filter by").select_option("user_id")
    page.get_by_label("Value").fill("bob")
    page.get_by_role("button", name="Add filter").click()
    expect(page).to_have_url(f"{live_server.url}/?user_id=bob")
    expect(rows(page)).to_have_count(3)
    expect(page.locator("#memory-count")).to_contain_text("3 memories")
    expect(page.get_by_label("Value")).to_have_value("")

    # A second pill narrows further; the API's filter is shown for the same state.
    page.get_by_label("Filter by").select_option("app_id")
    page.get_by_label("Value").fill("travel-app")
    page.get_by_label("Value").press("Enter")
    expect(page).to_have_url(f"{live_server.url}/?user_id=bob&app_id=travel-app")
    expect(rows(page)).to_have_text(["Planning a trip to Japan in April"])
    screenshot(page, "memories-filtered")

    # Remove the user pill: only the app filter stays.
    page.get_by_role("link", name="Remove filter user bob").click()
    expect(page).to_have_url(f"{live_server.url}/?app_id=travel-app")
    expect(rows(page)).to_have_count(2)
    expect(page.locator("#filter-pills .pill")).to_have_count(1)

    # The back button restores the previous filter, table included.
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/?user_id=bob&app_id=travel-app")
    expect(rows(page)).to_have_text(["Planning a trip to Japan in April"])
    page.go_forward()
    expect(rows(page)).to_have_count(2)

    # Clear all, then keyword search as you type.
    page.get_by_role("link", name="Clear all").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(rows(page)).to_have_count(7)
    page.keyboard.press("/")
    expect(page.get_by_label("Keyword")).to_be_focused()
    page.keyboard.type("pens")
    expect(page).to_have_url(f"{live_server.url}/?q=pens")
    expect(rows(page)).to_have_text(["Collects vintage fountain pens"])
    expect(page.get_by_label("Keyword")).to_have_value("pens")
    page.get_by_label("Keyword").fill("")
    expect(rows(page)).to_have_count(7)

    # Semantic search ranks by meaning within the filter.
    page.get_by_label("Semantic search").fill("has a nut allergy")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(rows(page).first).to_have_text("I am allergic to nuts")
    expect(page.locator("#memory-table thead")).to_contain_text("Score")
    expect(page.locator("#filter-pills")).to_contain_text("similar to")
    screenshot(page, "memories-semantic-search")

    # Date pickers and sort apply on change.
    page.get_by_role("link", name="Clear all").click()
    expect(page.get_by_label("Semantic search")).to_have_value("")
    page.get_by_label("Sort").select_option("updated")
    expect(page).to_have_url(f"{live_server.url}/?sort=updated")
    expect(page.locator("#memory-table thead")).to_contain_text("Updated")


def test_history_restore_after_cache_miss_gets_a_full_page(page: Page, live_server, alice, world):
    log_in(page, live_server, "alice")
    page.get_by_role("link", name="user: bob").first.click()  # a plain link: full page
    expect(page).to_have_url(f"{live_server.url}/?user_id=bob")
    page.get_by_label("Keyword").fill("pens")
    expect(page).to_have_url(f"{live_server.url}/?user_id=bob&q=pens")
    # Empty htmx's history cache: going back must fetch the page with a history-restore request.
    page.evaluate("localStorage.clear()")
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/?user_id=bob")
    expect(page.locator("header.topbar")).to_have_count(1)
    expect(page.locator("#memory-table")).to_have_count(1)
    expect(rows(page)).to_have_count(3)
    # Reloading a pushed URL is a normal full page too.
    page.reload()
    expect(page.locator("header.topbar")).to_have_count(1)
    expect(rows(page)).to_have_count(3)


def test_the_shared_pager_and_activitys_pills_swap_the_list_in_place(
    page: Page, live_server, alice, project
):
    bulk_memories(project, 60, user_id="pager")
    remember(project, "an add with an Event", user_id="pager")
    log_in(page, live_server, "alice")
    # A full navigation would drop this marker: the links only swap the table.
    page.evaluate("window.notReloaded = true")
    page.get_by_role("link", name="Older →").click()
    expect(page).to_have_url(re.compile(r"/\?older="))
    expect(rows(page)).to_have_count(11)
    page.get_by_role("link", name="← Newer").click()
    expect(rows(page)).to_have_count(50)
    assert page.evaluate("window.notReloaded") is True
    page.goto(f"{live_server.url}/activity/?type=ADD&entity=pager")
    page.evaluate("window.notReloaded = true")
    page.get_by_role("link", name="Remove filter type ADD").click()
    expect(page).to_have_url(f"{live_server.url}/activity/?entity=pager")
    expect(page.locator("#event-table tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Clear all").click()
    expect(page).to_have_url(f"{live_server.url}/activity/")
    assert page.evaluate("window.notReloaded") is True


def test_open_a_memory_edit_it_and_read_the_history_diff(
    page: Page, live_server, alice, world, screenshot
):
    log_in(page, live_server, "alice")
    page.get_by_role("link", name="I am allergic to nuts").click()
    expect(page.locator("#memory-text")).to_have_text("I am allergic to nuts")
    expect(page.locator("#input-messages")).to_contain_text("I am allergic to nuts")
    expect(page.locator("#memory-metadata")).to_contain_text('"diet": "vegan"')

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Text").fill("I am allergic to peanuts and shellfish")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#memory-text")).to_have_text("I am allergic to peanuts and shellfish")
    expect(page.locator("#toasts")).to_contain_text("Memory updated.")

    timeline = page.locator("#history-timeline > li")
    expect(timeline).to_have_count(2)
    newest = timeline.first
    expect(newest.locator(".badge")).to_have_text("UPDATE")
    expect(newest.locator(".who")).to_have_text("alice user")
    expect(newest.locator("del")).to_have_text("nuts")
    expect(newest.locator("ins")).to_have_text("peanuts and shellfish")
    expect(timeline.last.locator(".badge")).to_have_text("ADD")
    screenshot(page, "memory-detail")

    row = MemoryHistory.objects.get(event="UPDATE")
    assert (row.old_memory, row.new_memory, row.actor) == (
        "I am allergic to nuts",
        "I am allergic to peanuts and shellfish",
        "user:alice",
    )


def test_bulk_delete_a_filtered_selection_after_confirming(
    page: Page, live_server, alice, world, screenshot
):
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/?user_id=bob")
    expect(rows(page)).to_have_count(3)

    # "All matching": the confirmation states the count and the scope before anything goes.
    page.get_by_role("button", name="Delete all 3 matching…").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Delete 3 memories?")
    expect(dialog).to_contain_text("user: bob")
    expect(page.locator("#confirm-delete")).to_be_focused()
    screenshot(page, "bulk-delete-confirm")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert Memory.objects.filter(user_id="bob").count() == 3

    page.get_by_role("button", name="Delete all 3 matching…").click()
    page.get_by_role("button", name="Delete 3 memories").click()
    expect(page.locator("#toasts")).to_contain_text("Deleted 3 memories.")
    expect(page.locator("#memory-count")).to_contain_text("0 memories")
    expect(page.locator("#memory-table")).to_contain_text("No memory matches")
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    expect(page.locator("#filter-pills")).to_contain_text("bob")
    assert not Memory.objects.filter(user_id="bob").exists()

    # Select two rows of the unfiltered list and delete just those.
    page.get_by_role("link", name="Clear all").click()
    expect(rows(page)).to_have_count(4)
    page.get_by_label("Select memory Support agent answers in French").check()
    page.get_by_label("Select memory Prefers window seats on long flights").check()
    expect(page.locator("#selected-count")).to_have_text("2 selected")
    page.get_by_role("button", name="Delete selected…").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("Delete 2 memories?")
    expect(page.get_by_role("alertdialog")).to_contain_text("agent: support-bot")
    page.get_by_role("button", name="Delete 2 memories").click()
    expect(page.locator("#memory-count")).to_contain_text("2 memories")
    expect(rows(page)).to_have_count(2)

    # The history of a deleted memory is still there, naming who deleted it.
    gone = MemoryHistory.objects.filter(event="DELETE", old_memory__startswith="Collects").get()
    page.goto(f"{live_server.url}/memories/{gone.memory_id}/")
    expect(page.locator("#memory-body")).to_contain_text("This memory was deleted")
    first = page.locator("#history-timeline > li").first
    expect(first.locator(".badge")).to_have_text("DELETE")
    expect(first.locator(".who")).to_have_text("alice user")
    page.get_by_role("link", name=re.compile(r"^event ")).first.click()
    expect(page.locator("h1")).to_contain_text("DELETE")
    expect(page.get_by_text("Collects vintage fountain pens")).to_be_visible()
    screenshot(page, "event-detail")


def test_entities_page_and_entity_delete(page: Page, live_server, alice, world, screenshot):
    log_in(page, live_server, "alice")
    page.get_by_role("link", name="Entities").click()
    expect(page.locator("#entity-table tbody tr")).to_have_count(5)
    page.get_by_label("Search by name").fill("bo")
    expect(page.locator("#entity-table tbody tr")).to_have_count(2)  # bob, support-bot
    expect(page).to_have_url(f"{live_server.url}/entities/?q=bo")
    page.get_by_label("Search by name").fill("")
    screenshot(page, "entities")
    page.get_by_role("link", name="alex", exact=True).click()
    expect(rows(page)).to_have_count(2)
    page.get_by_role("link", name="Delete user…").click()
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    page.get_by_role("link", name="Delete user…").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("Delete user “alex” and 2 memories?")
    page.get_by_role("button", name="Delete user and 2 memories").click()
    expect(page).to_have_url(f"{live_server.url}/entities/")
    expect(page.locator("#toasts")).to_contain_text("Deleted user alex and 2 memories.")
    assert not Memory.objects.filter(project=world, user_id="alex").exists()
    assert Memory.objects.filter(memory="globex secret").exists()


def test_viewer_sees_no_mutation_controls(page: Page, live_server, vera, world):
    log_in(page, live_server, "vera")
    expect(rows(page)).to_have_count(7)
    expect(page.locator('input[name="ids"]')).to_have_count(0)
    expect(page.get_by_role("link", name="API keys")).to_have_count(0)
    page.get_by_role("link", name="I am allergic to nuts").click()
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)


def test_admin_pages_and_screenshots(page: Page, live_server, alice, world, screenshot):
    services.update_memory(
        Memory.objects.get(memory="Works night shifts at the hospital"),
        actor="pipeline",
        text="Works day shifts at the hospital",
    )
    log_in(page, live_server, "alice")
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("support bot")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-key-value")).to_contain_text("m0-")
    screenshot(page, "api-keys")
    page.get_by_role("button", name="Revoke", exact=True).first.click()
    page.get_by_role("button", name="Revoke key").click()
    expect(page.locator("#api-keys")).to_contain_text("revoked")

    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Custom instructions", exact=True).fill("Keep dietary facts only.")
    page.get_by_label("Custom categories").fill("food: what people eat\ntravel:")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#toasts")).to_contain_text("Settings saved.")
    screenshot(page, "settings")

    page.get_by_role("link", name="Activity").click()
    expect(page.locator("#event-table tbody tr").first).to_contain_text("UPDATE")
    page.get_by_label("Type").select_option("ADD")
    expect(page).to_have_url(f"{live_server.url}/activity/?type=ADD")
    screenshot(page, "activity")


@pytest.mark.parametrize(
    ("scheme", "width", "name"),
    [("dark", 1366, "dark"), ("light", 390, "phone"), ("dark", 390, "phone-dark")],
)
def test_screenshots_in_dark_mode_and_at_phone_width(
    browser, live_server, alice, world, screenshot, scheme, width, name
):
    context = browser.new_context(viewport={"width": width, "height": 860}, color_scheme=scheme)
    page = context.new_page()
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/?app_id=travel-app")
    expect(rows(page)).to_have_count(2)
    screenshot(page, f"memories-list-{name}")
    page.get_by_role("link", name="Prefers window seats on long flights").click()
    expect(page.locator("#memory-text")).to_be_visible()
    screenshot(page, f"memory-detail-{name}")
    page.goto(f"{live_server.url}/entities/")
    screenshot(page, f"entities-{name}")
    page.goto(f"{live_server.url}/login/")
    context.close()
