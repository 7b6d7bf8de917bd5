"""Custom categories are bounded (MEMDASH_MAX_CATEGORIES, MEMDASH_MAX_CATEGORY_NAME_CHARS,
MEMDASH_MAX_CATEGORY_DESCRIPTION_CHARS): every one goes into the extraction prompt. Over a
limit is a 400 (or a form error) naming it, and nothing is changed."""

import pytest

from core.api.errors import error_body
from memories.models import Category, Event
from tenancy.models import Role
from tests.dashboard.conftest import htmx, logged_in, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def path(project):
    return (
        f"/api/v1/orgs/organizations/{project.organization.public_id}/projects/{project.public_id}/"
    )


@pytest.fixture
def food(project):
    return Category.objects.create(project=project, name="food", description="Meals")


def names(project):
    return list(Category.objects.filter(project=project).values_list("name", flat=True))


def test_the_limits_are_reached_exactly(api, path, project, settings):
    settings.MEMDASH_MAX_CATEGORIES = 3
    body = {
        "custom_categories": [
            {"a" * 100: "d" * 500},
            {"b": ""},
            "c",
        ]
    }
    response = api.patch(path, body, format="json")
    assert response.status_code == 200, response.content
    assert names(project) == ["a" * 100, "b", "c"]


@pytest.mark.parametrize(
    ("categories", "detail"),
    [
        (
            [f"c{i}" for i in range(101)],
            "custom_categories has 101 categories; at most 100 (MEMDASH_MAX_CATEGORIES)",
        ),
        (
            [{"n" * 101: ""}],
            "custom_categories has a category name of 101 characters ('nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...); "
            "at most 100 (MEMDASH_MAX_CATEGORY_NAME_CHARS)",
        ),
        (
            [{"travel": ""}, {"food": "x" * 501}],
            "custom_categories has a description of 501 characters (category 'food'); at most 500 "
            "(MEMDASH_MAX_CATEGORY_DESCRIPTION_CHARS)",
        ),
    ],
)
def test_over_a_limit_is_a_400_that_changes_nothing(api, path, project, food, categories, detail):
    response = api.patch(path, {"custom_categories": categories}, format="json")
    assert response.status_code == 400
    assert response.json() == error_body(detail)
    assert names(project) == ["food"]


def test_the_limits_come_from_settings(api, path, project, food, settings):
    settings.MEMDASH_MAX_CATEGORIES = 2
    settings.MEMDASH_MAX_CATEGORY_DESCRIPTION_CHARS = 10
    three = api.patch(path, {"custom_categories": ["a", "b", "c"]}, format="json")
    assert three.json()["detail"] == (
        "custom_categories has 3 categories; at most 2 (MEMDASH_MAX_CATEGORIES)"
    )
    long = api.patch(path, {"custom_categories": [{"a": "eleven char"}]}, format="json")
    assert long.status_code == 400
    assert "at most 10" in long.json()["detail"]
    assert names(project) == ["food"]


def test_an_adds_own_categories_have_the_same_limits(api, settings):
    settings.MEMDASH_MAX_CATEGORIES = 2
    response = api.post(
        "/v1/memories/",
        {
            "messages": "I like tea",
            "user_id": "u",
            "custom_categories": [{"a": ""}, {"b": ""}, {"c": ""}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "custom_categories: has 3 categories; at most 2 (MEMDASH_MAX_CATEGORIES)"
    )
    assert not Event.objects.exists()


def test_the_settings_form_shows_the_limit_on_its_field(project, food, settings):
    settings.MEMDASH_MAX_CATEGORY_NAME_CHARS = 5
    client = logged_in(make_user("alice", project, Role.ADMIN))
    response = client.post(
        "/settings/",
        {"name": "support-bot", "custom_categories": "cuisine: styles of cooking\ntravel:"},
        headers=htmx("settings-form"),
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["custom_categories"] == [
        "custom_categories has a category name of 7 characters ('cuisine'); "
        "at most 5 (MEMDASH_MAX_CATEGORY_NAME_CHARS)"
    ]
    assert "at most 5" in response.content.decode()
    assert names(project) == ["food"]
