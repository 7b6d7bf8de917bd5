"""PII detection on the dashboard: the edit form in each mode, the "contains" pill and column,
the memory page, and the mode on the settings page."""

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from memories.models import Memory, MemoryHistory
from tests.dashboard.conftest import bulk_memories, htmx, remember

pytestmark = pytest.mark.django_db

PHONE_TEXT = "Call me at (415) 555-0132 after six"


def set_mode(project, mode):
    project.pii_mode = mode
    project.save(update_fields=["pii_mode"])


def edit(client, memory, text, **headers):
    url = reverse("memories:edit", args=[memory.id])
    return client.post(url, {"memory": text, "metadata": "", "expiration_date": ""}, **headers)


@pytest.fixture
def memory(project):
    return remember(project, "Likes green tea", user_id="alex")[0]


# --- the edit form -------------------------------------------------------------------------------


def test_edit_in_flag_mode_records_the_kinds(editor_client, memory):
    response = edit(editor_client, memory, PHONE_TEXT, headers=htmx("memory-body"))
    assert response.status_code == 200
    memory.refresh_from_db()
    assert (memory.memory, memory.pii_kinds) == (PHONE_TEXT, ["phone"])
    assert 'id="memory-pii"><a class="chip pii" href="/?pii=phone">phone</a>' in (
        response.content.decode()
    )


def test_edit_in_redact_mode_stores_the_placeholder_and_notes_it_in_history(
    editor_client, project, memory
):
    set_mode(project, "redact")
    response = edit(editor_client, memory, PHONE_TEXT, headers=htmx("memory-body"))
    assert response.status_code == 200
    memory.refresh_from_db()
    assert (memory.memory, memory.pii_kinds) == ("Call me at <PHONE> after six", ["phone"])
    row = MemoryHistory.objects.get(memory_id=memory.id, event="UPDATE")
    assert (row.new_memory, row.pii_redacted, row.actor) == (
        "Call me at <PHONE> after six",
        {"phone": 1},
        "user:eddie",
    )
    content = editor_client.get(memory.get_absolute_url()).content.decode()
    assert "Personal data redacted on write: 1 phone." in content
    assert "555-0132" not in content


def test_edit_in_reject_mode_shows_why_and_changes_nothing(editor_client, project, memory):
    set_mode(project, "reject")
    response = edit(editor_client, memory, PHONE_TEXT, headers=htmx("memory-body"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "personal data this project refuses: phone number (phone)" in content
    memory.refresh_from_db()
    assert memory.memory == "Likes green tea"
    assert not MemoryHistory.objects.filter(event="UPDATE").exists()
    # Without htmx the form comes back too (no redirect: nothing was saved).
    assert edit(editor_client, memory, PHONE_TEXT).status_code == 200


# --- the list: column and pill -------------------------------------------------------------------


@pytest.fixture
def mixed(project):
    remember(project, PHONE_TEXT, "Email: ana@example.com", "Likes tea", user_id="alex")


def test_the_column_shows_each_memorys_kinds(alice_client, mixed):
    content = alice_client.get("/").content.decode()
    assert '<th scope="col" class="col-pii"' in content
    assert '<a class="chip pii" href="/?pii=phone"' in content
    assert '<a class="chip pii" href="/?pii=email"' in content


def test_the_contains_pill_filters_the_list(alice_client, mixed):
    response = alice_client.get("/?pii=phone")
    assert response.status_code == 200
    rows = [row.memory for row in response.context["rows"]]
    assert rows == [PHONE_TEXT]
    assert response.context["api_filter"] == {"pii": "phone"}
    pill = response.context["pills"][0]
    assert (pill.label, pill.value, pill.param) == ("contains", "phone", "pii")
    content = response.content.decode()
    assert '<span class="k">contains</span><span class="v">phone</span>' in content
    assert 'type="hidden" name="pii" value="phone"' in content


def test_contains_pills_are_or_ed_and_any_means_every_kind(alice_client, mixed):
    both = alice_client.get("/?pii=phone&pii=email").context
    assert both["api_filter"] == {"pii": {"in": ["phone", "email"]}}
    assert len(both["rows"]) == 2
    assert len(alice_client.get("/?pii=any").context["rows"]) == 2


def test_the_add_filter_row_adds_a_contains_pill(alice_client, mixed):
    response = alice_client.get("/?user_id=alex&add_field=pii&add_value=email")
    assert response.status_code == 302
    assert response["Location"] == "/?user_id=alex&pii=email"


def test_the_pill_as_a_fragment_carries_the_pills_out_of_band(alice_client, mixed):
    response = alice_client.get("/?pii=email", headers=htmx("memory-table"))
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="memory-table"')
    assert 'id="filter-pills" class="pills" aria-label="Active filters" hx-swap-oob="true"' in (
        content
    )
    assert [row.memory for row in response.context["rows"]] == ["Email: ana@example.com"]


def test_an_unknown_kind_is_an_error_naming_it(alice_client, mixed):
    response = alice_client.get("/?pii=shoe_size")
    assert response.status_code == 400
    assert "&#x27;shoe_size&#x27; is not a kind of personal data" in response.content.decode()


def test_unscreened_memories_say_so(alice_client, project):
    bulk_memories(project, 1, user_id="alex")
    assert "not checked" in alice_client.get("/").content.decode()


def test_query_count_is_unchanged_by_the_pill(
    alice_client, project, django_assert_max_num_queries, settings
):
    settings.MEMDASH_DASHBOARD_COUNT_CAP = 100
    for user in ("a", "b"):
        bulk_memories(project, 60, user_id=user, agent_id="bot")
    Memory.objects.filter(user_id="a").update(pii_kinds=["phone"])
    alice_client.get("/")  # warm the session
    # The same bounds as the unfiltered list (tests/dashboard/test_memory_list.py).
    with django_assert_max_num_queries(9):
        alice_client.get("/?pii=phone")
    with django_assert_max_num_queries(7):
        response = alice_client.get("/?pii=phone", headers=htmx("memory-table"))
    assert len(response.context["rows"]) == 50


# --- the settings page ---------------------------------------------------------------------------


def settings_form(project, **changes):
    form = {
        "name": project.name,
        "description": project.description,
        "custom_instructions": project.custom_instructions,
        "agent_custom_instructions": project.agent_custom_instructions,
        "custom_categories": "",
    }
    return {**form, **changes}


def test_the_settings_page_sets_the_mode_and_the_trail_records_it(alice_client, project):
    content = alice_client.get("/settings/").content.decode()
    assert 'name="pii_mode"' in content
    assert '<option value="flag" selected>' in content
    response = alice_client.post("/settings/", settings_form(project, pii_mode="reject"))
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.pii_mode == "reject"
    entry = AuditEntry.objects.filter(action="settings.change").latest("id")
    assert entry.details == {"pii_mode": {"before": "flag", "after": "reject"}}


def test_a_settings_form_without_the_mode_keeps_it(alice_client, project):
    set_mode(project, "redact")
    response = alice_client.post("/settings/", settings_form(project, description="Desk"))
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.pii_mode, project.description) == ("redact", "Desk")


def test_an_unknown_mode_is_a_form_error(alice_client, project):
    response = alice_client.post(
        "/settings/", settings_form(project, pii_mode="shout"), headers=htmx("settings-form")
    )
    assert "Select a valid choice" in response.content.decode()
    project.refresh_from_db()
    assert project.pii_mode == "flag"


def test_editors_cannot_change_the_mode(editor_client, project):
    response = editor_client.post("/settings/", settings_form(project, pii_mode="flag"))
    assert response.status_code == 403


def test_the_settings_page_sets_the_attribution_mode(alice_client, project):
    content = alice_client.get("/settings/").content.decode()
    assert '<option value="speaker" selected>' in content
    response = alice_client.post("/settings/", settings_form(project, attribution="all_ids"))
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.attribution, project.pii_mode) == ("all_ids", "flag")
    entry = AuditEntry.objects.filter(action="settings.change").latest("id")
    assert entry.details == {"attribution": {"before": "speaker", "after": "all_ids"}}
