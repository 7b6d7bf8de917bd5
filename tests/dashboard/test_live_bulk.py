"""Live bulk work: a large delete reports its progress, the Event page and Activity follow it
(one indexed query a poll), the list reloads when it finishes, and the counts agree."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from memories import events, services
from memories.models import Event, Memory
from tests.dashboard.conftest import bulk_memories, htmx

pytestmark = pytest.mark.django_db

BULK_URL = reverse("memories:bulk_delete")


def event_url(event: Event) -> str:
    return reverse("memories:event", args=[event.id])


@pytest.fixture
def big_delete(project, settings, monkeypatch):
    """A PENDING delete of 7 of alex's memories (a worker's job: the sync limit is 3), deleted
    2 a chunk when run."""
    settings.MEMDASH_SYNC_DELETE_LIMIT = 3
    monkeypatch.setattr(services, "DELETE_CHUNK", 2)
    monkeypatch.setattr(services, "PROGRESS_CHUNK_FLOOR", 2)
    bulk_memories(project, 7, user_id="alex")
    bulk_memories(project, 1, user_id="bob")
    event = services.delete_matching(project, {"user_id": "alex"}, actor="user:eddie")
    assert event.status == Event.Status.PENDING
    return event


# --- progress ----------------------------------------------------------------------------------


def test_a_workers_delete_records_progress_once_a_chunk(big_delete, monkeypatch):
    seen = []
    heartbeat = events.heartbeat

    def spy(event, **progress):
        heartbeat(event, **progress)
        seen.append(Event.objects.get(pk=event.pk).progress)

    monkeypatch.setattr(events, "heartbeat", spy)
    services.run_delete_event(big_delete.pk)
    # The count before the first chunk, then one UPDATE per chunk (2, 2, 2, 1).
    assert seen == [
        {"done": 0, "total": 7},
        {"done": 2, "total": 7},
        {"done": 4, "total": 7},
        {"done": 6, "total": 7},
        {"done": 7, "total": 7},
    ]
    big_delete.refresh_from_db()
    assert big_delete.status == Event.Status.SUCCEEDED
    assert big_delete.progress == {"done": 7, "total": 7}
    assert big_delete.results == {"deleted": 7}


@pytest.mark.parametrize(
    ("expected", "chunk"),
    [(10, 500), (5_000, 500), (20_000, 1_000), (100_000, 5_000), (1_000_000, 5_000)],
)
def test_a_reported_delete_moves_its_bar_in_steps_but_never_in_tiny_chunks(expected, chunk):
    # The browser test's 5k delete shows ten steps, not a jump from 0 to done.
    assert services.progress_chunk(expected) == chunk


def test_a_delete_within_the_request_reports_no_progress(project):
    bulk_memories(project, 2, user_id="alex")
    event = services.delete_matching(project, {"user_id": "alex"}, actor="user:eddie")
    assert (event.status, event.progress) == (Event.Status.SUCCEEDED, None)


def test_progress_never_counts_fewer_than_done():
    assert events.progress_of(9, 7) == {"done": 9, "total": 9}


def test_the_api_event_carries_progress(api, big_delete):
    Event.objects.filter(pk=big_delete.pk).update(progress={"done": 2, "total": 7})
    body = api.get(f"/v1/event/{big_delete.pk}/").json()
    assert body["progress"] == {"done": 2, "total": 7}
    assert body["status"] == "PENDING"
    listed = api.get("/v1/events/").json()["results"]
    assert {"done": 2, "total": 7} in [row["progress"] for row in listed]


# --- the Event page's poll ----------------------------------------------------------------------


def test_event_page_polls_while_the_event_runs(viewer_client, big_delete):
    page = viewer_client.get(event_url(big_delete)).content.decode()
    assert '<div id="event-live"' in page
    assert 'hx-trigger="every 2s"' in page
    Event.objects.filter(pk=big_delete.pk).update(
        status="RUNNING", progress={"done": 2, "total": 7}
    )
    response = viewer_client.get(event_url(big_delete), headers=htmx("event-live"))
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert content.lstrip().startswith('<div id="event-live"')
    assert 'hx-trigger="every 2s"' in content
    assert '<progress max="7" value="2"' in content
    assert "2 / 7" in content
    assert "HX-Refresh" not in response.headers


def test_a_poll_is_one_query_on_the_event(viewer_client, big_delete):
    viewer_client.get(event_url(big_delete), headers=htmx("event-live"))  # sessions warm
    with CaptureQueriesContext(connection) as queries:
        viewer_client.get(event_url(big_delete), headers=htmx("event-live"))
    about_memories = [q["sql"] for q in queries if '"memories_' in q["sql"]]
    assert len(about_memories) == 1, about_memories
    assert 'FROM "memories_event"' in about_memories[0]
    assert '"memories_event"."id" =' in about_memories[0]
    assert '"memories_event"."project_id" =' in about_memories[0]
    # Everything else is the login and membership every dashboard request checks.
    assert len(queries) <= 6, [q["sql"] for q in queries]


def test_the_poll_that_sees_it_finished_stops_and_reloads_the_page(viewer_client, big_delete):
    services.run_delete_event(big_delete.pk)
    response = viewer_client.get(event_url(big_delete), headers=htmx("event-live"))
    content = response.content.decode()
    assert "every 2s" not in content
    assert "SUCCEEDED" in content
    assert response["HX-Refresh"] == "true"
    page = viewer_client.get(event_url(big_delete)).content.decode()
    assert "every 2s" not in page


def test_history_restore_of_the_event_page_is_the_full_page(viewer_client, big_delete):
    response = viewer_client.get(
        event_url(big_delete), headers=htmx("event-live", **{"HX-History-Restore-Request": "true"})
    )
    assert "<html" in response.content.decode()


def test_another_projects_event_is_a_404_to_the_poll(charlie_client, big_delete):
    response = charlie_client.get(event_url(big_delete), headers=htmx("event-live"))
    assert response.status_code == 404


def test_many_changes_say_what_the_results_hold(viewer_client, project, settings):
    settings.MEMDASH_SYNC_DELETE_LIMIT = 1000
    bulk_memories(project, 102, user_id="alex")
    event = services.delete_matching(project, {"user_id": "alex"}, actor="user:eddie")
    page = viewer_client.get(event_url(event)).content.decode()
    assert "the results below list them all" not in page
    assert "Showing the first 100 of the 102 memories it deleted" in page


# --- the list follows a bulk delete --------------------------------------------------------------


def test_a_background_bulk_delete_shows_its_progress_on_the_list(editor_client, project, settings):
    settings.MEMDASH_SYNC_DELETE_LIMIT = 3
    bulk_memories(project, 5, user_id="alex")
    response = editor_client.post(
        f"{BULK_URL}?user_id=alex", {"all": "1", "confirmed": "1"}, headers=htmx("bulk-confirm")
    )
    content = response.content.decode()
    event = Event.objects.get(project=project, event_type="DELETE")
    assert event.status == "PENDING"
    assert '<div id="bulk-progress"' in content
    assert 'hx-swap-oob="true"' in content.split('<div id="bulk-progress"', 1)[1].split(">")[0]
    assert f'href="{event_url(event)}"' in content
    trigger = json.loads(response["HX-Trigger"])
    assert trigger["toast"]["url"] == event_url(event)
    assert "in the background" in trigger["toast"]["message"]


def test_the_lists_poll_reloads_the_table_when_the_delete_is_done(editor_client, big_delete):
    pending = editor_client.get(event_url(big_delete), headers=htmx("bulk-progress"))
    assert "every 2s" in pending.content.decode()
    assert "HX-Trigger" not in pending.headers
    services.run_delete_event(big_delete.pk)
    done = editor_client.get(event_url(big_delete), headers=htmx("bulk-progress"))
    content = done.content.decode()
    assert content.lstrip().startswith('<div id="bulk-progress"')
    assert "every 2s" not in content
    assert "Deleted 7 memories." in content
    trigger = json.loads(done["HX-Trigger"])
    assert trigger["memories-changed"] == str(big_delete.pk)
    assert trigger["toast"]["url"] == event_url(big_delete)
    # The list's filter form reloads the table on that event.
    listing = editor_client.get(reverse("memories:list")).content.decode()
    assert "memories-changed from:body" in listing


def test_confirming_all_matching_shows_the_exact_count_in_the_header(editor_client, project):
    bulk_memories(project, 4, user_id="alex")
    response = editor_client.post(
        f"{BULK_URL}?user_id=alex", {"all": "1"}, headers=htmx("bulk-confirm")
    )
    content = response.content.decode()
    assert "Delete 4 memories?" in content
    assert '<span id="memory-count" class="sub" hx-swap-oob="true">4 memories</span>' in content
    assert Memory.objects.filter(project=project).count() == 4


def test_confirming_selected_rows_leaves_the_header_alone(editor_client, project):
    rows = bulk_memories(project, 2, user_id="alex")
    response = editor_client.post(
        BULK_URL, {"ids": [str(rows[0].pk)]}, headers=htmx("bulk-confirm")
    )
    assert 'id="memory-count"' not in response.content.decode()


def test_a_viewer_cannot_start_a_bulk_delete(viewer_client, project):
    bulk_memories(project, 2, user_id="alex")
    response = viewer_client.post(f"{BULK_URL}?user_id=alex", {"all": "1", "confirmed": "1"})
    assert response.status_code == 403
    assert Memory.objects.filter(project=project).count() == 2


# --- Activity -----------------------------------------------------------------------------------


def test_activity_refreshes_while_an_event_runs(viewer_client, big_delete):
    url = reverse("memories:activity")
    Event.objects.filter(pk=big_delete.pk).update(
        status="RUNNING", progress={"done": 4, "total": 7}
    )
    page = viewer_client.get(url).content.decode()
    assert "data-polling" in page
    assert 'hx-trigger="every 2s"' in page
    assert '<progress class="row-progress" max="7" value="4"' in page
    # Its own refresh leaves the address alone; a filter change pushes it.
    own = viewer_client.get(url, headers=htmx("event-table", **{"HX-Trigger": "event-table"}))
    assert "HX-Push-Url" not in own.headers
    assert own.content.decode().lstrip().startswith('<section id="event-table"')
    filtered = viewer_client.get(
        f"{url}?type=DELETE", headers=htmx("event-table", **{"HX-Trigger": "event-filters"})
    )
    assert filtered["HX-Push-Url"] == f"{url}?type=DELETE"


def test_activity_stops_refreshing_when_nothing_runs(viewer_client, big_delete):
    services.run_delete_event(big_delete.pk)
    page = viewer_client.get(reverse("memories:activity")).content.decode()
    assert "data-polling" not in page
    assert "row-progress" not in page


def test_activity_shows_no_other_projects_running_event(charlie_client, big_delete):
    page = charlie_client.get(reverse("memories:activity")).content.decode()
    assert "data-polling" not in page
    assert str(big_delete.pk)[:8] not in page


# --- paged semantic search -----------------------------------------------------------------------


@pytest.fixture
def small_steps(monkeypatch):
    from memories import views

    monkeypatch.setattr(views, "SEARCH_TOP_K", 2)
    monkeypatch.setattr(views, "SEARCH_MAX_SHOWN", 4)
    monkeypatch.setattr(views, "SEARCH_THRESHOLD", 0.0)


def test_more_results_extend_the_search_with_the_same_scores(viewer_client, project, small_steps):
    from tests.dashboard.conftest import remember

    remember(
        project,
        "I am allergic to nuts",
        "Shellfish makes me ill",
        "I love long walks",
        "Prefers window seats",
        "Collects fountain pens",
        user_id="alex",
    )
    first = viewer_client.get("/?search=food+allergies")
    assert len(first.context["rows"]) == 2
    assert first.context["more_url"] == "/?search=food+allergies&shown=4"
    assert 'id="more-results"' in first.content.decode()
    more = viewer_client.get(first.context["more_url"], headers=htmx("memory-table"))
    rows = more.context["rows"]
    assert len(rows) == 4
    ranked = [(row.id, row.score) for row in rows]
    assert ranked[:2] == [(row.id, row.score) for row in first.context["rows"]]
    # The bound: no "more" past SEARCH_MAX_SHOWN, and the fragment's OOB swap says so.
    assert more.context["more_url"] is None
    content = more.content.decode()
    assert '<div id="search-more" class="search-more" hx-swap-oob="true">' in content
    assert "narrow the search" in content
    assert "shown=4" in more["HX-Push-Url"]


@pytest.mark.parametrize("shown", ["abc", "-5", "999999", ""])
def test_a_bad_shown_is_clamped(viewer_client, project, small_steps, shown):
    from tests.dashboard.conftest import remember

    remember(project, "I am allergic to nuts", user_id="alex")
    response = viewer_client.get(f"/?search=nuts&shown={shown}")
    assert response.status_code == 200
    assert len(response.context["rows"]) == 1


# --- page position and jump to date ----------------------------------------------------------------


def test_the_pager_tracks_the_pages_position(viewer_client, project):
    bulk_memories(project, 120, user_id="pager")
    first = viewer_client.get("/")
    assert first.context["position"].first == 1
    assert first.context["position"].last == 50
    assert "1–50 of</span> 120 memories" in first.content.decode()
    older = first.context["page"].older
    assert f"older={older}&amp;at=50" in first.content.decode()
    second = viewer_client.get("/", {"older": older, "at": "50"})
    assert (second.context["position"].first, second.context["position"].last) == (51, 100)
    content = second.content.decode()
    assert f"older={second.context['page'].older}&amp;at=100" in content
    assert "at=0" in content  # the newer link goes back to the top
    # A link without (or with a bad) position counts the rows above the page instead.
    for at in ("", "x", "-3"):
        position = viewer_client.get("/", {"older": older, "at": at}).context["position"]
        assert (position.first, position.last) == (51, 100)


def test_past_the_count_cap_a_link_without_position_shows_none(viewer_client, project, settings):
    settings.MEMDASH_DASHBOARD_COUNT_CAP = 60
    bulk_memories(project, 120, user_id="pager")
    second = viewer_client.get("/", {"older": viewer_client.get("/").context["page"].older})
    third = viewer_client.get("/", {"older": second.context["page"].older})
    assert second.context["position"].first == 51
    # 100 rows above the third page: past what the dashboard counts, so no position.
    assert third.context["position"] is None
    assert len(third.context["rows"]) == 20


def test_jump_to_date_starts_the_page_at_that_day(viewer_client, project):
    import datetime as dt

    bulk_memories(project, 3, start=dt.datetime(2024, 7, 1, 12, tzinfo=dt.UTC), user_id="july")
    bulk_memories(project, 2, start=dt.datetime(2024, 8, 1, 12, tzinfo=dt.UTC), user_id="aug")
    bulk_memories(project, 1, start=dt.datetime(2024, 7, 1, 12, tzinfo=dt.UTC), user_id="other")
    response = viewer_client.get("/?jump=2024-07-15")
    assert [row.user_id for row in response.context["rows"]][:1] in (["july"], ["other"])
    assert {row.user_id for row in response.context["rows"]} == {"july", "other"}
    assert (response.context["position"].first, response.context["position"].last) == (3, 6)
    # Within the filter: the same jump among one user's memories.
    narrowed = viewer_client.get("/?user_id=july&jump=2024-08-01")
    assert [row.user_id for row in narrowed.context["rows"]] == ["july"] * 3
    assert 'id="jump-date"' in narrowed.content.decode()
    partial = viewer_client.get("/?user_id=july&jump=2024-08-01", headers=htmx("memory-table"))
    assert "jump=2024-08-01" in partial["HX-Push-Url"]


@pytest.mark.parametrize("bad", ["2024-13-01", "tomorrow", "9999-12-31"])
def test_a_bad_jump_date_is_a_clear_error(viewer_client, project, bad):
    bulk_memories(project, 2, user_id="alex")
    response = viewer_client.get("/", {"jump": bad})
    assert response.status_code == 400
    assert "Jump to date: enter a date as YYYY-MM-DD" in response.content.decode()


def test_another_projects_memories_never_count_in_a_jump(charlie_client, project):
    bulk_memories(project, 3, user_id="alex")
    response = charlie_client.get("/?jump=2099-01-01")
    assert response.context["rows"] == []


def test_the_lists_poll_says_when_the_delete_failed(editor_client, big_delete):
    events.fail(big_delete.pk, "the database went away")
    done = editor_client.get(event_url(big_delete), headers=htmx("bulk-progress"))
    assert "The delete failed: the database went away" in done.content.decode()
    trigger = json.loads(done["HX-Trigger"])
    assert trigger["toast"]["level"] == "error"
    assert trigger["memories-changed"] == str(big_delete.pk)
