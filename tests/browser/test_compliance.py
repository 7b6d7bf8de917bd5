"""A compliance officer's whole journey in a real browser, with a real worker: find the person,
export what is held about them, erase them after the preview, download the receipt, and find
the person page empty."""

from __future__ import annotations

import json
import zipfile

import pytest
from playwright.sync_api import Page, expect

from core import receipts
from memories.models import Memory
from tests.browser.conftest import log_in
from tests.dashboard.conftest import remember

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def olga(project):
    from tenancy.models import Role
    from tests.dashboard.conftest import make_user

    return make_user("olga", project, Role.COMPLIANCE)


@pytest.fixture
def maria(project):
    remember(project, "Maria's phone is 555-0199", user_id="maria", app_id="helpdesk")
    remember(project, "Maria asked about a refund", user_id="maria", run_id="ticket-7")
    remember(project, "Maria prefers email", user_id="maria")
    remember(project, "Bob says maria is on leave", user_id="bob")
    remember(project, "Carol likes tea", user_id="carol")
    return project


def test_find_export_erase_and_prove_it(
    page: Page, live_server, on_redis, olga, maria, screenshot, tmp_path
):
    log_in(page, live_server, "olga")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Compliance").click()
    page.get_by_label("Entity type").select_option("user")
    page.get_by_label("Id").fill("maria")
    page.get_by_role("button", name="Open the person page").click()
    expect(page.get_by_role("heading", name="Memories (3)")).to_be_visible()
    expect(page.locator("ul.groups[data-field=app_id]")).to_contain_text("helpdesk")
    expect(page.locator("#person-mentions")).to_contain_text("Bob says maria is on leave")
    screenshot(page, "person")

    # Export: the page follows the worker, then offers the zip.
    page.get_by_role("button", name="Export").click()
    expect(page.get_by_role("heading", name="Ready")).to_be_visible(timeout=60_000)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the zip").click()
    archive = zipfile.ZipFile(download.value.path())
    memories = json.loads(archive.read("memories.json"))
    assert sorted(m["memory"] for m in memories) == [
        "Maria asked about a refund",
        "Maria prefers email",
        "Maria's phone is 555-0199",
    ]
    assert "README.txt" in archive.namelist()

    # Erase, after the preview, with bob's mention of her.
    page.get_by_role("link", name="Person page").click()
    page.get_by_role("link", name="Erase…").click()
    expect(page.locator("#erasure-counts")).to_contain_text("Exports holding the subject's data")
    page.get_by_label("Bob says maria is on leave").check()
    page.get_by_label("Reference").fill("DSR-77")
    page.get_by_label("Reason").fill("GDPR art. 17 request")
    page.get_by_role("textbox", name="Confirm").fill("Maria")
    page.get_by_role("button", name="Erase").click()
    expect(page.locator(".errorlist")).to_contain_text("type maria exactly to confirm")
    page.get_by_label("Bob says maria is on leave").check()
    page.get_by_role("textbox", name="Confirm").fill("maria")
    page.get_by_role("button", name="Erase").click()
    expect(page.get_by_role("heading", name="Done: nothing of the subject is left")).to_be_visible(
        timeout=60_000
    )
    expect(page.locator("#receipt-counts")).to_contain_text("4 memories")
    screenshot(page, "erasure-receipt")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the receipt (JSON)").click()
    receipt = json.loads(open(download.value.path()).read())  # noqa: SIM115
    receipts.verify(receipt)
    assert receipt["reference"] == "DSR-77" and receipt["counts"]["exports"] == 1
    assert "maria" not in json.dumps(receipt).lower()

    # The person page now holds nothing, but the erasure done for her.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Compliance").click()
    page.get_by_label("Id").fill("maria")
    page.get_by_role("button", name="Open the person page").click()
    expect(page.locator("#holds-nothing")).to_be_visible()
    expect(page.locator("#person-erasures")).to_contain_text("DSR-77")
    expect(page.locator("#person-exports")).to_contain_text("No exports.")
    expect(page.get_by_role("button", name="Export")).to_have_count(0)
    assert set(Memory.objects.filter(project=maria).values_list("memory", flat=True)) == {
        "Carol likes tea"
    }
    screenshot(page, "person-after-erasure")
