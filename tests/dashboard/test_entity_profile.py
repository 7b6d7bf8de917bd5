"""The Profile panel of a user's page: status, generation time and the memories read, for any
member (viewers too), logged as a "profile.get" read like the API's."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from memories.models import Profile, ProfileSettings
from tests.dashboard.conftest import HOSTILE, htmx, remember

pytestmark = pytest.mark.django_db

GENERATED = dt.datetime(2024, 7, 20, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def alex(project):
    memories = remember(project, "alex likes tea", "alex climbs", user_id="alex")
    ProfileSettings.objects.create(project=project, enabled=True)
    Profile.objects.create(
        project=project,
        entity_id="alex",
        status=Profile.Status.SUCCEEDED,
        profile={"summary": HOSTILE, "facts": ["likes tea"]},
        memory_ids=[m.pk for m in memories],
        generation_count=3,
        generated_at=GENERATED,
        updated_at=timezone.now(),
    )
    return memories


def page(client, kind="user", name="alex", **headers):
    return client.get(reverse("entities:detail", args=[kind, name]), headers=headers)


def test_a_viewer_sees_the_profile_panel(viewer_client, alex):
    response = page(viewer_client)
    assert response.status_code == 200
    profile = response.context["profile"]
    assert (profile.status, profile.generation_count, len(profile.memory_ids)) == (
        "succeeded",
        3,
        2,
    )
    content = response.content.decode()
    assert '<section class="card" id="entity-profile"' in content
    assert '<span class="badge" id="profile-status">succeeded</span>' in content
    assert "2024-07-20 12:00 UTC" in content
    assert '<dd id="profile-memories">2</dd>' in content
    # The LLM's text is escaped like any other.
    assert HOSTILE not in content
    assert "&lt;script&gt;" in content


def test_the_panel_read_is_in_the_access_log(viewer_client, project, alex):
    page(viewer_client)
    row = AuditEntry.objects.get(project_id=project.pk, action="profile.get")
    assert (row.kind, row.surface, row.entities, row.total) == (
        "read",
        "dashboard",
        ["user:alex"],
        2,
    )
    assert sorted(row.memory_ids) == sorted(m.pk for m in alex)


def test_a_failed_generation_shows_its_error(viewer_client, alex):
    Profile.objects.update(status=Profile.Status.FAILED, error="LLM provider unavailable")
    content = page(viewer_client).content.decode()
    assert '<dd id="profile-error">LLM provider unavailable</dd>' in content


def test_profiles_turned_off_show_not_enabled(viewer_client, alex):
    ProfileSettings.objects.update(enabled=False)
    content = page(viewer_client).content.decode()
    assert '<span class="badge" id="profile-status">not_enabled</span>' in content


def test_a_user_without_a_profile_shows_never(viewer_client, project):
    remember(project, "bo likes chess", user_id="bo")
    ProfileSettings.objects.create(project=project, enabled=True)
    content = page(viewer_client, name="bo").content.decode()
    assert '<span class="badge" id="profile-status">pending</span>' in content
    assert '<dd id="profile-generated">never</dd>' in content


def test_other_kinds_have_no_profile_panel(viewer_client, project):
    remember(project, "support bot is polite", agent_id="support")
    response = page(viewer_client, kind="agent", name="support")
    assert response.context["profile"] is None
    assert 'id="entity-profile"' not in response.content.decode()
    assert not AuditEntry.objects.filter(action="profile.get").exists()


def test_the_memory_table_fragment_leaves_the_panel_out(viewer_client, project, alex):
    response = page(viewer_client, **htmx("memory-table"))
    assert 'id="entity-profile"' not in response.content.decode()
    assert not AuditEntry.objects.filter(action="profile.get").exists()


def test_an_outsider_gets_a_404(client, charlie, alex):
    client.force_login(charlie)
    assert page(client).status_code == 404
