"""The dashboard's Retention page: the project's retention policies, each with its dry run
("would delete 1,204 memories now, the oldest from ..."), a form to add one, and switches to
pause or delete them. Everything goes through memories.retention, as the API does. Admins
manage policies; the compliance role sees them and their previews."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import MemdashError
from core.text import strict_loads
from memories import retention
from memories.models import RetentionPolicy
from memories.views import actor_of
from tenancy.access import DashboardRequest, project_member
from tenancy.models import Role


class PolicyForm(forms.Form):
    name = forms.CharField(max_length=retention.MAX_NAME)
    filters = forms.CharField(
        required=False,
        label="Applies to",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "class": "mono"}),
        help_text='A filter of the filter language, e.g. {"app_id": "chat"}. Empty: every memory.',
    )
    rule = forms.ChoiceField(choices=RetentionPolicy.Rule.choices)
    days = forms.IntegerField(min_value=1, max_value=retention.MAX_DAYS)
    enabled = forms.BooleanField(required=False, initial=True)

    def clean_filters(self) -> dict[str, Any] | None:
        text = self.cleaned_data["filters"].strip()
        if not text:
            return None
        try:
            value = strict_loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("a filter is a JSON object")
        return value


@require_http_methods(["GET", "POST"])
@project_member(Role.COMPLIANCE)
def policy_list(request: DashboardRequest) -> HttpResponse:
    """The policies; POST (admins) adds one."""
    can_manage = Role.allows(request.membership.role, Role.ADMIN)
    form = PolicyForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("Only admins add retention policies.")
        if form.is_valid():
            try:
                policy = retention.create_policy(
                    request.project, form.cleaned_data, actor=actor_of(request)
                )
            except MemdashError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(request, f"Added the retention policy {policy.name!r}.")
                return redirect("memories:retention")
    context = {
        "policies": retention.policy_list(request.project),
        "form": form,
        "can_manage": can_manage,
    }
    return render(request, "memories/retention.html", context, status=400 if form.errors else 200)


@require_GET
@project_member(Role.COMPLIANCE)
def policy_preview(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    """One policy's dry run, as a fragment of the page."""
    policy = retention.get_policy(request.project, pk)
    context = {"policy": policy, "preview": retention.preview(policy)}
    return render(request, "memories/_retention_preview.html", context)


@require_POST
@project_member(Role.ADMIN)
def policy_change(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    """Pause, resume or delete a policy."""
    policy = retention.get_policy(request.project, pk)
    action = request.POST.get("action")
    if action == "delete":
        retention.delete_policy(policy, actor=actor_of(request))
        messages.success(request, f"Deleted the retention policy {policy.name!r}.")
    elif action in ("pause", "resume"):
        retention.update_policy(policy, {"enabled": action == "resume"}, actor=actor_of(request))
        messages.success(
            request,
            f"{'Resumed' if action == 'resume' else 'Paused'} the retention policy "
            f"{policy.name!r}.",
        )
    else:
        messages.error(request, "Unknown action: pause, resume or delete.")
    return redirect("memories:retention")
