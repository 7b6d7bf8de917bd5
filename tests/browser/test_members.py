"""Members on the Settings page in a real browser: add a new person (their one-time password
shown once), change their role, remove them after an in-page confirmation; and the key revoke
confirmation. The strict CSP must raise no console errors on the way."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tenancy.models import ApiKey, Membership, Role
from tests.browser.conftest import log_in
from tests.browser.test_developers import collect_errors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_add_show_password_once_change_role_remove(
    page: Page, live_server, alice, project, screenshot
):
    errors = collect_errors(page)
    log_in(page, live_server, "alice")
    page.get_by_role("link", name="Settings").click()
    members = page.locator("#members")
    members.get_by_label("Username or email").fill("newbie")
    members.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_role("button", name="Add member").click()
    password = page.locator("#one-time-password-value")
    expect(password).to_have_text(re.compile(r"^\S{6}-\S{6}-\S{6}$"))
    expect(page.locator("#toasts")).to_contain_text("newbie added as viewer.")
    newbie = Membership.objects.get(user__username="newbie").user

    page.locator(f"#role-{newbie.pk}").select_option("editor")
    page.locator(f"#save-role-{newbie.pk}").click()
    expect(page.locator("#toasts")).to_contain_text("newbie is now editor.")
    # The panel was swapped: the one-time password is gone for good.
    expect(page.locator("#one-time-password")).to_have_count(0)
    assert Membership.objects.get(user=newbie).role == Role.EDITOR

    # The confirmation closes on Cancel without a request, and removes on confirm.
    page.locator(f"#remove-{newbie.pk}").click()
    confirm = page.locator("#delete-confirm")
    expect(confirm).to_contain_text("Remove newbie from project")
    confirm.get_by_role("link", name="Cancel").click()
    expect(confirm).to_be_empty()
    page.locator(f"#remove-{newbie.pk}").click()
    page.get_by_role("button", name="Remove member").click()
    expect(page.locator("#toasts")).to_contain_text("newbie removed from the project.")
    expect(page.locator(f"#member-{newbie.pk}")).to_have_count(0)
    assert not Membership.objects.filter(user=newbie).exists()

    page.reload()
    expect(page.locator("#one-time-password")).to_have_count(0)
    assert errors == []
    # Last: Playwright's screenshots leave style="" on inputs, which a later swap would copy
    # (htmx settles ids' attributes) into a blocked inline style.
    screenshot(page, "members")


def test_key_revoke_confirmation_names_the_key(page: Page, live_server, alice, project):
    errors = collect_errors(page)
    key, _raw = ApiKey.generate(project=project, role=Role.EDITOR, name="support bot")
    log_in(page, live_server, "alice")
    page.get_by_role("link", name="API keys").click()
    page.get_by_role("button", name="Revoke", exact=True).click()
    confirm = page.locator("#delete-confirm")
    expect(confirm).to_contain_text("support bot")
    expect(confirm).to_contain_text(f"{key.prefix}…")
    page.get_by_role("button", name="Revoke key").click()
    expect(page.locator("#api-keys")).to_contain_text("revoked")
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert errors == []


def test_admin_adds_a_viewer_who_logs_in_changes_password_and_cannot_write(
    page: Page, browser, live_server, alice, project
):
    from tests.dashboard.conftest import remember

    (memory,) = remember(project, "Likes green tea", user_id="alex")
    log_in(page, live_server, "alice")
    page.get_by_role("link", name="Settings").click()
    members = page.locator("#members")
    members.get_by_label("Username or email").fill("reader")
    members.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_role("button", name="Add member").click()
    one_time = page.locator("#one-time-password-value").inner_text()

    # The viewer, in their own browser: the one-time password leads to choosing their own.
    viewer = browser.new_context().new_page()
    errors = collect_errors(viewer)
    viewer.goto(f"{live_server.url}/login/")
    viewer.get_by_label("Username").fill("reader")
    viewer.get_by_label("Password").fill(one_time)
    viewer.get_by_role("button", name="Log in").click()
    expect(viewer).to_have_url(re.compile(r"/password/"))
    viewer.get_by_label("Old password").fill(one_time)
    viewer.get_by_label("New password", exact=True).fill("a-reader-chose-this-1")
    viewer.get_by_label("New password confirmation").fill("a-reader-chose-this-1")
    viewer.get_by_role("button", name="Change password").click()
    expect(viewer).to_have_url(f"{live_server.url}/")
    expect(viewer.locator("header .badge")).to_have_text("viewer")

    # No write controls: no selection or bulk delete, no Trash, Settings or keys, no edit.
    expect(viewer.locator("#memory-table")).to_contain_text("Likes green tea")
    expect(viewer.locator("#bulk-bar")).to_have_count(0)
    expect(viewer.locator("#memory-table input[type=checkbox]")).to_have_count(0)
    for name in ("Trash", "Settings", "API keys"):
        expect(viewer.get_by_role("link", name=name, exact=True)).to_have_count(0)
    viewer.goto(f"{live_server.url}/memories/{memory.pk}/")
    expect(viewer.locator("main")).to_contain_text("Likes green tea")
    expect(viewer.get_by_role("link", name="Edit")).to_have_count(0)
    expect(viewer.get_by_role("button", name=re.compile("Delete"))).to_have_count(0)
    # A viewer may still choose their own columns.
    viewer.goto(f"{live_server.url}/")
    viewer.locator("#columns-button").click()
    viewer.locator("#column-updated_at").check()
    viewer.locator("#save-columns").click()
    expect(viewer.locator("#memory-table th.col-updated")).to_have_text("Updated")

    # The new password works in a fresh session; the one-time one no longer does.
    fresh = browser.new_context().new_page()
    fresh.goto(f"{live_server.url}/login/")
    fresh.get_by_label("Username").fill("reader")
    fresh.get_by_label("Password").fill("a-reader-chose-this-1")
    fresh.get_by_role("button", name="Log in").click()
    expect(fresh).to_have_url(f"{live_server.url}/")
    assert errors == []
