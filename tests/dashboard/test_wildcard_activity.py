"""Activity flags wildcard deletes (DELETE_ALL Events, memories.wildcards), and a wildcard
delete's page says what it spanned and how to undo it from the trash."""

import pytest
from django.test import override_settings
from django.urls import reverse

from memories import services, trash
from memories.models import Event, Memory, TrashedMemory
from tenancy.models import Attribution
from tests.dashboard.conftest import htmx, remember

pytestmark = pytest.mark.django_db

FLAG = 'class="badge danger wildcard-flag"'


@pytest.fixture
def world(project, other_project):
    """alex's and bob's memories, an agent's, an ordinary delete of bob's, then a wildcard
    delete of every user's."""
    remember(project, "alex fact", user_id="alex")
    remember(project, "bob fact", user_id="bob")
    remember(project, "bot fact", agent_id="bot")
    remember(other_project, "outsider", user_id="alex")
    services.delete_matching(project, {"user_id": "bob"}, actor="user:eddie")
    services.delete_matching(project, {"user_id": "*"}, actor="api-key:m0-test")
    return project


def delete_all(project) -> Event:
    return Event.objects.get(project=project, event_type="DELETE_ALL")


def test_activity_flags_the_wildcard_delete_and_nothing_else(alice_client, world):
    response = alice_client.get("/activity/")
    assert [e.event_type for e in response.context["page"].rows] == [
        "DELETE_ALL",
        "DELETE",
        "ADD",
        "ADD",
        "ADD",
    ]
    content = response.content.decode()
    assert content.count(FLAG) == 1
    assert f"{FLAG} title=" in content and ">Wildcard delete: all users</span>" in content
    assert '<span class="badge DELETE_ALL danger">DELETE_ALL</span>' in content
    # The table fragment an htmx filter swaps in carries the flag too.
    partial = alice_client.get("/activity/?type=delete_all", headers=htmx("event-table"))
    fragment = partial.content.decode()
    assert fragment.lstrip().startswith('<section id="event-table"')
    assert fragment.count(FLAG) == 1
    assert partial["HX-Push-Url"] == "/activity/?type=DELETE_ALL"


def test_the_event_page_says_what_it_spanned_and_how_to_undo_it(alice_client, world):
    event = delete_all(world)
    response = alice_client.get(reverse("memories:event", args=[event.id]))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="wildcard-delete"' in content
    assert "Wildcard delete: all users" in content
    assert "This delete's filter spans all users of the project" in content
    assert "<code>{&quot;user_id&quot;: &quot;*&quot;}</code>" in content
    undo = response.context["wildcard"]
    assert (undo.in_trash.value, undo.spans, undo.trash_url) == (1, "all users", "/trash/")
    assert undo.purge_after == TrashedMemory.objects.get(memory="alex fact").purge_after
    assert "1 of its memories are in the trash until" in content
    assert '<a href="/trash/">Restore them from the Trash</a>' in content


def test_after_a_restore_the_page_says_nothing_is_left_to_undo(alice_client, world):
    event = delete_all(world)
    trash.restore(world, [TrashedMemory.objects.get(memory="alex fact").pk], actor="user:alice")
    assert set(Memory.objects.filter(project=world).values_list("memory", flat=True)) == {
        "alex fact",
        "bot fact",
    }
    content = alice_client.get(reverse("memories:event", args=[event.id])).content.decode()
    assert "None of its memories is in the trash now" in content


def test_the_trash_link_keeps_the_ids_the_delete_named(alice_client, project):
    project.attribution = Attribution.ALL_IDS  # the memory is alex's and the bot's
    project.save(update_fields=["attribution"])
    remember(project, "bot talk", user_id="alex", agent_id="bot")
    event = services.delete_matching(
        project, {"AND": [{"user_id": "*"}, {"agent_id": "bot"}]}, actor="x"
    )
    content = alice_client.get(reverse("memories:event", args=[event.id])).content.decode()
    assert '<a href="/trash/?agent_id=bot">Restore them from the Trash</a>' in content


def test_a_queued_wildcard_delete_says_it_is_still_running(alice_client, project, settings):
    settings.MEMDASH_SYNC_DELETE_LIMIT = 1
    remember(project, "one", "two", user_id="alex")
    event = services.delete_matching(project, {"user_id": "*"}, actor="x")
    assert (event.event_type, event.status) == ("DELETE_ALL", "PENDING")
    content = alice_client.get(reverse("memories:event", args=[event.id])).content.decode()
    assert "It is still running: its memories go to the trash" in content


@override_settings(MEMDASH_TRASH_DAYS=0)
def test_with_the_trash_off_the_page_says_it_cannot_be_undone(alice_client, project):
    remember(project, "gone", user_id="alex")
    event = services.delete_matching(project, {"user_id": "*"}, actor="x")
    content = alice_client.get(reverse("memories:event", args=[event.id])).content.decode()
    assert "Wildcard delete: all users" in content
    assert "cannot be undone from here" in content


def test_dashboard_delete_of_all_matching_without_an_entity_is_flagged(
    alice_client, editor_client, project
):
    remember(project, "alex fact", user_id="alex")
    remember(project, "bot fact", agent_id="bot")
    editor_client.post("/memories/bulk-delete/", {"all": "1", "confirmed": "1"})
    assert not Memory.objects.filter(project=project).exists()
    event = Event.objects.get(project=project, event_type="DELETE_ALL")
    assert event.payload["source"] == "dashboard"
    assert event.payload["wildcard"] == ["user_id", "agent_id", "app_id", "run_id"]
    content = alice_client.get("/activity/").content.decode()
    assert ">Wildcard delete: all users, agents, apps and runs</span>" in content


def test_dashboard_delete_of_one_entity_or_of_selected_rows_is_not_flagged(
    alice_client, editor_client, project
):
    (alex,) = remember(project, "alex fact", user_id="alex")
    remember(project, "bob fact", user_id="bob")
    editor_client.post("/memories/bulk-delete/?user_id=bob", {"all": "1", "confirmed": "1"})
    editor_client.post("/memories/bulk-delete/", {"ids": [str(alex.pk)], "confirmed": "1"})
    assert not Memory.objects.filter(project=project).exists()
    assert not Event.objects.filter(event_type="DELETE_ALL").exists()
    assert FLAG not in alice_client.get("/activity/").content.decode()


def test_other_projects_wildcard_delete_is_404(charlie_client, world):
    event = delete_all(world)
    assert charlie_client.get(reverse("memories:event", args=[event.id])).status_code == 404
    assert FLAG not in charlie_client.get("/activity/").content.decode()
