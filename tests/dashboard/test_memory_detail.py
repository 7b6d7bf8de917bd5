"""One memory: detail, provenance, history timeline with diffs, edit and delete."""

import uuid

import pytest
from django.urls import reverse

from memories import services
from memories.models import Memory, MemoryHistory
from tests.dashboard.conftest import HOSTILE, htmx, remember

pytestmark = pytest.mark.django_db


@pytest.fixture
def memory(project):
    return remember(project, "Alex likes green tea", user_id="alex", metadata={"source": "chat"})[0]


def test_detail_shows_text_ids_metadata_and_provenance(alice_client, memory):
    response = alice_client.get(memory.get_absolute_url())
    content = response.content.decode()
    assert response.status_code == 200
    assert '<p class="memory-text" id="memory-text">Alex likes green tea</p>' in content
    assert str(memory.id) in content
    assert "&quot;source&quot;: &quot;chat&quot;" in content
    assert reverse("memories:event", args=[memory.source_event_id]) in content
    assert '<ul class="messages-list" id="input-messages">' in content
    assert response.context["first_add"].input == [
        {"role": "user", "content": "Alex likes green tea"}
    ]


def test_history_shows_who_when_and_a_word_diff(alice_client, memory):
    services.update_memory(
        Memory.objects.get(pk=memory.pk), actor="user:eddie", text="Alex likes black tea"
    )
    content = " ".join(alice_client.get(memory.get_absolute_url()).content.decode().split())
    assert '<span class="actor">eddie <small class="muted">user</small></span>' in content
    # A label no key of the project has (the fixture's) is shown as it is.
    assert '<span class="actor">api-key:m0-test</span>' in content
    assert (
        '<div class="diff" data-testid="diff">Alex likes <del>green</del><ins>black</ins> tea</div>'
        in content
    )


def test_history_is_newest_first_and_loads_more(alice_client, project, settings):
    memory = remember(project, "v0", user_id="alex")[0]
    for i in range(1, 25):
        services.update_memory(Memory.objects.get(pk=memory.pk), actor="user:x", text=f"v{i}")
    first = alice_client.get(memory.get_absolute_url())
    rows = first.context["timeline"].rows
    assert len(rows) == 20
    assert rows[0].new_memory == "v24"
    older = first.context["timeline"].older
    assert 'id="history-more"' in first.content.decode()
    more = alice_client.get(
        memory.get_absolute_url(), {"older": older}, headers=htmx("history-more")
    )
    content = more.content.decode()
    assert "<html" not in content
    assert "<section" not in content
    assert [r.event for r in more.context["timeline"].rows] == ["UPDATE"] * 4 + ["ADD"]
    assert 'id="history-more"' not in content


def test_deleted_memory_still_shows_its_history(alice_client, memory):
    services.delete_memory(Memory.objects.get(pk=memory.pk), actor="user:eddie")
    response = alice_client.get(memory.get_absolute_url())
    content = response.content.decode()
    assert response.status_code == 200
    assert "This memory was deleted" in content
    assert "<del>Alex likes green tea</del>" in content
    assert 'id="edit-memory"' not in content


def test_other_projects_memory_is_404(charlie_client, memory):
    assert charlie_client.get(memory.get_absolute_url()).status_code == 404
    assert charlie_client.get(reverse("memories:edit", args=[memory.id])).status_code == 404


def test_other_projects_deleted_memory_history_is_404(charlie_client, memory):
    services.delete_memory(Memory.objects.get(pk=memory.pk), actor="x")
    assert charlie_client.get(memory.get_absolute_url()).status_code == 404


def test_unknown_and_malformed_ids_are_404(alice_client):
    assert alice_client.get(reverse("memories:detail", args=[uuid.uuid4()])).status_code == 404
    assert alice_client.get("/memories/not-a-uuid/").status_code == 404


def test_detail_is_get_only(alice_client, memory):
    assert alice_client.post(memory.get_absolute_url()).status_code == 405


def test_hostile_text_is_escaped_in_detail_and_history(alice_client, project):
    memory = remember(project, HOSTILE, user_id="alex", metadata={HOSTILE: HOSTILE})[0]
    services.update_memory(Memory.objects.get(pk=memory.pk), actor=HOSTILE, text=HOSTILE + " v2")
    content = alice_client.get(memory.get_absolute_url()).content.decode()
    assert "<script>alert" not in content
    assert "<img src=x" not in content
    assert "&lt;script&gt;" in content


def test_edit_form_partial_and_full_page(editor_client, memory):
    url = reverse("memories:edit", args=[memory.id])
    partial = editor_client.get(url, headers=htmx("memory-body"))
    assert partial.content.decode().lstrip().startswith('<section id="memory-body"')
    assert "Alex likes green tea" in partial.content.decode()
    full = editor_client.get(url)
    assert "<html" in full.content.decode()


def test_edit_saves_through_the_service_with_history(editor_client, memory):
    url = reverse("memories:edit", args=[memory.id])
    response = editor_client.post(
        url,
        {
            "memory": "Alex likes oolong tea",
            "metadata": '{"source": "chat"}',
            "expiration_date": "",
        },
        headers=htmx("memory-body"),
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<section id="memory-body"')
    assert 'id="history-timeline" class="timeline" hx-swap-oob="true"' in content
    assert "Alex likes <del>green</del><ins>oolong</ins> tea" in content
    row = MemoryHistory.objects.get(memory_id=memory.id, event="UPDATE")
    assert (row.old_memory, row.new_memory, row.actor) == (
        "Alex likes green tea",
        "Alex likes oolong tea",
        "user:eddie",
    )
    assert "toast" in response["HX-Trigger"]


def test_edit_without_htmx_redirects_to_the_memory(editor_client, memory):
    url = reverse("memories:edit", args=[memory.id])
    response = editor_client.post(
        url, {"memory": "changed", "metadata": "", "expiration_date": "2030-01-01"}
    )
    assert response.status_code == 302
    assert response["Location"] == memory.get_absolute_url()
    memory.refresh_from_db()
    assert (memory.memory, memory.metadata, str(memory.expiration_date)) == (
        "changed",
        None,
        "2030-01-01",
    )


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        ("[1, 2]", "must be a JSON object"),
        ('{"a": NaN}', "not valid JSON (NaN is not valid JSON)"),
        ('{"a": 1e999}', "not valid JSON (number 1e999 is out of range)"),
        ('{"a": "\\u0000"}', "metadata.a contains a NUL character"),
    ],
)
def test_edit_rejects_bad_metadata_with_a_200_fragment(editor_client, memory, metadata, error):
    url = reverse("memories:edit", args=[memory.id])
    response = editor_client.post(
        url, {"memory": "x", "metadata": metadata}, headers=htmx("memory-body")
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    memory.refresh_from_db()
    assert memory.memory == "Alex likes green tea"


def test_unchanged_edit_writes_no_history(editor_client, memory):
    url = reverse("memories:edit", args=[memory.id])
    editor_client.post(url, {"memory": memory.memory, "metadata": '{"source": "chat"}'})
    assert not MemoryHistory.objects.filter(event="UPDATE").exists()


def test_immutable_memory_cannot_be_edited(editor_client, memory):
    Memory.objects.filter(pk=memory.pk).update(immutable=True)
    page = editor_client.get(memory.get_absolute_url()).content.decode()
    assert 'id="edit-memory"' not in page
    url = reverse("memories:edit", args=[memory.id])
    response = editor_client.post(url, {"memory": "changed"}, headers=htmx("memory-body"))
    assert "is immutable" in response.content.decode()
    memory.refresh_from_db()
    assert memory.memory == "Alex likes green tea"


def test_viewer_cannot_edit_or_delete(viewer_client, memory):
    for name in ("memories:edit", "memories:delete"):
        url = reverse(name, args=[memory.id])
        assert viewer_client.get(url).status_code == 403
        assert (
            viewer_client.post(url, {"memory": "x"}, headers=htmx("memory-body")).status_code == 403
        )
    assert 'id="edit-memory"' not in viewer_client.get(memory.get_absolute_url()).content.decode()
    assert Memory.objects.filter(pk=memory.pk, memory="Alex likes green tea").exists()


def test_delete_confirms_then_deletes_with_history(editor_client, memory):
    url = reverse("memories:delete", args=[memory.id])
    confirm = editor_client.get(url, headers=htmx("delete-confirm"))
    assert confirm.content.decode().lstrip().startswith('<div id="delete-confirm">')
    assert Memory.objects.filter(pk=memory.pk).exists()
    response = editor_client.post(url, headers=htmx("delete-confirm"))
    assert response["HX-Redirect"] == "/"
    assert not Memory.objects.filter(pk=memory.pk).exists()
    row = MemoryHistory.objects.get(memory_id=memory.id, event="DELETE")
    assert row.actor == "user:eddie"


def test_delete_without_htmx_redirects(editor_client, memory):
    response = editor_client.post(reverse("memories:delete", args=[memory.id]))
    assert response.status_code == 302
    assert not Memory.objects.filter(pk=memory.pk).exists()


def test_delete_of_other_projects_memory_is_404(charlie_client, memory):
    assert charlie_client.post(reverse("memories:delete", args=[memory.id])).status_code == 404
    assert Memory.objects.filter(pk=memory.pk).exists()


def test_detail_query_count_is_bounded(alice_client, memory, django_assert_max_num_queries):
    for i in range(5):
        services.update_memory(Memory.objects.get(pk=memory.pk), actor="x", text=f"text {i}")
    alice_client.get("/")
    # The bound counts the access-log row, the project's key names for the "By" column and the
    # active legal holds (the lock badge; memories.marks).
    with django_assert_max_num_queries(11):
        alice_client.get(memory.get_absolute_url())


def test_detail_history_restore_and_boosted_get_the_full_page(alice_client, memory):
    for extra in ({"HX-History-Restore-Request": "true"}, {"HX-Boosted": "true"}):
        response = alice_client.get(memory.get_absolute_url(), headers=htmx("memory-body", **extra))
        assert "<html" in response.content.decode()


def test_edit_shows_the_services_refusal_of_a_text_over_the_limit(editor_client, memory, settings):
    settings.MEMDASH_MAX_MEMORY_CHARS = 20
    url = reverse("memories:edit", args=[memory.id])
    response = editor_client.post(
        url,
        {"memory": "x" * 21, "metadata": "", "expiration_date": ""},
        headers=htmx("memory-body"),
    )
    assert response.status_code == 200
    assert "text has 21 characters; the limit is 20" in response.content.decode()
    assert not MemoryHistory.objects.filter(memory_id=memory.id, event="UPDATE").exists()


def test_history_names_api_keys_with_their_prefix_and_marks_revoked_ones(
    alice_client, memory, project
):
    from tenancy.models import ApiKey
    from tenancy.services import create_api_key, revoke_api_key

    create_api_key(project, name="support bot")
    key = ApiKey.objects.get(name="support bot")
    services.update_memory(Memory.objects.get(pk=memory.pk), actor=key.actor, text="v2")
    content = " ".join(alice_client.get(memory.get_absolute_url()).content.decode().split())
    assert (
        f'<span class="actor">support bot <small class="muted">{key.prefix}</small></span>'
        in content
    )
    revoke_api_key(project, key.pk)
    content = " ".join(alice_client.get(memory.get_absolute_url()).content.decode().split())
    assert (
        f'support bot <small class="muted">{key.prefix}</small> '
        '<span class="badge FAILED">revoked</span>' in content
    )
