"""Who may see what on the dashboard: the current project and the caller's role in it.

A dashboard user reaches projects through Memberships. The current project is kept in the
session and chosen with the project switcher; every dashboard query is scoped to it, so other
projects' objects are simply not found (404).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeVar, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render, resolve_url
from django_htmx.http import HttpResponseClientRedirect

from audit import context as audit_context
from audit import log as audit_log
from core.htmx import HtmxHttpRequest
from tenancy.deletion import deletion_under_way
from tenancy.models import Membership, Project, Role

SESSION_KEY = "memdash_project_id"
P = ParamSpec("P")
# What a view answers: an HttpResponse, or a streamed download.
R = TypeVar("R", bound=HttpResponseBase)


class DashboardRequest(HtmxHttpRequest):
    """What `project_member` adds to a request (for type hints in views)."""

    # project_member lets only logged-in users through.
    user: User
    membership: Membership
    project: Project


def current_membership(request: HttpRequest) -> Membership | None:
    """The user's membership in the session's project, else their first one (then remembered)."""
    memberships = Membership.objects.filter(user_id=_user_id(request)).select_related(
        "project__organization"
    )
    project_id = request.session.get(SESSION_KEY)
    membership = memberships.filter(project_id=project_id).first() if project_id else None
    if membership is None:
        membership = memberships.order_by("project__organization__name", "project__name").first()
        if membership is not None:
            request.session[SESSION_KEY] = membership.project_id
    return membership


def switch_project(request: HttpRequest, public_id: str) -> Membership | None:
    """Make the user's project `public_id` current; None when they are not a member of it."""
    membership = (
        Membership.objects.filter(user_id=_user_id(request), project__public_id=public_id)
        .select_related("project__organization")
        .first()
    )
    if membership is not None:
        request.session[SESSION_KEY] = membership.project_id
    return membership


def _user_id(request: HttpRequest) -> int:
    """The logged-in user's id; callers check that someone is logged in first."""
    if request.user.pk is None:
        raise PermissionDenied("Log in first.")
    return int(request.user.pk)


def project_member(
    role: str = Role.VIEWER,
) -> Callable[
    [Callable[Concatenate[DashboardRequest, P], R]],
    Callable[Concatenate[HttpRequest, P], R | HttpResponse],
]:
    """Require a logged-in user with at least `role` in the current project.

    Sets `request.membership` and `request.project`. Anonymous users go to the login page (an
    htmx request gets an HX-Redirect, so a fragment never turns into a login form); users
    without any project see a page that says so; a lower role is a 403.
    """

    def decorator(
        view: Callable[Concatenate[DashboardRequest, P], R],
    ) -> Callable[Concatenate[HttpRequest, P], R | HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> R | HttpResponse:
            if not request.user.is_authenticated:
                return _to_login(request)
            membership = current_membership(request)
            if membership is None:
                return render(request, "no_project.html", status=403)
            if deletion := deletion_under_way(membership.project):
                # As its API keys get 410 (tenancy.authentication): no half-deleted project.
                context = {"deleting": membership.project, "deletion": deletion}
                return render(request, "project_deleting.html", context, status=410)
            dashboard_request = cast(DashboardRequest, request)
            # Set before the role check too: the 403 page (handler403 renders 403.html with
            # the request) then keeps the navigation and project switcher of this project.
            dashboard_request.membership = membership
            dashboard_request.project = membership.project
            if not Role.allows(membership.role, role):
                raise PermissionDenied(
                    f"Your role in this project is {membership.role}; this needs {role}."
                )
            audit_context.update(
                actor=audit_context.user_actor(request.user, membership.role),
                project_id=membership.project_id,
            )
            return view(dashboard_request, *args, **kwargs)

        return wrapper

    return decorator


def _to_login(request: HttpRequest) -> HttpResponse:
    htmx = getattr(request, "htmx", None)
    if htmx:
        back = htmx.current_url_abs_path or "/"
        login = resolve_url(settings.LOGIN_URL)
        return HttpResponseClientRedirect(f"{login}?{urlencode({'next': back})}")
    return redirect_to_login(request.get_full_path())


def log_read(request: DashboardRequest, action: str, **what: Any) -> None:
    """Record a dashboard page's read of memory content in the access log (audit.log.read)."""
    audit_log.read(action, project_id=request.project.pk, **what)
