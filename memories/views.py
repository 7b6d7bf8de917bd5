"""Dashboard pages for memories (list, bulk delete, detail, edit, delete), activity (Events) and
the project's memory settings (custom instructions and categories).

Views are thin: scope to the current project, validate with a form, call the same services the
API calls, then pick the full page or the inline partial that htmx asked for.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, push_url, reswap, retarget

from audit import log as audit_log
from core.downloads import csv_download
from core.errors import InvalidRequest, Locked, MemdashError, NotFound
from core.htmx import is_partial, template_for, toast, vary_on_htmx
from core.keyset import (
    KeysetPage,
    capped_count,
    encode_cursor,
    keyset_page,
    planner_estimate,
    requested_page,
    rows_before,
)
from core.pills import pills
from memories import holds, listing, marks, past_views, services, trash, wildcards
from memories.forms import (
    MemoryEditForm,
    MemoryFilterForm,
    ProjectSettingsForm,
    RestoreVersionForm,
)
from memories.history import with_changes
from memories.models import Event, Memory, MemoryHistory
from memories.project_settings import update_project
from memories.querysets import MemoryQuerySet
from memories.search import search_memories
from tenancy import preferences
from tenancy import views as tenancy_views
from tenancy.access import DashboardRequest, log_read, project_member
from tenancy.audit_views import accessed_by
from tenancy.models import Role

PAGE_SIZE = 50
HISTORY_PAGE_SIZE = 20
EVENT_PAGE_SIZE = 50
EVENT_CHANGES_SHOWN = 100
SEARCH_TOP_K = 50
# "More results" asks the search for SEARCH_TOP_K more each time, up to this many.
SEARCH_MAX_SHOWN = 250
SEARCH_THRESHOLD = 0.1
# Rows one "delete selected" may name (the API's batch limit).
MAX_SELECTED = 1000
# Text boxes whose own requests must not overwrite them while the user types.
SEARCH_BOX_IDS = ("filter-q", "filter-search")


def actor_of(request: DashboardRequest) -> str:
    """How history rows and Events name a dashboard user."""
    return f"user:{request.user.get_username()}"


# --- counts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListCount:
    """How many rows match: exact up to a cap; past it, the cap and the planner's estimate."""

    value: int
    exact: bool = True
    estimate: int | None = None

    def __str__(self) -> str:
        if self.exact:
            return f"{self.value:,}"
        if self.estimate and self.estimate > self.value:
            return f"{self.value:,}+ (≈{self.estimate:,})"
        return f"{self.value:,}+"


def count_rows(queryset: MemoryQuerySet, page: KeysetPage | None, *, first_page: bool) -> ListCount:
    """Count without ever scanning everything: a first page that is also the last page is
    its own count; otherwise count up to MEMDASH_DASHBOARD_COUNT_CAP and estimate beyond it."""
    if page is not None and first_page and page.older is None:
        return ListCount(len(page.rows))
    cap = settings.MEMDASH_DASHBOARD_COUNT_CAP
    value, capped = capped_count(queryset, cap)
    if not capped:
        return ListCount(value)
    return ListCount(cap, exact=False, estimate=planner_estimate(queryset))


# --- list ---------------------------------------------------------------------------------------


def memory_list_context(
    request: DashboardRequest,
    form: MemoryFilterForm,
    *,
    list_url: str,
    oob: bool,
    bulk: bool = True,
) -> dict[str, Any]:
    """Everything the memory table, count and pills need, for one filter form.

    `oob`: the response is the table fragment, so it also carries the count, pills and filter
    controls as out-of-band swaps.
    """
    filter_query = form.canonical_query()
    context: dict[str, Any] = {
        "form": form,
        "list_url": list_url,
        "bulk": bulk,
        "oob": oob,
        "oob_search": oob and request.htmx.trigger not in SEARCH_BOX_IDS,
        "rows": [],
        "page": None,
        "count": ListCount(0),
        "searching": False,
        "error": None,
        "filter_query": filter_query,
        "pills": [],
        "clear_query": QueryDict(),
        "state_inputs": [],
        "api_filter": None,
        "held": set(),
        "more_url": None,
        "search_max": SEARCH_MAX_SHOWN,
        "position": None,
        "jump": "",
        # The optional columns this member chose (values from the row itself: no query).
        "columns": preferences.memory_columns(request.membership),
        # The point-in-time view of the same entities (it narrows by one id of each kind).
        "as_of_query": QueryDict(mutable=True),
    }
    for name in SCOPE_CHIPS:
        if filter_query.get(name):
            context["as_of_query"][name] = filter_query.getlist(name)[0]
    if not form.is_valid():
        context["error"] = "; ".join(
            f"{'' if name == '__all__' else form[name].label + ': '}{message}"
            for name, errors in form.errors.items()
            for message in errors
        )
        return context
    context.update(
        pills=form.pills(),
        clear_query=form.clear_all_query(),
        state_inputs=[
            (name, value)
            for name in ("user_id", "agent_id", "app_id", "run_id", "category", "meta", "pii")
            for value in filter_query.getlist(name)
        ],
        api_filter=form.filter_dict(),
    )
    if form.search_text:
        # Paged by asking the same search (the API's) for more: the first results and their
        # scores stay as they were, the next ones follow.
        shown = _search_shown(request.GET)
        hits = search_memories(
            request.project,
            query=form.search_text,
            filters=form.filter_dict(),
            top_k=shown,
            threshold=SEARCH_THRESHOLD,
            show_expired=form.include_expired,
        )
        if len(hits) == shown and shown < SEARCH_MAX_SHOWN:
            more = filter_query.copy()
            more["shown"] = str(min(shown + SEARCH_TOP_K, SEARCH_MAX_SHOWN))
            context["more_url"] = f"{list_url}?{more.urlencode()}"
        rows = decorate_rows(
            [hit.memory for hit in hits],
            filter_query,
            sort_key=form.sort_key,
            scores=[hit.score for hit in hits],
        )
        context.update(
            rows=rows,
            count=ListCount(len(hits)),
            searching=True,
            held=marks.held_ids(request.project, [row.id for row in rows]),
        )
        log_read(
            request,
            "memories.search",
            memories=[hit.memory for hit in hits],
            filters=form.filter_dict(),
            query=form.search_text,
        )
        return context
    memories = listing.memory_list(
        request.project,
        form.filter_dict(),
        show_expired=form.include_expired,
        order_key=form.sort_key,
    )
    jump = (request.GET.get("jump") or "").strip()
    if jump and not (request.GET.get("older") or request.GET.get("newer")):
        try:
            page, at = _jump_to_date(memories, jump, key=form.sort_key)
        except InvalidRequest as exc:
            context["error"] = exc.detail
            return context
    else:
        page = requested_page(memories, request.GET, key=form.sort_key, size=PAGE_SIZE)
        at = _page_at(request.GET, page)
        if at is None and page.rows:
            # A link without `at` (a bookmark, one kept from before): count the rows above
            # the page, as far as the dashboard counts (position unknown past that).
            at = rows_before(
                memories, page.rows[0], key=form.sort_key, cap=settings.MEMDASH_DASHBOARD_COUNT_CAP
            )
    first_page = not request.GET.get("older") and not jump and page.newer is None
    count = count_rows(memories, page, first_page=first_page)
    if at is not None:
        page.older_at = at + len(page.rows)
        page.newer_at = max(0, at - PAGE_SIZE)
    context.update(
        rows=decorate_rows(page.rows, filter_query, sort_key=form.sort_key),
        held=marks.held_ids(request.project, [row.id for row in page.rows]),
        page=page,
        count=count,
        position=_position(at, page, count),
        jump=jump,
    )
    log_read(
        request, "memories.list", memories=page.rows, total=count.value, filters=form.filter_dict()
    )
    return context


def _search_shown(query: QueryDict) -> int:
    """How many search results to show: `shown` (from "More results"), in steps of
    SEARCH_TOP_K between one step and SEARCH_MAX_SHOWN; anything else is the first step."""
    try:
        shown = int(query.get("shown") or SEARCH_TOP_K)
    except ValueError:
        return SEARCH_TOP_K
    return min(max(SEARCH_TOP_K, shown - shown % SEARCH_TOP_K), SEARCH_MAX_SHOWN)


def _page_at(query: QueryDict, page: KeysetPage) -> int | None:
    """Where the page starts in the list: 0 on the first page, else the `at` the pager's link
    carried (None when it carried none, such as a link kept from before)."""
    if page.newer is None:
        return 0
    try:
        at = int(query.get("at") or "")
    except ValueError:
        return None
    return at if at >= 0 else None


def _jump_to_date(
    memories: MemoryQuerySet, value: str, *, key: str
) -> tuple[KeysetPage, int | None]:
    """The page that starts at the newest memory of the day `value` (YYYY-MM-DD) or before it,
    by the sort key: a keyset cursor just after that day (UTC), so it costs what any page
    costs. Also where it starts in the list, counted up to the dashboard's cap (None past it)."""
    try:
        day = dt.date.fromisoformat(value)
        after = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidRequest(
            f"Jump to date: enter a date as YYYY-MM-DD (before 9999-12-31), not {value[:40]!r}."
        ) from exc
    # The largest id: every memory of the day sorts before this cursor, whatever its id.
    cursor = encode_cursor(after, uuid.UUID(int=(1 << 128) - 1))
    page = keyset_page(memories, key=key, size=PAGE_SIZE, older=cursor)
    before, capped = capped_count(
        memories.filter(**{f"{key}__gte": after}), settings.MEMDASH_DASHBOARD_COUNT_CAP
    )
    return page, None if capped else before


@dataclass(frozen=True)
class Position:
    """ "51–100" of a keyset-paged list."""

    first: int
    last: int


def _position(at: int | None, page: KeysetPage, count: ListCount) -> Position | None:
    if at is None or not page.rows:
        return None
    last = at + len(page.rows)
    if count.exact and last > count.value:
        return None  # rows were added above since the link was made: the offset is stale
    return Position(at + 1, last)


@dataclass(frozen=True)
class Chip:
    label: str
    value: str
    url: str


@dataclass
class TableRow:
    """A memory as the table shows it, with its links, chips and date worked out once.

    The template reads the memory's own fields (text, categories, expiry) through the row.
    """

    memory_row: Memory
    detail_url: str
    chips: list[Chip]
    shown_at: dt.datetime
    score: float | None = None

    def __getattr__(self, name: str) -> Any:
        if name == "memory_row":  # not set yet (copying): never recurse
            raise AttributeError(name)
        return getattr(self.memory_row, name)


def decorate_rows(
    memories: list[Memory],
    filter_query: QueryDict,
    *,
    sort_key: str,
    scores: list[float] | None = None,
) -> list[TableRow]:
    """Precompute what each table row shows, so the template loop stays cheap.

    A scope chip links to the memories page with the current filter narrowed to that entity;
    the query strings are built once per field, not once per row.
    """
    list_url = reverse("memories:list")
    detail_url = reverse("memories:detail", args=[_ZERO_UUID])
    bases = {}
    for field in SCOPE_CHIPS:
        rest = filter_query.copy()
        rest.pop(field, None)
        rest.pop("older", None)
        rest.pop("newer", None)
        bases[field] = f"{list_url}?{rest.urlencode()}&" if rest else f"{list_url}?"
    return [
        TableRow(
            memory_row=m,
            detail_url=detail_url.replace(str(_ZERO_UUID), str(m.id)),
            chips=[
                Chip(label, value, bases[field] + urlencode({field: value}))
                for field, label in SCOPE_CHIPS.items()
                if (value := getattr(m, field))
            ],
            shown_at=getattr(m, sort_key),
            score=scores[i] if scores is not None else None,
        )
        for i, m in enumerate(memories)
    ]


_ZERO_UUID = uuid.UUID(int=0)
SCOPE_CHIPS = {"user_id": "user", "agent_id": "agent", "app_id": "app", "run_id": "run"}


def _page_url(list_url: str, query: QueryDict, request: HttpRequest) -> str:
    query = query.copy()
    for name in ("older", "newer", "at", "shown", "jump"):
        if request.GET.get(name):
            query[name] = request.GET[name]
    return f"{list_url}?{query.urlencode()}" if query else list_url


@vary_on_htmx
@require_GET
@project_member()
def memory_list(request: DashboardRequest) -> HttpResponse:
    if "as_of" in request.GET:
        # `/?as_of=2026-03-03&user_id=maria`: the same memories at a moment (the as-of view).
        scope = {name: request.GET.get(name, "") for name in SCOPE_CHIPS}
        return past_views.as_of_redirect(request.GET["as_of"], scope)
    form = MemoryFilterForm(request.GET)
    list_url = reverse("memories:list")
    if form.is_valid() and form.adds_filter and not is_partial(request):
        return redirect(_page_url(list_url, form.canonical_query(), request))
    template = template_for(request, "memories/list.html", ("memory-table",))
    partial = template.endswith("#memory-table")
    context = memory_list_context(request, form, list_url=list_url, oob=partial)
    status = 400 if context["error"] and not partial else 200
    response = render(request, template, context, status=status)
    if partial:
        push_url(response, _page_url(list_url, context["filter_query"], request))
    return response


# --- bulk delete --------------------------------------------------------------------------------


@dataclass
class Selection:
    """The memories a bulk delete would remove, and how the confirmation describes them."""

    memories: MemoryQuerySet
    count: int
    all_matching: bool
    ids: list[str]
    scope: list[str]
    preview: list[Memory]
    # The same set as filter JSON, for the Event (a worker could rebuild the set from it).
    filters: dict[str, Any]
    # How many of them a legal hold keeps (the delete skips them; memories.holds).
    held: int = 0


def _selection(request: DashboardRequest, form: MemoryFilterForm) -> Selection | str:
    """What the POST selects, or a message saying why it selects nothing deletable."""
    all_matching = request.POST.get("all") == "1"
    if all_matching:
        if form.search_text:
            return (
                "A semantic search ranks memories rather than filtering them; select rows instead."
            )
        deletion_filter = form.listed_filter()
        scope = [f"{p.label}: {p.value}" if p.value else p.label for p in form.pills()]
        if not form.include_expired:
            scope.append("expired memories excluded")
        ids: list[str] = []
    else:
        ids = list(dict.fromkeys(request.POST.getlist("ids")))
        if not ids:
            return "Select at least one memory first."
        if len(ids) > MAX_SELECTED:
            return f"Select at most {MAX_SELECTED} memories, or delete all matching the filter."
        try:
            parsed = [uuid.UUID(i) for i in ids]
        except ValueError:
            return "The selection contains an invalid memory id."
        deletion_filter = {"memory_ids": [str(pk) for pk in parsed]}
    memories = listing.matching(request.project, deletion_filter)
    if not all_matching:
        scope = _scope_summary(memories)
    count = memories.count()
    if count == 0:
        return "Nothing to delete: no memory matches."
    preview = list(memories.without_vectors().newest_first()[:5])
    _free, held = holds.without_held(request.project, memories)
    return Selection(memories, count, all_matching, ids, scope, preview, deletion_filter, held)


def _scope_summary(memories: MemoryQuerySet) -> list[str]:
    """ "user: alex, bob" lines for the entities a selection touches (at most 1000 rows)."""
    lines = []
    for field, label in (
        ("user_id", "user"),
        ("agent_id", "agent"),
        ("app_id", "app"),
        ("run_id", "run"),
    ):
        names = sorted(
            {n for n in memories.values_list(field, flat=True).order_by().distinct() if n}
        )
        if names:
            shown = ", ".join(names[:10]) + (
                f" and {len(names) - 10} more" if len(names) > 10 else ""
            )
            lines.append(f"{label}{'s' if len(names) > 1 else ''}: {shown}")
    return lines


@require_POST
@project_member(Role.EDITOR)
def bulk_delete(request: DashboardRequest) -> HttpResponse:
    """Delete selected rows, or every memory matching the filter in the query string.

    The first POST returns a confirmation stating the exact count and scope; the second
    (with `confirmed=1`) deletes through the same service as the API (a background Event when large).
    """
    form = MemoryFilterForm(request.GET)
    list_url = reverse("memories:list")
    back = _page_url(list_url, form.canonical_query(), request)
    if not form.is_valid():
        return _bulk_refusal(request, "Fix the filter first.", back)
    selection = _selection(request, form)
    if isinstance(selection, str):
        return _bulk_refusal(request, selection, back)
    if request.POST.get("confirmed") != "1":
        context = {
            "selection": selection,
            "form": form,
            "filter_query": form.canonical_query(),
            "back": back,
        }
        template = "memories/bulk_confirm.html"
        return render(
            request, f"{template}#bulk-confirm" if is_partial(request) else template, context
        )
    # Small sets go at once; large ones become a DELETE event that a Celery worker runs.
    event = services.delete_matching(
        request.project, selection.filters, actor=actor_of(request), source="dashboard"
    )
    message = deletion_message(event)
    if not is_partial(request):
        messages.success(request, message)
        return redirect(back)
    context = memory_list_context(
        request, MemoryFilterForm(request.GET), list_url=list_url, oob=True
    )
    context["clear_confirm"] = True
    if event.status in (Event.Status.PENDING, Event.Status.RUNNING):
        # A worker deletes them: the list follows the Event, and reloads when it finishes.
        context["bulk_event"] = event
    response = render(request, "memories/list.html#memory-table", context)
    return toast(response, message, url=reverse("memories:event", args=[event.id]))


def deletion_message(event: Event, subject: str = "") -> str:
    """What a delete did, or that a worker is doing it (a large delete may be queued)."""
    if event.status == Event.Status.SUCCEEDED:
        deleted = (event.results or {}).get("deleted", 0)
        noun = "memory" if deleted == 1 else "memories"
        held = (event.results or {}).get("held", 0)
        if held:
            # Deletes by filter or of an entity skip what a legal hold covers (memories.holds).
            of = f" of {subject}" if subject else ""
            stays = f", so {subject} stays" if subject else ""
            kept = f"{held:,} memor{'y' if held == 1 else 'ies'}"
            return f"Deleted {deleted:,} {noun}{of}; a legal hold keeps {kept}{stays}."
        what = f"{subject} and {deleted:,} {noun}" if subject else f"{deleted:,} {noun}"
        return f"Deleted {what}. {_in_the_trash(one=False)}"
    return (
        f"Deleting {subject or 'the memories'} in the background "
        f"(event {str(event.id)[:8]}, {event.status}); see Activity."
    )


def _in_the_trash(*, one: bool) -> str:
    """Where deleted memories are now: in the trash (memories.trash), unless it is off."""
    days = settings.MEMDASH_TRASH_DAYS
    if days > 0:
        return f"{'It' if one else 'They'} can be restored from the Trash for {days} day{'s' if days != 1 else ''}."
    return f"{'Its' if one else 'Their'} history is kept."


def _bulk_refusal(request: DashboardRequest, message: str, back: str) -> HttpResponse:
    if is_partial(request):
        return render(
            request, "memories/bulk_confirm.html#bulk-confirm", {"refusal": message, "back": back}
        )
    messages.error(request, message)
    return redirect(back)


# --- one memory ---------------------------------------------------------------------------------


def _memory_or_none(request: DashboardRequest, pk: uuid.UUID) -> Memory | None:
    try:
        return listing.get_memory(request.project, pk)
    except NotFound:
        return None


def _history(request: DashboardRequest, pk: uuid.UUID) -> QuerySet[MemoryHistory]:
    return listing.memory_history(request.project, pk)


def _timeline(request: DashboardRequest, pk: uuid.UUID) -> KeysetPage:
    rows = _history(request, pk).select_related("source_event")
    page = requested_page(rows, request.GET, key="created_at", size=HISTORY_PAGE_SIZE)
    # Each row's metadata, categories and expiry changes need the row before it, which for
    # the page's last row is on the next page.
    older = None
    if page.rows and page.older:
        last = page.rows[-1]
        older = (
            rows.filter(
                Q(created_at__lt=last.created_at) | Q(created_at=last.created_at, id__lt=last.id)
            )
            .order_by("-created_at", "-id")
            .first()
        )
    with_changes(page.rows, older)
    return page


@dataclass(frozen=True)
class InputMessage:
    """One message of the add a memory came from, as its provenance shows it."""

    role: str
    name: str | None
    content: Any
    is_source: bool

    @property
    def speaker(self) -> str:
        """ "Alice (user)" for a named speaker, "user message" for the others."""
        return f"{self.name} ({self.role})" if self.name else f"{self.role} message"


def input_messages(memory: Memory | None, first_add: MemoryHistory | None) -> list[InputMessage]:
    """The messages of the add, those this memory was extracted from marked (their positions
    index the source event's messages, which the first ADD row keeps)."""
    if first_add is None or not isinstance(first_add.input, list):
        return []
    same_add = memory is not None and first_add.source_event_id == memory.source_event_id
    sources = set(memory.source_messages or []) if memory is not None and same_add else set()
    return [
        InputMessage(
            role=str(message.get("role", "")),
            name=message.get("name") or None,
            content=message.get("content"),
            is_source=position in sources,
        )
        for position, message in enumerate(first_add.input)
        if isinstance(message, dict)
    ]


def _detail_context(request: DashboardRequest, pk: uuid.UUID, memory: Memory | None) -> dict:
    first_add = (
        _history(request, pk)
        .filter(event=MemoryHistory.Action.ADD)
        .order_by("created_at", "id")
        .first()
    )
    return {
        "memory": memory,
        "memory_id": pk,
        "timeline": _timeline(request, pk),
        "first_add": first_add,
        "input_messages": input_messages(memory, first_add),
    }


@vary_on_htmx
@require_GET
@project_member()
def memory_detail(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    """A memory, its provenance and its history. A deleted memory still shows its history."""
    memory = _memory_or_none(request, pk)
    if memory is None and not _history(request, pk).exists():
        raise Http404("No such memory in this project.")
    template = template_for(request, "memories/detail.html", ("memory-body", "history-more"))
    if template.endswith("#history-more"):
        timeline = _timeline(request, pk)
        log_read(request, "memory.history", **_history_read(pk, timeline.rows))
        return render(request, template, {"timeline": timeline, "memory_id": pk, "memory": memory})
    context = _detail_context(request, pk, memory)
    log_read(request, "memory.get", **_history_read(pk, context["timeline"].rows, memory))
    context.update(accessed_by(request, memory_id=pk))
    context.update(marks.memory_marks(request.project, pk, memory))
    return render(request, template, context)


def _history_read(
    pk: uuid.UUID, rows: list[MemoryHistory], memory: Memory | None = None
) -> dict[str, Any]:
    """A memory page's read for the access log: the memory, and the entities of its history."""
    return {
        "memories": [memory] if memory is not None else [{"id": pk}],
        "extra_entities": audit_log.entity_keys(*(vars(row) for row in rows)),
    }


@vary_on_htmx
@require_http_methods(["GET", "POST"])
@project_member(Role.EDITOR)
def memory_edit(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    memory = listing.get_memory(request.project, pk)
    if request.method == "POST":
        form = MemoryEditForm(memory, request.POST)
        if form.is_valid():
            try:
                changes = form.changes(memory)
                if changes:
                    services.update_memory(
                        memory,
                        actor=actor_of(request),
                        reason=form.cleaned_data["reason"],
                        **changes,
                    )
            except MemdashError as exc:
                form.add_error(None, exc.detail)
            else:
                message = "Memory updated." if changes else "Nothing changed."
                return _memory_changed(request, pk, memory, message)
    else:
        form = MemoryEditForm.for_memory(memory)
    template = template_for(request, "memories/edit.html", ("memory-body",))
    return render(request, template, {"memory": memory, "form": form})


def _memory_changed(
    request: DashboardRequest, pk: uuid.UUID, memory: Memory, message: str
) -> HttpResponse:
    """After an edit or a restore: back to the memory (the page, or its body and history)."""
    if not is_partial(request):
        messages.success(request, message)
        return redirect(memory)
    context = _detail_context(request, pk, memory)
    context["oob"] = True
    response = render(request, "memories/detail.html#memory-body", context)
    return toast(response, message)


@require_POST
@project_member(Role.EDITOR)
def memory_restore_version(
    request: DashboardRequest, pk: uuid.UUID, version: uuid.UUID
) -> HttpResponse:
    """Make a past history entry's text, metadata and categories the memory's again: an UPDATE
    through the same service as an edit, its reason naming the restored version."""
    memory = listing.get_memory(request.project, pk)
    row = _history(request, pk).filter(pk=version).first()
    if row is None:
        raise Http404("No such version of this memory.")
    form = RestoreVersionForm(request.POST)
    problem = None
    if not form.is_valid():
        problem = " ".join(str(e) for errors in form.errors.values() for e in errors)
    else:
        try:
            services.restore_version(
                memory, row, actor=actor_of(request), reason=form.cleaned_data["reason"]
            )
        except MemdashError as exc:
            problem = exc.detail
    if problem is None:
        return _memory_changed(request, pk, memory, "Version restored.")
    if is_partial(request):
        context = _detail_context(request, pk, memory)
        context["oob"] = True
        response = render(request, "memories/detail.html#memory-body", context)
        return toast(response, problem, level="error")
    messages.error(request, problem)
    return redirect(memory)


@vary_on_htmx
@require_http_methods(["GET", "POST"])
@project_member(Role.EDITOR)
def memory_delete(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    """GET: the confirmation. POST: delete through the service, then back to the list."""
    memory = listing.get_memory(request.project, pk)
    if request.method == "GET":
        template = template_for(request, "memories/delete.html", ("delete-confirm",))
        return render(request, template, {"memory": memory})
    try:
        services.delete_memory(memory, actor=actor_of(request))
    except Locked as exc:
        return _delete_refused(request, memory, exc.detail)
    messages.success(request, f"Memory deleted. {_in_the_trash(one=True)}")
    target = reverse("memories:list")
    if request.htmx:
        return HttpResponseClientRedirect(target)
    return redirect(target)


def _delete_refused(request: DashboardRequest, memory: Memory, message: str) -> HttpResponse:
    """A legal hold keeps the memory (423 in the API): say so where the confirmation was."""
    if not is_partial(request):
        messages.error(request, message)
        return redirect(memory)
    context = {"memory": memory, "refusal": message}
    response = render(request, "memories/delete.html#delete-refused", context)
    retarget(response, "#delete-confirm")
    reswap(response, "outerHTML")
    return toast(response, message, level="error")


# --- activity -----------------------------------------------------------------------------------


# The activity page's filters: (query parameter, pill label).
EVENT_FILTERS = (
    ("type", "type"),
    ("status", "status"),
    ("entity", "entity"),
    ("actor", "by"),
    ("since", "since"),
    ("until", "until"),
)
EVENT_CSV_COLUMNS = (
    "created_at", "id", "event_type", "status", "actor", "entities", "latency_ms", "error",
)  # fmt: skip


@vary_on_htmx
@require_GET
@project_member()
def event_list(request: DashboardRequest) -> HttpResponse | StreamingHttpResponse:
    """Events newest first, filtered by type, status and entity (memories.listing.event_list)."""
    query = QueryDict(mutable=True)
    for param, _label in EVENT_FILTERS:
        value = (request.GET.get(param) or "").strip()
        if value:
            query[param] = value.upper() if param in ("type", "status") else value
    error = None
    try:
        events = listing.event_list(
            request.project,
            event_type=query.get("type"),
            status=query.get("status"),
            entity=query.get("entity"),
            actor=query.get("actor"),
            since=query.get("since"),
            until=query.get("until"),
        )
    except InvalidRequest as exc:
        error, events = exc.detail, Event.objects.none()
    if request.GET.get("format") == "csv" and error is None:
        return _events_csv(events)
    page = requested_page(events, request.GET, key="created_at", size=EVENT_PAGE_SIZE)
    context = {
        "page": page,
        "rows": [(event, _entity_labels(event), wildcards.flag(event)) for event in page.rows],
        "applied": query.dict(),
        "pills": pills(query, EVENT_FILTERS),
        "clear_query": QueryDict(),
        "filter_query": query,
        "error": error,
        "types": Event.Type.values,
        "statuses": Event.Status.values,
        "oob": is_partial(request),
        # While an Event of the page runs, the table refreshes itself (every 2 s, this URL).
        "running": any(
            event.status in (Event.Status.PENDING, Event.Status.RUNNING) for event in page.rows
        ),
        "poll_url": request.get_full_path(),
    }
    template = template_for(request, "memories/activity.html", ("event-table",))
    response = render(
        request, template, context, status=400 if error and not is_partial(request) else 200
    )
    # The table's own refresh (it triggers itself) leaves the address and history alone.
    if is_partial(request) and request.htmx.trigger != "event-table":
        push_url(response, _page_url(reverse("memories:activity"), query, request))
    return response


def _events_csv(events: QuerySet[Event]) -> StreamingHttpResponse:
    """Activity's selection as CSV, streamed (what happened, not the payloads' texts)."""
    rows = (
        [
            event.created_at.isoformat(),
            event.id,
            event.event_type,
            event.status,
            event.actor,
            " ".join(_entity_labels(event)),
            "" if event.latency_ms is None else event.latency_ms,
            event.error or "",
        ]
        for event in events.iterator(chunk_size=2000)
    )
    return csv_download("memdash-activity", EVENT_CSV_COLUMNS, rows)


def _entity_labels(event: Event) -> list[str]:
    """ "user: alex" for the entities an Event is about (memories.events.named_entities)."""
    return [f"{SCOPE_CHIPS[field]}: {value}" for field, value in _named_ids(event).items()]


def _named_ids(event: Event) -> dict[str, str]:
    """The entity ids an Event is about (its metadata), in SCOPE_CHIPS order."""
    about = event.metadata if isinstance(event.metadata, dict) else {}
    return {
        field: value
        for field in SCOPE_CHIPS
        if isinstance(value := about.get(field), str) and value
    }


# The fragments that follow a running Event (memories/_event_progress.html): the Event page's
# status line, and the list's note about a bulk delete a worker is doing.
EVENT_PROGRESS_TARGETS = ("event-live", "bulk-progress")
# What the memory list listens for to reload its table (its filter form's hx-trigger).
MEMORIES_CHANGED = "memories-changed"


@vary_on_htmx
@require_GET
@project_member()
def event_detail(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    """One Event, and the memories it added, changed or deleted (from their history rows).

    While it runs, its page polls the status fragment (`event-live`) every 2 s, and so does the
    memory list's note about a bulk delete (`bulk-progress`); one poll is one query, the Event
    by primary key within the project.
    """
    event = listing.get_event(request.project, pk)
    target = request.htmx.target if is_partial(request) else None
    if target in EVENT_PROGRESS_TARGETS:
        return _event_progress(request, event, target)
    changes = list(
        MemoryHistory.objects.filter(project=request.project, source_event=event).order_by(
            "created_at", "id"
        )[: EVENT_CHANGES_SHOWN + 1]
    )
    alive = set(
        Memory.objects.for_project(request.project)
        .filter(pk__in=[row.memory_id for row in changes])
        .values_list("pk", flat=True)
    )
    context = {
        "event": event,
        "finished": event.status not in (Event.Status.PENDING, Event.Status.RUNNING),
        "alive": alive,
        "changes": changes[:EVENT_CHANGES_SHOWN],
        "more_changes": len(changes) > EVENT_CHANGES_SHOWN,
        "wildcard": _wildcard_undo(request, event),
    }
    read = audit_log.event_reads([event])
    read["memories"] = [{"id": row.memory_id} for row in changes[:EVENT_CHANGES_SHOWN]]
    log_read(request, "event.get", **read)
    return render(request, "memories/event_detail.html", context)


def _event_progress(request: DashboardRequest, event: Event, target: str) -> HttpResponse:
    """The status fragment of a polled Event. The poll that sees it finished stops polling and
    says so: the Event page reloads to show the results, the memory list reloads its table
    (the deleted rows go) and shows a toast."""
    finished = event.status not in (Event.Status.PENDING, Event.Status.RUNNING)
    failed = event.status == Event.Status.FAILED
    message = ""
    if finished and target == "bulk-progress":
        # A failed delete may have deleted some chunks: the table reloads all the same.
        message = (
            f"The delete failed: {event.error or 'no reason recorded'}"
            if failed
            else deletion_message(event)
        )
    context = {"event": event, "progress_id": target, "finished": finished, "message": message}
    response = render(request, "memories/_event_progress.html", context)
    if finished and target == "event-live":
        response.headers["HX-Refresh"] = "true"
    elif finished:
        response.headers["HX-Trigger"] = json.dumps({MEMORIES_CHANGED: str(event.id)})
        url = reverse("memories:event", args=[event.id])
        toast(response, message, level="error" if failed else "success", url=url)
    return response


@dataclass(frozen=True)
class WildcardUndo:
    """What a wildcard delete's page says: what it spanned, and what of it the trash still
    holds, until when, and where to restore it."""

    flag: str
    spans: str
    in_trash: ListCount
    purge_after: dt.datetime | None
    trash_url: str


def _wildcard_undo(request: DashboardRequest, event: Event) -> WildcardUndo | None:
    spanned = wildcards.recorded_span(event)
    if spanned is None:
        return None
    kept = trash.from_event(request.project, event)
    value, capped = capped_count(kept, settings.MEMDASH_DASHBOARD_COUNT_CAP)
    # The first chunk trashed is the first purged: the date to promise (read by the index).
    first = kept.order_by("trashed_at").values_list("purge_after", flat=True).first()
    # The trash narrowed to the ids the delete did name (user_id=* with agent_id=bob: bob's).
    named = urlencode(_named_ids(event))
    url = reverse("memories:trash")
    return WildcardUndo(
        flag=wildcards.flag_for(spanned),
        spans=wildcards.describe(spanned),
        in_trash=ListCount(value, exact=not capped),
        purge_after=first,
        trash_url=f"{url}?{named}" if named else url,
    )


# --- project settings ---------------------------------------------------------------------------


@vary_on_htmx
@require_http_methods(["GET", "POST"])
@project_member(Role.ADMIN)
def project_settings(request: DashboardRequest) -> HttpResponse:
    """Name, description, custom instructions and categories, through the API's service."""
    project = request.project
    if request.method == "POST":
        form = ProjectSettingsForm(request.POST)
        if form.is_valid():
            try:
                update_project(project, form.settings_payload())
            except InvalidRequest as exc:
                form.add_error(None, exc.detail)
            else:
                if not is_partial(request):
                    messages.success(request, "Settings saved.")
                    return redirect("project_settings")
                form = ProjectSettingsForm.for_project(project)
                response = render(
                    request,
                    "memories/settings.html#settings-form",
                    {"form": form, "project": project},
                )
                return toast(response, "Settings saved.")
    else:
        form = ProjectSettingsForm.for_project(project)
    template = template_for(request, "memories/settings.html", ("settings-form",))
    context = {"form": form, "project": project, **tenancy_views.members_context(project)}
    return render(request, template, context)
