"""The API key lookup of every request (tenancy.authentication.find_key): one query, the same
objects the ORM would load, and nothing kept between requests."""

from __future__ import annotations

from django.contrib.auth.models import User

from tenancy.authentication import find_key
from tenancy.models import ApiKey, Organization, Project, hash_key
from tenancy.services import create_api_key, revoke_api_key
from tests.conftest import api_client


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_lookup_is_one_query_and_loads_what_the_orm_loads(
    project, api_key, django_assert_num_queries
):
    project.options = {"enable_graph": False, "nested": {"a": [1, 2]}}
    project.save(update_fields=["options"])
    with django_assert_num_queries(1):
        key = find_key(hash_key(api_key))
    assert key is not None
    with django_assert_num_queries(0):
        organization = key.project.organization
    expected = ApiKey.objects.select_related("project__organization").get(pk=key.pk)
    for found, stored in [
        (key, expected),
        (key.project, expected.project),
        (organization, expected.project.organization),
    ]:
        assert _fields(found) == _fields(stored)
        assert {name: type(v) for name, v in _fields(found).items()} == {
            name: type(v) for name, v in _fields(stored).items()
        }
    assert key.project.options == {"enable_graph": False, "nested": {"a": [1, 2]}}
    assert key.created_at.tzinfo is not None
    assert isinstance(key.project, Project) and isinstance(organization, Organization)
    # Marked as loaded from the database, as the ORM marks the instances it makes.
    assert not key._state.adding and key._state.db == "default"


def test_unknown_hash_finds_nothing(db):
    assert find_key(hash_key("m0-nobody")) is None


def test_a_key_that_worked_fails_as_soon_as_it_is_revoked(project, api_key, api):
    assert api.get("/v1/ping/").status_code == 200
    revoke_api_key(project, ApiKey.objects.get().pk)
    response = api.get("/v1/ping/")
    assert response.status_code == 401
    assert response.json()["detail"] == "This API key has been revoked."


def test_ping_still_names_the_keys_creator(project):
    creator = User.objects.create_user("maria", email="maria@example.com")
    raw = create_api_key(project, name="made by maria", created_by=creator)
    answer = api_client(raw).get("/v1/ping/").json()
    assert answer["user_email"] == "maria@example.com"
    assert answer["project_id"] == project.public_id
    assert answer["org_id"] == project.organization.public_id
