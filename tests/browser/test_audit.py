"""An auditor's journey in a real browser: "who read maria's memories, when, and through which
key?" A support bot's API key and a support agent read her memories (and bob's); a compliance
officer filters the Audit page by maria and a date range, removes a pill, downloads the CSV and
finds the same readers in the "Accessed by" panel of her memory. A viewer sees no Audit page."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from audit.query import CSV_COLUMNS
from tenancy.models import Role
from tenancy.services import create_api_key
from tests.browser.conftest import log_in
from tests.conftest import add_verbatim, api_client
from tests.dashboard.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KEY = "support bot"


@pytest.fixture
def olga(project):
    return make_user("olga", project, Role.COMPLIANCE)


@pytest.fixture
def sam(project):
    return make_user("sam", project, Role.VIEWER)


@pytest.fixture
def read_by_the_bot(project):
    """maria's and bob's memories, stored and then read through the support bot's key."""
    bot = api_client(create_api_key(project, role=Role.EDITOR, name=KEY))
    refund = add_verbatim(bot, "Maria asked about a refund for order 1182", user_id="maria")[0]
    add_verbatim(bot, "Maria prefers email to phone calls", user_id="maria")
    pens = add_verbatim(bot, "Bob collects vintage fountain pens", user_id="bob")[0]
    response = bot.post(
        "/v3/memories/search/",
        {"query": "refund", "filters": {"user_id": "maria"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    for memory in (refund, pens):
        response = bot.get(f"/v1/memories/{memory['id']}/")
        assert response.status_code == 200, response.content
    return {"refund": refund["id"], "pens": pens["id"]}


def audit_rows(page: Page):
    return page.locator("#audit-table tbody tr")


def test_who_read_marias_memories_in_a_date_range_then_the_csv(
    page: Page, live_server, olga, sam, read_by_the_bot, screenshot
):
    refund = read_by_the_bot["refund"]
    today = dt.datetime.now(dt.UTC).date()
    yesterday = today - dt.timedelta(days=1)

    # A support agent opens maria's refund memory from the memories list.
    log_in(page, live_server, "sam")
    page.get_by_role("link", name="Maria asked about a refund for order 1182").click()
    expect(page).to_have_url(f"{live_server.url}/memories/{refund}/")
    expect(page.locator("#memory-text")).to_have_text("Maria asked about a refund for order 1182")
    expect(page.locator("#accessed-by")).to_have_count(0)  # a viewer sees no access log
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server.url}/login/")

    # The compliance officer opens Audit from the navigation.
    log_in(page, live_server, "olga")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    expect(page).to_have_url(f"{live_server.url}/audit/")
    expect(page.get_by_role("heading", name="Audit")).to_be_visible()

    # Entity maria, typed into the Entity box; the table follows as one types, and the box
    # one types in is left alone (not swapped for a copy).
    entity = page.get_by_label("Entity", exact=True)
    entity.evaluate("box => box.dataset.typedIn = 'yes'")
    entity.press_sequentially("maria", delay=50)
    expect(page).to_have_url(f"{live_server.url}/audit/?entity=maria")
    expect(entity).to_have_attribute("data-typed-in", "yes")
    expect(entity).to_be_focused()

    # A range that holds none of these reads (yesterday) selects nothing...
    page.get_by_label("Since", exact=True).fill(yesterday.isoformat())
    page.get_by_label("Until", exact=True).fill(yesterday.isoformat())
    expect(page).to_have_url(
        f"{live_server.url}/audit/?entity=maria&since={yesterday}&until={yesterday}"
    )
    expect(audit_rows(page)).to_have_count(1)
    expect(audit_rows(page)).to_contain_text("Nothing matches these filters.")
    # ...until today: every read of maria's memories, newest first, each by its reader's name.
    page.get_by_label("Until", exact=True).fill(today.isoformat())
    expect(page).to_have_url(
        f"{live_server.url}/audit/?entity=maria&since={yesterday}&until={today}"
    )
    expect(audit_rows(page).locator("td:nth-child(2) code")).to_have_text(
        ["memories.list", "memory.get", "memories.list", "memory.get", "memories.search"]
    )
    by = audit_rows(page).locator("td:nth-child(3)")
    expect(by.nth(0)).to_contain_text("olga user")  # her own landing on the memories list
    for n in (1, 2):
        expect(by.nth(n)).to_contain_text("sam user")
    for n in (3, 4):
        expect(by.nth(n)).to_contain_text(KEY)
        expect(by.nth(n)).not_to_contain_text("api-key:")  # the name, not a prefix to look up
    expect(audit_rows(page).nth(4)).to_contain_text("query refund")
    pills = page.locator("#audit-table .pills .pill")
    expect(pills).to_have_count(3)
    expect(page.get_by_role("link", name="Remove filter entity maria")).to_be_visible()
    expect(page.get_by_role("link", name=f"Remove filter since {yesterday}")).to_be_visible()
    expect(page.get_by_role("link", name=f"Remove filter until {today}")).to_be_visible()
    screenshot(page, "audit-page")

    # Remove the "since" pill: the same rows, and the form forgets the date too.
    page.get_by_role("link", name=f"Remove filter since {yesterday}").click()
    expect(page).to_have_url(f"{live_server.url}/audit/?entity=maria&until={today}")
    expect(pills).to_have_count(2)
    expect(audit_rows(page)).to_have_count(5)
    expect(page.get_by_label("Since", exact=True)).to_have_value("")
    expect(page.get_by_label("Entity", exact=True)).to_have_value("maria")
    # So the next change does not bring the removed filter back.
    page.get_by_label("Kind").select_option("read")
    expect(page).to_have_url(f"{live_server.url}/audit/?kind=read&entity=maria&until={today}")
    expect(audit_rows(page)).to_have_count(5)

    # Download what the filters select: the CSV holds the same five reads of maria, by name.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.startswith("memdash-audit-")
    with open(download.value.path(), newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    header, *lines = table
    assert tuple(header) == CSV_COLUMNS
    rows = [dict(zip(header, line, strict=True)) for line in lines]
    assert [(r["actor_name"], r["action"], r["surface"]) for r in rows] == [
        ("olga", "memories.list", "dashboard"),
        ("sam", "memory.get", "dashboard"),
        ("sam", "memories.list", "dashboard"),
        (KEY, "memory.get", "api"),
        (KEY, "memories.search", "api"),
    ]
    assert all(r["kind"] == "read" and "user:maria" in r["entities"].split() for r in rows)
    assert all(r["at"].startswith(today.isoformat()) for r in rows)
    assert rows[4]["query"] == "refund" and refund in rows[4]["memory_ids"].split()
    assert rows[3]["memory_ids"] == refund and rows[3]["actor_type"] == "key"

    # From sam's read, open maria's memory: its "Accessed by" panel names the key and sam.
    audit_rows(page).nth(1).get_by_role("link", name=refund[:8]).click()
    expect(page).to_have_url(f"{live_server.url}/memories/{refund}/")
    panel = page.locator("#accessed-by > li")
    readers = ["olga user", "olga user", "sam user", "sam user", KEY, KEY]  # olga's: this page
    expect(panel).to_have_count(len(readers))
    expect(panel).to_contain_text(readers)
    expect(panel.locator("code")).to_have_text(
        [
            "memory.get",
            "memories.list",
            "memory.get",
            "memories.list",
            "memory.get",
            "memories.search",
        ]
    )
    expect(page.locator("#accessed-by")).not_to_contain_text("api-key:")
    screenshot(page, "accessed-by")
    page.get_by_role("link", name="All reads in the audit log").click()
    expect(page).to_have_url(f"{live_server.url}/audit/?kind=read&memory_id={refund}")
    expect(page.get_by_role("link", name=f"Remove filter memory {refund}")).to_be_visible()
    expect(audit_rows(page)).to_have_count(len(readers))


def test_a_viewer_has_no_audit_page(page: Page, live_server, vera):
    log_in(page, live_server, "vera")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Activity")).to_be_visible()
    expect(nav.get_by_role("link", name="Audit")).to_have_count(0)
    response = page.goto(f"{live_server.url}/audit/")
    assert response is not None and response.status == 403
    expect(page.locator("#audit-table")).to_have_count(0)
