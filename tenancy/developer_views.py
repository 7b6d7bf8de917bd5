"""Dashboard pages for developers: how to connect to this project, and the API reference."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from tenancy.access import DashboardRequest, project_member
from tenancy.models import Role

# What the snippets show instead of a key: keys are shown once, when they are created.
KEY_PLACEHOLDER = "YOUR_MEMDASH_API_KEY"


@require_GET
@project_member()
def connect(request: DashboardRequest) -> HttpResponse:
    """Everything an SDK, curl or an MCP client needs to reach the current project."""
    project = request.project
    return render(
        request,
        "developers/connect.html",
        {
            "section": "developers",
            # The address this page was reached at is the one clients can reach too.
            "host": request.build_absolute_uri("/").rstrip("/"),
            "org_id": project.organization.public_id,
            "project_id": project.public_id,
            "key": KEY_PLACEHOLDER,
            "can_create_keys": Role.allows(request.membership.role, Role.ADMIN),
        },
    )


@require_GET
@project_member()
def api_reference(request: DashboardRequest) -> HttpResponse:
    """The OpenAPI schema rendered by Swagger UI, from this server's static files."""
    return render(
        request,
        "developers/api.html",
        {"section": "developers", "schema_url": reverse("api-schema") + "?format=json"},
    )
