"""The dashboard's Trash page: deleted memories, kept for MEMDASH_TRASH_DAYS (memories.trash).

Everyone in the project may look (as `GET /v1/trash/` allows viewers); editors restore memories
(back with their ids, a RESTORE history row each, found by search again) or purge them for
good, after a confirmation. The list filters by entity ids and text like the memories page
(pills in the URL, keyset pages) and is a read of memory content: one access-log row,
"trash.list". A legal hold refuses a purge (423 in the API); here it is a message naming the
hold, and the rows a hold covers carry a lock badge.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import push_url, reswap, retarget

from core.errors import MemdashError
from core.htmx import is_partial, template_for, toast, vary_on_htmx
from core.keyset import KeysetPage, capped_count, requested_page
from core.pills import given_filters, pills
from memories import holds, trash
from memories.filters import ENTITY_FIELDS, all_of, exactly
from memories.models import TrashedMemory
from memories.views import SCOPE_CHIPS, Chip, ListCount, actor_of
from tenancy.access import DashboardRequest, log_read, project_member
from tenancy.models import Project, Role

PAGE_SIZE = 50
# (query parameter, pill label), in the order the pills show.
TRASH_FILTERS = (
    ("user_id", "user"),
    ("agent_id", "agent"),
    ("app_id", "app"),
    ("run_id", "run"),
    ("q", "text contains"),
)
MAX_LENGTHS = {"user_id": 255, "agent_id": 255, "app_id": 255, "run_id": 255, "q": 200}
# Texts a purge confirmation quotes.
PREVIEW_ROWS = 5


def trash_filter(query: QueryDict) -> dict[str, Any]:
    """The filter-language dict of the trash's filters: each entity id exactly, the text as
    the `keywords` key (case-insensitive contains)."""
    parts = [exactly(field, value) for field in ENTITY_FIELDS if (value := query.get(field))]
    if text := query.get("q"):
        parts.append({"keywords": {"icontains": text}})
    return all_of(*parts)


def _problem(query: QueryDict) -> str | None:
    for param, label in TRASH_FILTERS:
        value = query.get(param, "")
        if len(value) > MAX_LENGTHS[param]:
            return f"{label}: at most {MAX_LENGTHS[param]} characters, got {len(value)}"
    return None


@dataclass
class TrashRow:
    """A trashed memory as the table shows it: its chips (each narrows the trash to that
    entity) and whether a legal hold keeps it from being purged."""

    memory: TrashedMemory
    chips: list[Chip]
    held: bool


def _rows(memories: list[TrashedMemory], query: QueryDict, held: set[uuid.UUID]) -> list[TrashRow]:
    url = reverse("memories:trash")
    bases = {}
    for field in SCOPE_CHIPS:
        rest = query.copy()
        rest.pop(field, None)
        bases[field] = f"{url}?{rest.urlencode()}&" if rest else f"{url}?"
    return [
        TrashRow(
            memory=m,
            chips=[
                Chip(label, value, bases[field] + urlencode({field: value}))
                for field, label in SCOPE_CHIPS.items()
                if (value := getattr(m, field))
            ],
            held=m.pk in held,
        )
        for m in memories
    ]


def _held(project: Project, memories: list[TrashedMemory]) -> set[uuid.UUID]:
    """The ids among `memories` that an active legal hold covers (no query without holds)."""
    if not memories:
        return set()
    covered = holds.held_q(holds.active(project))
    if covered is None:
        return set()
    return set(
        TrashedMemory.objects.filter(project=project, pk__in=[m.pk for m in memories])
        .filter(covered)
        .values_list("pk", flat=True)
    )


def _count(rows: QuerySet[TrashedMemory], page: KeysetPage, *, first_page: bool) -> ListCount:
    """Exact up to MEMDASH_DASHBOARD_COUNT_CAP; a first page that is also the last counts
    itself."""
    if first_page and page.older is None:
        return ListCount(len(page.rows))
    value, capped = capped_count(rows, settings.MEMDASH_DASHBOARD_COUNT_CAP)
    return ListCount(value, exact=not capped)


def trash_context(request: DashboardRequest, query: QueryDict, *, oob: bool) -> dict[str, Any]:
    """What the trash table, its count and its pills need; logs the read of what it shows.

    `oob`: the response is the table fragment, so it carries the count (and, unless the
    filter form itself asked, the filter controls) as out-of-band swaps too.
    """
    error = _problem(query)
    filters = {} if error else trash_filter(query)
    context: dict[str, Any] = {
        "filter_query": query,
        "applied": query.dict(),
        "pills": pills(query, TRASH_FILTERS),
        "clear_query": QueryDict(),
        "error": error,
        "rows": [],
        "page": None,
        "count": ListCount(0),
        "oob": oob,
        "oob_controls": oob and request.htmx.trigger != "trash-filters",
    }
    if error:
        return context
    memories = trash.trashed(request.project, filters)
    page = requested_page(memories, request.GET, key="trashed_at", size=PAGE_SIZE)
    first_page = not request.GET.get("older") and page.newer is None
    count = _count(memories, page, first_page=first_page)
    context.update(
        rows=_rows(page.rows, query, _held(request.project, page.rows)), page=page, count=count
    )
    log_read(request, "trash.list", memories=page.rows, total=count.value, filters=filters or None)
    return context


def _page_url(query: QueryDict, request: DashboardRequest) -> str:
    """The trash's URL for `query`, with the page cursor the request has."""
    query = query.copy()
    for name in ("older", "newer"):
        if request.GET.get(name):
            query[name] = request.GET[name]
    url = reverse("memories:trash")
    return f"{url}?{query.urlencode()}" if query else url


@vary_on_htmx
@require_GET
@project_member()
def trash_list(request: DashboardRequest) -> HttpResponse:
    """The trash, newest deletes first; the table fragment for htmx."""
    query = given_filters(request.GET, TRASH_FILTERS)
    template = template_for(request, "memories/trash.html", ("trash-table",))
    partial = template.endswith("#trash-table")
    context = trash_context(request, query, oob=partial)
    status = 400 if context["error"] and not partial else 200
    response = render(request, template, context, status=status)
    if partial:
        push_url(response, _page_url(query, request))
    return response


# --- restore and purge ---------------------------------------------------------------------


def _selected(request: DashboardRequest) -> list[str]:
    """The ids a POST names: a row's own button (`one`), else the checked rows (`ids`)."""
    one = request.POST.get("one")
    return [one] if one else list(dict.fromkeys(request.POST.getlist("ids")))


def _back(request: DashboardRequest) -> str:
    query = given_filters(request.GET, TRASH_FILTERS)
    url = reverse("memories:trash")
    return f"{url}?{query.urlencode()}" if query else url


def _refusal(request: DashboardRequest, message: str) -> HttpResponse:
    """Why nothing was restored or purged: a message above the table (the table stays)."""
    if not is_partial(request):
        messages.error(request, message)
        return redirect(_back(request))
    response = render(request, "memories/trash.html#trash-confirm", {"refusal": message})
    # Whichever element asked (a row's button, the bulk bar, the confirmation).
    retarget(response, "#trash-confirm")
    reswap(response, "outerHTML")
    return toast(response, message, level="error")


def _done(request: DashboardRequest, message: str) -> HttpResponse:
    """The trash after a restore or a purge: the table again, and a toast."""
    if not is_partial(request):
        messages.success(request, message)
        return redirect(_back(request))
    context = trash_context(request, given_filters(request.GET, TRASH_FILTERS), oob=True)
    context["clear_confirm"] = True
    response = render(request, "memories/trash.html#trash-table", context)
    retarget(response, "#trash-table")
    reswap(response, "outerHTML")
    return toast(response, message)


def _memories(n: int) -> str:
    return f"{n:,} memor{'y' if n == 1 else 'ies'}"


@require_POST
@project_member(Role.EDITOR)
def trash_restore(request: DashboardRequest) -> HttpResponse:
    """Bring the selected memories back, with their ids (memories.trash.restore)."""
    ids = _selected(request)
    if not ids:
        return _refusal(request, "Select at least one memory first.")
    try:
        event = trash.restore(request.project, ids, actor=actor_of(request))
    except MemdashError as exc:
        return _refusal(request, exc.detail)
    restored = (event.results or {}).get("restored", 0)
    return _done(
        request, f"Restored {_memories(restored)}: back in the memories list and in search."
    )


@require_POST
@project_member(Role.EDITOR)
def trash_purge(request: DashboardRequest) -> HttpResponse:
    """Purge the selected memories for good. The first POST answers a confirmation that says
    how many go (or why they cannot: a legal hold); the second (`confirmed=1`) purges."""
    ids = _selected(request)
    if not ids:
        return _refusal(request, "Select at least one memory first.")
    if request.POST.get("confirmed") != "1":
        return _purge_confirmation(request, ids)
    try:
        event = trash.purge(request.project, ids, actor=actor_of(request))
    except MemdashError as exc:
        return _refusal(request, exc.detail)
    purged = (event.results or {}).get("purged", 0)
    return _done(request, f"Purged {_memories(purged)} for good. Their history is kept.")


def _purge_confirmation(request: DashboardRequest, ids: list[str]) -> HttpResponse:
    if len(ids) > trash.MAX_IDS:
        return _refusal(request, f"Select at most {trash.MAX_IDS} memories at a time.")
    try:
        parsed = [uuid.UUID(pk) for pk in ids]
    except ValueError:
        return _refusal(request, "The selection contains an invalid memory id.")
    rows = trash.trashed(request.project).filter(pk__in=parsed)
    count = rows.count()
    if count != len(parsed):
        return _refusal(request, "Not in the trash (restored or purged already?): reload the page.")
    try:
        holds.refuse_held(request.project, rows, doing="purged")
    except MemdashError as exc:
        return _refusal(request, exc.detail)
    confirm = {
        "ids": [str(pk) for pk in parsed],
        "count": count,
        "preview": list(rows[:PREVIEW_ROWS]),
        "back": _back(request),
        "filter_query": given_filters(request.GET, TRASH_FILTERS),
    }
    if is_partial(request):
        return render(request, "memories/trash.html#trash-confirm", {"confirm": confirm})
    context = trash_context(request, given_filters(request.GET, TRASH_FILTERS), oob=False)
    context["confirm"] = confirm
    return render(request, "memories/trash.html", context)
