"""Activity's actor and date filters and its CSV download, and the same filters on
`GET /v1/events/`: by an API key (its name, prefix or label) or a user, since and until (a bare
until date includes its day); bad values are a clear 400, never a 500 or an empty page."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from memories import services
from memories.models import Event, Memory
from memories.views import EVENT_CSV_COLUMNS
from tenancy.models import ApiKey, Role
from tenancy.services import create_api_key
from tests.conftest import add_verbatim, api_client
from tests.dashboard.conftest import htmx, remember

pytestmark = pytest.mark.django_db

MARCH = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def dated(event_id, at: dt.datetime) -> None:
    Event.objects.filter(pk=event_id).update(created_at=at, updated_at=at)


@pytest.fixture
def world(project, other_project):
    """Four Events of `project`:

    - "alex": an ADD through the API key "ingest bot", on 2025-03-01 10:00;
    - "bob": an ADD by the dashboard user eddie, on 2025-03-02 23:30;
    - "carol": an ADD by a key known only by its label, at 2025-03-03 00:00;
    - "delete": eddie deleting bob's memory, now;

    and, in `other_project`, an ADD through its own key also named "ingest bot".
    """
    raw = create_api_key(project, role=Role.EDITOR, name="ingest bot")
    key = ApiKey.objects.get(project=project, name="ingest bot")
    add_verbatim(api_client(raw), "alex likes hiking", user_id="alex")
    alex = Event.objects.get(project=project, event_type="ADD", actor=key.actor)
    bob = remember(project, "bob likes chess", user_id="bob", actor="user:eddie")[0]
    carol = remember(project, "carol likes tea", user_id="carol", actor="api-key:m0-legacy00")[0]
    delete = services.delete_memories(
        project, Memory.objects.filter(user_id="bob"), actor="user:eddie"
    )
    events = {
        "alex": alex.pk,
        "bob": bob.source_event_id,
        "carol": carol.source_event_id,
        "delete": delete.pk,
    }
    dated(events["alex"], MARCH.replace(hour=10))
    dated(events["bob"], MARCH.replace(day=2, hour=23, minute=30))
    dated(events["carol"], MARCH.replace(day=3))

    theirs = create_api_key(other_project, role=Role.EDITOR, name="ingest bot")
    add_verbatim(api_client(theirs), "their alex", user_id="alex")
    outsider = Event.objects.get(project=other_project, event_type="ADD")
    dated(outsider.pk, MARCH.replace(day=2))
    events["outsider"] = outsider.pk
    return {"key": key, "events": events}


def named(world, events) -> list[str]:
    by_id = {str(pk): name for name, pk in world["events"].items()}
    return [by_id[str(event.id if hasattr(event, "id") else event["id"])] for event in events]


FILTERS = [
    # (query, the Events it selects, newest first)
    ("", ["delete", "carol", "bob", "alex"]),
    ("actor=ingest+bot", ["alex"]),
    ("actor={prefix}", ["alex"]),
    ("actor=api-key:{prefix}", ["alex"]),
    ("actor=eddie", ["delete", "bob"]),
    ("actor=user:eddie", ["delete", "bob"]),
    ("actor=api-key:m0-legacy00", ["carol"]),
    ("actor=m0-legacy00", []),  # a label is matched whole; no key has that prefix
    ("actor=nobody", []),
    ("since=2025-03-02&until=2025-03-02", ["bob"]),
    ("until=2025-03-02", ["bob", "alex"]),
    ("until=2025-03-01", ["alex"]),
    ("until=2025-03-02T23:00:00Z", ["alex"]),
    ("until=2025-03-03T00:30:00%2B01:00", ["bob", "alex"]),
    ("since=2025-03-01T12:00:00Z&until=2025-03-03", ["carol", "bob"]),
    ("since=2025-03-03", ["delete", "carol"]),
    ("since=2025-03-04&until=2025-03-31", []),
    ("actor=eddie&until=2025-03-31", ["bob"]),
    ("actor=eddie&type=DELETE", ["delete"]),
    ("actor=ingest+bot&entity=alex&since=2025-03-01&until=2025-03-01", ["alex"]),
    ("actor=&since=&until=", ["delete", "carol", "bob", "alex"]),
]


def fill(query: str, world) -> str:
    return query.format(prefix=world["key"].prefix)


# --- the dashboard ---------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "expected"), FILTERS, ids=[q or "none" for q, _ in FILTERS])
def test_activity_filters_by_actor_and_dates(alice_client, world, query, expected):
    response = alice_client.get(f"/activity/?{fill(query, world)}")
    assert response.status_code == 200
    assert named(world, response.context["page"].rows) == expected


def test_actors_are_shown_by_name_and_filters_as_pills(alice_client, world):
    response = alice_client.get("/activity/?actor=ingest+bot&since=2025-03-01&until=2025-03-02")
    content = response.content.decode()
    assert 'aria-label="Remove filter by ingest bot"' in content
    assert 'aria-label="Remove filter since 2025-03-01"' in content
    assert 'aria-label="Remove filter until 2025-03-02"' in content
    assert 'hx-get="/activity/?since=2025-03-01&amp;until=2025-03-02"' in content
    prefix = world["key"].prefix
    assert f'<span class="actor">ingest bot <small class="muted">{prefix}</small>' in content
    # The form keeps what was asked.
    assert 'name="since" value="2025-03-01"' in content
    assert 'name="actor" value="ingest bot"' in content


BAD = [
    ("since=garbage", "since must be a date (YYYY-MM-DD) or an ISO time, got &#x27;garbage&#x27;"),
    ("until=2025-02-30", "until must be a date (YYYY-MM-DD) or an ISO time"),
    ("until=tomorrow", "until must be a date"),
    ("since=2025-03-03&until=2025-03-02", "since is after until"),
    (f"actor={'x' * 500}", "actor has 500 characters; at most"),
]


@pytest.mark.parametrize(("query", "message"), BAD, ids=[q[:30] for q, _ in BAD])
def test_a_bad_date_or_actor_is_a_clear_error(alice_client, world, query, message):
    response = alice_client.get(f"/activity/?{query}")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["page"].rows == []
    partial = alice_client.get(f"/activity/?{query}", headers=htmx("event-table"))
    assert partial.status_code == 200  # htmx 2 swaps only successful responses
    assert message in partial.content.decode()
    # Nor is it a download.
    download = alice_client.get(f"/activity/?{query}&format=csv")
    assert download.status_code == 400 and not download.streaming


def csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="memdash-activity-\d{8}-\d{6}\.csv"',
        response["Content-Disposition"],
    )
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert lines[0] == list(EVENT_CSV_COLUMNS)
    return [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]


def test_csv_downloads_the_filtered_events(alice_client, world):
    rows = csv_rows(alice_client.get("/activity/?actor=eddie&format=csv"))
    assert [r["id"] for r in rows] == [str(world["events"][n]) for n in ("delete", "bob")]
    delete, bob = rows
    assert (delete["event_type"], delete["status"], delete["actor"]) == (
        "DELETE",
        "SUCCEEDED",
        "user:eddie",
    )
    assert bob["created_at"] == "2025-03-02T23:30:00+00:00"
    assert bob["entities"] == "user: bob"
    assert bob["error"] == ""


@pytest.mark.parametrize(("query", "expected"), FILTERS, ids=[q or "none" for q, _ in FILTERS])
def test_csv_has_what_the_page_shows(alice_client, world, query, expected):
    query = fill(query, world)
    rows = csv_rows(
        alice_client.get(f"/activity/?{query}&format=csv" if query else "/activity/?format=csv")
    )
    by_id = {str(pk): name for name, pk in world["events"].items()}
    assert [by_id[r["id"]] for r in rows] == expected


def test_the_page_links_its_csv_with_its_filters(alice_client, world):
    content = alice_client.get("/activity/?actor=eddie&until=2025-03-31").content.decode()
    assert 'href="/activity/?actor=eddie&amp;until=2025-03-31&amp;format=csv"' in content


def test_csv_is_for_viewers_too_and_never_another_projects(viewer_client, world):
    rows = csv_rows(viewer_client.get("/activity/?actor=ingest+bot&format=csv"))
    assert [r["id"] for r in rows] == [str(world["events"]["alex"])]


# --- GET /v1/events/ -------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "expected"), FILTERS, ids=[q or "none" for q, _ in FILTERS])
def test_the_api_filters_events_the_same_way(api, world, query, expected):
    query = fill(query, world).replace("type=", "event_type=")
    response = api.get(f"/v1/events/?{query}")
    assert response.status_code == 200, response.content
    assert named(world, response.json()["results"]) == expected


@pytest.mark.parametrize(("query", "message"), BAD, ids=[q[:30] for q, _ in BAD])
def test_the_api_answers_bad_values_with_a_400(api, world, query, message):
    response = api.get(f"/v1/events/?{query}")
    assert response.status_code == 400
    assert message.replace("&#x27;", "'") in response.json()["detail"]


def test_the_api_never_shows_another_projects_events(other_api, world):
    results = other_api.get("/v1/events/?actor=ingest+bot").json()["results"]
    assert [r["id"] for r in results] == [str(world["events"]["outsider"])]
