"""Bulk delete: confirm with the exact count and scope, then delete through the service."""

import json

import pytest
from django.urls import reverse

from memories import holds
from memories.filters import compile_filters
from memories.models import Event, Memory, MemoryHistory
from memories.subjects import Subject
from tests.dashboard.conftest import bulk_memories, htmx, remember

pytestmark = pytest.mark.django_db

URL = reverse("memories:bulk_delete")


@pytest.fixture
def world(project, other_project):
    remember(project, "alex likes tea", "alex likes jazz", user_id="alex")
    remember(project, "bob likes chess", user_id="bob")
    remember(other_project, "outsider memory", user_id="alex")
    return project


def ids_of(project, **scope) -> list[str]:
    return [
        str(pk)
        for pk in Memory.objects.filter(project=project, **scope).values_list("pk", flat=True)
    ]


def test_first_post_only_asks_for_confirmation(editor_client, world):
    response = editor_client.post(f"{URL}?user_id=alex", {"all": "1"}, headers=htmx("bulk-confirm"))
    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<div id="bulk-confirm">')
    assert "Delete 2 memories?" in content
    assert "<li>user: alex</li>" in content
    assert "expired memories excluded" in content
    assert 'name="confirmed" value="1"' in content
    assert Memory.objects.filter(project=world).count() == 3


def test_confirmation_of_selected_rows_names_their_entities(editor_client, world):
    ids = ids_of(world, user_id="alex")[:1] + ids_of(world, user_id="bob")
    response = editor_client.post(URL, {"ids": ids}, headers=htmx("bulk-confirm"))
    content = response.content.decode()
    assert "Delete 2 memories?" in content
    assert "users: alex, bob" in content
    assert content.count('name="ids"') == 2


def test_confirmed_delete_of_all_matching_uses_the_service(editor_client, world, eddie):
    response = editor_client.post(
        f"{URL}?user_id=alex", {"all": "1", "confirmed": "1"}, headers=htmx("bulk-confirm")
    )
    assert response.status_code == 200
    assert set(Memory.objects.filter(project=world).values_list("memory", flat=True)) == {
        "bob likes chess"
    }
    assert Memory.objects.filter(memory="outsider memory").exists()
    deletes = MemoryHistory.objects.filter(project=world, event="DELETE")
    assert sorted(deletes.values_list("old_memory", flat=True)) == [
        "alex likes jazz",
        "alex likes tea",
    ]
    assert set(deletes.values_list("actor", flat=True)) == {"user:eddie"}
    event = Event.objects.get(project=world, event_type="DELETE")
    assert event.status == "SUCCEEDED"
    assert event.results == {"deleted": 2}
    # Expiry is the filter language's `expired` key: the worker applies it on the day it runs.
    assert event.payload == {
        "source": "dashboard",
        "filters": {"AND": [{"user_id": "alex"}, {"expired": False}]},
    }
    # The payload alone rebuilds the set, as a background worker would.
    again = compile_filters(event.payload["filters"]).q
    assert Memory.objects.filter(project=world).filter(again).count() == 0
    assert event.actor == "user:eddie"
    assert set(deletes.values_list("source_event", flat=True)) == {event.pk}


def test_confirmed_delete_refreshes_table_count_pills_and_toasts(editor_client, world):
    response = editor_client.post(
        f"{URL}?user_id=alex", {"all": "1", "confirmed": "1"}, headers=htmx("memory-table")
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="memory-table"')
    assert 'id="memory-count" class="sub" hx-swap-oob="true"' in content
    assert (
        'id="filter-pills" class="pills" aria-label="Active filters" hx-swap-oob="true"' in content
    )
    assert '<div id="bulk-confirm" hx-swap-oob="true"></div>' in content
    assert response.context["count"].value == 0
    trigger = json.loads(response["HX-Trigger"])
    assert trigger["toast"]["message"].startswith("Deleted 2 memories.")


def test_selected_rows_are_recorded_as_a_memory_ids_filter(editor_client, world):
    ids = ids_of(world, user_id="bob")
    editor_client.post(URL, {"ids": ids, "confirmed": "1"})
    event = Event.objects.get(event_type="DELETE")
    assert event.payload == {"source": "dashboard", "filters": {"memory_ids": ids}}


def test_selected_ids_of_other_projects_are_ignored(editor_client, world, other_project):
    theirs = ids_of(other_project)
    mine = ids_of(world, user_id="bob")
    editor_client.post(URL, {"ids": theirs + mine, "confirmed": "1"})
    assert Memory.objects.filter(project=other_project).count() == 1
    assert not Memory.objects.filter(project=world, user_id="bob").exists()


def test_only_other_projects_ids_delete_nothing(editor_client, world, other_project):
    response = editor_client.post(URL, {"ids": ids_of(other_project), "confirmed": "1"})
    assert response.status_code == 302
    assert Memory.objects.filter(project=other_project).count() == 1
    assert Event.objects.filter(event_type="DELETE").count() == 0


def test_without_htmx_confirm_is_a_page_and_delete_redirects(editor_client, world):
    page = editor_client.post(f"{URL}?user_id=bob", {"all": "1"})
    assert page.status_code == 200
    assert "<html" in page.content.decode()
    assert "Delete 1 memory?" in page.content.decode()
    done = editor_client.post(f"{URL}?user_id=bob", {"all": "1", "confirmed": "1"}, follow=True)
    assert done.redirect_chain == [("/?user_id=bob", 302)]
    assert "Deleted 1 memory." in done.content.decode()


def test_nothing_selected_is_refused(editor_client, world):
    response = editor_client.post(URL, {}, headers=htmx("bulk-confirm"))
    assert "Select at least one memory first." in response.content.decode()
    assert Memory.objects.filter(project=world).count() == 3


def test_invalid_ids_are_refused(editor_client, world):
    response = editor_client.post(
        URL, {"ids": ["nope"], "confirmed": "1"}, headers=htmx("bulk-confirm")
    )
    assert "invalid memory id" in response.content.decode()


def test_all_matching_a_semantic_search_is_refused(editor_client, world):
    response = editor_client.post(
        f"{URL}?search=music", {"all": "1", "confirmed": "1"}, headers=htmx("bulk-confirm")
    )
    assert "select rows instead" in response.content.decode()
    assert Memory.objects.filter(project=world).count() == 3


def test_bad_filter_deletes_nothing(editor_client, world):
    editor_client.post(f"{URL}?filters=%7Bbad", {"all": "1", "confirmed": "1"})
    assert Memory.objects.filter(project=world).count() == 3


def test_expired_memories_are_spared_unless_shown(editor_client, project):
    import datetime as dt

    remember(project, "live", user_id="x")
    remember(project, "stale", user_id="x", expiration_date=dt.date(2020, 1, 1))
    editor_client.post(f"{URL}?user_id=x", {"all": "1", "confirmed": "1"})
    assert list(Memory.objects.values_list("memory", flat=True)) == ["stale"]
    editor_client.post(f"{URL}?user_id=x&show_expired=1", {"all": "1", "confirmed": "1"})
    assert not Memory.objects.exists()


def test_large_delete_is_one_event_with_every_history_row(editor_client, project, settings):
    settings.MEMDASH_SYNC_DELETE_LIMIT = 5000
    bulk_memories(project, 1200, user_id="big")
    editor_client.post(f"{URL}?user_id=big", {"all": "1", "confirmed": "1"})
    assert not Memory.objects.exists()
    event = Event.objects.get(event_type="DELETE")
    assert event.results == {"deleted": 1200}
    assert MemoryHistory.objects.filter(event="DELETE", source_event=event).count() == 1200


def test_a_delete_above_the_sync_limit_is_queued_for_a_worker(
    editor_client, project, settings, django_capture_on_commit_callbacks
):
    from memories.services import run_delete_event

    settings.MEMDASH_SYNC_DELETE_LIMIT = 2
    remember(project, "a", "b", "c", user_id="big")
    remember(project, "keep", user_id="small")
    with django_capture_on_commit_callbacks() as queued:
        response = editor_client.post(
            f"{URL}?user_id=big", {"all": "1", "confirmed": "1"}, headers=htmx("memory-table")
        )
    assert len(queued) == 1  # the Celery task, sent once the event is committed
    assert "in the background" in response["HX-Trigger"]
    event = Event.objects.get(event_type="DELETE")
    assert event.status == "PENDING"
    assert Memory.objects.count() == 4
    run_delete_event(event.pk)  # what the worker does
    event.refresh_from_db()
    assert (event.status, event.results) == ("SUCCEEDED", {"deleted": 3})
    assert list(Memory.objects.values_list("memory", flat=True)) == ["keep"]


def test_viewer_cannot_bulk_delete(viewer_client, world):
    for headers in ({}, htmx("bulk-confirm")):
        response = viewer_client.post(
            f"{URL}?user_id=alex", {"all": "1", "confirmed": "1"}, headers=headers
        )
        assert response.status_code == 403
    assert Memory.objects.filter(project=world).count() == 3


def test_bulk_delete_is_post_only(editor_client):
    assert editor_client.get(URL).status_code == 405


def test_bulk_delete_requires_login(client, world):
    response = client.post(URL, {"all": "1", "confirmed": "1"})
    assert response.status_code == 302
    assert Memory.objects.filter(project=world).count() == 3


def test_the_confirmation_says_beforehand_what_a_legal_hold_keeps(editor_client, world):
    holds.place(world, Subject("user", "bob"), name="Case 7", actor="user:olga")
    selected = ids_of(world)
    response = editor_client.post(URL, {"ids": selected}, headers=htmx("bulk-confirm"))
    content = " ".join(response.content.decode().split())
    assert "Delete 3 memories?" in content
    assert "1 of them is under a legal hold and will be kept" in content
    confirmed = editor_client.post(
        URL, {"ids": selected, "confirmed": "1"}, headers=htmx("memory-table")
    )
    assert confirmed.status_code == 200
    assert list(Memory.objects.filter(project=world).values_list("memory", flat=True)) == [
        "bob likes chess"
    ]
    without = editor_client.post(f"{URL}?user_id=alex", {"all": "1"}, headers=htmx("bulk-confirm"))
    assert "legal hold" not in without.content.decode()
