"""An empty entity id is no id, on every path (as adds always read it).

Wrappers of the SDKs default unused ids to "" (`agent_id=""`): a read that refused
`{"agent_id": ""}`, or a delete that took it literally, would break them or surprise them.
"""

import pytest

from entities.models import Entity
from memories.models import Memory
from tests.conftest import add_verbatim

pytestmark = pytest.mark.django_db


@pytest.fixture
def alex(api):
    add_verbatim(api, "Alex likes tea", user_id="alex", run_id="")
    add_verbatim(api, "Alex booked a trip", user_id="alex", run_id="trip")
    return api


def texts(results):
    return sorted(r["memory"] for r in results)


def test_an_add_with_an_empty_id_stores_no_id(alex):
    assert Memory.objects.get(memory="Alex likes tea").run_id is None


def test_v3_reads_ignore_empty_ids_in_filters(alex):
    filters = {"user_id": "alex", "agent_id": "", "run_id": "  "}
    listed = alex.post("/v3/memories/", {"filters": filters}, format="json")
    assert listed.status_code == 200, listed.json()
    assert texts(listed.json()["results"]) == ["Alex booked a trip", "Alex likes tea"]
    found = alex.post("/v3/memories/search/", {"query": "tea", "filters": filters}, format="json")
    assert found.status_code == 200, found.json()
    assert "Alex likes tea" in texts(found.json()["results"])
    # In lists and operators too.
    for condition in ({"in": ["", "trip"]}, {"eq": "trip"}):
        body = {"filters": {"user_id": "alex", "run_id": condition}}
        assert texts(alex.post("/v3/memories/", body, format="json").json()["results"]) == [
            "Alex booked a trip"
        ]
    body = {"filters": {"user_id": "alex", "run_id": {"ne": ""}}}
    assert len(alex.post("/v3/memories/", body, format="json").json()["results"]) == 2


def test_a_filter_of_only_empty_ids_scopes_nothing_and_says_so(alex):
    response = alex.post("/v3/memories/", {"filters": {"user_id": ""}}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("filters must scope to at least one of user_id")


def test_v1_and_v2_reads_treat_an_empty_id_as_unmentioned(alex):
    # Seed-era null scoping: an unmentioned run_id must be NULL, and "" is unmentioned.
    v1 = alex.get("/v1/memories/?user_id=alex&run_id=")
    assert texts(v1.json()) == ["Alex likes tea"]
    v2 = alex.post("/v2/memories/", {"filters": {"user_id": "alex", "run_id": ""}}, format="json")
    assert texts(v2.json()) == ["Alex likes tea"]
    search = alex.post(
        "/v1/memories/search/", {"query": "tea", "user_id": "alex", "run_id": ""}, format="json"
    )
    assert search.status_code == 200, search.json()


def test_delete_all_ignores_empty_ids(alex):
    refused = alex.delete("/v1/memories/?user_id=&run_id=")
    assert refused.status_code == 400
    assert Memory.objects.count() == 2
    assert alex.delete("/v1/memories/?user_id=alex&run_id=").status_code == 200
    assert Memory.objects.count() == 0


def test_an_empty_id_makes_no_entity(alex):
    assert sorted(Entity.objects.values_list("kind", "name")) == [("run", "trip"), ("user", "alex")]
