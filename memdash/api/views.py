"""Ping and project settings (Mem0's /v1/ping/ and /api/v1/orgs/... paths)."""

from __future__ import annotations

from rest_framework.response import Response

from memdash import projects
from memdash.api.base import ProjectAPIView
from memdash.errors import NotFound
from memdash.models import Role


class PingView(ProjectAPIView):
    """GET /v1/ping/: who the key belongs to. The TypeScript SDK needs status "ok"."""

    def get(self, request):
        key = request.auth
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


class ProjectDetailView(ProjectAPIView):
    """GET / PATCH /api/v1/orgs/organizations/{org_id}/projects/{project_id}/."""

    required_roles = {"PATCH": Role.ADMIN, "PUT": Role.ADMIN}

    def check_path(self, org_id: str, project_id: str) -> None:
        project = self.project
        if org_id != project.organization.public_id or project_id != project.public_id:
            raise NotFound("Organization or project not found")

    def get(self, request, org_id, project_id):
        self.check_path(org_id, project_id)
        return Response(projects.project_payload(self.project, role=request.auth.role))

    def patch(self, request, org_id, project_id):
        self.check_path(org_id, project_id)
        projects.update_project(self.project, self.body())
        return Response({"message": "Project updated successfully"})

    put = patch
