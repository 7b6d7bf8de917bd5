"""Dashboard pages of tenancy: logging in, changing one's password, the project switcher and
the project's API keys."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from core.htmx import is_partial, template_for, toast, vary_on_htmx
from tenancy import access, passwords, services
from tenancy.access import DashboardRequest, project_member
from tenancy.forms import ApiKeyForm
from tenancy.models import ApiKey, Role


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
