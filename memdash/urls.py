"""Every route of memdash: the Mem0 API paths, the OpenAPI schema, the admin and the dashboard."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from memdash import health
from memories import views as memory_views
from tenancy import audit_views, developer_views
from tenancy import views as tenancy_views

urlpatterns = [
    path("", include("tenancy.api.urls")),
    path("", include("memories.api.urls")),
    path("", include("entities.api.urls")),
    path("", include("memories.mcp.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Probes send no trailing slash, and may not follow APPEND_SLASH's redirect: both forms.
    re_path(r"^healthz/?$", health.healthz, name="healthz"),
    re_path(r"^readyz/?$", health.readyz, name="readyz"),
    # Off unless MEMDASH_ADMIN is on (memdash.admin_site), and for superusers only.
    path("admin/", admin.site.urls),
    # The dashboard.
    path("login/", tenancy_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", tenancy_views.PasswordChangeView.as_view(), name="password_change"),
    path("project/", tenancy_views.switch_project, name="switch_project"),
    path("keys/", tenancy_views.api_keys, name="api_keys"),
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("keys/<int:pk>/revoke/", tenancy_views.revoke_api_key, name="revoke_api_key"),
    path(
        "keys/<int:pk>/revoke/confirm/",
        tenancy_views.confirm_revoke_api_key,
        name="confirm_revoke_api_key",
    ),
    path("settings/", memory_views.project_settings, name="project_settings"),
    path("settings/members/", tenancy_views.member_add, name="member_add"),
    path("settings/members/<int:user_id>/role/", tenancy_views.member_role, name="member_role"),
    path(
        "settings/members/<int:user_id>/remove/", tenancy_views.member_remove, name="member_remove"
    ),
    path(
        "settings/members/<int:user_id>/password/",
        tenancy_views.member_reset_password,
        name="member_reset_password",
    ),
    path("projects/new/", tenancy_views.new_project, name="new_project"),
    path("organizations/new/", tenancy_views.new_organization, name="new_organization"),
    path("developers/", developer_views.connect, name="developers"),
    path("developers/api/", developer_views.api_reference, name="api_reference"),
    path("", include("entities.urls")),
    path("", include("memories.urls")),
]

handler400 = "core.request_errors.bad_request"
handler403 = "core.request_errors.permission_denied"
handler404 = "core.errors.not_found"
handler500 = "core.errors.server_error"
