from django.urls import path

from entities.api import views

app_name = "entities-api"

urlpatterns = [
    path("v1/entities/", views.EntityListView.as_view(), name="list"),
    path("v1/entities/filters/", views.EntityFiltersView.as_view(), name="filters"),
    path("v1/users/", views.CreateUserView.as_view(), name="create-user"),
    path("v1/agents/", views.CreateAgentView.as_view(), name="create-agent"),
    path("v1/apps/", views.CreateAppView.as_view(), name="create-app"),
    path("v1/runs/", views.CreateRunView.as_view(), name="create-run"),
    path("v1/entities/<str:kind>/<str:entity_id>/", views.EntityByIdView.as_view(), name="by-id"),
    # Names may contain "/" (the SDKs percent-encode it, the server decodes it).
    path("v2/entities/<str:kind>/<path:name>/", views.EntityByNameView.as_view(), name="by-name"),
]
