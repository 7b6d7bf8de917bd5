"""GET /v1/audit/: the audit log (reads and changes) for admin keys, filtered as audit.query
describes and paged like every list (page numbers, then keyset cursors)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from audit import query as audit_query
from core.api.pagination import paginate
from core.errors import NotFound
from tenancy.api import docs
from tenancy.api.base import ProjectAPIView
from tenancy.models import Role
from tenancy.services import member_names


@docs.audit_log
class AuditLogView(ProjectAPIView):
    required_roles = {"GET": Role.ADMIN}
    # Another project's log does not exist for this key (as on the dashboard): not found.
    foreign_project = NotFound

    def get(self, request: Request) -> Response:
        params = request.query_params
        selected = audit_query.parse(params, extra=("org_id", "project_id"))
        rows = audit_query.entries(self.project.pk, selected, members=member_names(self.project))
        return Response(
            paginate(
                request,
                rows,
                source=params,
                order_key="at",
                serialize=audit_query.entry_payload,
            )
        )
