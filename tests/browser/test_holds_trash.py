"""A compliance officer's journey through legal holds and the trash in a real browser: she
places a hold on maria from the Holds page, fails to delete maria's memory (the page says which
hold keeps it), deletes bob's, finds it in the Trash, restores it, and sees it back in the
memories list. Then a purge asks for a confirmation before anything goes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from memories.models import LegalHold, Memory, MemoryHistory, TrashedMemory
from tenancy.models import Role
from tenancy.services import create_api_key
from tests.browser.conftest import log_in
from tests.conftest import add_verbatim, api_client
from tests.dashboard.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REFUND = "Maria asked about a refund for order 1182"
PENS = "Bob collects vintage fountain pens"


@pytest.fixture
def olga(project):
    return make_user("olga", project, Role.COMPLIANCE)


@pytest.fixture
def world(project):
    bot = api_client(create_api_key(project, role=Role.EDITOR, name="support bot"))
    refund = add_verbatim(bot, REFUND, user_id="maria")[0]["id"]
    add_verbatim(bot, "Maria prefers email to phone calls", user_id="maria")
    pens = add_verbatim(bot, PENS, user_id="bob")[0]["id"]
    return {"refund": refund, "pens": pens}


def memory_rows(page: Page):
    return page.locator("#memory-table tbody tr")


def trash_rows(page: Page):
    return page.locator("#trash-table tbody tr")


def test_a_hold_refuses_a_delete_and_the_trash_gives_back_what_was_deleted(
    page: Page, live_server, olga, world, screenshot
):
    log_in(page, live_server, "olga")

    # The Holds page, from the Compliance console.
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Compliance").click()
    page.get_by_role("link", name="Legal holds: place, review and release").click()
    expect(page).to_have_url(f"{live_server.url}/compliance/holds/")
    expect(page.locator("#active-holds")).to_contain_text("No active legal hold.")

    # A form without a subject is sent back with the error, and places nothing.
    page.get_by_label("Name", exact=True).fill("Doe v. Acme")
    page.get_by_role("button", name="Place the hold").click()
    expect(page.get_by_role("alert")).to_contain_text("Name what to hold")
    assert not LegalHold.objects.exists()

    page.get_by_label("Entity type").select_option("user")
    page.get_by_label("Entity id").fill("maria")
    page.get_by_label("Reason").fill("Litigation hold letter of 3 March")
    page.get_by_role("button", name="Place the hold").click()
    expect(page.locator("#toasts")).to_contain_text("Placed the legal hold 'Doe v. Acme'")
    active = page.locator("#active-holds tbody tr")
    expect(active).to_have_count(1)
    expect(active).to_contain_text("Doe v. Acme")
    expect(active).to_contain_text("maria")
    expect(active).to_contain_text("2 memories")
    expect(active).to_contain_text("olga user")
    screenshot(page, "holds")

    # Her memory carries the lock, and its delete is refused, naming the hold.
    nav.get_by_role("link", name="Memories").click()
    page.get_by_role("link", name=REFUND).click()
    expect(page).to_have_url(f"{live_server.url}/memories/{world['refund']}/")
    expect(page.locator("#memory-locks")).to_contain_text("On legal hold: Doe v. Acme")
    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("It goes to the Trash")
    page.get_by_role("button", name="Delete memory").click()
    refused = page.locator("#delete-refused")
    expect(refused).to_contain_text("This memory cannot be deleted.")
    expect(refused).to_contain_text("under the legal hold 'Doe v. Acme'")
    expect(page.locator("#toasts")).to_contain_text("cannot be deleted until the hold is released")
    expect(page).to_have_url(f"{live_server.url}/memories/{world['refund']}/")
    screenshot(page, "delete-refused")
    assert Memory.objects.filter(pk=world["refund"]).exists()

    # Bob's is not held: it goes, into the trash.
    nav.get_by_role("link", name="Memories").click()
    page.get_by_role("link", name=PENS).click()
    expect(page.locator("#memory-locks")).to_have_count(0)
    page.get_by_role("link", name="Delete…").click()
    page.get_by_role("button", name="Delete memory").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("#toasts")).to_contain_text(
        "It can be restored from the Trash for 30 days."
    )
    expect(memory_rows(page)).to_have_count(2)
    expect(page.get_by_role("link", name=PENS)).to_have_count(0)
    assert TrashedMemory.objects.filter(pk=world["pens"], trashed_by="user:olga").exists()

    # The Trash: filter by bob, select, restore.
    nav.get_by_role("link", name="Trash").click()
    expect(page).to_have_url(f"{live_server.url}/trash/")
    expect(trash_rows(page)).to_have_count(1)
    page.get_by_label("User", exact=True).press_sequentially("bob", delay=30)
    expect(page).to_have_url(f"{live_server.url}/trash/?user_id=bob")
    expect(page.get_by_role("link", name="Remove filter user bob")).to_be_visible()
    row = trash_rows(page).first
    expect(row).to_contain_text(PENS)
    expect(row).to_contain_text("olga user")
    restore_selected = page.get_by_role("button", name="Restore selected")
    expect(restore_selected).to_be_disabled()
    page.get_by_label(f"Select memory {PENS}").check()
    expect(page.locator("#selected-count")).to_have_text("1 selected")
    expect(restore_selected).to_be_enabled()
    screenshot(page, "trash")
    restore_selected.click()
    expect(page.locator("#toasts")).to_contain_text("Restored 1 memory")
    expect(trash_rows(page)).to_have_count(1)
    expect(trash_rows(page)).to_contain_text("Nothing in the trash matches these filters.")
    expect(page.locator("#trash-count")).to_have_text("0 deleted memories")
    assert not TrashedMemory.objects.exists()

    # Back in the memories list, with its id, and its history shows the restore.
    nav.get_by_role("link", name="Memories").click()
    expect(memory_rows(page)).to_have_count(3)
    page.get_by_role("link", name=PENS).click()
    expect(page).to_have_url(f"{live_server.url}/memories/{world['pens']}/")
    first = page.locator("#history-timeline > li").first
    expect(first.locator(".badge")).to_have_text("RESTORE")
    expect(first.locator(".who")).to_have_text("olga user")
    expect(first.locator("ins")).to_have_text(PENS)
    assert MemoryHistory.objects.filter(memory_id=world["pens"], event="RESTORE").count() == 1


def test_a_purge_asks_first_and_a_held_memory_stays(
    page: Page, live_server, olga, world, project, screenshot
):
    from memories import holds, services
    from memories.subjects import Subject

    for pk in (world["refund"], world["pens"]):
        services.delete_memory(Memory.objects.get(pk=pk), actor="user:olga")
    holds.place(project, Subject("user", "maria"), name="Doe v. Acme", actor="user:olga")

    log_in(page, live_server, "olga")
    page.goto(f"{live_server.url}/trash/")
    expect(trash_rows(page)).to_have_count(2)
    held = trash_rows(page).filter(has_text=REFUND)
    expect(held.locator(".badge.lock")).to_have_text("on legal hold")
    expect(held).to_contain_text("kept (held)")

    # The held one: the purge is refused before anyone confirms.
    page.get_by_role("button", name=f"Purge memory {REFUND}").click()
    expect(page.locator("#trash-refusal")).to_contain_text("legal hold 'Doe v. Acme'")
    page.get_by_role("button", name="Dismiss").click()
    expect(page.locator("#trash-refusal")).to_have_count(0)

    # Bob's: a confirmation, which Escape closes, then the purge.
    page.get_by_role("button", name=f"Purge memory {PENS}").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Purge 1 memory for good?")
    expect(page.locator("#confirm-purge")).to_be_focused()
    screenshot(page, "trash-purge-confirm")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert TrashedMemory.objects.filter(pk=world["pens"]).exists()
    page.get_by_role("button", name=f"Purge memory {PENS}").click()
    page.get_by_role("button", name="Purge 1 memory").click()
    expect(page.locator("#toasts")).to_contain_text("Purged 1 memory for good.")
    expect(trash_rows(page)).to_have_count(1)
    expect(trash_rows(page)).to_contain_text(REFUND)
    assert not TrashedMemory.objects.filter(pk=world["pens"]).exists()
    assert TrashedMemory.objects.filter(pk=world["refund"]).exists()
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    assert re.search("trash", page.url)


def test_what_the_support_bot_knew_about_maria_at_a_past_moment(
    page: Page, live_server, olga, world, screenshot
):
    # The refund memory was rewritten on 4 March; before that it said what it said on the 2nd.
    history = MemoryHistory.objects.filter(memory_id=world["refund"])
    history.update(created_at="2026-03-02T09:00:00Z")
    Memory.objects.filter(pk=world["refund"]).update(memory="Maria got her refund")
    MemoryHistory.objects.create(
        project_id=history.first().project_id,
        memory_id=world["refund"],
        event="UPDATE",
        old_memory=REFUND,
        new_memory="Maria got her refund",
        user_id="maria",
        actor="user:olga",
        created_at="2026-03-04T09:00:00Z",
    )
    log_in(page, live_server, "olga")
    page.goto(f"{live_server.url}/entities/user/maria/")
    page.get_by_role("link", name="As of…").click()
    expect(page.get_by_label("User")).to_have_value("maria")
    page.get_by_label("As of (UTC)").fill("2026-03-03T12:00")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("h1")).to_contain_text("As of 2026-03-03 12:00 UTC")
    rows = page.locator("#as-of-table tbody tr")
    expect(rows).to_have_count(1)  # the email preference came later (today)
    expect(rows.first).to_contain_text(REFUND)
    screenshot(page, "as-of")
    page.get_by_label("As of (UTC)").fill("2026-03-05T12:00")
    page.get_by_role("button", name="Show").click()
    expect(rows.first).to_contain_text("Maria got her refund")
    expect(page.locator("#as-of-count")).to_contain_text("1 memory then")
