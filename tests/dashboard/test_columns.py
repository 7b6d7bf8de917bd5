"""The memory table's optional columns: chosen in the list's column picker, remembered per
member (tenancy.preferences), shown from the row itself (no query per row)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from memories.models import Memory
from tenancy.models import Membership
from tenancy.preferences import MEMORY_COLUMNS
from tests.dashboard.conftest import HOSTILE, bulk_memories, remember

pytestmark = pytest.mark.django_db

COLUMNS = reverse("memories:columns")
LIST = reverse("memories:list")
EVERY_COLUMN = list(MEMORY_COLUMNS)


def preferences_of(user, project) -> dict:
    return Membership.objects.get(user=user, project=project).preferences


@pytest.mark.parametrize("who", ["vera", "eddie", "alice"])
def test_every_role_chooses_its_own_columns(request, who, project):
    user = request.getfixturevalue(who)
    client = request.getfixturevalue(
        {"vera": "viewer_client", "eddie": "editor_client", "alice": "alice_client"}[who]
    )
    response = client.post(
        COLUMNS,
        {"columns": ["run_id", "agent_id"], "metadata_keys": "priority, source", "query": ""},
    )
    assert response.status_code == 302 and response["Location"] == LIST
    assert preferences_of(user, project) == {
        "memory_columns": ["agent_id", "run_id"],
        "metadata_keys": ["priority", "source"],
    }


def test_one_members_columns_are_not_anothers(alice_client, alice, vera, project):
    alice_client.post(COLUMNS, {"columns": ["app_id"]})
    assert preferences_of(alice, project)["memory_columns"] == ["app_id"]
    assert preferences_of(vera, project) == {}


def test_an_outsider_changes_only_their_own_project_membership(
    charlie, other_project, alice, project
):
    from tests.dashboard.conftest import logged_in

    logged_in(charlie).post(COLUMNS, {"columns": ["agent_id"]})
    assert preferences_of(charlie, other_project)["memory_columns"] == ["agent_id"]
    assert preferences_of(alice, project) == {}


def test_anonymous_is_sent_to_login(client):
    response = client.post(COLUMNS, {"columns": ["agent_id"]})
    assert response.status_code == 302 and "login" in response["Location"]


def test_get_is_not_allowed(alice_client):
    assert alice_client.get(COLUMNS).status_code == 405


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"columns": ["password"]}, "unknown column &#x27;password&#x27;"),
        ({"metadata_keys": "a,b,c,d,e,f"}, "6 metadata keys; at most 5"),
        ({"metadata_keys": "k" * 65}, "has 65 characters; at most 64"),
    ],
)
def test_bad_columns_are_refused_with_a_message_and_nothing_saved(
    alice_client, alice, project, form, message
):
    alice_client.post(COLUMNS, {"columns": ["agent_id"]})
    response = alice_client.post(COLUMNS, form, follow=True)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert preferences_of(alice, project)["memory_columns"] == ["agent_id"]


def test_the_list_filter_survives_the_round_trip_and_stays_on_the_list(alice_client):
    response = alice_client.post(
        COLUMNS, {"columns": ["agent_id"], "query": "user_id=alex&category=food"}
    )
    assert response["Location"] == f"{LIST}?user_id=alex&category=food"
    response = alice_client.post(COLUMNS, {"query": "https://evil.example/"})
    assert response["Location"].startswith(f"{LIST}?")


def test_the_table_shows_the_chosen_columns(alice_client, project):
    (tea,) = remember(
        project, "Likes green tea", user_id="alex", metadata={"priority": 2, "source": HOSTILE}
    )
    Memory.objects.filter(pk=tea.pk).update(categories=["food"], agent_id="chef", run_id="r-9")
    before = alice_client.get(LIST).content.decode()
    assert 'class="col-opt' not in before
    # Without the column, a category chip still links to the list filtered by it.
    assert f'href="{LIST}?category=food"' in before

    alice_client.post(COLUMNS, {"columns": EVERY_COLUMN, "metadata_keys": "priority,source"})
    page = alice_client.get(LIST).content.decode()
    for header in ("Agent", "App", "Run", "Categories", "Updated", "priority", "source"):
        assert f">{header}</th>" in page
    assert f'href="{LIST}?agent_id=chef"' in page and f'href="{LIST}?run_id=r-9"' in page
    assert f'href="{LIST}?category=food"' in page
    # A plain metadata value links to the memories sharing it (the list's `meta` filter).
    assert (
        f'href="{LIST}?meta=priority%3D2" title="Show only memories with priority: 2">2</a>' in page
    )
    filtered = alice_client.get(LIST, {"meta": "priority=2"}).content.decode()
    assert "Likes green tea" in filtered
    assert HOSTILE not in page and "&lt;script&gt;" in page
    # The agent's chip moved to its column: it is not repeated beside the text.
    assert "agent: chef" not in page and "user: alex" in page


def test_the_picker_shows_the_current_choice(alice_client):
    alice_client.post(COLUMNS, {"columns": ["run_id"], "metadata_keys": "tier"})
    page = alice_client.get(LIST).content.decode()
    assert 'id="column-run_id" checked' in page
    assert 'id="column-agent_id" >' in page
    assert 'value="tier"' in page
    assert "Columns (2)" in page


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(LIST).status_code == 200
    return len(queries)


def test_optional_columns_add_no_query_per_row(alice_client, project):
    alice_client.post(COLUMNS, {"columns": EVERY_COLUMN, "metadata_keys": "a,b,c,d,e"})
    bulk_memories(project, 3, user_id="alex", agent_id="chef", app_id="app", run_id="r")
    few = _list_queries(alice_client)
    bulk_memories(project, 30, user_id="alex", agent_id="chef", app_id="app", run_id="r")
    assert _list_queries(alice_client) == few
