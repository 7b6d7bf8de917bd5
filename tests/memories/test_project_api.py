import pytest

from core.api.errors import error_body
from memories.models import Category
from tests.conftest import ANY_TIMESTAMP

pytestmark = pytest.mark.django_db


@pytest.fixture
def path(project):
    return (
        f"/api/v1/orgs/organizations/{project.organization.public_id}/projects/{project.public_id}/"
    )


def test_get_project(api, path, project):
    body = api.get(path + "?fields=custom_instructions&fields=custom_categories").json()
    assert body == {
        "project_id": project.public_id,
        "org_id": project.organization.public_id,
        "name": "support-bot",
        "description": "",
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
        "members": [],
        "custom_instructions": None,
        "agent_custom_instructions": None,
        "custom_categories": [],
        "is_default": False,
        "user_role": "admin",
        "pii_mode": "flag",
        "attribution": "speaker",
        "multilingual": None,
        "decay": None,
        "enable_graph": None,
        "memory_depth": None,
        "usecase_setting": None,
        "version": None,
        "inclusion_prompt": None,
        "exclusion_prompt": None,
        "update_custom_instructions": None,
        "summary_custom_instructions": None,
    }


def test_update_custom_instructions_and_categories(api, path, project):
    response = api.patch(
        path,
        {
            "custom_instructions": "Only remember food preferences.",
            "custom_categories": [{"food_preferences": "What the user eats"}, "likes"],
            "multilingual": True,
            "org_id": project.organization.public_id,
            "project_id": project.public_id,
            "something_new": 1,
        },
        format="json",
    )
    assert response.json() == {"message": "Project updated successfully"}
    body = api.get(path).json()
    assert body["custom_instructions"] == "Only remember food preferences."
    assert body["custom_categories"] == [{"food_preferences": "What the user eats"}, {"likes": ""}]
    assert body["multilingual"] is True
    assert Category.objects.filter(project=project).count() == 2
    assert Category.objects.filter(project=None).count() == 15


def test_update_validation(api, path):
    assert api.patch(path, {"custom_categories": "food"}, format="json").status_code == 400
    assert api.patch(path, {"custom_instructions": 5}, format="json").json() == error_body(
        "custom_instructions must be a string"
    )
    assert api.patch(path, {"multilingual": "yes"}, format="json").json() == error_body(
        "multilingual must be true or false"
    )


def test_only_admins_update_projects(editor_api, path):
    response = editor_api.patch(path, {"custom_instructions": "x"}, format="json")
    assert response.status_code == 403
    assert editor_api.get(path).status_code == 200


def test_wrong_org_or_project_in_path_is_404(api, project):
    response = api.get(f"/api/v1/orgs/organizations/org_nope/projects/{project.public_id}/")
    assert response.status_code == 404
    assert response.json() == error_body("Organization or project not found")
