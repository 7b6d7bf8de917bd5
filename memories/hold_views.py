"""The dashboard's Holds page: legal holds placed, listed and released (memories.holds).

For the compliance and admin roles, as `/v1/holds/` is. Active holds come first, each with how
many memories (and trashed memories) it keeps now; released ones follow, newest first, in
keyset pages, as the record of what was held and when. A hold names an entity or a filter of
the filter language; placing and releasing one go into the audit trail (the service writes
hold.place and hold.release).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import MemdashError
from core.htmx import template_for, vary_on_htmx
from core.keyset import capped_count, requested_page
from core.text import json_problem, strict_loads
from entities.models import Entity
from memories import holds
from memories.models import LegalHold, Memory, TrashedMemory
from memories.subjects import Subject
from memories.views import ListCount, actor_of
from tenancy.access import DashboardRequest, project_member
from tenancy.models import Role

PAGE_SIZE = 50


class PlaceHoldForm(forms.Form):
    """A new hold: an entity (type and id) or a filter as JSON, a name and a reason."""

    entity_type = forms.ChoiceField(
        choices=[("", "— none: use a filter —"), *Entity.Kind.choices],
        required=False,
        label="Entity type",
    )
    entity_id = forms.CharField(max_length=255, required=False, label="Entity id")
    filters = forms.CharField(
        required=False,
        label="Or a filter (JSON)",
        widget=forms.Textarea(attrs={"rows": 2, "class": "mono", "spellcheck": "false"}),
        help_text=(
            'The filter language of the API, e.g. {"run_id": "ticket-9241"} or '
            '{"metadata": {"customer_id": "c-42"}}: it holds what it matches, now and later.'
        ),
    )
    name = forms.CharField(
        max_length=holds.MAX_NAME, help_text="How the hold is known, e.g. the case: Doe v. Acme."
    )
    reason = forms.CharField(
        required=False,
        max_length=holds.MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the data must be kept, and until when if known.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, name, text = data.get("entity_type"), data.get("entity_id"), data.get("filters")
        if text:
            if kind or name:
                self.add_error("filters", "Name an entity or a filter, not both.")
                return data
            data["subject"] = self._filter_subject(text)
        elif kind and name:
            data["subject"] = Subject.from_json({"entity_type": kind, "entity_id": name})
        elif kind:
            self.add_error("entity_id", "Give the id of the entity to hold.")
        elif name:
            self.add_error("entity_type", "Choose the kind of entity (user, agent, app or run).")
        elif not self.has_error("entity_type"):
            self.add_error(None, "Name what to hold: an entity (type and id), or a filter.")
        return data

    def _filter_subject(self, text: str) -> Subject | None:
        try:
            filters = strict_loads(text)
        except (ValueError, RecursionError) as exc:
            self.add_error("filters", f"Not valid JSON ({getattr(exc, 'msg', exc)}).")
            return None
        problem = json_problem(filters, root="filters")
        if problem:
            self.add_error("filters", problem)
            return None
        try:
            return Subject.from_json({"filters": filters})
        except MemdashError as exc:  # InvalidRequest, FilterError
            self.add_error("filters", exc.detail)
            return None


@dataclass
class ActiveHold:
    """An active hold and what it keeps now (counted up to MEMDASH_DASHBOARD_COUNT_CAP)."""

    hold: LegalHold
    memories: ListCount
    trashed: ListCount


def _count(rows: QuerySet[Any]) -> ListCount:
    value, capped = capped_count(rows, settings.MEMDASH_DASHBOARD_COUNT_CAP)
    return ListCount(value, exact=not capped)


def _active(request: DashboardRequest) -> list[ActiveHold]:
    """The active holds, newest first, with two counts each (a project has few at a time)."""
    project = request.project
    found = []
    for hold in holds.hold_list(project).filter(released_at=None):
        covered = holds.covers_q(hold)
        found.append(
            ActiveHold(
                hold,
                memories=_count(Memory.objects.for_project(project).filter(covered)),
                trashed=_count(TrashedMemory.objects.filter(project=project).filter(covered)),
            )
        )
    return found


def _initial(query: QueryDict) -> dict[str, str]:
    """The place form prefilled from the page's query (the person page's "Place a hold")."""
    return {
        name: value
        for name in ("entity_type", "entity_id", "filters")
        if (value := query.get(name))
    }


@vary_on_htmx
@require_http_methods(["GET", "POST"])
@project_member(Role.COMPLIANCE)
def hold_list(request: DashboardRequest) -> HttpResponse:
    """Active holds, then released ones (their pages are a fragment); POST places a hold."""
    released = holds.hold_list(request.project).exclude(released_at=None)
    template = template_for(request, "memories/holds.html", ("released-holds",))
    if template.endswith("#released-holds"):
        page = requested_page(released, request.GET, key="placed_at", size=PAGE_SIZE)
        return render(request, template, {"released": page, "filter_query": QueryDict()})
    if request.method == "POST":
        form = PlaceHoldForm(request.POST)
        if form.is_valid():
            try:
                hold = holds.place(
                    request.project,
                    form.cleaned_data["subject"],
                    name=form.cleaned_data["name"],
                    reason=form.cleaned_data["reason"],
                    actor=actor_of(request),
                )
            except MemdashError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(
                    request,
                    f"Placed the legal hold {hold.name!r} on {hold.subject}: what it covers "
                    "cannot be deleted, erased or purged until it is released.",
                )
                return redirect("memories:holds")
    else:
        form = PlaceHoldForm(initial=_initial(request.GET))
    context = {
        "form": form,
        "active": _active(request),
        "released": requested_page(released, request.GET, key="placed_at", size=PAGE_SIZE),
        "filter_query": QueryDict(),
    }
    return render(request, "memories/holds.html", context)


@require_POST
@project_member(Role.COMPLIANCE)
def hold_release(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    """End an active hold, with the reason the officer gives."""
    hold = holds.get_hold(request.project, pk)
    reason = (request.POST.get("reason") or "").strip()
    if not reason:
        messages.error(request, f"Say why the legal hold {hold.name!r} is released.")
        return redirect("memories:holds")
    try:
        holds.release(request.project, hold.pk, reason=reason, actor=actor_of(request))
    except MemdashError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(
            request, f"Released the legal hold {hold.name!r}: what it covered can be deleted again."
        )
    return redirect("memories:holds")
