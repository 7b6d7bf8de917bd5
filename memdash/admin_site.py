"""Django's admin, locked down: off unless MEMDASH_ADMIN is on, and then for superusers only.

The admin edits every table directly (users, memberships, keys), past the roles the dashboard
enforces, so only superusers get in, and a deployment that does not need it does not expose it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse


class SuperuserAdminSite(AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_superuser)


class SuperuserAdminConfig(AdminConfig):
    default_site = "memdash.admin_site.SuperuserAdminSite"


class AdminSwitchMiddleware:
    """Answers /admin/ with the ordinary 404 unless MEMDASH_ADMIN is on (read per request, so a
    test can switch it with the `settings` fixture)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.MEMDASH_ADMIN and request.path_info.startswith(reverse("admin:index")):
            raise Http404("The admin is off (MEMDASH_ADMIN).")
        return self.get_response(request)
