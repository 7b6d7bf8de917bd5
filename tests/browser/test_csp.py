"""The Content-Security-Policy in a real browser: every kind of dashboard page loads without a
single violation (no inline script, style or handler, no eval) and without a JavaScript error,
and the behaviours that used to be inline `hx-on` handlers or an eval'd trigger filter (Cancel,
Dismiss, filters that apply on change) still work, bound by static/memdash.js.

Violations are caught twice: Chromium reports each one as a console error, and a
`securitypolicyviolation` listener (installed by Playwright, which the policy does not cover)
reports the directive and what it blocked.
"""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from memories import holds, services
from memories.models import Event, Memory
from memories.subjects import Subject
from tests.browser.conftest import PASSWORD, log_in
from tests.dashboard.conftest import remember

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH_VIOLATIONS = """
window.cspViolations = 0;
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations += 1;
  window.reportViolation(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || document.location.pathname}:${event.lineNumber}`);
});
"""


class Problems:
    """Every CSP violation and JS error the page reports, and where it was."""

    def __init__(self, page: Page) -> None:
        self.found: list[str] = []
        page.expose_function("reportViolation", lambda text: self.found.append(f"CSP: {text}"))
        page.add_init_script(WATCH_VIOLATIONS)
        page.on(
            "console",
            lambda message: (
                self.found.append(f"console {message.type} at {page.url}: {message.text}")
                if message.type in ("error", "warning")
                else None
            ),
        )
        page.on("pageerror", lambda exc: self.found.append(f"JS error at {page.url}: {exc}"))


@pytest.fixture
def problems(page: Page) -> Problems:
    return Problems(page)


@pytest.fixture
def world(project):
    nuts = remember(project, "I am allergic to nuts", user_id="alex", metadata={"diet": "vegan"})[0]
    remember(project, "Prefers window seats on long flights", user_id="alex")
    remember(project, "Collects vintage fountain pens", user_id="bob")
    remember(project, "Maria asked about a refund", user_id="maria")
    held = remember(project, "Maria prefers email", user_id="maria")[0]
    services.delete_memory(Memory.objects.get(pk=held.pk), actor="user:alice")
    holds.place(project, Subject("user", "maria"), name="Doe v. Acme", actor="user:alice")
    return {"memory": nuts, "event": Event.objects.filter(project=project).first()}


def visit(page: Page, live_server, path: str) -> None:
    response = page.goto(f"{live_server.url}{path}")
    assert response is not None and response.status == 200, (path, response and response.status)
    page.wait_for_load_state("networkidle")


def test_every_page_kind_loads_without_a_violation_or_a_js_error(
    page: Page, live_server, alice, world, problems
):
    visit(page, live_server, "/login/")
    log_in(page, live_server, "alice")
    memory, event = world["memory"], world["event"]
    pages = [
        "/",
        "/?user_id=alex&sort=updated",
        f"/memories/{memory.pk}/",
        f"/memories/{memory.pk}/edit/",
        f"/memories/{memory.pk}/delete/",
        "/memories/as-of/",
        "/entities/",
        "/entities/user/alex/",
        "/activity/",
        f"/activity/{event.pk}/",
        "/settings/",
        "/keys/",
        "/audit/",
        "/trash/",
        "/compliance/",
        "/compliance/person/?entity_type=user&entity_id=maria",
        "/compliance/holds/",
        "/compliance/retention/",
        "/exports/",
        "/erasures/",
        "/erasures/new/?entity_type=user&entity_id=bob",
        "/developers/",
        "/developers/api/",
        "/password/",
    ]
    for path in pages:
        visit(page, live_server, path)
    # The API reference really rendered (Swagger UI runs under the same policy).
    visit(page, live_server, "/developers/api/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("memdash API")
    assert problems.found == []
    # A 404 page, too: Chromium logs its status as a failed load, which is expected.
    page.goto(f"{live_server.url}/memories/00000000-0000-0000-0000-000000000000/")
    expect(page.locator("h1")).to_be_visible()
    assert [p for p in problems.found if "status of 404" not in p] == []


def test_cancel_and_dismiss_close_confirmations_without_inline_handlers(
    page: Page, live_server, alice, world, problems
):
    log_in(page, live_server, "alice")

    # Bulk delete: Cancel closes the confirmation in place, nothing is deleted.
    page.get_by_label("Select memory Collects vintage fountain pens").check()
    page.get_by_role("button", name="Delete selected…").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Delete 1 memory?")
    page.locator("#cancel-delete").click()
    expect(dialog).to_have_count(0)
    expect(page).to_have_url(f"{live_server.url}/")
    assert Memory.objects.filter(memory="Collects vintage fountain pens").exists()

    # A refusal (nothing selected) is dismissed by its button.
    page.evaluate(
        """() => htmx.ajax("POST", "/memories/bulk-delete/",
                            {source: document.body, target: "#bulk-confirm", swap: "outerHTML"})"""
    )
    expect(page.locator("#bulk-refusal")).to_be_visible()
    page.locator("#bulk-refusal").get_by_role("button", name="Dismiss").click()
    expect(page.locator("#bulk-refusal")).to_have_count(0)

    # An entity's delete: Cancel closes the confirmation and stays on the entity page.
    page.goto(f"{live_server.url}/entities/user/bob/")
    page.get_by_role("link", name="Delete user…").click()
    expect(page.get_by_role("alertdialog")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    expect(page).to_have_url(f"{live_server.url}/entities/user/bob/")

    # Without the page it came from, Cancel is a link back (the full confirmation page).
    page.goto(f"{live_server.url}/memories/{world['memory'].pk}/delete/")
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(f"{live_server.url}/memories/{world['memory'].pk}/")

    # The trash: a held memory's purge is refused, and Dismiss closes the refusal; another
    # purge's Cancel closes its confirmation.
    page.goto(f"{live_server.url}/trash/")
    page.get_by_role("button", name="Purge memory Maria prefers email").click()
    expect(page.locator("#trash-refusal")).to_contain_text("Doe v. Acme")
    page.get_by_role("button", name="Dismiss").click()
    expect(page.locator("#trash-refusal")).to_have_count(0)
    assert problems.found == []


def test_filters_that_apply_on_change_still_do(page: Page, live_server, alice, world, problems):
    log_in(page, live_server, "alice")
    page.get_by_label("Sort").select_option("updated")
    expect(page).to_have_url(f"{live_server.url}/?sort=updated")
    expect(page.locator("#memory-table th.num")).to_have_text("Updated")
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    page.get_by_label("Created from").fill(tomorrow)
    expect(page).to_have_url(f"{live_server.url}/?date_from={tomorrow}&sort=updated")
    expect(page.locator("#memory-count")).to_contain_text("0 memories")
    # The "Filter by" row is not one of them: choosing a field sends nothing by itself.
    page.get_by_label("Filter by").select_option("user_id")
    expect(page).to_have_url(f"{live_server.url}/?date_from={tomorrow}&sort=updated")
    assert problems.found == []


def test_the_login_and_lockout_pages_obey_the_policy(page: Page, live_server, alice, problems):
    for attempt in range(5):
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill(f"wrong-{attempt}")
        page.get_by_role("button", name="Log in").click()
    expect(page.locator("#locked-out")).to_contain_text("Try again in 15 minutes")
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#locked-out")).to_be_visible()
    # The 429 of the lockout page is reported by Chromium as a failed resource: not a problem.
    assert [p for p in problems.found if "429" not in p] == []


def test_the_watch_does_catch_violations(page: Page, live_server, alice, problems):
    # The other tests pass only if nothing is found: prove that something would be.
    log_in(page, live_server, "alice")
    page.evaluate(
        """() => {
          document.body.insertAdjacentHTML("beforeend", '<p style="color: red">styled</p>');
          const script = document.createElement("script");
          script.textContent = "window.ranInline = true";
          document.body.appendChild(script);
        }"""
    )
    # Reports are queued as tasks, not dispatched at once: wait until both have arrived.
    page.wait_for_function("() => window.cspViolations >= 2")
    assert page.evaluate("() => window.ranInline === undefined")
    found = "\n".join(problems.found)
    assert "CSP: style-src-attr blocked inline" in found, found
    assert "CSP: script-src-elem blocked inline" in found, found
