"""The dashboard's erasure pages: preview, confirmation by typing the id, progress, receipt."""

import pytest
from django.urls import reverse

from memories import erasure
from memories.models import Erasure, Memory
from tenancy.models import Role
from tests.dashboard.conftest import htmx, logged_in, make_user, remember

pytestmark = pytest.mark.django_db

NEW = reverse("memories:erasure_new")


@pytest.fixture
def officer_client(project):
    return logged_in(make_user("olga", project, Role.COMPLIANCE))


@pytest.fixture
def maria(project):
    remember(project, "Maria's phone is 555-0199", user_id="maria")
    remember(project, "Maria prefers email", user_id="maria")
    remember(project, "Bob says maria is on leave", user_id="bob")
    return project


def test_only_compliance_and_admins_see_and_reach_erasures(officer_client, editor_client, maria):
    page = officer_client.get(reverse("entities:detail", args=["user", "maria"])).content.decode()
    assert 'id="erase-entity"' in page
    assert "Compliance</a>" in page
    assert (
        'id="erase-entity"'
        not in editor_client.get(
            reverse("entities:detail", args=["user", "maria"])
        ).content.decode()
    )
    assert editor_client.get(f"{NEW}?entity_type=user&entity_id=maria").status_code == 403
    assert editor_client.get(reverse("memories:erasures")).status_code == 403


def test_preview_states_the_counts_and_lists_mentions(officer_client, maria):
    response = officer_client.get(f"{NEW}?entity_type=user&entity_id=maria")
    assert response.status_code == 200
    assert response.context["counts"] == {
        "memories": 2,
        "history": 2,
        "events": 2,
        "inputs": 0,
        "exports": 0,
        "mentions": 1,
        "trash": 0,
    }
    content = response.content.decode()
    assert "Bob says maria is on leave" in content
    assert "Type maria to confirm" in content
    assert Memory.objects.filter(user_id="maria").count() == 2


def test_aliases_find_more_mentions(officer_client, maria, project):
    remember(project, "Ticket from M. Rossi about billing", user_id="carol")
    response = officer_client.get(f"{NEW}?entity_type=user&entity_id=maria&aliases=M.+Rossi")
    assert response.context["counts"]["mentions"] == 2


def test_a_wrong_confirmation_erases_nothing(officer_client, maria):
    url = f"{NEW}?entity_type=user&entity_id=maria"
    response = officer_client.post(url, {"confirm": "Maria", "reference": "DSR-1"})
    assert response.status_code == 200
    assert "type maria exactly to confirm" in response.content.decode()
    assert not Erasure.objects.exists()


def test_confirm_then_follow_the_progress_and_read_the_receipt(officer_client, maria, project):
    url = f"{NEW}?entity_type=user&entity_id=maria"
    mention = str(Memory.objects.get(user_id="bob").pk)
    response = officer_client.post(
        url, {"confirm": "maria", "reference": "DSR-1", "reason": "art. 17", "mentions": [mention]}
    )
    record = Erasure.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("memories:erasure", args=[record.pk])
    assert record.mentions == [mention]
    pending = officer_client.get(response["Location"], headers=htmx("erasure-status"))
    assert 'hx-trigger="every 1s"' in pending.content.decode()
    assert "<html" not in pending.content.decode()
    erasure.run(record.event_id)
    done = officer_client.get(response["Location"]).content.decode()
    assert "nothing of the subject is left" in done
    assert 'hx-trigger="every 1s"' not in done
    assert "555-0199" not in done and "maria" not in done.replace("/erasures/", "")
    receipt = officer_client.get(reverse("memories:erasure_receipt", args=[record.pk]))
    assert receipt["Content-Disposition"].startswith("attachment;")
    # Every memory deleted counts, the chosen mention among them.
    assert receipt.json()["counts"]["memories"] == 3
    assert receipt.json()["counts"]["mentions"] == 1
    listing = officer_client.get(reverse("memories:erasures")).content.decode()
    assert "DSR-1" in listing and "SUCCEEDED" in listing
    assert not Memory.objects.filter(memory__icontains="maria").exists()


def test_a_filtered_view_offers_to_erase_what_it_matches(officer_client, maria):
    page = officer_client.get("/?user_id=maria").content.decode()
    assert 'id="erase-filtered"' in page
    response = officer_client.get(NEW + '?filters={"user_id": "maria"}')
    assert response.status_code == 200
    assert "Type erase to confirm" in response.content.decode()
    bad = officer_client.get(NEW + "?filters=not-json")
    assert bad.status_code == 400


def test_other_projects_erasures_are_404(officer_client, other_project, project):
    remember(other_project, "secret", user_id="gus")
    assert officer_client.get(f"{NEW}?entity_type=user&entity_id=gus").status_code == 404
