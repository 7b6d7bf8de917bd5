"""Webhook API: /api/v1/webhooks/projects/{project_id}/ and /api/v1/webhooks/{webhook_id}/."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import NotFound
from memories.api import docs
from memories.api.serializers import iso
from memories.api.views import parse_uuid
from memories.models import Webhook
from memories.webhooks import subscriptions
from tenancy.api.base import ProjectAPIView
from tenancy.models import Role


def webhook_payload(hook: Webhook, *, with_secret: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
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


@docs.project_webhooks
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
        hook = subscriptions.create_webhook(self.project, self.body())
        return Response(webhook_payload(hook, with_secret=True), status=status.HTTP_201_CREATED)


@docs.webhook_detail
class WebhookDetailView(ProjectAPIView):
    required_roles = {
        "GET": Role.ADMIN,
        "PUT": Role.ADMIN,
        "PATCH": Role.ADMIN,
        "DELETE": Role.ADMIN,
    }

    def get_hook(self, webhook_id: str) -> Webhook:
        return subscriptions.get_webhook(self.project, parse_uuid(webhook_id, label="webhook_id"))

    def get(self, request: Request, webhook_id: str) -> Response:
        return Response(webhook_payload(self.get_hook(webhook_id), with_secret=True))

    def put(self, request: Request, webhook_id: str) -> Response:
        subscriptions.update_webhook(self.get_hook(webhook_id), self.body())
        return Response({"message": "Webhook updated successfully"})

    patch = put

    def delete(self, request: Request, webhook_id: str) -> Response:
        subscriptions.delete_webhook(self.get_hook(webhook_id))
        return Response({"message": "Webhook deleted successfully"})
