from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from memdash import views as dashboard

urlpatterns = [
    path("", include("memdash.api.urls")),
    path("", include("memories.api.urls")),
    path("", include("entities.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("admin/", admin.site.urls),
    # The dashboard.
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("project/", dashboard.switch_project, name="switch_project"),
    path("keys/", dashboard.api_keys, name="api_keys"),
    path("keys/<int:pk>/revoke/", dashboard.revoke_api_key, name="revoke_api_key"),
    path("settings/", dashboard.project_settings, name="project_settings"),
    path("", include("entities.urls")),
    path("", include("memories.urls")),
]

handler404 = "memdash.errors.not_found"
handler500 = "memdash.errors.server_error"
