"""The Developers pages in a real browser: Connect shows the snippets for this server, and the
API reference renders every documented operation from local files, without console errors."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def collect_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Everything must come from this server: no CDN.
    page.on(
        "request",
        lambda request: (
            errors.append(f"external request {request.url}")
            if not request.url.startswith(("http://localhost", "http://127.0.0.1", "data:"))
            else None
        ),
    )
    return errors


def test_connect_shows_the_snippets_for_this_server(page: Page, live_server, alice, screenshot):
    errors = collect_errors(page)
    log_in(page, live_server, "alice")
    page.get_by_role("link", name="Developers").click()
    page.wait_for_url(f"{live_server.url}/developers/")
    expect(page.locator("#connect-host")).to_have_text(live_server.url)
    expect(page.locator("#snippet-python")).to_contain_text(
        f'MemoryClient(api_key="YOUR_MEMDASH_API_KEY", host="{live_server.url}")'
    )
    expect(page.locator("#snippet-js")).to_contain_text('import MemoryClient from "mem0ai";')
    expect(page.locator("#snippet-curl")).to_contain_text(f"{live_server.url}/v3/memories/add/")
    expect(page.locator("#snippet-mcp")).to_contain_text(f'"url": "{live_server.url}/mcp/"')
    screenshot(page, "developers-connect")
    assert errors == []


def test_the_api_reference_renders_its_operations(page: Page, live_server, alice, screenshot):
    errors = collect_errors(page)
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/developers/")
    page.locator("#api-reference-link").click()
    page.wait_for_url(f"{live_server.url}/developers/api/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("memdash API")
    add = page.locator(".opblock", has_text="/v3/memories/add/").first
    expect(add).to_contain_text("Add memories")
    assert page.locator(".opblock").count() > 60
    expect(page.locator(".swagger-ui .btn.authorize")).to_be_visible()
    # Opening an operation shows its documented body and responses.
    add.locator(".opblock-summary").click()
    expect(add.locator(".responses-table")).to_contain_text("200")
    expect(add).to_contain_text("messages")
    screenshot(page, "developers-api")
    assert errors == []
