"""The dashboard's point-in-time view: the memories of a scope as they were at a moment ("what
did the support bot know about maria on 3 March"), rebuilt from history by memories.past. The
memories, entity and person pages link here with their scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from core.errors import MemdashError
from memories import past
from memories.filters import ENTITY_FIELDS
from tenancy.access import DashboardRequest, log_read, project_member

SHOWN = 200


class AsOfForm(forms.Form):
    as_of = forms.DateTimeField(
        label="As of (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    user_id = forms.CharField(required=False, max_length=255, label="User")
    agent_id = forms.CharField(required=False, max_length=255, label="Agent")
    app_id = forms.CharField(required=False, max_length=255, label="App")
    run_id = forms.CharField(required=False, max_length=255, label="Run")

    def filters(self) -> dict[str, Any]:
        given = [
            {name: self.cleaned_data[name]} for name in ENTITY_FIELDS if self.cleaned_data[name]
        ]
        return {"AND": given} if given else {}


def as_of_redirect(as_of: str, scope: dict[str, str]) -> HttpResponse:
    """A page of a scope asked `?as_of=...`: the as-of view of the same scope at that moment."""
    query = QueryDict(mutable=True)
    query["as_of"] = as_of
    for name, value in scope.items():
        if name in ENTITY_FIELDS and value:
            query[name] = value
    return redirect(f"{reverse('memories:as_of')}?{query.urlencode()}")


@require_GET
@project_member()
def memories_as_of(request: DashboardRequest) -> HttpResponse:
    # Linked from a scope's pages without a moment: the form, prefilled, asks for one.
    form = AsOfForm(request.GET if "as_of" in request.GET else None, initial=request.GET.dict())
    rows: list[past.PastMemory] = []
    error = None
    moment = None
    if form.is_valid():
        moment = form.cleaned_data["as_of"].replace(tzinfo=dt.UTC)
        filters = form.filters()
        try:
            rows = past.memories_as_of(request.project, moment, filters)
        except MemdashError as exc:
            error = exc.detail
        else:
            log_read(
                request,
                "memories.list",
                memories=[{"id": str(r.id), **r.scope()} for r in rows],
                scope=form.cleaned_data,
                filters={"as_of": moment.isoformat(), **filters},
            )
    context = {
        "form": form,
        "moment": moment,
        "rows": rows[:SHOWN],
        "total": len(rows),
        "shown": SHOWN,
        "error": error,
    }
    status = 400 if form.errors or error else 200
    return render(request, "memories/past.html", context, status=status)
