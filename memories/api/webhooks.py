"""Webhook API: /api/v1/webhooks/projects/{project_id}/ and /api/v1/webhooks/{webhook_id}/."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import InvalidRequest, NotFound
from memories.api.serializers import iso
from memories.api.views import parse_uuid
from memories.models import WEBHOOK_NAME_CHARS, WEBHOOK_URL_CHARS, Webhook
from memories.webhooks import normalize_event_type, target_problem
from tenancy.api.base import ProjectAPIView
from tenancy.models import Role


def webhook_payload(hook: Webhook, *, with_secret: bool = False) -> dict:
    data = {
        "webhook_id": str(hook.pk),
        "name": hook.name,
        "url": hook.url,
        "event_types": hook.event_types,
        "owner": None,
        "is_active": hook.is_active,
        "project": hook.project.public_id,
        "created_at": iso(hook.created_at),
        "updated_at": iso(hook.updated_at),
    }
    if with_secret:
        data["secret"] = hook.secret
    return data


def _clean(data: dict, *, partial: bool) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    if "name" in data or not partial:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise InvalidRequest("name is required and must be a non-empty string")
        limit = WEBHOOK_NAME_CHARS
        if len(name.strip()) > limit:
            raise InvalidRequest(f"name has {len(name.strip())} characters; at most {limit}")
        cleaned["name"] = name.strip()
    if "url" in data or not partial:
        url = data.get("url")
        limit = WEBHOOK_URL_CHARS
        if isinstance(url, str) and len(url) > limit:
            raise InvalidRequest(f"url has {len(url)} characters; at most {limit}")
        try:
            if not isinstance(url, str):
                raise DjangoValidationError("not a string")
            URLValidator(schemes=["http", "https"])(url)
        except DjangoValidationError as exc:
            raise InvalidRequest(f"url must be an http(s) URL, got {str(url)[:100]!r}") from exc
        problem = target_problem(url, resolve=False)
        if problem:
            raise InvalidRequest(f"url {problem}")
        cleaned["url"] = url
    if "event_types" in data or not partial:
        types = data.get("event_types")
        if not isinstance(types, list) or not types:
            raise InvalidRequest('event_types must be a non-empty list, e.g. ["memory_add"]')
        cleaned["event_types"] = list(dict.fromkeys(normalize_event_type(t) for t in types))
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            raise InvalidRequest("is_active must be true or false")
        cleaned["is_active"] = data["is_active"]
    return cleaned


class ProjectWebhooksView(ProjectAPIView):
    """GET (list) / POST (create) a project's webhooks. Admin keys only: they see secrets."""

    required_roles = {"GET": Role.ADMIN, "POST": Role.ADMIN}

    def check_project(self, project_id: str) -> None:
        if project_id != self.project.public_id:
            raise NotFound("Project not found")

    def get(self, request: Request, project_id: str) -> Response:
        self.check_project(project_id)
        return Response(
            [
                webhook_payload(h)
                for h in Webhook.objects.filter(project=self.project).select_related("project")
            ]
        )

    def post(self, request: Request, project_id: str) -> Response:
        self.check_project(project_id)
        hook = Webhook.objects.create(project=self.project, **_clean(self.body(), partial=False))
        return Response(webhook_payload(hook, with_secret=True), status=status.HTTP_201_CREATED)


class WebhookDetailView(ProjectAPIView):
    required_roles = {
        "GET": Role.ADMIN,
        "PUT": Role.ADMIN,
        "PATCH": Role.ADMIN,
        "DELETE": Role.ADMIN,
    }

    def get_hook(self, webhook_id: str) -> Webhook:
        try:
            return Webhook.objects.select_related("project").get(
                project=self.project, pk=parse_uuid(webhook_id, label="webhook_id")
            )
        except Webhook.DoesNotExist as exc:
            raise NotFound("Webhook not found") from exc

    def get(self, request: Request, webhook_id: str) -> Response:
        return Response(webhook_payload(self.get_hook(webhook_id), with_secret=True))

    def put(self, request: Request, webhook_id: str) -> Response:
        hook = self.get_hook(webhook_id)
        changes = _clean(self.body(), partial=True)
        for name, value in changes.items():
            setattr(hook, name, value)
        hook.save()
        return Response({"message": "Webhook updated successfully"})

    patch = put

    def delete(self, request: Request, webhook_id: str) -> Response:
        self.get_hook(webhook_id).delete()
        return Response({"message": "Webhook deleted successfully"})
