"""Bad input gets a 4xx with a `detail` that says what is wrong, and writes nothing."""

import uuid

import pytest

from core.api.errors import error_body
from memories.models import Event, Memory, MemoryHistory

pytestmark = pytest.mark.django_db


def assert_nothing_written():
    assert not Memory.objects.exists()
    assert not MemoryHistory.objects.exists()


def test_malformed_json(api):
    response = api.generic(
        "POST", "/v3/memories/add/", "{bad json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert_nothing_written()


def test_body_must_be_an_object(api):
    response = api.post("/v3/memories/add/", [1, 2], format="json")
    assert response.status_code == 400
    assert response.json() == error_body("The request body must be a JSON object.")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"user_id": "u", "infer": False}, "messages: This field is required."),
        (
            {"messages": [], "user_id": "u", "infer": False},
            "messages: must contain at least one message",
        ),
        (
            {"messages": [{"role": "user", "content": ""}], "user_id": "u", "infer": False},
            "messages: [0].content must not be empty",
        ),
        (
            {"messages": [{"role": "robot", "content": "x"}], "user_id": "u", "infer": False},
            "messages: [0].role must be one of",
        ),
        (
            {"messages": [{"role": "user", "content": 5}], "user_id": "u", "infer": False},
            "messages: [0].content must be a string",
        ),
        ({"messages": 42, "user_id": "u", "infer": False}, "messages: must be a list"),
        (
            {"messages": "hi", "infer": False},
            "At least one of user_id, agent_id, app_id or run_id is required.",
        ),
        ({"messages": "hi", "user_id": ["u"], "infer": False}, "user_id: must be a string"),
        ({"messages": "hi", "user_id": "u", "infer": "maybe"}, "infer: Must be a valid boolean."),
        (
            {"messages": "hi", "user_id": "u", "infer": False, "metadata": [1]},
            "metadata: Expected a dictionary",
        ),
        (
            {"messages": "hi", "user_id": "u", "infer": False, "expiration_date": "next week"},
            "expiration_date: Date has wrong format",
        ),
        (
            {"messages": "hi", "user_id": "u", "infer": False, "timestamp": "soon"},
            "timestamp: must be unix seconds",
        ),
        (
            {"messages": "hi", "user_id": "u", "infer": False, "custom_categories": ["food"]},
            "custom_categories: must be a list of",
        ),
        (
            {"messages": "hi", "user_id": "x" * 256, "infer": False},
            "user_id: Ensure this field has no more than 255 characters.",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": {"type": "image_url", "image_url": {"url": "http://x"}},
                    }
                ],
                "user_id": "u",
                "infer": False,
            },
            "content must be text when infer=false",
        ),
    ],
)
def test_add_validation_errors(api, body, detail):
    response = api.post("/v3/memories/add/", body, format="json")
    assert response.status_code == 400, response.content
    assert detail in response.json()["detail"]
    assert_nothing_written()
    assert not Event.objects.exists()


def test_one_megabyte_message_is_refused_without_a_partial_write(api):
    messages = [{"role": "user", "content": "fine"}, {"role": "user", "content": "x" * 1_048_576}]
    response = api.post(
        "/v3/memories/add/", {"messages": messages, "user_id": "u", "infer": False}, format="json"
    )
    assert response.status_code == 400
    assert "[1].content has 1048576 characters; the limit is 20000" in response.json()["detail"]
    assert_nothing_written()


def test_body_over_the_size_limit_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post(
        "/v3/memories/add/", {"messages": "x" * 2000, "user_id": "u", "infer": False}, format="json"
    )
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]
    assert_nothing_written()


def test_too_many_messages(api, settings):
    settings.MEMDASH_MAX_MESSAGES = 3
    response = api.post(
        "/v3/memories/add/",
        {"messages": ["a", "b", "c", "d"], "user_id": "u", "infer": False},
        format="json",
    )
    assert response.status_code == 400
    assert "has 4 messages; at most 3" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/v1/memories/not-a-uuid/", "/v1/memories/not-a-uuid/history/"])
def test_invalid_uuid_is_400(api, path):
    response = api.get(path)
    assert response.status_code == 400
    assert response.json() == error_body("memory_id should be a valid UUID, got 'not-a-uuid'")


def test_unknown_memory_is_404(api):
    for method in ("get", "put", "delete"):
        response = getattr(api, method)(
            f"/v1/memories/{uuid.uuid4()}/", {"text": "x"}, format="json"
        )
        assert response.status_code == 404
        assert response.json() == error_body("Memory not found!")


def test_unknown_filter_operator_is_400_and_names_it(api):
    response = api.post("/v3/memories/", {"filters": {"user_id": {"regex": ".*"}}}, format="json")
    assert response.status_code == 400
    assert response.json() == error_body(
        "Invalid filters: Unsupported operator 'regex' for 'user_id'; use one of: eq, ne, in, nin"
    )


def test_filters_of_the_wrong_type(api):
    response = api.post("/v3/memories/", {"filters": "user_id=alex"}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "Invalid filters: filters must be a JSON object"


def test_pagination_parameters_are_validated(api):
    for query, message in [
        ("page=0", "page must be at least 1"),
        ("page_size=abc", "page_size must be a positive integer"),
        ("page_size=5000", "page_size must be at most 1000"),
    ]:
        response = api.post(f"/v3/memories/?{query}", {"filters": {"user_id": "u"}}, format="json")
        assert response.status_code == 400
        assert message in response.json()["detail"]


def test_wrong_method_is_405_json_naming_the_allowed_ones(api):
    response = api.get("/v3/memories/add/")
    assert response.status_code == 405
    assert response.json() == error_body('Method "GET" not allowed.')
    assert response["Allow"] == "POST, OPTIONS"
    response = api.post(f"/v1/memories/{uuid.uuid4()}/", {}, format="json")
    assert (response.status_code, response["Allow"]) == (
        405,
        "GET, PUT, PATCH, DELETE, HEAD, OPTIONS",
    )


def test_every_error_carries_detail_error_and_details(api):
    """One shape for every error: `detail` for the SDKs, `error` and `details` as Mem0's API
    reference describes them, from the view, DRF's parsing, the URL resolver and the
    middleware alike."""
    answers = [
        api.get(f"/v1/memories/{uuid.uuid4()}/"),
        api.post("/v3/memories/add/", "{not json", content_type="application/json"),
        api.get("/v1/no-such-thing/"),
        api.get("/v1/memories/?user_id=a%00b"),
        api.post("/v3/memories/search/", {"query": "x", "filters": {}}, format="json"),
    ]
    for response in answers:
        body = response.json()
        assert 400 <= response.status_code < 500, body
        assert list(body) == ["detail", "error", "details"], body
        assert body["error"] == body["details"]["message"] == body["detail"]


def test_naming_another_project_is_refused(api, other_project):
    response = api.post(
        "/v1/memories/",
        {"messages": "hi", "user_id": "u", "infer": False, "project_id": other_project.public_id},
        format="json",
    )
    assert response.status_code == 403
    assert other_project.public_id in response.json()["detail"]
    assert_nothing_written()
