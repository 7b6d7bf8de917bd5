"""The dashboard's Audit page: who read what and who changed what, filtered like the memories
page (pills in the URL), in keyset pages, and downloadable as CSV or JSON (streamed).

For the admin and compliance roles. The filter language is audit.query's, the same as
`GET /v1/audit/`'s.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import QueryDict, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django_htmx.http import push_url

from audit import query as audit_query
from audit.models import AuditEntry
from core.downloads import csv_download, json_download
from core.errors import InvalidRequest
from core.htmx import is_partial, template_for, vary_on_htmx
from core.keyset import requested_page
from core.pills import given_filters, pills
from tenancy.access import DashboardRequest, project_member
from tenancy.models import Role
from tenancy.services import member_names

PAGE_SIZE = 50
AUDIT_FILTERS = (
    ("kind", "kind"),
    ("action", "action"),
    ("actor", "by"),
    ("entity", "entity"),
    ("memory_id", "memory"),
    ("since", "since"),
    ("until", "until"),
)
DOWNLOAD_CHUNK = 2000


@vary_on_htmx
@require_GET
@project_member(Role.COMPLIANCE)
def audit_log(request: DashboardRequest) -> HttpResponseBase:
    """The log, newest first; `?format=csv` or `json` downloads everything the filters select."""
    query = given_filters(request.GET, AUDIT_FILTERS)
    error = None
    try:
        # The whole query string, not only the filters: an unknown parameter (a typo in a
        # bookmarked link) is an error on the page, as in the API, never a silently wider list.
        selected = audit_query.parse(request.GET)
        rows = audit_query.entries(
            request.project.pk, selected, members=member_names(request.project)
        )
    except InvalidRequest as exc:
        error, rows = exc.detail, AuditEntry.objects.none()
    download = request.GET.get("format")
    if download in ("csv", "json") and error is None:
        return _download(rows, download)
    if download not in (None, "", "csv", "json"):
        error, rows = "format must be csv or json", AuditEntry.objects.none()
    page = requested_page(rows, request.GET, key="at", size=PAGE_SIZE)
    context = {
        "page": page,
        "applied": query.dict(),
        "pills": pills(query, AUDIT_FILTERS),
        "clear_query": QueryDict(),
        "filter_query": query,
        "error": error,
        "kinds": audit_query.KINDS,
        "actions": [*audit_query.ACTIONS, *audit_query.FAMILIES],
        "download_query": query.urlencode(),
        # A pill, "Clear all" or the pager changed the filters: the form's controls follow
        # them (not when the form itself asked, or the box one is typing in would be replaced).
        "oob": is_partial(request) and request.htmx.trigger != "audit-filters",
    }
    template = template_for(request, "tenancy/audit.html", ("audit-table",))
    response = render(
        request, template, context, status=400 if error and not is_partial(request) else 200
    )
    if is_partial(request):
        url = reverse("audit_log")
        push_url(response, f"{url}?{query.urlencode()}" if query else url)
    return response


def _download(rows: QuerySet[AuditEntry], fmt: str) -> StreamingHttpResponse:
    entries = rows.iterator(chunk_size=DOWNLOAD_CHUNK)
    if fmt == "csv":
        return csv_download(
            "memdash-audit", audit_query.CSV_COLUMNS, (audit_query.csv_row(e) for e in entries)
        )
    return json_download("memdash-audit", (audit_query.entry_payload(e) for e in entries))


def accessed_by(
    request: DashboardRequest, *, entity: str | None = None, memory_id: uuid.UUID | None = None
) -> dict[str, object]:
    """The "Accessed by" panel's context for a page (memory, entity, person): the latest reads
    and a link to all of them on the Audit page; nothing for those who may not see the log."""
    if not Role.allows(request.membership.role, Role.COMPLIANCE):
        return {}
    reads = audit_query.latest_reads(request.project.pk, entity=entity, memory_id=memory_id)
    query = {"kind": "read", **({"entity": entity} if entity else {})}
    if memory_id is not None:
        query["memory_id"] = str(memory_id)
    return {"reads": reads, "reads_url": f"{reverse('audit_log')}?{urlencode(query)}"}
