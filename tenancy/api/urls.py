from django.urls import path

from tenancy.api import audit, orgs, views

app_name = "tenancy-api"

ORGS = "api/v1/orgs/organizations/"

urlpatterns = [
    path("v1/ping/", views.PingView.as_view(), name="ping"),
    path("v1/audit/", audit.AuditLogView.as_view(), name="audit"),
    # The organization and project details are memories.api.project's (a delete of either
    # deletes memories).
    path(ORGS, orgs.OrganizationsView.as_view(), name="organizations"),
    path(
        f"{ORGS}<str:org_id>/members/",
        orgs.OrganizationMembersView.as_view(),
        name="organization-members",
    ),
    path(f"{ORGS}<str:org_id>/projects/", orgs.ProjectsView.as_view(), name="projects"),
    path(
        f"{ORGS}<str:org_id>/projects/<str:project_id>/members/",
        orgs.ProjectMembersView.as_view(),
        name="project-members",
    ),
]
