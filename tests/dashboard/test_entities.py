"""Entities: the list with counts and last activity, an entity's page, entity delete."""

import pytest
from django.urls import reverse

from entities.models import Entity
from memories import holds
from memories.models import Event, Memory, MemoryHistory
from memories.subjects import Subject
from tests.dashboard.conftest import HOSTILE, bulk_memories, htmx, remember

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(project, other_project):
    remember(project, "alex likes tea", "alex likes jazz", user_id="alex")
    remember(project, "support bot is polite", agent_id="support")
    remember(project, "run memory", user_id="alex", run_id="run-7")
    remember(other_project, "outsider", user_id="zed")
    return project


def test_list_shows_entities_with_memory_counts(alice_client, world):
    response = alice_client.get("/entities/")
    assert response.status_code == 200
    rows = {(e.kind, e.name): e.memory_count for e in response.context["page"].rows}
    assert rows == {("user", "alex"): 3, ("agent", "support"): 1, ("run", "run-7"): 1}
    assert response.context["total"] == 3
    assert ("user", "User", 1) in response.context["kinds"]
    assert "zed" not in response.content.decode()


def test_list_filters_by_kind_and_searches_by_name(alice_client, world):
    agents = alice_client.get("/entities/?kind=agent")
    assert [e.name for e in agents.context["page"].rows] == ["support"]
    search = alice_client.get("/entities/?q=LE", headers=htmx("entity-table"))
    content = search.content.decode()
    assert content.lstrip().startswith('<section id="entity-table"')
    assert "<html" not in content
    assert [e.name for e in search.context["page"].rows] == ["alex"]
    assert search["HX-Push-Url"] == "/entities/?q=LE"


def test_list_full_page_on_history_restore(alice_client, world):
    response = alice_client.get(
        "/entities/?q=al", headers={**htmx("entity-table"), "HX-History-Restore-Request": "true"}
    )
    assert "<html" in response.content.decode()


def test_memory_counts_are_capped(alice_client, project, settings):
    settings.MEMDASH_DASHBOARD_COUNT_CAP = 10
    bulk_memories(project, 25, app_id="huge")
    response = alice_client.get("/entities/?kind=app")
    assert response.context["page"].rows[0].memory_count == 11
    assert "10+" in response.content.decode()


def test_list_query_count_is_bounded(alice_client, project, django_assert_max_num_queries):
    for i in range(30):
        bulk_memories(project, 2, user_id=f"user-{i}", agent_id=f"agent-{i % 3}")
    alice_client.get("/")
    with django_assert_max_num_queries(7):
        response = alice_client.get("/entities/")
    assert len(response.context["page"].rows) == 33


def test_list_pages_by_last_activity(alice_client, project):
    for i in range(55):
        bulk_memories(project, 1, user_id=f"user-{i:02}")
    first = alice_client.get("/entities/")
    assert len(first.context["page"].rows) == 50
    second = alice_client.get("/entities/", {"older": first.context["page"].older})
    assert len(second.context["page"].rows) == 5


def test_entity_page_is_the_memory_table_prefiltered(alice_client, world):
    response = alice_client.get(reverse("entities:detail", args=["user", "alex"]))
    assert response.status_code == 200
    assert sorted(m.memory for m in response.context["rows"]) == [
        "alex likes jazz",
        "alex likes tea",
        "run memory",
    ]
    content = response.content.decode()
    assert 'href="/?user_id=alex"' in content
    assert 'name="ids"' not in content


def test_entity_page_partial_for_paging(alice_client, project):
    bulk_memories(project, 60, user_id="pager")
    url = reverse("entities:detail", args=["user", "pager"])
    first = alice_client.get(url)
    partial = alice_client.get(
        url, {"older": first.context["page"].older}, headers=htmx("memory-table")
    )
    content = partial.content.decode()
    assert content.lstrip().startswith('<section id="memory-table"')
    assert 'id="memory-count" hx-swap-oob="true"' in content
    assert len(partial.context["rows"]) == 10


def test_entity_names_with_slashes_and_markup(alice_client, project):
    name = "team/a " + HOSTILE
    remember(project, "odd name", user_id=name)
    url = reverse("entities:detail", args=["user", name])
    response = alice_client.get(url)
    assert response.status_code == 200
    assert [m.memory for m in response.context["rows"]] == ["odd name"]
    assert "<script>alert" not in response.content.decode()


def test_entity_named_star_is_matched_literally(alice_client, project):
    remember(project, "star", user_id="*")
    remember(project, "other", user_id="bob")
    response = alice_client.get(reverse("entities:detail", args=["user", "*"]))
    assert [m.memory for m in response.context["rows"]] == ["star"]
    # The page's scope is part of its filter, in the filter language's literal form.
    assert response.context["api_filter"] == {"user_id": {"eq": "*"}}
    assert "&quot;eq&quot;: &quot;*&quot;" in response.content.decode()


def test_unknown_kind_and_name_and_other_project_are_404(alice_client, charlie_client, world):
    assert alice_client.get("/entities/robot/alex/").status_code == 404
    assert alice_client.get(reverse("entities:detail", args=["user", "nobody"])).status_code == 404
    assert charlie_client.get(reverse("entities:detail", args=["user", "alex"])).status_code == 404
    assert charlie_client.post(reverse("entities:delete", args=["user", "alex"])).status_code == 404


def test_delete_confirmation_states_the_exact_count(editor_client, world):
    url = reverse("entities:delete", args=["user", "alex"])
    response = editor_client.get(url, headers=htmx("delete-confirm"))
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="delete-confirm">')
    assert "Delete user “alex” and 3 memories?" in content
    assert Memory.objects.filter(user_id="alex").count() == 3  # nothing happened yet


def test_delete_confirmation_says_what_a_legal_hold_keeps(editor_client, world, project):
    holds.place(project, Subject(filters={"user_id": "alex"}), name="Case 7", actor="user:olga")
    url = reverse("entities:delete", args=["user", "alex"])
    content = " ".join(
        editor_client.get(url, headers=htmx("delete-confirm")).content.decode().split()
    )
    assert "3 of them are under a legal hold and will be kept, and so will the user" in content
    assert "Delete user and 0 memories" in content


def test_delete_entity_removes_it_and_its_memories_only(editor_client, world, other_project):
    url = reverse("entities:delete", args=["user", "alex"])
    response = editor_client.post(url, headers=htmx("delete-confirm"))
    assert response["HX-Redirect"] == "/entities/"
    assert not Memory.objects.filter(project=world, user_id="alex").exists()
    assert Memory.objects.filter(project=other_project).count() == 1
    assert not Entity.objects.filter(project=world, kind="user", name="alex").exists()
    assert Entity.objects.filter(project=world, kind="run", name="run-7").exists()
    assert MemoryHistory.objects.filter(event="DELETE", actor="user:eddie").count() == 3
    event = Event.objects.get(event_type="DELETE")
    assert event.payload == {"entity_type": "user", "entity_id": "alex"}
    page = editor_client.get("/entities/")
    assert "Deleted user alex and 3 memories." in page.content.decode()


def test_viewer_cannot_delete_entities(viewer_client, world):
    url = reverse("entities:delete", args=["user", "alex"])
    assert viewer_client.get(url).status_code == 403
    assert viewer_client.post(url).status_code == 403
    assert Memory.objects.filter(user_id="alex").count() == 3


def test_delete_entity_rejects_other_methods(editor_client, world):
    assert editor_client.put(reverse("entities:delete", args=["user", "alex"])).status_code == 405
