"""The Trash page: deleted memories listed with who deleted them and when, filtered like the
memories page, restored (back in the list and in search) or purged after a confirmation; a
legal hold's refusal of a purge is a message, never a 500."""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from memories import holds, services
from memories.models import Event, Memory, MemoryHistory, TrashedMemory
from memories.subjects import Subject
from tests.dashboard.conftest import HOSTILE, bulk_memories, htmx, remember

pytestmark = pytest.mark.django_db

TRASH = reverse("memories:trash")
RESTORE = reverse("memories:trash_restore")
PURGE = reverse("memories:trash_purge")


@pytest.fixture
def world(project, other_project):
    """In the trash: maria's tea and her ticket (deleted by eddie), bob's chess (by an API key).
    Still alive: maria's jazz. Another project trashed a memory of its own."""
    tea, ticket, jazz = remember(
        project, "Maria likes green tea", "Maria opened ticket 7", "Maria likes jazz",
        user_id="maria",
    )  # fmt: skip
    (chess,) = remember(project, "Bob plays chess", user_id="bob", app_id="coach")
    services.batch_delete(project, [tea.pk, ticket.pk], actor="user:eddie")
    services.delete_memory(chess, actor="api-key:m0-test")
    (theirs,) = remember(other_project, "Outsider secret", user_id="maria")
    services.delete_memory(theirs, actor="api-key:m0-other")
    return {"tea": tea.pk, "ticket": ticket.pk, "jazz": jazz.pk, "chess": chess.pk,
            "theirs": theirs.pk}  # fmt: skip


def texts(response) -> list[str]:
    return [row.memory.memory for row in response.context["rows"]]


def toast_of(response) -> dict:
    return json.loads(response["HX-Trigger"])["toast"]


# --- the list ---------------------------------------------------------------------------------


def test_the_trash_lists_deleted_memories_newest_first_with_who_and_when(editor_client, world):
    response = editor_client.get(TRASH)
    assert response.status_code == 200
    # Newest deletes first; tea and the ticket went in one batch (one moment: then by id).
    first, *batch = texts(response)
    assert (first, sorted(batch)) == (
        "Bob plays chess",
        ["Maria likes green tea", "Maria opened ticket 7"],
    )
    content = response.content.decode()
    assert "Outsider secret" not in content and "Maria likes jazz" not in content
    assert "3 deleted memories" in content
    assert 'aria-current="page">Trash</a>' in content
    row = response.context["rows"][0]
    assert [(c.label, c.value) for c in row.chips] == [("user", "bob"), ("app", "coach")]
    assert row.chips[0].url == f"{TRASH}?user_id=bob"
    tea = TrashedMemory.objects.get(pk=world["tea"])
    assert tea.trashed_by == "user:eddie"
    assert tea.purge_after.date() == (tea.trashed_at + dt.timedelta(days=30)).date()
    assert f"{tea.purge_after:%Y-%m-%d}" in content
    assert "eddie <small" in content  # the actor tag: the user's name, "user" in small type
    assert 'id="restore-selected"' in content and 'id="purge-selected"' in content
    assert content.count('name="one"') == 6  # a Restore and a Purge… button per row
    assert "for 30 days" in content


def test_a_viewer_sees_the_trash_but_no_actions_and_may_not_post(viewer_client, world):
    response = viewer_client.get(TRASH)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Maria likes green tea" in content
    assert 'id="restore-selected"' not in content and 'name="one"' not in content
    assert 'name="ids"' not in content
    assert ">Trash</a>" not in content  # the navigation offers it to editors and up
    for url in (RESTORE, PURGE):
        for headers in ({}, htmx("trash-table")):
            answer = viewer_client.post(
                url, {"one": str(world["tea"]), "confirmed": "1"}, headers=headers
            )
            assert answer.status_code == 403
    assert TrashedMemory.objects.filter(pk=world["tea"]).exists()
    assert not Memory.objects.filter(pk=world["tea"]).exists()


def test_anonymous_users_go_to_the_login_page(client, world):
    response = client.get(TRASH)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.post(RESTORE, {"one": str(world["tea"])}).status_code == 302
    assert TrashedMemory.objects.filter(pk=world["tea"]).exists()


def test_wrong_methods_are_405(editor_client, world):
    assert editor_client.get(RESTORE).status_code == 405
    assert editor_client.get(PURGE).status_code == 405
    assert editor_client.post(TRASH).status_code == 405


def test_filters_by_entity_and_keyword_as_pills(editor_client, world):
    response = editor_client.get(TRASH, {"user_id": "maria", "q": "TEA"})
    assert texts(response) == ["Maria likes green tea"]
    pills = [(p.label, p.value) for p in response.context["pills"]]
    assert pills == [("user", "maria"), ("text contains", "TEA")]
    content = response.content.decode()
    assert f'href="{TRASH}?q=TEA"' in content  # removing the user pill keeps the keyword
    assert "Clear all" in content
    by_app = editor_client.get(TRASH, {"app_id": "coach"})
    assert texts(by_app) == ["Bob plays chess"]
    nothing = editor_client.get(TRASH, {"run_id": "no-such-run"})
    assert texts(nothing) == []
    assert "Nothing in the trash matches these filters." in nothing.content.decode()


def test_the_table_fragment_carries_its_count_and_pushes_the_url(editor_client, world):
    response = editor_client.get(
        TRASH, {"user_id": "maria", "app_id": " "}, headers=htmx("trash-table")
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert content.lstrip().startswith('<section id="trash-table"')
    assert '<span id="trash-count" hx-swap-oob="true">2 deleted memories</span>' in content
    assert 'id="trash-controls" class="filter-controls" hx-swap-oob="true"' in content
    assert response["HX-Push-Url"] == f"{TRASH}?user_id=maria"
    assert "HX-Request" in response["Vary"]
    # Typing in the filter form itself: its controls are not swapped under the cursor.
    typed = editor_client.get(
        TRASH, {"user_id": "maria"}, headers=htmx("trash-table", **{"HX-Trigger": "trash-filters"})
    )
    assert 'id="trash-controls"' not in typed.content.decode()


def test_history_restore_and_boosted_requests_get_the_full_page(editor_client, world):
    for extra in ({"HX-History-Restore-Request": "true"}, {"HX-Boosted": "true"}):
        response = editor_client.get(TRASH, headers=htmx("trash-table", **extra))
        assert "<html" in response.content.decode()


def test_an_overlong_filter_is_an_error_on_the_page(editor_client, world):
    response = editor_client.get(TRASH, {"user_id": "x" * 300})
    assert response.status_code == 400
    assert "user: at most 255 characters" in response.content.decode()
    assert response.context["rows"] == []


def test_the_trash_pages_by_keyset(editor_client, project):
    rows = bulk_memories(project, 55, user_id="pat")
    services.batch_delete(project, [m.pk for m in rows], actor="user:eddie")
    first = editor_client.get(TRASH)
    assert len(first.context["rows"]) == 50
    assert str(first.context["count"]) == "55"
    second = editor_client.get(TRASH, {"older": first.context["page"].older})
    assert len(second.context["rows"]) == 5
    seen = {r.memory.pk for r in first.context["rows"]} | {
        r.memory.pk for r in second.context["rows"]
    }
    assert len(seen) == 55
    assert second.context["page"].newer is not None
    assert editor_client.get(TRASH, {"older": "garbage"}).status_code == 200


def test_the_empty_trash_says_so(editor_client, project):
    content = editor_client.get(TRASH).content.decode()
    assert "The trash is empty." in content
    assert "appear here for 30 days" in content
    assert 'id="restore-selected"' not in content


def test_with_the_trash_off_the_page_says_so_and_deletes_are_final(
    editor_client, project, settings
):
    settings.MEMDASH_TRASH_DAYS = 0
    (memory,) = remember(project, "Gone for good", user_id="maria")
    services.delete_memory(memory, actor="user:eddie")
    content = editor_client.get(TRASH).content.decode()
    assert 'id="trash-off"' in content and "deletes are final" in content
    assert "Gone for good" not in content
    assert not TrashedMemory.objects.exists()


def test_text_is_escaped(editor_client, project):
    (memory,) = remember(project, HOSTILE, user_id=HOSTILE[:40])
    services.delete_memory(memory, actor="user:eddie")
    content = editor_client.get(TRASH).content.decode()
    assert "<script>alert" not in content and "<img src=x" not in content


# --- restore ----------------------------------------------------------------------------------


def test_restore_brings_a_memory_back_to_the_list_and_to_search(
    editor_client, world, project, eddie
):
    response = editor_client.post(
        f"{RESTORE}?user_id=maria", {"one": str(world["tea"])}, headers=htmx("trash-table")
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="trash-table"')
    assert '<div id="trash-confirm" hx-swap-oob="true"></div>' in content
    assert response["HX-Retarget"] == "#trash-table"
    assert toast_of(response)["message"].startswith("Restored 1 memory")
    assert texts(response) == ["Maria opened ticket 7"]  # the same filter, one fewer row
    memory = Memory.objects.get(pk=world["tea"])
    assert memory.memory == "Maria likes green tea" and memory.user_id == "maria"
    assert not TrashedMemory.objects.filter(pk=world["tea"]).exists()
    restore = MemoryHistory.objects.get(memory_id=world["tea"], event="RESTORE")
    assert restore.actor == "user:eddie" and restore.new_memory == "Maria likes green tea"
    event = Event.objects.get(event_type="RESTORE")
    assert (event.actor, event.results) == ("user:eddie", {"restored": 1})
    # Back in the memories list, in keyword and in semantic search.
    listed = editor_client.get("/", {"user_id": "maria"})
    assert "Maria likes green tea" in [row.memory for row in listed.context["rows"]]
    found = editor_client.get("/", {"q": "green tea"})
    assert [row.memory for row in found.context["rows"]] == ["Maria likes green tea"]
    searched = editor_client.get("/", {"search": "green tea"})
    assert searched.context["rows"][0].memory == "Maria likes green tea"
    # Its page shows the restore in the history.
    page = editor_client.get(reverse("memories:detail", args=[world["tea"]]))
    assert page.context["memory"] is not None
    assert "RESTORE" in page.content.decode()


def test_restore_of_selected_rows_without_htmx_redirects_with_a_message(editor_client, world):
    ids = [str(world["tea"]), str(world["chess"])]
    response = editor_client.post(f"{RESTORE}?user_id=maria", {"ids": ids})
    assert response.status_code == 302 and response["Location"] == f"{TRASH}?user_id=maria"
    assert Memory.objects.filter(pk__in=ids).count() == 2
    page = editor_client.get(response["Location"])
    assert "Restored 2 memories" in page.content.decode()


def test_restore_of_something_no_longer_in_the_trash_says_so(editor_client, world):
    editor_client.post(RESTORE, {"one": str(world["tea"])})
    again = editor_client.post(RESTORE, {"one": str(world["tea"])}, headers=htmx("trash-table"))
    assert again.status_code == 200
    assert again["HX-Retarget"] == "#trash-confirm"
    content = again.content.decode()
    assert 'id="trash-refusal"' in content and "restored or purged already" in content
    assert toast_of(again)["level"] == "error"
    empty = editor_client.post(RESTORE, {}, headers=htmx("trash-table"))
    assert "Select at least one memory first." in empty.content.decode()
    bad = editor_client.post(RESTORE, {"ids": ["not-a-uuid"]}, headers=htmx("trash-table"))
    assert "memory ids are UUIDs" in bad.content.decode()
    assert Event.objects.filter(event_type="RESTORE").count() == 1


def test_other_projects_trash_cannot_be_seen_or_restored(editor_client, charlie_client, world):
    response = editor_client.post(RESTORE, {"one": str(world["theirs"])}, headers=htmx("x"))
    assert "restored or purged already" in response.content.decode()
    assert TrashedMemory.objects.filter(pk=world["theirs"]).exists()
    theirs = charlie_client.get(TRASH)
    assert texts(theirs) == ["Outsider secret"]
    purge = charlie_client.post(PURGE, {"one": str(world["tea"]), "confirmed": "1"})
    assert purge.status_code == 302
    assert TrashedMemory.objects.filter(pk=world["tea"]).exists()


# --- purge ------------------------------------------------------------------------------------


def test_purge_asks_for_a_confirmation_then_removes_the_memory_for_good(editor_client, world):
    ids = [str(world["tea"]), str(world["ticket"])]
    step = editor_client.post(f"{PURGE}?user_id=maria", {"ids": ids}, headers=htmx("trash-confirm"))
    content = step.content.decode()
    assert step.status_code == 200
    assert content.lstrip().startswith('<div id="trash-confirm">')
    assert "Purge 2 memories for good?" in content
    assert "Maria likes green tea" in content
    assert 'name="confirmed" value="1"' in content and content.count('name="ids"') == 2
    assert f'hx-post="{PURGE}?user_id=maria"' in content
    assert TrashedMemory.objects.filter(pk__in=ids).count() == 2  # nothing purged yet
    done = editor_client.post(
        f"{PURGE}?user_id=maria", {"ids": ids, "confirmed": "1"}, headers=htmx("trash-table")
    )
    assert done.status_code == 200
    assert toast_of(done)["message"] == "Purged 2 memories for good. Their history is kept."
    assert texts(done) == []
    assert not TrashedMemory.objects.filter(pk__in=ids).exists()
    assert not Memory.objects.filter(pk__in=ids).exists()
    event = Event.objects.get(event_type="PURGE")
    assert (event.actor, event.results) == ("user:eddie", {"purged": 2})
    # The history stays: the memory's page still shows its DELETE.
    assert MemoryHistory.objects.filter(memory_id=world["tea"], event="DELETE").exists()
    page = editor_client.get(reverse("memories:detail", args=[world["tea"]]))
    assert page.status_code == 200 and page.context["trashed"] is None
    assert 'id="memory-trashed"' not in page.content.decode()


def test_purge_without_htmx_confirms_on_the_full_page(editor_client, world):
    step = editor_client.post(PURGE, {"one": str(world["chess"])})
    assert step.status_code == 200
    content = step.content.decode()
    assert "<html" in content and "Purge 1 memory for good?" in content
    done = editor_client.post(PURGE, {"ids": [str(world["chess"])], "confirmed": "1"})
    assert done.status_code == 302 and done["Location"] == TRASH
    assert not TrashedMemory.objects.filter(pk=world["chess"]).exists()


def test_a_held_memory_cannot_be_purged_and_the_page_says_which_hold(editor_client, world, project):
    hold = holds.place(project, Subject("user", "maria"), name="Case 7", actor="user:olga")
    page = editor_client.get(TRASH)
    held = {row.memory.memory: row.held for row in page.context["rows"]}
    assert held == {"Bob plays chess": False, "Maria opened ticket 7": True,
                    "Maria likes green tea": True}  # fmt: skip
    assert "kept (held)" in page.content.decode()
    ids = [str(world["tea"]), str(world["chess"])]
    for data in ({"ids": ids}, {"ids": ids, "confirmed": "1"}):
        refused = editor_client.post(PURGE, data, headers=htmx("trash-confirm"))
        assert refused.status_code == 200
        assert refused["HX-Retarget"] == "#trash-confirm"
        assert refused["HX-Reswap"] == "outerHTML"
        content = refused.content.decode()
        assert 'id="trash-refusal"' in content and "legal hold &#x27;Case 7&#x27;" in content
        assert "cannot be purged" in content
        assert toast_of(refused)["level"] == "error"
    plain = editor_client.post(PURGE, {"ids": ids, "confirmed": "1"})
    assert plain.status_code == 302
    assert "Case 7" in editor_client.get(plain["Location"]).content.decode()
    assert TrashedMemory.objects.filter(pk__in=ids).count() == 2
    assert not Event.objects.filter(event_type="PURGE").exists()
    # Restoring is not removing: a held memory comes back.
    editor_client.post(RESTORE, {"one": str(world["tea"])})
    assert Memory.objects.filter(pk=world["tea"]).exists()
    holds.release(project, hold.pk, reason="settled", actor="user:olga")
    editor_client.post(PURGE, {"one": str(world["ticket"]), "confirmed": "1"})
    assert not TrashedMemory.objects.filter(pk=world["ticket"]).exists()


# --- the access log and the cost -------------------------------------------------------------


def test_the_trash_page_writes_one_access_log_row(editor_client, world, project):
    response = editor_client.get(TRASH, {"user_id": "maria"})
    rows = list(AuditEntry.objects.filter(request_id=response["X-Request-ID"]))
    assert len(rows) == 1, [r.action for r in rows]
    row = rows[0]
    assert (row.kind, row.action, row.surface, row.project_id) == (
        "read", "trash.list", "dashboard", project.pk,
    )  # fmt: skip
    assert (row.actor_label, row.role) == ("user:eddie", "editor")
    assert row.entities == ["user:maria"]
    assert {str(i) for i in row.memory_ids} == {str(world["tea"]), str(world["ticket"])}
    assert row.total == 2
    assert row.filters == {"user_id": "maria"}
    fragment = editor_client.get(TRASH, headers=htmx("trash-table"))
    rows = list(AuditEntry.objects.filter(request_id=fragment["X-Request-ID"]))
    assert [(r.action, r.total) for r in rows] == [("trash.list", 3)]


def test_trash_query_count_is_bounded(editor_client, project, django_assert_num_queries, settings):
    settings.MEMDASH_DASHBOARD_COUNT_CAP = 100
    for user in ("a", "b", "c"):
        rows = bulk_memories(project, 60, user_id=user)
        services.batch_delete(project, [m.pk for m in rows], actor="user:eddie")
    holds.place(project, Subject("user", "a"), name="Hold a", actor="user:olga")
    holds.place(project, Subject(filters={"user_id": "b"}), name="Hold b", actor="user:olga")
    editor_client.get(TRASH)  # warm the session
    # session, user, membership, the page's rows, the capped count, the active holds, which
    # rows they cover, the access-log row, the key names for "by", the project switcher.
    with django_assert_num_queries(10):
        response = editor_client.get(TRASH)
    assert len(response.context["rows"]) == 50
    assert str(response.context["count"]) == "100+"
    # A fragment: the same but the switcher.
    with django_assert_num_queries(9):
        editor_client.get(TRASH, {"user_id": "a"}, headers=htmx("trash-table"))


def test_the_page_of_a_trashed_memory_points_to_the_trash(editor_client, viewer_client, world):
    url = reverse("memories:detail", args=[world["tea"]])
    content = editor_client.get(url).content.decode()
    assert 'id="memory-trashed"' in content
    assert '<span class="actor">eddie' in content.split('id="memory-trashed"')[1]
    assert f'href="{TRASH}?user_id=maria"' in content
    assert 'id="find-in-trash"' not in viewer_client.get(url).content.decode()


def test_deletes_say_they_can_be_restored(editor_client, world, project):
    (memory,) = remember(project, "Maria likes rain", user_id="maria")
    confirm = editor_client.get(reverse("memories:delete", args=[memory.pk]))
    assert "It goes to the Trash, where it can be restored for 30 days." in confirm.content.decode()
    response = editor_client.post(reverse("memories:delete", args=[memory.pk]), follow=True)
    assert "Memory deleted. It can be restored from the Trash for 30 days." in (
        response.content.decode()
    )
    assert TrashedMemory.objects.filter(pk=memory.pk, trashed_by="user:eddie").exists()
    assert timezone.now() < TrashedMemory.objects.get(pk=memory.pk).purge_after
