"""A bulk delete of 5,000 memories in a real browser, run by a real Celery worker: the
confirmation and the header agree on the exact count, the list follows the Event's progress,
and when it finishes the table reloads without the deleted rows."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from memories.models import Event, Memory
from tests.browser.conftest import log_in
from tests.dashboard.conftest import remember
from tests.memories.bulk import seed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZE = 5000


def test_bulk_delete_of_5000_follows_the_worker_and_refreshes_the_table(
    page: Page, live_server, on_redis, alice, project, settings, screenshot
):
    settings.MEMDASH_SYNC_DELETE_LIMIT = 1000  # 5,000 is a worker's job
    seed(project, SIZE, "bulk")
    remember(project, "Carol likes tea", user_id="carol")
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/?user_id=bulk")
    # Past the dashboard's count cap the header estimates...
    expect(page.locator("#memory-count")).to_contain_text("1,000+")

    page.get_by_role("button", name=re.compile(r"^Delete all .* matching…$")).click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Delete 5,000 memories?")
    # ...and the confirmation makes it exact, header included: one count on the screen.
    expect(page.locator("#memory-count")).to_have_text("5,000 memories")
    page.get_by_role("button", name="Delete 5,000 memories").click()

    progress = page.locator("#bulk-progress")
    expect(progress).to_contain_text("Event ")
    expect(page.locator("#toasts .toast-link")).to_have_attribute(
        "href", re.compile(r"^/activity/[0-9a-f-]{36}/$")
    )
    # The worker finishes; the poll sees it, stops, and the table reloads without the rows.
    expect(progress).to_contain_text("Deleted 5,000 memories.", timeout=60_000)
    expect(progress.locator("progress")).to_have_attribute("value", "5000")
    expect(page.locator("#memory-table")).to_contain_text("No memory matches", timeout=10_000)
    expect(page.locator("#memory-count")).to_contain_text("0 memories")
    screenshot(page, "bulk-delete-progress-done")

    event = Event.objects.get(project=project, event_type="DELETE")
    assert event.status == "SUCCEEDED"
    assert event.progress == {"done": SIZE, "total": SIZE}
    assert event.results == {"deleted": SIZE}
    assert list(Memory.objects.filter(project=project).values_list("memory", flat=True)) == [
        "Carol likes tea"
    ]

    # The Event page: finished, so it shows the whole progress and does not poll.
    progress.get_by_role("link", name=re.compile(r"^Event ")).click()
    live = page.locator("#event-live")
    expect(live).to_contain_text("SUCCEEDED")
    expect(live).to_contain_text("5,000 / 5,000")
    expect(live).not_to_have_attribute("hx-trigger", "every 2s")
    expect(page.locator("#changes-shown")).to_contain_text("of the 5,000 memories it deleted")


def test_activity_and_the_event_page_follow_a_running_event(
    page: Page, live_server, alice, project
):
    from django.utils import timezone

    now = timezone.now()
    event = Event.objects.create(
        project=project,
        event_type=Event.Type.DELETE,
        status=Event.Status.RUNNING,
        payload={"filters": {"user_id": "bulk"}},
        metadata={"user_id": "bulk"},
        actor="user:alice",
        progress={"done": 2000, "total": 5000},
        created_at=now,
        updated_at=now,
        started_at=now,
    )
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/activity/")
    expect(page.locator("#event-table")).to_contain_text("2,000 / 5,000")
    Event.objects.filter(pk=event.pk).update(progress={"done": 4000, "total": 5000})
    expect(page.locator("#event-table")).to_contain_text("4,000 / 5,000", timeout=6_000)
    Event.objects.filter(pk=event.pk).update(
        status=Event.Status.SUCCEEDED, results={"deleted": 5000}, completed_at=timezone.now()
    )
    expect(page.locator("#event-table")).to_contain_text("5,000 deleted", timeout=6_000)
    expect(page.locator("#event-table")).not_to_have_attribute("data-polling", "")
    assert page.url == f"{live_server.url}/activity/"  # its refreshes left the address alone

    Event.objects.filter(pk=event.pk).update(
        status=Event.Status.RUNNING, results=None, completed_at=None
    )
    page.goto(f"{live_server.url}/activity/{event.pk}/")
    expect(page.locator("#event-live")).to_contain_text("4,000 / 5,000")
    Event.objects.filter(pk=event.pk).update(
        status=Event.Status.SUCCEEDED,
        results={"deleted": 5000},
        progress={"done": 5000, "total": 5000},
        completed_at=timezone.now(),
    )
    # The poll that sees it finished reloads the page: the results are there.
    expect(page.locator("#results-title + pre")).to_contain_text('"deleted": 5000', timeout=6_000)
    expect(page.locator("#event-live")).to_contain_text("SUCCEEDED")
