from django.urls import path

from memdash.api import views

app_name = "memdash-api"

urlpatterns = [
    path("v1/ping/", views.PingView.as_view(), name="ping"),
    path(
        "api/v1/orgs/organizations/<str:org_id>/projects/<str:project_id>/",
        views.ProjectDetailView.as_view(),
        name="project-detail",
    ),
]
