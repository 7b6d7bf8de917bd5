"""Dashboard pages for entities: the list, one entity with its memories, and entity delete."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect, push_url

from core.htmx import is_partial, template_for, vary_on_htmx
from core.keyset import requested_page
from entities import services
from entities.models import Entity
from memories import holds, listing, marks, past_views, profiles
from memories import services as memory_services
from memories.forms import MemoryFilterForm
from memories.models import Memory
from memories.views import actor_of, deletion_message, memory_list_context
from tenancy.access import DashboardRequest, log_read, project_member
from tenancy.audit_views import accessed_by
from tenancy.models import Role

PAGE_SIZE = 50


@vary_on_htmx
@require_GET
@project_member()
def entity_list(request: DashboardRequest) -> HttpResponse:
    """Users, agents, apps and runs, most recently active first, searchable by name."""
    kind = request.GET.get("kind") if request.GET.get("kind") in Entity.Kind.values else None
    search = (request.GET.get("q") or "").strip()[:255]
    entities = listing.entity_list(
        request.project,
        kind=kind,
        name_contains=search,
        cap=settings.MEMDASH_DASHBOARD_COUNT_CAP,
    )
    page = requested_page(entities, request.GET, key="updated_at", size=PAGE_SIZE)
    query = QueryDict(mutable=True)
    if kind:
        query["kind"] = kind
    if search:
        query["q"] = search
    context: dict[str, Any] = {
        "page": page,
        "kind": kind,
        "search": search,
        "filter_query": query,
        "count_cap": settings.MEMDASH_DASHBOARD_COUNT_CAP,
    }
    if not is_partial(request):
        totals = listing.entity_totals(request.project)
        context["total"] = sum(totals.values())
        context["kinds"] = [
            (value, label, totals.get(value, 0)) for value, label in Entity.Kind.choices
        ]
    response = render(
        request, template_for(request, "entities/list.html", ("entity-table",)), context
    )
    if is_partial(request):
        url = reverse("entities:list")
        push_url(response, f"{url}?{query.urlencode()}" if query else url)
    return response


@vary_on_htmx
@require_GET
@project_member()
def entity_detail(request: DashboardRequest, kind: str, name: str) -> HttpResponse:
    """One entity and its memories: the memory table, pre-filtered to the entity."""
    entity = services.get_entity(request.project, kind, name)
    if "as_of" in request.GET:
        return past_views.as_of_redirect(request.GET["as_of"], {entity.scope_field: entity.name})
    params = QueryDict(mutable=True)
    for key in ("sort", "show_expired"):
        if request.GET.get(key):
            params[key] = request.GET[key]
    form = MemoryFilterForm(params, fixed={entity.scope_field: entity.name})
    url = reverse("entities:detail", args=[entity.kind, entity.name])
    template = template_for(request, "entities/detail.html", ("memory-table",))
    context = memory_list_context(
        request, form, list_url=url, oob=template.endswith("#memory-table"), bulk=False
    )
    context.update(entity=entity, memories_url=_memories_url(entity))
    if not context["oob"]:
        context.update(accessed_by(request, entity=f"{entity.kind}:{entity.name}"))
        context.update(marks.entity_marks(request.project, entity.kind, entity.name))
        context["profile"] = _profile_panel(request, entity)
    return render(request, template, context)


def _profile_panel(request: DashboardRequest, entity: Entity) -> profiles.ProfileView | None:
    """A user's profile (users only have one), logged as a read like the API's when there is
    one to show (the page's own read is its memories list)."""
    if entity.kind != Entity.Kind.USER:
        return None
    profile = profiles.profile_of(request.project, entity.name)
    if not profile.profile:
        return profile
    log_read(
        request,
        "profile.get",
        scope={"user_id": entity.name},
        memories=[{"id": pk, "user_id": entity.name} for pk in profile.memory_ids],
    )
    return profile


def _memories_url(entity: Entity) -> str:
    query = QueryDict(mutable=True)
    query[entity.scope_field] = entity.name
    return f"{reverse('memories:list')}?{query.urlencode()}"


@vary_on_htmx
@require_http_methods(["GET", "POST"])
@project_member(Role.EDITOR)
def entity_delete(request: DashboardRequest, kind: str, name: str) -> HttpResponse:
    """GET: a confirmation with the exact number of memories that go. POST: delete them all."""
    entity = services.get_entity(request.project, kind, name)
    if request.method == "GET":
        memories = Memory.objects.for_project(request.project).for_entity(kind, name)
        count = memories.count()
        _free, held = holds.without_held(request.project, memories)
        template = template_for(request, "entities/delete.html", ("delete-confirm",))
        noun = "memory" if count == 1 else "memories"
        delete_label = f"Delete {entity.kind} and {count - held:,} {noun}"
        context = {"entity": entity, "count": count, "held": held, "delete_label": delete_label}
        return render(request, template, context)
    event = memory_services.delete_entity(request.project, entity, actor=actor_of(request))
    messages.success(request, deletion_message(event, f"{entity.kind} {entity.name}"))
    target = reverse("entities:list")
    return HttpResponseClientRedirect(target) if request.htmx else redirect(target)
