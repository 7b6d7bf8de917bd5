"""The settings page's custom categories: a line without a colon is refused (naming it), the
default catalogue is shown, and saved categories come back in a form that saves unchanged."""

import pytest

from memories.categories import DEFAULT_CATEGORIES
from memories.models import Category
from tests.dashboard.conftest import htmx

pytestmark = pytest.mark.django_db


def post_categories(client, text: str):
    return client.post(
        "/settings/",
        {"name": "support-bot", "custom_categories": text},
        headers=htmx("settings-form"),
    )


def test_a_line_without_a_colon_is_refused_naming_the_line(alice_client, project):
    response = post_categories(alice_client, "food: what people eat\ntravel plans")
    content = response.content.decode()
    assert response.status_code == 200
    assert "line 2 (&#x27;travel plans&#x27;) has no colon" in content
    assert not Category.objects.filter(project=project).exists()


def test_name_and_colon_is_a_category_without_description(alice_client, project):
    post_categories(alice_client, "travel:\nfood: what people eat")
    assert list(Category.objects.filter(project=project).values_list("name", "description")) == [
        ("travel", ""),
        ("food", "what people eat"),
    ]
    # The form shows it back with its colon, so saving the page unchanged is accepted.
    page = alice_client.get("/settings/").content.decode()
    assert "travel:\nfood: what people eat" in page


def test_the_default_catalogue_is_shown(alice_client):
    page = alice_client.get("/settings/").content.decode()
    assert 'id="default-categories"' in page
    for name, description in DEFAULT_CATEGORIES:
        assert f"<code>{name}</code>" in page and description in page
