"""Mem0's organization, project and member endpoints, on memdash's tenancy.

Routes under /api/v1/orgs/organizations/ (the project detail and the organization detail are
served by memories.api.project, because deleting one deletes memories):

    GET  POST             .../                                   organizations; create one
    GET  POST  PUT DELETE .../{org_id}/members/                  the organization's members
    GET  POST             .../{org_id}/projects/                 its projects; create one
    GET  POST  PUT DELETE .../{org_id}/projects/{id}/members/    a project's members

How Mem0's model maps onto memdash's:

- every operation needs an API key with the admin role;
- a key reaches only its own organization: any other org_id is a 404, never a 403;
- inside it, the key reaches its own project and each project whose admin is the person who
  made the key (tenancy.services.reachable_projects); any other project id is a 404 too;
- members are dashboard users, found by email (tenancy.members). The organization's members
  are the members of the projects the key reaches, each with their highest role there, and a
  change to them is made in every one of those projects, in one transaction.
"""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import context as audit_context
from core.errors import NotFound
from tenancy import members, services
from tenancy.api import docs
from tenancy.api.base import ProjectAPIView
from tenancy.models import Membership, Organization, Project, Role

NOT_FOUND = "Organization or project not found"
ONE_ORG = (
    "An API key reaches only its own organization: manage the new one from the dashboard, or "
    "with an API key made in one of its projects."
)


class OrgAPIView(ProjectAPIView):
    """An admin-only view of the key's organization and the projects the key reaches.

    The path names the organization and project. The org_id and project_id the Python SDKs
    also send (the query of project.get, the body of project.update) name the ones the client
    was built for, so they are not compared with the key's own project as other views do:
    only the path counts, checked by `organization()` and `project_at()`.
    """

    required_roles = dict.fromkeys(("GET", "POST", "PUT", "PATCH", "DELETE"), Role.ADMIN)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        APIView.initial(self, request, *args, **kwargs)
        audit_context.update(
            actor=audit_context.key_actor(self.key), project_id=self.key.project_id
        )

    def organization(self, org_id: str) -> Organization:
        """The key's organization if `org_id` names it; NotFound for any other."""
        org = self.project.organization
        if org_id != org.public_id:
            raise NotFound(NOT_FOUND)
        return org

    def reachable(self, org_id: str, *, deleting: bool = False) -> list[Project]:
        """The projects the key reaches in the organization `org_id` (NotFound for another)."""
        self.organization(org_id)
        return list(services.reachable_projects(self.key, deleting=deleting))

    def project_at(self, org_id: str, project_id: str, *, deleting: bool = False) -> Project:
        """The project `project_id` if the key reaches it; NotFound otherwise."""
        self.organization(org_id)
        reachable = services.reachable_projects(self.key, deleting=deleting)
        project = reachable.filter(public_id=project_id).first()
        if project is None:
            raise NotFound(NOT_FOUND)
        return project

    def user_role(self, project: Project) -> str:
        """The caller's role in `project`: the key's in its own, its creator's in the others."""
        if project.pk == self.key.project_id or self.key.created_by_id is None:
            return self.key.role
        membership = Membership.objects.filter(
            project=project, user_id=self.key.created_by_id
        ).first()
        return membership.role if membership else Role.VIEWER

    def email(self) -> Any:
        """The member's email: in the body, or (DELETE) in the query."""
        body = self.body()
        return body.get("email") or self.request.query_params.get("email")


def organization_payload(org: Organization, projects: list[Project]) -> dict[str, Any]:
    """An organization as Mem0 shows it; `projects` are those the caller reaches (whose members
    are the organization's members here)."""
    return {
        "org_id": org.public_id,
        "name": org.name,
        "created_at": org.created_at.isoformat(),
        "updated_at": org.updated_at.isoformat(),
        "members": members.organization_members(projects),
        "is_default": False,
        "byok_enabled": False,
        "invitations": [],
        "owner_pricing_plan": None,
        "is_owner": True,
        "user_role": Role.ADMIN,
    }


def project_summary(project: Project, *, role: str) -> dict[str, Any]:
    """A project in the organization's project list (its settings: GET the project)."""
    return {
        "project_id": project.public_id,
        "org_id": project.organization.public_id,
        "name": project.name,
        "description": project.description,
        "created_at": project.created_at.isoformat(),
        "updated_at": project.updated_at.isoformat(),
        "members": members.project_members(project),
        "is_default": False,
        "user_role": role,
    }


def added_message(added: members.Added, where: str) -> str:
    first = added.memberships[0]
    message = f"Added {first.user.email} to {where} as {members.mem0_role(first.role)}."
    if added.invited:
        message += (
            " No dashboard user had this email, so an invited user was created (username = the"
            " email); they can sign in once an admin sets their password."
        )
    return message


@docs.organizations
class OrganizationsView(OrgAPIView):
    """GET: the organizations the key reaches (its own). POST {name}: a new organization, with
    a `default` project whose admin is the key's creator."""

    def get(self, request: Request) -> Response:
        org = self.project.organization
        return Response([organization_payload(org, list(services.reachable_projects(self.key)))])

    def post(self, request: Request) -> Response:
        org = services.create_organization(self.body().get("name"), creator=self.key.created_by)
        return Response(
            {"message": f"Organization created successfully. {ONE_ORG}", "org_id": org.public_id},
            status=status.HTTP_201_CREATED,
        )


@docs.organization_members
class OrganizationMembersView(OrgAPIView):
    """The members of the projects the key reaches; changes apply to every one of them."""

    def get(self, request: Request, org_id: str) -> Response:
        return Response({"members": members.organization_members(self.reachable(org_id))})

    def post(self, request: Request, org_id: str) -> Response:
        projects = self.reachable(org_id)
        body = self.body()
        added = members.add_member(projects, body.get("email"), body.get("role", "READER"))
        where = f"{len(added.memberships)} project(s) of the organization"
        return Response({"message": added_message(added, where)})

    def put(self, request: Request, org_id: str) -> Response:
        body = self.body()
        changed = members.change_role(self.reachable(org_id), body.get("email"), body.get("role"))
        role = members.mem0_role(changed[0].role)
        return Response(
            {"message": f"{changed[0].user.email} is now {role} in {len(changed)} project(s)."}
        )

    def delete(self, request: Request, org_id: str) -> Response:
        removed = members.remove_member(self.reachable(org_id), self.email())
        email = removed[0].user.email
        return Response({"message": f"Removed {email} from {len(removed)} project(s)."})


@docs.projects
class ProjectsView(OrgAPIView):
    """GET: the projects of the organization the key reaches. POST {name, description?}: a new
    project in it, whose admin is the key's creator."""

    def get(self, request: Request, org_id: str) -> Response:
        return Response(
            [project_summary(p, role=self.user_role(p)) for p in self.reachable(org_id)]
        )

    def post(self, request: Request, org_id: str) -> Response:
        org = self.organization(org_id)
        body = self.body()
        project = services.create_project(
            org,
            body.get("name"),
            description=body.get("description", ""),
            creator=self.key.created_by,
        )
        return Response(
            {"message": "Project created successfully.", "project_id": project.public_id},
            status=status.HTTP_201_CREATED,
        )


@docs.project_members
class ProjectMembersView(OrgAPIView):
    """GET {members}; POST / PUT {email, role}; DELETE ?email= (or {email})."""

    def get(self, request: Request, org_id: str, project_id: str) -> Response:
        return Response({"members": members.project_members(self.project_at(org_id, project_id))})

    def post(self, request: Request, org_id: str, project_id: str) -> Response:
        project = self.project_at(org_id, project_id)
        body = self.body()
        added = members.add_member([project], body.get("email"), body.get("role", "READER"))
        return Response({"message": added_message(added, f"project {project.name!r}")})

    def put(self, request: Request, org_id: str, project_id: str) -> Response:
        project = self.project_at(org_id, project_id)
        body = self.body()
        (membership,) = members.change_role([project], body.get("email"), body.get("role"))
        role = members.mem0_role(membership.role)
        return Response(
            {"message": f"{membership.user.email} is now {role} of project {project.name!r}."}
        )

    def delete(self, request: Request, org_id: str, project_id: str) -> Response:
        project = self.project_at(org_id, project_id)
        (removed,) = members.remove_member([project], self.email())
        return Response({"message": f"Removed {removed.user.email} from project {project.name!r}."})
