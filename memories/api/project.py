"""Project settings API: GET / PATCH /api/v1/orgs/organizations/{org_id}/projects/{project_id}/.

Custom instructions and categories steer memory extraction, so they are served by the memories
app, through the same service as the dashboard's settings page.
"""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import NotFound
from memories import project_settings
from tenancy.api.base import ProjectAPIView
from tenancy.models import Role


class ProjectDetailView(ProjectAPIView):
    """GET / PATCH /api/v1/orgs/organizations/{org_id}/projects/{project_id}/."""

    required_roles = {"PATCH": Role.ADMIN, "PUT": Role.ADMIN}

    def check_path(self, org_id: str, project_id: str) -> None:
        project = self.project
        if org_id != project.organization.public_id or project_id != project.public_id:
            raise NotFound("Organization or project not found")

    def get(self, request: Request, org_id: str, project_id: str) -> Response:
        self.check_path(org_id, project_id)
        return Response(project_settings.project_payload(self.project, role=self.key.role))

    def patch(self, request: Request, org_id: str, project_id: str) -> Response:
        self.check_path(org_id, project_id)
        project_settings.update_project(self.project, self.body())
        return Response({"message": "Project updated successfully"})

    put = patch
