"""Activity: Events with filters, and an Event's page with the memories it changed."""

import pytest
from django.urls import reverse

from memories import events, services
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


def test_an_unknown_filter_value_is_an_error_not_ignored(alice_client, world):
    # The same Event filter as GET /v1/events/, which answers a 400 for it.
    response = alice_client.get("/activity/?type=bogus")
    assert response.status_code == 400
    assert "event_type must be one of ADD, UPDATE, DELETE, CATEGORIZE" in response.content.decode()
    assert response.context["page"].rows == []
    partial = alice_client.get("/activity/?status=done", headers=htmx("event-table"))
    assert partial.status_code == 200  # htmx 2 swaps only successful responses
    assert "status must be one of" in partial.content.decode()


def test_pills_remove_one_filter_through_htmx(alice_client, world):
    response = alice_client.get("/activity/?type=ADD&entity=alex")
    content = response.content.decode()
    assert 'aria-label="Remove filter type ADD"' in content
    assert 'hx-get="/activity/?entity=alex" hx-target="#event-table"' in content
    assert '<a class="clear" href="/activity/"' in content


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


def test_entity_filter_finds_every_kind_of_event_about_the_entity(
    alice_client, editor_client, project, other_project
):
    from entities.models import Entity
    from memories.services import delete_entity

    first, second, third = remember(project, "c one", "c two", "c three", user_id="carol")
    remember(project, "c on a ticket", user_id="carol", run_id="t-1")
    remember(project, "d one", user_id="dave")
    remember(other_project, "outsider", user_id="carol")
    services.update_memory(first, actor="user:eddie", text="c uno")
    services.delete_memory(second, actor="user:eddie")
    # Dashboard bulk delete of "all matching" user=carol and run=t-1 (a nested AND filter).
    editor_client.post(
        "/memories/bulk-delete/?user_id=carol&run_id=t-1", {"all": "1", "confirmed": "1"}
    )
    delete_entity(
        project, Entity.objects.get(project=project, kind="user", name="carol"), actor="x"
    )

    rows = alice_client.get("/activity/?entity=carol").context["page"].rows
    assert [(e.event_type, e.metadata) for e in rows] == [
        ("DELETE", {"user_id": "carol"}),
        ("DELETE", {"user_id": "carol", "run_id": "t-1"}),
        ("DELETE", {"user_id": "carol"}),
        ("UPDATE", {"user_id": "carol"}),
        ("ADD", {"infer": False, "user_id": "carol", "run_id": "t-1"}),
        ("ADD", {"infer": False, "user_id": "carol"}),
    ]
    assert [
        e.event_type for e in alice_client.get("/activity/?entity=t-1").context["page"].rows
    ] == [
        "DELETE",
        "ADD",
    ]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"entity_type": "agent", "entity_id": "bot"}, {"agent_id": "bot"}),
        ({"filters": {"user_id": "alex", "metadata": {"k": 1}}}, {"user_id": "alex"}),
        (
            {"filters": {"AND": [{"AND": [{"app_id": "a"}, {"run_id": "r"}]}, {"user_id": "*"}]}},
            {"app_id": "a", "run_id": "r"},
        ),
        ({"filters": {"OR": [{"user_id": "alex"}, {"user_id": "bob"}]}}, {}),
        ({"filters": {"NOT": [{"user_id": "alex"}]}}, {}),
        ({"filters": {"user_id": {"in": ["alex", "bob"]}}}, {}),
        ({"memory_ids": ["x"]}, {}),
    ],
)
def test_deletes_record_the_entities_their_filter_requires(payload, expected):
    assert events.entities_of_delete(payload) == expected


def test_batches_record_the_entities_all_their_memories_share(project):
    a, b = remember(project, "e one", "e two", user_id="erin", app_id="shop")
    c = remember(project, "f one", user_id="fay", app_id="shop")[0]
    updates = [services.BatchUpdate(memory_id=m.pk, text=m.memory + "!") for m in (a, b)]
    assert services.batch_update(project, updates, actor="x").metadata == {
        "user_id": "erin",
        "app_id": "shop",
    }
    deleted = services.batch_delete(project, [a.pk, c.pk], actor="x")
    assert deleted.metadata == {"app_id": "shop"}


def test_migration_copies_old_deletes_entities_into_metadata(project):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("memories.migrations.0006_event_metadata_gin")
    old = Event.objects.create(
        project=project,
        event_type="DELETE",
        status="SUCCEEDED",
        payload={"entity_type": "user", "entity_id": "alex"},
    )
    by_id = Event.objects.create(
        project=project, event_type="DELETE", status="SUCCEEDED", payload={"memory_id": "x"}
    )
    migration.copy_delete_entities(apps, None)
    old.refresh_from_db()
    by_id.refresh_from_db()
    assert old.metadata == {"user_id": "alex"}
    assert by_id.metadata == {}
