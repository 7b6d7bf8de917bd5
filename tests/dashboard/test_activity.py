"""Activity: Events with filters, and an Event's page with the memories it changed."""

import pytest
from django.urls import reverse

from memories import services
from memories.models import Event, Memory
from tests.dashboard.conftest import htmx, remember

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(project, other_project):
    remember(project, "alex fact", user_id="alex")
    remember(project, "bob fact", user_id="bob")
    services.delete_memories(project, Memory.objects.filter(user_id="bob"), actor="user:eddie")
    remember(other_project, "outsider", user_id="alex")
    return project


def test_lists_the_projects_events_newest_first(alice_client, world):
    response = alice_client.get("/activity/")
    events = response.context["page"].rows
    assert [e.event_type for e in events] == ["DELETE", "ADD", "ADD"]
    content = response.content.decode()
    assert "user: alex" in content
    assert "1 deleted" in content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=delete", ["DELETE"]),
        ("status=SUCCEEDED", ["DELETE", "ADD", "ADD"]),
        ("entity=alex", ["ADD"]),
    ],
)
def test_filters(alice_client, world, query, expected):
    response = alice_client.get(f"/activity/?{query}")
    assert [e.event_type for e in response.context["page"].rows] == expected


def test_partial_and_canonical_url(alice_client, world):
    response = alice_client.get("/activity/?type=ADD&status=&entity=", headers=htmx("event-table"))
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="event-table"')
    assert response["HX-Push-Url"] == "/activity/?type=ADD"


def test_history_restore_gets_the_full_page(alice_client, world):
    response = alice_client.get(
        "/activity/?type=ADD", headers={**htmx("event-table"), "HX-History-Restore-Request": "true"}
    )
    assert "<html" in response.content.decode()


def test_event_page_links_the_memories_it_changed(alice_client, world):
    add = Event.objects.filter(project=world, event_type="ADD").order_by("created_at").first()
    response = alice_client.get(reverse("memories:event", args=[add.id]))
    content = response.content.decode()
    memory = Memory.objects.get(memory="alex fact")
    assert reverse("memories:detail", args=[memory.id]) in content
    delete = Event.objects.get(project=world, event_type="DELETE")
    page = alice_client.get(reverse("memories:event", args=[delete.id])).content.decode()
    assert "bob fact" in page
    assert "deleted</span>" in page


def test_other_projects_event_is_404(charlie_client, world):
    event = Event.objects.filter(project=world).first()
    assert charlie_client.get(reverse("memories:event", args=[event.id])).status_code == 404
    assert "alex fact" not in charlie_client.get("/activity/").content.decode()


def test_failed_event_shows_its_error(alice_client, project):
    event = Event.objects.create(
        project=project, event_type="ADD", status="FAILED", error="<b>LLM timeout</b>"
    )
    content = alice_client.get(reverse("memories:event", args=[event.id])).content.decode()
    assert "&lt;b&gt;LLM timeout&lt;/b&gt;" in content


def test_activity_query_count_is_bounded(alice_client, world, django_assert_max_num_queries):
    alice_client.get("/")
    with django_assert_max_num_queries(6):
        alice_client.get("/activity/")
