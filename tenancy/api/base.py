"""What every API view shares: the caller's project, its actor label, body parsing, and the
access-log row of a read."""

from __future__ import annotations

from typing import Any, cast

from rest_framework.request import Request
from rest_framework.views import APIView

from audit import context as audit_context
from audit import log as audit_log
from core.errors import Forbidden, InvalidRequest, MemdashError
from tenancy.models import ApiKey, Project


class ProjectAPIView(APIView):
    """An API view scoped to the project of the caller's API key.

    Seed-era SDKs (mem0ai 1.0.x) send the org_id and project_id they got from /v1/ping/ with
    every call. They are redundant with the key; naming a different project is refused rather
    than silently answered from the key's own project: a 403, or what `foreign_project`
    says (the audit log answers another project's as not found, like the dashboard).
    """

    foreign_project: type[MemdashError] = Forbidden

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        key = self.key
        audit_context.update(actor=audit_context.key_actor(key), project_id=key.project_id)
        named = {
            "org_id": request.query_params.get("org_id"),
            "project_id": request.query_params.get("project_id"),
        }
        if isinstance(request.data, dict):
            for name in named:
                named[name] = named[name] or request.data.get(name)
        project = key.project
        if named["project_id"] and str(named["project_id"]) != project.public_id:
            raise self.foreign_project(
                f"This API key belongs to project {project.public_id}, not {named['project_id']}."
            )
        if named["org_id"] and str(named["org_id"]) != project.organization.public_id:
            raise self.foreign_project(
                f"This API key belongs to organization {project.organization.public_id}, not {named['org_id']}."
            )

    @property
    def key(self) -> ApiKey:
        """The caller's API key (ApiKeyAuthentication set it; HasProjectRole requires it)."""
        return cast(ApiKey, self.request.auth)

    @property
    def project(self) -> Project:
        return self.key.project

    @property
    def actor(self) -> str:
        return self.key.actor

    def body(self) -> dict[str, Any]:
        """The JSON body as an object (an empty body is an empty object)."""
        data = self.request.data
        if isinstance(data, dict):
            return data
        if data is None or (isinstance(data, str | bytes) and not data):
            return {}
        raise InvalidRequest("The request body must be a JSON object.")

    def log_read(self, action: str, **what: Any) -> None:
        """Record this request's read of memory content in the access log (audit.log.read)."""
        audit_log.read(action, project_id=self.project.pk, **what)
