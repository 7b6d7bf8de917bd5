"""GET /v1/ping/: which organization and project an API key belongs to."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from tenancy.api import docs
from tenancy.api.base import ProjectAPIView


@docs.ping
class PingView(ProjectAPIView):
    """GET /v1/ping/: who the key belongs to. The TypeScript SDK needs status "ok"."""

    def get(self, request: Request) -> Response:
        key = self.key
        project = key.project
        return Response(
            {
                "status": "ok",
                "org_id": project.organization.public_id,
                "project_id": project.public_id,
                "user_email": key.created_by.email
                if key.created_by and key.created_by.email
                else None,
                "org_name": project.organization.name,
                "project_name": project.name,
                "role": key.role,
            }
        )
