"""The project and organization details, under /api/v1/orgs/organizations/:

    GET  PATCH  DELETE  .../{org_id}/projects/{project_id}/   a project's settings; delete it
    GET  DELETE         .../{org_id}/                         the organization; delete it

Served by the memories app: custom instructions and categories steer memory extraction (the
same service as the dashboard's settings page), and a delete deletes memories
(memories.projects). The other organization routes are tenancy.api.orgs', whose rules hold
here too: an admin key reaches its own organization, its own project and the projects its
creator is an admin of; anything else is a 404. One exception, kept from before: any key may
GET its own project.
"""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import Forbidden
from memories import project_settings, projects
from memories.api import docs
from tenancy import members
from tenancy.api.orgs import OrgAPIView, organization_payload
from tenancy.models import Project, Role
from tenancy.services import check_project_name

DELETED = "Project deleted successfully"
IN_PROGRESS = (
    "Project deletion in progress: it is too large to delete within the request. Its API keys "
    "are refused (410) from now on; the audit log records the deletion."
)


@docs.project_detail
class ProjectDetailView(OrgAPIView):
    """GET / PATCH / DELETE /api/v1/orgs/organizations/{org_id}/projects/{project_id}/.

    DELETE deletes the project and everything in it (memories.projects): at once when it is
    small (`{"message"}`), else on a worker (`{"message", "event_id"}`); the key's own project
    may be deleted (the key goes with it). PUT is PATCH, for clients that send it.
    """

    required_roles = {"PATCH": Role.ADMIN, "PUT": Role.ADMIN, "DELETE": Role.ADMIN}

    def target(self, org_id: str, project_id: str) -> Project:
        if project_id != self.key.project.public_id and self.key.role != Role.ADMIN:
            raise Forbidden(
                f"This API key has the {self.key.role} role; another project needs an admin key."
            )
        return self.project_at(org_id, project_id)

    def get(self, request: Request, org_id: str, project_id: str) -> Response:
        project = self.target(org_id, project_id)
        payload = project_settings.project_payload(project, role=self.user_role(project))
        payload["members"] = members.project_members(project)
        return Response(payload)

    def patch(self, request: Request, org_id: str, project_id: str) -> Response:
        project = self.target(org_id, project_id)
        body = self.body()
        if "name" in body:
            check_project_name(project, body["name"])
        project_settings.update_project(project, body)
        return Response({"message": "Project updated successfully"})

    put = patch

    def delete(self, request: Request, org_id: str, project_id: str) -> Response:
        project = self.project_at(org_id, project_id, deleting=True)
        deletion = projects.delete_project(project, actor=self.actor)
        if deletion.done:
            return Response({"message": DELETED})
        return Response({"message": IN_PROGRESS, "event_id": deletion.event_id})


@docs.organization_detail
class OrganizationDetailView(OrgAPIView):
    """GET / DELETE /api/v1/orgs/organizations/{org_id}/.

    DELETE deletes every project of the organization, then the organization; it is refused
    (403) unless the key reaches every one of its projects.
    """

    def get(self, request: Request, org_id: str) -> Response:
        org = self.organization(org_id)
        return Response(organization_payload(org, self.reachable(org_id)))

    def delete(self, request: Request, org_id: str) -> Response:
        org = self.organization(org_id)
        deletions = projects.delete_organization(
            org, self.reachable(org_id, deleting=True), actor=self.actor
        )
        queued = [d.event_id for d in deletions if not d.done]
        if not queued:
            return Response({"message": "Organization deleted successfully"})
        return Response(
            {
                "message": "Organization deletion in progress: its large projects are deleted "
                "by a worker, and the organization after the last of them.",
                "event_ids": queued,
            }
        )
