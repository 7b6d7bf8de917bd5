"""Dashboard pages of tenancy: logging in, changing one's password, the project switcher, the
project's API keys and members, and new projects and organizations."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import MemdashError
from core.htmx import is_partial, template_for, toast, vary_on_htmx
from tenancy import access, members, passwords, services
from tenancy.access import DashboardRequest, project_member
from tenancy.forms import ApiKeyForm, MemberAddForm, MemberRoleForm, OrganizationForm, ProjectForm
from tenancy.models import ApiKey, Project, Role


@require_POST
@project_member()
def switch_project(request: DashboardRequest) -> HttpResponse:
    """Make another of the user's projects current; unknown or foreign projects are 404."""
    if access.switch_project(request, request.POST.get("project", "")) is None:
        raise Http404("You are not a member of that project.")
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    # Object pages belong to the old project: land on the list instead.
    return redirect(target if target in ("/", reverse("entities:list")) else "/")


def _keys_context(
    request: DashboardRequest, form: ApiKeyForm, new_key: str | None
) -> dict[str, Any]:
    keys = ApiKey.objects.filter(project=request.project).select_related("created_by")
    return {"form": form, "keys": keys, "new_key": new_key}


@never_cache
@vary_on_htmx
@require_http_methods(["GET", "POST"])
@project_member(Role.ADMIN)
def api_keys(request: DashboardRequest) -> HttpResponse:
    """The project's keys. A new key is shown once, in the response that creates it."""
    new_key = None
    if request.method == "POST":
        form = ApiKeyForm(request.POST)
        if form.is_valid():
            new_key = services.create_api_key(
                request.project,
                role=form.cleaned_data["role"],
                name=form.cleaned_data["name"],
                created_by=request.user,
            )
            form = ApiKeyForm()
    else:
        form = ApiKeyForm()
    template = template_for(request, "tenancy/keys.html", ("api-keys",))
    return render(request, template, _keys_context(request, form, new_key))


@require_GET
@project_member(Role.ADMIN)
def confirm_revoke_api_key(request: DashboardRequest, pk: int) -> HttpResponse:
    """The in-page confirmation of a revoke, naming the key (its POST goes to revoke_api_key)."""
    key = ApiKey.objects.filter(project=request.project, pk=pk).first()
    if key is None:
        raise Http404("No such key in this project.")
    template = template_for(request, "tenancy/key_revoke.html", ("delete-confirm",))
    return render(request, template, {"key": key})


@require_POST
@project_member(Role.ADMIN)
def revoke_api_key(request: DashboardRequest, pk: int) -> HttpResponse:
    revoked = services.revoke_api_key(request.project, pk)
    message = "Key revoked: it no longer authenticates." if revoked else "Key was already revoked."
    if not is_partial(request):
        messages.success(request, message)
        return redirect("api_keys")
    response = render(
        request, "tenancy/keys.html#api-keys", _keys_context(request, ApiKeyForm(), None)
    )
    return toast(response, message)


class LoginView(auth_views.LoginView):
    """Django's login; a user whose password must change goes to the change page first."""

    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        if passwords.flag_session(self.request):
            return redirect("password_change")
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """Every dashboard user's own password: the old one, then a new one that passes
    AUTH_PASSWORD_VALIDATORS. The session stays logged in; other sessions end."""

    success_url = reverse_lazy("memories:list")

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)
        passwords.password_changed(self.request)
        messages.success(self.request, "Your password was changed.")
        return response


# --- members (the Settings page's panel; admins only) ----------------------------------------


def members_context(project: Project, **extra: Any) -> dict[str, Any]:
    """What the Settings page's members panel shows: the members, the add form, and (after an
    add or a reset) a one-time password or a refusal."""
    context: dict[str, Any] = {
        "members": project.memberships.select_related("user").order_by("user__username"),
        "member_form": MemberAddForm(),
        "roles": Role.choices,
        "one_time": None,
        "refusal": None,
    }
    context.update(extra)
    return context


def _members_panel(request: DashboardRequest, message: str = "", **extra: Any) -> HttpResponse:
    """The members panel after a change (htmx), or without htmx the Settings page again.

    A one-time password must be shown in this very response, never kept for a later one: without
    htmx it gets a page of its own (tenancy/one_time_password.html) with the way back.
    """
    context = members_context(request.project, **extra)
    if is_partial(request):
        response = render(request, "memories/settings.html#members", context)
        return toast(response, message) if message else response
    if context["one_time"]:
        return render(request, "tenancy/one_time_password.html", context)
    form = context["member_form"]
    problem = context["refusal"] or " ".join(
        str(error) for errors in form.errors.values() for error in errors
    )
    if problem:
        messages.error(request, problem)
    elif message:
        messages.success(request, message)
    return redirect("project_settings")


@never_cache  # the answer may hold a one-time password
@require_POST
@project_member(Role.ADMIN)
def member_add(request: DashboardRequest) -> HttpResponse:
    form = MemberAddForm(request.POST)
    if not form.is_valid():
        return _members_panel(request, member_form=form)
    try:
        joined = members.join(
            request.project, form.cleaned_data["person"], form.cleaned_data["role"]
        )
    except MemdashError as exc:
        return _members_panel(request, member_form=form, refusal=exc.detail)
    username = joined.membership.user.get_username()
    one_time = {"username": username, "password": joined.password} if joined.password else None
    return _members_panel(
        request, f"{username} added as {joined.membership.role}.", one_time=one_time
    )


@require_POST
@project_member(Role.ADMIN)
def member_role(request: DashboardRequest, user_id: int) -> HttpResponse:
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        return _members_panel(request, refusal="Pick one of the roles.")
    try:
        membership = members.set_role(request.project, user_id, form.cleaned_data["role"])
    except MemdashError as exc:
        return _members_panel(request, refusal=exc.detail)
    return _members_panel(request, f"{membership.user.get_username()} is now {membership.role}.")


@require_http_methods(["GET", "POST"])
@project_member(Role.ADMIN)
def member_remove(request: DashboardRequest, user_id: int) -> HttpResponse:
    """GET: the in-page confirmation. POST: remove the member (not their account)."""
    if request.method == "GET":
        membership = members.member(request.project, user_id)
        template = template_for(request, "tenancy/member_remove.html", ("delete-confirm",))
        return render(request, template, {"member": membership})
    try:
        membership = members.leave(request.project, user_id)
    except MemdashError as exc:
        return _members_panel(request, refusal=exc.detail)
    return _members_panel(request, f"{membership.user.get_username()} removed from the project.")


@never_cache  # the answer may hold a one-time password
@require_POST
@project_member(Role.ADMIN)
def member_reset_password(request: DashboardRequest, user_id: int) -> HttpResponse:
    try:
        password = members.reset_password(request.project, user_id, by=request.user)
    except MemdashError as exc:
        return _members_panel(request, refusal=exc.detail)
    username = members.member(request.project, user_id).user.get_username()
    one_time = {"username": username, "password": password}
    return _members_panel(request, f"New password for {username}.", one_time=one_time, reset=True)


# --- new projects and organizations ----------------------------------------------------------


@require_http_methods(["GET", "POST"])
@project_member(Role.ADMIN)
def new_project(request: DashboardRequest) -> HttpResponse:
    """A project in the current project's organization; its creator becomes its admin."""
    organization = request.project.organization
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.create_project(
                organization,
                form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                creator=request.user,
            )
        except MemdashError as exc:
            form.add_error("name", exc.detail)
        else:
            access.switch_project(request, project.public_id)
            messages.success(request, f"Project {project.name} created; it is now your project.")
            return redirect("project_settings")
    return render(request, "tenancy/new_project.html", {"form": form, "organization": organization})


@require_http_methods(["GET", "POST"])
@login_required
def new_organization(request: HttpRequest) -> HttpResponse:
    """Any dashboard user may start an organization, and is the admin of its `default` project."""
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = cast(User, request.user)
        try:
            organization = services.create_organization(form.cleaned_data["name"], creator=user)
        except MemdashError as exc:
            form.add_error("name", exc.detail)
        else:
            project = organization.projects.get()
            access.switch_project(request, project.public_id)
            messages.success(
                request, f"Organization {organization.name} created, with project {project.name}."
            )
            return redirect("project_settings")
    membership = access.current_membership(request)
    if membership is not None:  # the page keeps the navigation of the user's project
        request.membership = membership  # type: ignore[attr-defined]
    return render(request, "tenancy/new_organization.html", {"form": form})
