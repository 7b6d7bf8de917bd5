"""The point-in-time page: maria's memories as they were at a moment, from history."""

from __future__ import annotations

import datetime as dt

import pytest

from audit.models import AuditEntry
from memories import services
from memories.models import MemoryHistory
from tenancy.models import Role
from tests.dashboard.conftest import HOSTILE, logged_in, make_user, remember

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC)


def stamp(memory, hours: int) -> None:
    row = MemoryHistory.objects.filter(memory_id=memory.pk).order_by("-created_at", "-id").first()
    MemoryHistory.objects.filter(pk=row.pk).update(created_at=T0 + dt.timedelta(hours=hours))


@pytest.fixture
def story(project):
    tea = remember(project, "Maria likes green tea", user_id="maria", app_id="support")[0]
    stamp(tea, 0)
    train = remember(project, "Maria takes the night train", user_id="maria", app_id="support")[0]
    stamp(train, 1)
    services.update_memory(tea, text="Maria likes black tea", actor="user:alice")
    stamp(tea, 2)
    services.delete_memory(train, actor="user:alice")
    stamp(train, 3)
    return tea, train


def page(client, when: str, **scope):
    return client.get("/memories/as-of/", {"as_of": when, **scope})


def test_the_page_shows_what_existed_then_with_its_text(viewer_client, story):
    at_1 = page(viewer_client, "2026-03-03T10:30", user_id="maria", app_id="support")
    assert at_1.status_code == 200
    text = at_1.content.decode()
    assert "Maria likes green tea" in text and "Maria takes the night train" in text
    assert "black tea" not in text
    at_3 = page(viewer_client, "2026-03-03T12:30", user_id="maria").content.decode()
    assert "Maria likes black tea" in at_3 and "night train" not in at_3
    assert "1 memory then" in " ".join(at_3.split())
    before = page(viewer_client, "2026-03-02T00:00", user_id="maria").content.decode()
    assert "No memory then" in before


def test_the_view_is_a_read_in_the_access_log(viewer_client, story):
    response = page(viewer_client, "2026-03-03T10:30", user_id="maria")
    (row,) = AuditEntry.objects.filter(request_id=response["X-Request-ID"])
    assert row.action == "memories.list" and row.surface == "dashboard"
    assert row.entities == ["app:support", "user:maria"] and row.total == 2
    assert row.filters["as_of"].startswith("2026-03-03T10:30")


def test_a_bad_moment_is_a_form_error(viewer_client):
    response = page(viewer_client, "someday", user_id="maria")
    assert response.status_code == 400 and "Enter a valid date/time" in response.content.decode()


def test_without_a_moment_the_page_is_just_the_form(viewer_client):
    response = viewer_client.get("/memories/as-of/?user_id=maria")
    content = response.content.decode()
    assert response.status_code == 200 and "as-of-table" not in content
    assert 'value="maria"' in content


def test_texts_are_escaped_and_other_projects_stay_out(charlie_client, viewer_client, project):
    memory = remember(project, HOSTILE, user_id="maria")[0]
    stamp(memory, 0)
    content = page(viewer_client, "2026-03-04", user_id="maria").content.decode()
    assert HOSTILE not in content and "&lt;script&gt;" in content
    assert "No memory then" in page(charlie_client, "2026-03-04", user_id="maria").content.decode()


def test_the_memories_page_takes_as_of_to_the_view_of_that_moment(viewer_client, story):
    response = viewer_client.get("/", {"as_of": "2026-03-03T10:30", "user_id": "maria", "q": "tea"})
    assert response.status_code == 302
    assert response["Location"] == "/memories/as-of/?as_of=2026-03-03T10%3A30&user_id=maria"
    assert "Maria likes green tea" in viewer_client.get(response["Location"]).content.decode()


def test_the_entity_and_person_pages_take_as_of_too(viewer_client, project, story):
    olga = logged_in(make_user("olga", project, Role.COMPLIANCE))
    expected = "/memories/as-of/?as_of=2026-03-03&user_id=maria"
    assert viewer_client.get("/entities/user/maria/?as_of=2026-03-03")["Location"] == expected
    person = olga.get("/compliance/person/?entity_type=user&entity_id=maria&as_of=2026-03-03")
    assert person["Location"] == expected
