"""The memory table's column picker: which optional columns (agent, app, run, categories,
updated, metadata keys) a member sees, remembered in their Membership (tenancy.preferences).

A plain form POST that goes back to the list with its filter, so it works without htmx too.
Every member may choose their own columns, viewers included.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import InvalidRequest
from tenancy import preferences
from tenancy.access import DashboardRequest, project_member

MAX_QUERY_CHARS = 4000


@require_POST
@project_member()
def memory_columns(request: DashboardRequest) -> HttpResponse:
    keys = request.POST.get("metadata_keys", "").replace("\n", ",").split(",")
    try:
        preferences.set_memory_columns(
            request.membership, request.POST.getlist("columns"), [k for k in keys if k.strip()]
        )
    except InvalidRequest as exc:
        messages.error(request, f"Columns not changed: {exc.detail}.")
    # Back to the same list: the filter travels as a query string, re-encoded so only a query
    # of the list's own path can come out of it (never another site).
    query = QueryDict(request.POST.get("query", "")[:MAX_QUERY_CHARS])
    list_url = reverse("memories:list")
    return redirect(f"{list_url}?{query.urlencode()}" if query else list_url)
