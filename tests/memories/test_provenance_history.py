"""Provenance and history on the memory page: the source messages of a memory (recorded by
both add paths, marked in the provenance), the history's metadata/categories/expiry diffs, the
reason of an edit, categories edited in the form, and restoring a past version."""

# The dashboard fixtures (alice_client, editor_client...) are imported, not inherited from a
# conftest: ruff takes their use as arguments for redefinitions.
# ruff: noqa: F811

import datetime as dt

import pytest
from django.urls import reverse

from entities.models import Entity
from memories import services
from memories.models import Event, Memory, MemoryHistory
from memories.pipeline import source_messages_of
from memories.prompts import Fact
from tests.conftest import add_verbatim
from tests.dashboard.conftest import (  # noqa: F401 (fixtures)
    alice,
    alice_client,
    charlie,
    charlie_client,
    eddie,
    editor_client,
    htmx,
    remember,
    vera,
    viewer_client,
)

pytestmark = pytest.mark.django_db


def add_sync(api, messages, **options):
    body = {"messages": messages, "async_mode": False, "output_format": "v1.1", **options}
    return api.post("/v1/memories/", body, format="json")


def edit(client, memory_row, **fields):
    data = {
        "memory": memory_row.memory,
        "metadata": "",
        "expiration_date": "",
        **fields,
    }
    return client.post(reverse("memories:edit", args=[memory_row.id]), data)


def restore_url(memory, row):
    return reverse("memories:restore_version", args=[memory.id, row.id])


@pytest.fixture
def memory(project):
    return remember(project, "Alex likes green tea", user_id="alex", metadata={"source": "chat"})[0]


# --- 1. source messages ------------------------------------------------------------------------


def test_verbatim_add_records_the_exact_message_positions(api):
    messages = [
        {"role": "system", "content": "Be nice"},
        {"role": "user", "content": "I like tea"},
        {"role": "assistant", "content": "Noted"},
        {"role": "user", "content": "I like tea"},
        {"role": "user", "content": "I live in Oslo"},
    ]
    response = api.post(
        "/v3/memories/add/",
        {"messages": messages, "infer": False, "user_id": "alex"},
        format="json",
    )
    assert response.status_code == 200, response.content
    # The API's answer is unchanged: no provenance field on the wire.
    assert all("source_messages" not in r for r in response.json()["results"])
    rows = {m.memory: m.source_messages for m in Memory.objects.all()}
    # The assistant message has no agent_id to belong to; the repeated text keeps both places.
    assert rows == {"I like tea": [1, 3], "I live in Oslo": [4]}


def test_pipeline_add_records_the_fact_message(api, fake_llm):
    messages = [
        {"role": "user", "name": "Alice", "content": "I think we should use React"},
        {"role": "user", "name": "Bob", "content": "I prefer Vue"},
    ]
    fake_llm.on(
        "extract facts",
        reply={
            "facts": [
                {"text": "Prefers React", "message": 1},
                {"text": "Prefers Vue", "message": 2},
            ]
        },
    )
    response = add_sync(api, messages, run_id="chat-1")
    assert response.status_code == 200, response.content
    assert [r["memory"] for r in response.json()["results"]] == ["Prefers React", "Prefers Vue"]
    assert set(response.json()["results"][0]) == {"id", "memory", "data", "event"}
    rows = {m.memory: (m.user_id, m.source_messages) for m in Memory.objects.all()}
    assert rows == {"Prefers React": ("alice", [0]), "Prefers Vue": ("bob", [1])}


def test_pipeline_add_reworded_by_the_decision_step_matches_its_fact(api, fake_llm):
    add_verbatim(api, "I drink coffee", user_id="alex")
    # The decision step runs only against similar memories of the scope: this one.
    assert list(Memory.objects.filter(user_id="alex").values_list("memory", flat=True)) == [
        "I drink coffee"
    ]
    messages = [
        {"role": "user", "content": "Hello there"},
        {"role": "user", "content": "I moved to Berlin and I have a dog called Rex"},
    ]
    fake_llm.on(
        "extract facts",
        reply={
            "facts": [
                {"text": "Lives in Berlin", "message": 2},
                {"text": "Has a dog named Rex", "message": 2},
            ]
        },
    )
    fake_llm.on(
        "update memories",
        reply={
            "memory": [
                {"event": "ADD", "text": "Lives in Berlin, Germany"},
                {"event": "ADD", "text": "Owns a dog, Rex"},
                {"event": "NONE", "id": "0"},
            ]
        },
    )
    response = add_sync(api, messages, user_id="alex")
    assert response.status_code == 200, response.content
    # Without the decision step the facts would be stored as extracted.
    assert [c.task for c in fake_llm.calls] == [
        "extract facts",
        "update memories",
        "categorize memories",
    ], Event.objects.filter(event_type="ADD").values("payload", "results", "metadata")[::1]
    added = Memory.objects.exclude(memory="I drink coffee")
    assert {m.memory: m.source_messages for m in added} == {
        "Lives in Berlin, Germany": [1],
        "Owns a dog, Rex": [1],
    }


def test_source_messages_of_matching_rules():
    facts = [Fact("Likes tea", 1), Fact("Lives in Oslo", 3), Fact("Likes green tea", 4)]
    assert source_messages_of("likes  TEA", facts) == [0]  # exact, spacing and case aside
    assert source_messages_of("Lives in Oslo, Norway", facts) == [2]  # most words in common
    assert source_messages_of("Likes tea and lives in Oslo", facts) == [2]
    # No word in common: it came from one of the group's facts, which one is unknown.
    assert source_messages_of("Vegetarian", facts) == [0, 2, 3]
    assert source_messages_of("anything", []) == []


# --- 2. provenance on the detail page ------------------------------------------------------------


def test_detail_marks_the_source_message_with_a_visible_label(alice_client, api):
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "user", "name": "Alice", "content": "I like tea"},
    ]
    add_verbatim(api, messages, user_id="alex")
    memory = Memory.objects.get(memory="I like tea")
    content = alice_client.get(memory.get_absolute_url()).content.decode()
    assert (
        '<li class="source" data-testid="source-message"><span class="badge source">source</span> '
        '<span class="role">Alice (user)</span>I like tea</li>' in content
    )
    assert '<li><span class="role">user message</span>Hi</li>' in content
    assert 'id="memory-speaker">Alice (user)</dd>' in content
    # The history's input messages name speakers the same way.
    assert content.count('<span class="role">Alice (user)</span>I like tea</li>') == 2
    assert content.count('<li><span class="role">user message</span>Hi</li>') == 2


def test_detail_speaker_without_a_name_reads_as_a_role_message(alice_client, memory):
    content = alice_client.get(memory.get_absolute_url()).content.decode()
    assert 'id="memory-speaker">a user message</dd>' in content
    assert "—" not in content.split('id="memory-speaker">')[1].split("</dd>")[0]


def test_category_chips_link_to_the_filtered_list(alice_client, memory):
    Memory.objects.filter(pk=memory.pk).update(categories=["food", "user preferences"])
    content = alice_client.get(memory.get_absolute_url()).content.decode()
    assert 'href="/?category=food"' in content
    assert 'href="/?category=user%20preferences"' in content


# --- 3. history diffs ------------------------------------------------------------------------------


def test_metadata_only_edit_shows_the_keys_that_changed(alice_client, editor_client, memory):
    response = edit(editor_client, memory, metadata='{"source": "email", "lang": "en"}')
    assert response.status_code == 302
    content = " ".join(alice_client.get(memory.get_absolute_url()).content.decode().split())
    assert "Text unchanged (metadata" not in content
    assert "Metadata <code>lang</code> added: <ins>&quot;en&quot;</ins>" in content
    assert (
        "Metadata <code>source</code> changed: <del>&quot;chat&quot;</del> → "
        "<ins>&quot;email&quot;</ins>" in content
    )
    edit(editor_client, Memory.objects.get(pk=memory.pk), metadata='{"lang": "en"}')
    content = " ".join(alice_client.get(memory.get_absolute_url()).content.decode().split())
    assert "Metadata <code>source</code> removed: <del>&quot;email&quot;</del>" in content


def test_expiry_and_category_changes_show_in_the_history(alice_client, editor_client, memory):
    response = edit(
        editor_client,
        memory,
        metadata='{"source": "chat"}',
        expiration_date="2031-05-01",
        categories=["food", "health"],
    )
    assert response.status_code == 302
    memory.refresh_from_db()
    assert memory.categories == ["food", "health"]
    assert memory.expiration_date == dt.date(2031, 5, 1)
    content = " ".join(alice_client.get(memory.get_absolute_url()).content.decode().split())
    assert "Expiry changed: never → 2031-05-01" in content
    assert '<ins class="chip cat">+ food</ins> <ins class="chip cat">+ health</ins>' in content
    edit(editor_client, memory, metadata='{"source": "chat"}', expiration_date="2031-05-01")
    content = " ".join(alice_client.get(memory.get_absolute_url()).content.decode().split())
    assert '<del class="chip cat">− food</del>' in content


def test_word_diff_of_a_text_edit_is_kept(alice_client, editor_client, memory):
    edit(editor_client, memory, memory="Alex likes black tea", metadata='{"source": "chat"}')
    content = alice_client.get(memory.get_absolute_url()).content.decode()
    assert "Alex likes <del>green</del><ins>black</ins> tea" in content


def test_diff_of_the_last_row_of_a_page_uses_the_next_page(alice_client, project):
    memory = remember(project, "v0", user_id="alex", metadata={"n": 0})[0]
    for i in range(1, 22):
        services.update_memory(Memory.objects.get(pk=memory.pk), actor="user:x", metadata={"n": i})
    rows = alice_client.get(memory.get_absolute_url()).context["timeline"].rows
    assert len(rows) == 20
    assert rows[-1].changes.metadata_changed == [("n", 1, 2)]


# --- 5. reason on edits, 6. categories --------------------------------------------------------------


def test_edit_reason_is_stored_and_shown(alice_client, editor_client, memory):
    response = edit(
        editor_client,
        memory,
        memory="Alex likes oolong tea",
        metadata='{"source": "chat"}',
        reason="Customer corrected it on the phone",
    )
    assert response.status_code == 302
    row = MemoryHistory.objects.get(memory_id=memory.id, event="UPDATE")
    assert (row.reason, row.actor) == ("Customer corrected it on the phone", "user:eddie")
    content = alice_client.get(memory.get_absolute_url()).content.decode()
    assert "<strong>Reason:</strong> Customer corrected it on the phone" in content


def test_a_reason_over_500_characters_is_refused_with_nothing_written(editor_client, memory):
    response = edit(
        editor_client, memory, memory="changed", metadata='{"source": "chat"}', reason="x" * 501
    )
    assert response.status_code == 200
    assert "The reason can be at most 500 characters (it has 501)." in response.content.decode()
    memory.refresh_from_db()
    assert memory.memory == "Alex likes green tea"
    assert not MemoryHistory.objects.filter(memory_id=memory.id, event="UPDATE").exists()


def test_service_refuses_a_long_reason(memory):
    from core.errors import InvalidRequest

    with pytest.raises(InvalidRequest, match="at most 500"):
        services.update_memory(memory, actor="x", text="changed", reason="y" * 501)
    assert not MemoryHistory.objects.filter(memory_id=memory.id, event="UPDATE").exists()


def test_categories_outside_the_catalogue_are_refused(editor_client, memory):
    response = edit(editor_client, memory, metadata='{"source": "chat"}', categories=["nope"])
    assert response.status_code == 200
    assert "Select a valid choice. nope is not one of the available choices." in (
        response.content.decode()
    )
    memory.refresh_from_db()
    assert memory.categories is None


def test_a_category_the_memory_already_has_stays_choosable(editor_client, memory):
    Memory.objects.filter(pk=memory.pk).update(categories=["from_a_custom_call"])
    memory.refresh_from_db()
    response = edit(
        editor_client, memory, metadata='{"source": "chat"}', categories=["from_a_custom_call"]
    )
    assert response.status_code == 302
    assert not MemoryHistory.objects.filter(memory_id=memory.id, event="UPDATE").exists()


def test_too_many_categories_are_refused(editor_client, memory, settings):
    settings.MEMDASH_MAX_CATEGORIES = 1
    response = edit(
        editor_client, memory, metadata='{"source": "chat"}', categories=["food", "health"]
    )
    assert response.status_code == 200
    assert "2 categories chosen; at most 1" in response.content.decode()


def test_edit_form_offers_the_catalogue_and_the_reason(editor_client, memory):
    content = editor_client.get(reverse("memories:edit", args=[memory.id])).content.decode()
    assert 'name="categories" value="food"' in content
    assert 'name="reason"' in content


# --- 7. entity activity ------------------------------------------------------------------------------


def test_a_dashboard_edit_moves_the_entitys_last_activity(editor_client, memory):
    before = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    Entity.objects.filter(kind="user", name="alex").update(updated_at=before)
    edit(editor_client, memory, memory="Alex likes white tea", metadata='{"source": "chat"}')
    assert Entity.objects.get(kind="user", name="alex").updated_at > before


# --- 4. restore a version ------------------------------------------------------------------------------


def test_restore_brings_back_text_metadata_and_categories(alice_client, editor_client, memory):
    services.update_memory(
        Memory.objects.get(pk=memory.pk),
        actor="user:eddie",
        text="Alex likes coffee",
        metadata={"source": "email"},
        categories=["food"],
    )
    first = MemoryHistory.objects.get(memory_id=memory.id, event="ADD")
    response = editor_client.post(restore_url(memory, first), {"reason": ""})
    assert response.status_code == 302
    memory.refresh_from_db()
    assert memory.memory == "Alex likes green tea"
    assert memory.metadata == {"source": "chat"}
    assert memory.categories is None
    row = MemoryHistory.objects.filter(memory_id=memory.id).order_by("-created_at").first()
    assert row.event == "UPDATE"
    assert row.actor == "user:eddie"
    assert row.reason == f"Restored the version of {first.created_at:%Y-%m-%d %H:%M:%S} UTC"
    # The restore is an update Event with its actor, like an edit (the audit trail).
    assert Event.objects.filter(event_type="UPDATE", actor="user:eddie").count() == 2
    content = alice_client.get(memory.get_absolute_url()).content.decode()
    assert "Restored the version of" in content


def test_restore_with_a_reason_of_its_own(editor_client, memory):
    services.update_memory(Memory.objects.get(pk=memory.pk), actor="x", text="changed")
    first = MemoryHistory.objects.get(memory_id=memory.id, event="ADD")
    editor_client.post(restore_url(memory, first), {"reason": "Wrong edit"})
    assert MemoryHistory.objects.filter(memory_id=memory.id, reason="Wrong edit").exists()


def test_restore_with_htmx_returns_the_body_and_the_history(editor_client, memory):
    services.update_memory(Memory.objects.get(pk=memory.pk), actor="x", text="changed")
    first = MemoryHistory.objects.get(memory_id=memory.id, event="ADD")
    response = editor_client.post(restore_url(memory, first), headers=htmx("memory-body"))
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="memory-body"')
    assert 'hx-swap-oob="true"' in content
    assert "Version restored." in response["HX-Trigger"]


def test_restore_button_is_for_editors_on_past_entries_only(
    alice_client, editor_client, viewer_client, memory
):
    services.update_memory(Memory.objects.get(pk=memory.pk), actor="x", text="changed")
    first = MemoryHistory.objects.get(memory_id=memory.id, event="ADD")
    latest = MemoryHistory.objects.get(memory_id=memory.id, event="UPDATE")
    for client in (alice_client, editor_client):
        content = client.get(memory.get_absolute_url()).content.decode()
        assert restore_url(memory, first) in content
        assert restore_url(memory, latest) not in content  # the current version
    content = viewer_client.get(memory.get_absolute_url()).content.decode()
    assert "Restore this version" not in content


def test_viewer_cannot_restore(viewer_client, memory):
    services.update_memory(Memory.objects.get(pk=memory.pk), actor="x", text="changed")
    first = MemoryHistory.objects.get(memory_id=memory.id, event="ADD")
    assert viewer_client.post(restore_url(memory, first)).status_code == 403
    assert Memory.objects.get(pk=memory.pk).memory == "changed"


def test_restore_of_another_projects_memory_is_404(charlie_client, memory):
    first = MemoryHistory.objects.get(memory_id=memory.id, event="ADD")
    assert charlie_client.post(restore_url(memory, first)).status_code == 404


def test_restore_of_a_version_of_another_memory_is_404(editor_client, project, memory):
    other = remember(project, "Bo likes rain", user_id="bo")[0]
    other_row = MemoryHistory.objects.get(memory_id=other.id)
    assert editor_client.post(restore_url(memory, other_row)).status_code == 404
    assert Memory.objects.get(pk=memory.pk).memory == "Alex likes green tea"


def test_restore_is_post_only(editor_client, memory):
    first = MemoryHistory.objects.get(memory_id=memory.id, event="ADD")
    assert editor_client.get(restore_url(memory, first)).status_code == 405


def test_an_immutable_memory_cannot_be_restored(editor_client, memory):
    first = MemoryHistory.objects.get(memory_id=memory.id, event="ADD")
    Memory.objects.filter(pk=memory.pk).update(immutable=True, memory="changed")
    response = editor_client.post(restore_url(memory, first), follow=True)
    assert "is immutable and cannot be updated" in response.content.decode()
    assert Memory.objects.get(pk=memory.pk).memory == "changed"
    assert not MemoryHistory.objects.filter(memory_id=memory.id, event="UPDATE").exists()


def test_a_too_long_restore_reason_is_refused(editor_client, memory):
    services.update_memory(Memory.objects.get(pk=memory.pk), actor="x", text="changed")
    first = MemoryHistory.objects.get(memory_id=memory.id, event="ADD")
    response = editor_client.post(restore_url(memory, first), {"reason": "z" * 501}, follow=True)
    assert "at most 500 characters" in response.content.decode()
    assert Memory.objects.get(pk=memory.pk).memory == "changed"
