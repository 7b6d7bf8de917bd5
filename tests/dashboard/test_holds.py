"""The Holds page (place, list, release; audited), and what a hold changes elsewhere in the
dashboard: lock badges on the memory, entity and person pages, and deletes refused or skipped
with a message that names the hold."""

import json

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from entities.models import Entity
from entities.services import touch_entities
from memories import holds, services
from memories.models import LegalHold, Memory, TrashedMemory
from memories.subjects import Subject
from tenancy.models import Role
from tests.dashboard.conftest import HOSTILE, htmx, logged_in, make_user, remember

pytestmark = pytest.mark.django_db

HOLDS = reverse("memories:holds")


@pytest.fixture
def olga(project):
    return make_user("olga", project, Role.COMPLIANCE)


@pytest.fixture
def officer_client(olga):
    return logged_in(olga)


@pytest.fixture
def world(project):
    """maria's two memories (one in a support-bot run), bob's one, and one of maria's deleted."""
    tea, ticket, gone = remember(
        project, "Maria likes green tea", "Maria opened ticket 7", "Maria moved to Lyon",
        user_id="maria",
    )  # fmt: skip
    (chess,) = remember(project, "Bob plays chess", user_id="bob")
    Memory.objects.filter(pk=ticket.pk).update(agent_id="support-bot")
    touch_entities(project, [{"agent_id": "support-bot"}])
    services.delete_memory(gone, actor="user:eddie")
    return {"tea": tea.pk, "ticket": ticket.pk, "gone": gone.pk, "chess": chess.pk}


def place_form(**fields):
    return {"entity_type": "", "entity_id": "", "filters": "", "name": "", "reason": "", **fields}


def maria_hold(project, name="Doe v. Acme"):
    return holds.place(
        project, Subject("user", "maria"), name=name, reason="Litigation", actor="user:olga"
    )


# --- the page and its roles -------------------------------------------------------------------


def test_only_compliance_and_admins_have_the_holds_page(
    officer_client, alice_client, editor_client, viewer_client, charlie_client, project
):
    assert officer_client.get(HOLDS).status_code == 200
    assert alice_client.get(HOLDS).status_code == 200
    for client in (editor_client, viewer_client):
        assert client.get(HOLDS).status_code == 403
        refused = client.post(HOLDS, place_form(entity_type="user", entity_id="x", name="n"))
        assert refused.status_code == 403
    assert not LegalHold.objects.exists()
    hold = maria_hold(project)
    release = reverse("memories:hold_release", args=[hold.pk])
    assert editor_client.post(release, {"reason": "no"}).status_code == 403
    assert charlie_client.post(release, {"reason": "no"}).status_code == 404  # another project
    assert charlie_client.get(HOLDS).context["active"] == []
    assert LegalHold.objects.get().is_active is True


def test_the_console_links_to_the_holds_and_lists_the_active_ones(officer_client, project):
    console = officer_client.get(reverse("memories:compliance")).content.decode()
    assert f'href="{HOLDS}" id="holds-link"' in console
    assert "No active hold" in console
    maria_hold(project)
    console = officer_client.get(reverse("memories:compliance")).content.decode()
    assert "Doe v. Acme" in console and "Legal holds (1 active)" in console


def test_an_empty_page_says_so(officer_client, project):
    content = officer_client.get(HOLDS).content.decode()
    assert "No active legal hold." in content and "No released holds." in content


# --- placing ----------------------------------------------------------------------------------


def test_placing_a_hold_on_an_entity_lists_it_and_is_audited(officer_client, world, project):
    response = officer_client.post(
        HOLDS,
        place_form(entity_type="user", entity_id="maria", name="Doe v. Acme", reason="Litigation"),
    )
    assert response.status_code == 302 and response["Location"] == HOLDS
    hold = LegalHold.objects.get()
    assert (hold.entity_type, hold.entity_id, hold.filters) == ("user", "maria", None)
    assert (hold.name, hold.reason, hold.placed_by) == ("Doe v. Acme", "Litigation", "user:olga")
    row = AuditEntry.objects.get(action="hold.place")
    assert (row.kind, row.surface, row.actor_label, row.role) == (
        "change", "dashboard", "user:olga", "compliance",
    )  # fmt: skip
    assert row.target == str(hold.pk) and row.entities == ["user:maria"]
    assert row.details == {
        "name": "Doe v. Acme",
        "subject": {"entity_type": "user", "entity_id": "maria"},
        "reason": "Litigation",
    }
    page = officer_client.get(HOLDS)
    content = page.content.decode()
    assert "Placed the legal hold &#x27;Doe v. Acme&#x27; on user maria" in content
    [active] = page.context["active"]
    assert active.hold == hold
    assert (str(active.memories), str(active.trashed)) == ("2", "1")  # her deleted one too
    assert "2 memories" in content and "1 in the trash" in content
    assert f"{reverse('memories:person')}?entity_type=user&amp;entity_id=maria" in content
    assert f'action="{reverse("memories:hold_release", args=[hold.pk])}"' in content


def test_placing_a_hold_on_a_filter(officer_client, world):
    response = officer_client.post(
        HOLDS, place_form(filters='{"agent_id": "support-bot"}', name="Audit of the bot")
    )
    assert response.status_code == 302
    hold = LegalHold.objects.get()
    assert (hold.entity_type, hold.filters) == (None, {"agent_id": "support-bot"})
    page = officer_client.get(HOLDS)
    assert str(page.context["active"][0].memories) == "1"
    assert "{&quot;agent_id&quot;: &quot;support-bot&quot;}" in page.content.decode()
    row = AuditEntry.objects.get(action="hold.place")
    assert row.details["subject"] == {"filters": {"agent_id": "support-bot"}}
    assert row.entities == ["agent:support-bot"]


BAD_INPUT = [
    # (form fields, the field whose error it is or None, words of the error)
    ({"name": "Case"}, None, "Name what to hold"),
    ({"entity_type": "user", "name": "Case"}, "entity_id", "Give the id"),
    ({"entity_id": "maria", "name": "Case"}, "entity_type", "Choose the kind"),
    ({"entity_type": "robot", "entity_id": "x", "name": "Case"}, "entity_type", "valid choice"),
    ({"entity_type": "user", "entity_id": "maria", "filters": '{"user_id": "x"}', "name": "C"},
     "filters", "not both"),
    ({"filters": "{nope", "name": "Case"}, "filters", "Not valid JSON"),
    ({"filters": "[1, 2]", "name": "Case"}, "filters", "non-empty object"),
    ({"filters": "{}", "name": "Case"}, "filters", "non-empty object"),
    ({"filters": '{"colour": "red"}', "name": "Case"}, "filters", "Unknown filter key"),
    ({"filters": '{"user_id": "a\\u0000b"}', "name": "Case"}, "filters", "NUL character"),
    ({"entity_type": "user", "entity_id": "maria"}, "name", "This field is required"),
    ({"entity_type": "user", "entity_id": "maria", "name": "x" * 201}, "name", "at most 200"),
    ({"entity_type": "user", "entity_id": "maria", "name": "   "}, "name", "required"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "field", "words"), BAD_INPUT)
def test_bad_input_is_a_field_error_and_places_nothing(officer_client, world, fields, field, words):
    response = officer_client.post(HOLDS, place_form(**fields))
    assert response.status_code == 200
    form = response.context["form"]
    errors = form.errors.get(field or "__all__")
    assert errors and any(words in e for e in errors), form.errors
    assert words.split()[0] in response.content.decode()
    assert not LegalHold.objects.exists()
    assert not AuditEntry.objects.filter(action="hold.place").exists()
    # The typed input stays, to be fixed.
    if fields.get("filters"):
        assert form["filters"].value() == fields["filters"]


def test_the_person_page_offers_a_hold_prefilled_for_its_entity(officer_client, world, project):
    person = officer_client.get(
        reverse("memories:person"), {"entity_type": "user", "entity_id": "maria"}
    )
    content = person.content.decode()
    link = f"{HOLDS}?entity_type=user&amp;entity_id=maria#place-hold"
    assert f'id="hold-person" href="{link}"' in content
    assert 'id="person-locks"' not in content
    form = officer_client.get(HOLDS, {"entity_type": "user", "entity_id": "maria"}).context["form"]
    assert (form["entity_type"].value(), form["entity_id"].value()) == ("user", "maria")
    maria_hold(project)
    person = officer_client.get(
        reverse("memories:person"), {"entity_type": "user", "entity_id": "maria"}
    )
    assert "On legal hold:" in person.content.decode()
    assert [lock.hold.name for lock in person.context["locks"]] == ["Doe v. Acme"]


def test_hold_text_is_escaped(officer_client, world, project):
    holds.place(project, Subject("user", HOSTILE[:50]), name=HOSTILE[:150], reason=HOSTILE,
                actor="user:olga")  # fmt: skip
    content = officer_client.get(HOLDS).content.decode()
    assert "<script>alert" not in content and "<img src=x" not in content


# --- releasing --------------------------------------------------------------------------------


def test_releasing_a_hold_with_a_reason_keeps_it_as_a_record_and_is_audited(
    officer_client, world, project
):
    hold = maria_hold(project)
    url = reverse("memories:hold_release", args=[hold.pk])
    response = officer_client.post(url, {"reason": "Case settled"})
    assert response.status_code == 302 and response["Location"] == HOLDS
    hold.refresh_from_db()
    assert (hold.is_active, hold.released_by, hold.release_reason) == (
        False, "user:olga", "Case settled",
    )  # fmt: skip
    row = AuditEntry.objects.get(action="hold.release")
    assert (row.actor_label, row.target, row.entities) == (
        "user:olga",
        str(hold.pk),
        ["user:maria"],
    )
    assert row.details["reason"] == "Case settled"
    page = officer_client.get(HOLDS)
    assert page.context["active"] == []
    assert [h.pk for h in page.context["released"].rows] == [hold.pk]
    content = page.content.decode()
    assert "Released the legal hold &#x27;Doe v. Acme&#x27;" in content
    assert "Case settled" in content
    # Now her memory can be deleted again.
    services.delete_memory(Memory.objects.get(pk=world["tea"]), actor="user:eddie")


def test_a_release_needs_a_reason_and_happens_once(officer_client, world, project):
    hold = maria_hold(project)
    url = reverse("memories:hold_release", args=[hold.pk])
    blank = officer_client.post(url, {"reason": "  "}, follow=True)
    assert "Say why the legal hold" in blank.content.decode()
    assert LegalHold.objects.get().is_active is True
    officer_client.post(url, {"reason": "Settled"})
    again = officer_client.post(url, {"reason": "Again"}, follow=True)
    assert "was released on" in again.content.decode()
    assert AuditEntry.objects.filter(action="hold.release").count() == 1
    assert officer_client.get(url).status_code == 405
    unknown = reverse("memories:hold_release", args=["00000000-0000-0000-0000-000000000000"])
    assert officer_client.post(unknown, {"reason": "x"}).status_code == 404


def test_released_holds_page_by_keyset_in_a_fragment(officer_client, project):
    for n in range(53):
        hold = holds.place(project, Subject("run", f"r-{n}"), name=f"Hold {n}", actor="user:olga")
        holds.release(project, hold.pk, reason="done", actor="user:olga")
    first = officer_client.get(HOLDS)
    assert len(first.context["released"].rows) == 50
    older = first.context["released"].older
    more = officer_client.get(HOLDS, {"older": older}, headers=htmx("released-holds"))
    content = more.content.decode()
    assert "<html" not in content and content.lstrip().startswith("<section")
    assert 'id="released-holds"' in content
    assert len(more.context["released"].rows) == 3


def test_holds_page_query_count_is_bounded(
    officer_client, world, project, django_assert_num_queries
):
    maria_hold(project)
    holds.place(
        project, Subject(filters={"agent_id": "support-bot"}), name="Bot", actor="user:olga"
    )
    officer_client.get(HOLDS)
    # session, user, membership, active holds, two counts per active hold, released holds,
    # key names for "by", the project switcher.
    with django_assert_num_queries(11):
        officer_client.get(HOLDS)


# --- lock badges ------------------------------------------------------------------------------


def test_a_held_memory_and_entity_carry_a_lock_badge(officer_client, viewer_client, world, project):
    hold = maria_hold(project)
    page = viewer_client.get(reverse("memories:detail", args=[world["tea"]]))
    content = page.content.decode()
    assert 'id="memory-locks"' in content and "On legal hold: Doe v. Acme" in content
    assert f'href="{HOLDS}"' not in content  # a viewer has no Holds page to go to
    assert (
        f'<a href="{HOLDS}">Doe v. Acme</a>'
        in officer_client.get(reverse("memories:detail", args=[world["tea"]])).content.decode()
    )
    bob = viewer_client.get(reverse("memories:detail", args=[world["chess"]]))
    assert bob.context["locks"] == [] and 'id="memory-locks"' not in bob.content.decode()
    # Her deleted memory, in the trash, is held too.
    gone = viewer_client.get(reverse("memories:detail", args=[world["gone"]]))
    assert [lock.hold for lock in gone.context["locks"]] == [hold]
    assert "kept there while the hold lasts" in gone.content.decode()
    entity = viewer_client.get(reverse("entities:detail", args=["user", "maria"]))
    assert 'id="entity-locks"' in entity.content.decode()
    assert [(lock.hold, lock.whole) for lock in entity.context["locks"]] == [(hold, True)]
    # The support bot has one of her memories: some of its memories are held.
    bot = viewer_client.get(reverse("entities:detail", args=["agent", "support-bot"]))
    assert [(lock.hold, lock.whole) for lock in bot.context["locks"]] == [(hold, False)]
    assert "(some of its memories)" in bot.content.decode()
    bob_entity = viewer_client.get(reverse("entities:detail", args=["user", "bob"]))
    assert bob_entity.context["locks"] == []
    holds.release(project, hold.pk, reason="settled", actor="user:olga")
    after = viewer_client.get(reverse("memories:detail", args=[world["tea"]]))
    assert after.context["locks"] == []


def test_a_filter_hold_marks_what_it_matches(viewer_client, world, project):
    holds.place(project, Subject(filters={"keywords": "ticket"}), name="Tickets", actor="x")
    assert [
        lock.hold.name
        for lock in viewer_client.get(reverse("memories:detail", args=[world["ticket"]])).context[
            "locks"
        ]
    ] == ["Tickets"]
    assert viewer_client.get(reverse("memories:detail", args=[world["tea"]])).context["locks"] == []


def test_the_detail_page_stays_within_its_query_bound_under_holds(
    alice_client, world, project, django_assert_max_num_queries
):
    maria_hold(project)
    holds.place(project, Subject(filters={"agent_id": "support-bot"}), name="Bot", actor="x")
    url = reverse("memories:detail", args=[world["tea"]])
    alice_client.get(url)
    # The page's own bound (tests/dashboard/test_memory_detail.py) plus the two of the badges.
    with django_assert_max_num_queries(12):
        alice_client.get(url)


# --- deletes of held memories ---------------------------------------------------------------


def test_deleting_a_held_memory_from_its_page_is_refused_with_the_holds_name(
    editor_client, world, project
):
    maria_hold(project)
    url = reverse("memories:delete", args=[world["tea"]])
    refused = editor_client.post(url, headers=htmx("delete-confirm"))
    assert refused.status_code == 200
    assert refused["HX-Retarget"] == "#delete-confirm" and refused["HX-Reswap"] == "outerHTML"
    content = refused.content.decode()
    assert content.lstrip().startswith('<div id="delete-confirm">')
    assert 'id="delete-refused"' in content and "legal hold &#x27;Doe v. Acme&#x27;" in content
    assert json.loads(refused["HX-Trigger"])["toast"]["level"] == "error"
    plain = editor_client.post(url)
    assert plain.status_code == 302
    assert plain["Location"] == reverse("memories:detail", args=[world["tea"]])
    assert "cannot be deleted" in editor_client.get(plain["Location"]).content.decode()
    assert Memory.objects.filter(pk=world["tea"]).exists()
    assert not TrashedMemory.objects.filter(pk=world["tea"]).exists()


def test_bulk_and_entity_deletes_skip_held_memories_and_say_so(editor_client, world, project):
    maria_hold(project)
    ids = [str(world["tea"]), str(world["chess"])]
    done = editor_client.post(
        reverse("memories:bulk_delete"),
        {"ids": ids, "confirmed": "1"},
        headers=htmx("bulk-confirm"),
    )
    message = json.loads(done["HX-Trigger"])["toast"]["message"]
    assert message == "Deleted 1 memory; a legal hold keeps 1 memory."
    assert Memory.objects.filter(pk=world["tea"]).exists()
    assert not Memory.objects.filter(pk=world["chess"]).exists()
    response = editor_client.post(reverse("entities:delete", args=["user", "maria"]), follow=True)
    assert (
        "Deleted 0 memories of user maria; a legal hold keeps 2 memories, so user maria stays."
        in (response.content.decode())
    )
    assert Entity.objects.filter(project=project, kind="user", name="maria").exists()


def test_an_erasure_of_a_held_person_is_refused_on_its_page(officer_client, world, project):
    from memories.models import Erasure

    maria_hold(project)
    url = f"{reverse('memories:erasure_new')}?entity_type=user&entity_id=maria"
    response = officer_client.post(url, {"confirm": "maria", "reference": "T-1"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "legal hold &#x27;Doe v. Acme&#x27;" in content and "cannot be erased" in content
    assert not Erasure.objects.exists()
    assert Memory.objects.filter(user_id="maria").count() == 2
