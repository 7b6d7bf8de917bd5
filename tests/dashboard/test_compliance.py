"""The compliance console: finding a person, the person page, and exports from the dashboard."""

import io
import json
import zipfile

import pytest
from django.urls import reverse

from memories import erasure, exports
from memories.models import Event, Export
from memories.subjects import Subject
from tenancy.models import Role
from tests.dashboard.conftest import htmx, logged_in, make_user, remember

pytestmark = pytest.mark.django_db

PERSON = reverse("memories:person")


@pytest.fixture
def officer_client(project):
    return logged_in(make_user("olga", project, Role.COMPLIANCE))


@pytest.fixture
def maria(project):
    remember(project, "Maria's phone is 555-0199", user_id="maria", app_id="helpdesk")
    remember(project, "Maria asked about billing", user_id="maria", run_id="ticket-7")
    remember(project, "Maria prefers email", user_id="maria")
    remember(project, "Bob says maria is on leave", user_id="bob")
    return project


def test_the_console_finds_a_person(officer_client, editor_client, maria):
    home = officer_client.get(reverse("memories:compliance"))
    assert home.status_code == 200 and 'id="find-person"' in home.content.decode()
    found = officer_client.get(
        reverse("memories:compliance"), {"entity_type": "user", "entity_id": "maria"}
    )
    assert found.status_code == 302
    assert found["Location"] == f"{PERSON}?entity_type=user&entity_id=maria"
    assert editor_client.get(reverse("memories:compliance")).status_code == 403
    assert editor_client.get(f"{PERSON}?entity_type=user&entity_id=maria").status_code == 403


def test_the_person_page_groups_memories_and_lists_mentions_and_activity(officer_client, maria):
    page = officer_client.get(f"{PERSON}?entity_type=user&entity_id=maria")
    assert page.status_code == 200
    person = page.context["person"]
    assert person.memory_count == 3
    assert [(g.value, g.count) for g in person.groups["app_id"]] == [("helpdesk", 1)]
    assert person.groups["agent_id"] == []
    assert [(g.value, g.count) for g in person.groups["run_id"]] == [("ticket-7", 1)]
    assert "user_id" not in person.groups
    assert [m.memory for m in person.mentions] == ["Bob says maria is on leave"]
    assert len(person.events) == 3
    content = page.content.decode()
    assert 'id="export-person"' in content and 'id="erase-person"' in content
    aliased = officer_client.get(
        PERSON, {"entity_type": "user", "entity_id": "maria", "aliases": "555-0199"}
    )
    assert aliased.context["person"].mention_count == 1  # her own memory is not a mention
    bad = officer_client.get(f"{PERSON}?entity_type=robot&entity_id=x")
    assert bad.status_code == 400


def test_export_from_the_person_page_then_download(officer_client, maria):
    response = officer_client.post(
        f"{reverse('memories:export_new')}?entity_type=user&entity_id=maria"
    )
    record = Export.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("memories:export", args=[record.pk])
    pending = officer_client.get(response["Location"], headers=htmx("export-status"))
    assert 'hx-trigger="every 1s"' in pending.content.decode()
    assert (
        officer_client.get(reverse("memories:export_download", args=[record.pk])).status_code == 404
    )
    exports.run(record.event_id)
    done = officer_client.get(response["Location"]).content.decode()
    assert 'id="download-export"' in done and "3 memories" in done
    download = officer_client.get(reverse("memories:export_download", args=[record.pk]))
    assert download["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert len(json.loads(archive.read("memories.json"))) == 3
    assert Event.objects.filter(event_type="DOWNLOAD", actor="user:olga").count() == 1
    listing = officer_client.get(reverse("memories:exports")).content.decode()
    assert "maria" in listing and "SUCCEEDED" in listing
    person = officer_client.get(f"{PERSON}?entity_type=user&entity_id=maria").context["person"]
    assert [e.pk for e in person.exports] == [record.pk]


def test_a_filtered_list_offers_an_export(officer_client, maria):
    page = officer_client.get("/?user_id=maria").content.decode()
    assert 'id="export-filtered"' in page
    response = officer_client.post(
        reverse("memories:export_new") + '?filters={"app_id": "helpdesk"}'
    )
    assert response.status_code == 302
    assert Export.objects.get().request == {"filters": {"app_id": "helpdesk"}}
    bad = officer_client.post(reverse("memories:export_new") + "?filters=nope")
    assert bad.status_code == 400


def test_after_an_erasure_the_person_page_holds_nothing_but_the_erasure(
    officer_client, maria, project
):
    record = erasure.start(project, Subject("user", "maria"), actor="user:olga")
    erasure.run(record.event_id)
    page = officer_client.get(f"{PERSON}?entity_type=user&entity_id=maria")
    assert page.status_code == 200
    content = page.content.decode()
    assert 'id="holds-nothing"' in content and 'id="export-person"' not in content
    assert [e.pk for e in page.context["person"].erasures] == [record.pk]
    assert "555-0199" not in content


def test_other_projects_exports_are_404(officer_client, other_project):
    remember(other_project, "Their data", user_id="zed")
    record = exports.create_subject(other_project, Subject("user", "zed"), actor="x")
    assert officer_client.get(reverse("memories:export", args=[record.pk])).status_code == 404
    assert (
        officer_client.get(reverse("memories:export_download", args=[record.pk])).status_code == 404
    )
