"""The compliance console: find a person, their person page, exports and erasures.

The officer reaches a person from the console's search or from an entity's page, and "Export"
and "Erase…" from the person page, an entity's page or any filtered memories view. An erasure's
preview states what would go, kind by kind, and lists other people's memories that mention the
subject for review; confirming takes typing the subject's id. Exports and erasures run in a
worker; their pages follow the progress. Everything goes through memories.erasure,
memories.exports and memories.people, as the API does. Every page needs the compliance role.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import Http404, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import Conflict, FilterError, InvalidRequest, MemdashError, NotFound
from core.htmx import is_partial, template_for, vary_on_htmx
from core.keyset import requested_page
from entities.models import Entity
from memories import erasure, exports, holds, marks, past_views, people
from memories.models import Erasure, Export
from memories.subjects import Subject
from memories.views import actor_of
from tenancy.access import DashboardRequest, log_read, project_member
from tenancy.audit_views import accessed_by
from tenancy.models import Role

# What the officer types to confirm erasing what a filter matches.
FILTER_CONFIRMATION = "erase"
PAGE_SIZE = 50


class ErasureForm(forms.Form):
    aliases = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text=(
            "Other names the subject may be mentioned by, one per line (a name, an email, a "
            "phone number): the preview looks for them in other people's memories."
        ),
    )
    mentions = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Mentions to erase too"
    )
    reference = forms.CharField(
        max_length=200, required=False, help_text="The request's reference, e.g. a ticket number."
    )
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why (e.g. GDPR art. 17). It goes into the receipt: put no personal data here.",
    )
    confirm = forms.CharField(max_length=300, label="Confirm")

    def __init__(self, *args: Any, mention_ids: list[str], expected: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        mentions = self.fields["mentions"]
        assert isinstance(mentions, forms.MultipleChoiceField)
        mentions.choices = [(i, i) for i in mention_ids]
        self.expected = expected
        self.fields["confirm"].help_text = f"Type {expected} to confirm. This cannot be undone."

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != self.expected:
            raise forms.ValidationError(f"type {self.expected} exactly to confirm")
        return value


def _subject(query: QueryDict) -> Subject:
    """The subject a page names: ?entity_type=&entity_id=, or ?filters=<filter JSON>."""
    text = query.get("filters")
    if isinstance(text, str) and text:
        try:
            filters = json.loads(text)
        except ValueError as exc:
            raise InvalidRequest("filters is not valid JSON") from exc
        return Subject.from_json({"filters": filters})
    return Subject.from_json(
        {"entity_type": query.get("entity_type"), "entity_id": query.get("entity_id")}
    )


def _aliases(data: QueryDict) -> list[str]:
    """The aliases a form sends, one per line."""
    return erasure.clean_aliases(
        [line for line in (data.get("aliases") or "").splitlines() if line.strip()]
    )


def subject_query(subject: Subject) -> str:
    """A subject as the query string the console's pages take."""
    if subject.filters is not None:
        query = {"filters": json.dumps(subject.filters, separators=(",", ":"))}
    else:
        query = {"entity_type": str(subject.entity_type), "entity_id": str(subject.entity_id)}
    return urlencode(query)


def new_erasure_url(subject: Subject) -> str:
    """The preview page of an erasure of `subject`."""
    return f"{reverse('memories:erasure_new')}?{subject_query(subject)}"


# --- the console and the person page ---------------------------------------------------------


class FindPersonForm(forms.Form):
    entity_type = forms.ChoiceField(choices=Entity.Kind.choices, initial=Entity.Kind.USER)
    entity_id = forms.CharField(max_length=255, label="Id", strip=True)


@require_GET
@project_member(Role.COMPLIANCE)
def compliance_home(request: DashboardRequest) -> HttpResponse:
    """Find a person; the latest exports and erasures."""
    form = FindPersonForm(request.GET or None)
    if form.is_valid():
        subject = Subject.from_json(form.cleaned_data)
        return redirect(f"{reverse('memories:person')}?{subject_query(subject)}")
    context = {
        "form": form,
        "exports": exports.export_list(request.project).filter(kind=Export.Kind.SUBJECT)[:10],
        "erasures": Erasure.objects.filter(project=request.project)
        .select_related("event")
        .order_by("-created_at", "-id")[:10],
        "holds": holds.active(request.project),
    }
    return render(request, "memories/compliance.html", context)


@require_GET
@project_member(Role.COMPLIANCE)
def person_page(request: DashboardRequest) -> HttpResponse:
    """Everything held about one entity, with Export and Erase…."""
    if "as_of" in request.GET and request.GET.get("entity_type") in Entity.Kind.values:
        field = f"{request.GET['entity_type']}_id"
        return past_views.as_of_redirect(
            request.GET["as_of"], {field: request.GET.get("entity_id", "")}
        )
    try:
        subject = _subject(request.GET)
        if subject.filters is not None:
            raise InvalidRequest("the person page is for an entity: give entity_type and entity_id")
        aliases = _aliases(request.GET)
    except (InvalidRequest, FilterError) as exc:
        return render(request, "memories/person.html", {"error": exc.detail}, status=400)
    person = people.person(request.project, subject, aliases=aliases)
    log_read(
        request,
        "person.page",
        memories=[*person.memories, *person.mentions],
        total=person.memory_count + person.mention_count,
        scope=subject.scope,
    )
    context = {
        **accessed_by(request, entity=f"{subject.entity_type}:{subject.entity_id}"),
        **marks.entity_marks(request.project, str(subject.entity_type), str(subject.entity_id)),
        "person": person,
        "subject": subject,
        "aliases": "\n".join(aliases),
        "query": subject_query(subject),
    }
    return render(request, "memories/person.html", context)


# --- exports ---------------------------------------------------------------------------------


@require_POST
@project_member(Role.COMPLIANCE)
def export_new(request: DashboardRequest) -> HttpResponse:
    """Queue the full export of the subject the query names, then follow it."""
    try:
        subject = _subject(request.GET)
        record = exports.create_subject(request.project, subject, actor=actor_of(request))
    except (InvalidRequest, FilterError, Conflict) as exc:
        return render(
            request, "memories/export_detail.html", {"error": exc.detail}, status=exc.status_code
        )
    return redirect("memories:export", pk=record.pk)


def _export(request: DashboardRequest, pk: uuid.UUID) -> Export:
    try:
        return exports.get_export(request.project, pk, kind=Export.Kind.SUBJECT)
    except NotFound as exc:
        raise Http404("No such export in this project.") from exc


@vary_on_htmx
@require_GET
@project_member(Role.COMPLIANCE)
def export_detail(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    """One export: its progress while it is built (the fragment polls), then its download."""
    record = _export(request, pk)
    template = template_for(request, "memories/export_detail.html", ("export-status",))
    subject = Subject.from_json(record.request)
    return render(
        request,
        template,
        {
            "export": record,
            "event": record.event,
            "subject": subject,
            "person_query": subject_query(subject) if subject.filters is None else "",
        },
    )


@require_GET
@project_member(Role.COMPLIANCE)
def export_download(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    """The zip, recorded as a DOWNLOAD Event."""
    record = _export(request, pk)
    if record.event.status != record.event.Status.SUCCEEDED or record.is_expired:
        raise Http404("This export is not available: not ready yet, failed or expired.")
    exports.record_download(record, actor=actor_of(request))
    log_read(request, "export.download", **exports.download_read(record))
    response = HttpResponse(bytes(record.archive or b""), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{exports.archive_name(record)}"'
    return response


@vary_on_htmx
@require_GET
@project_member(Role.COMPLIANCE)
def export_list(request: DashboardRequest) -> HttpResponse:
    """The project's subject exports, newest first."""
    records = exports.export_list(request.project).filter(kind=Export.Kind.SUBJECT)
    page = requested_page(records, request.GET, key="created_at", size=PAGE_SIZE)
    template = template_for(request, "memories/exports.html", ("export-table",))
    return render(
        request, template, {"page": page, "filter_query": QueryDict(), "oob": is_partial(request)}
    )


# --- erasures --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@project_member(Role.COMPLIANCE)
def erasure_new(request: DashboardRequest) -> HttpResponse:
    """The preview of an erasure, and its confirmation (POST)."""
    try:
        subject = _subject(request.GET)
        aliases = _aliases(request.POST if request.method == "POST" else request.GET)
    except (InvalidRequest, FilterError) as exc:
        return render(request, "memories/erasure_new.html", {"error": exc.detail}, status=400)
    preview = erasure.preview(request.project, subject, aliases=aliases)
    log_read(
        request,
        "erasure.preview",
        memories=[asdict(m) for m in preview.mentions],
        scope=subject.scope,
        filters=subject.filters,
    )
    expected = subject.entity_id or FILTER_CONFIRMATION
    mention_ids = [m.id for m in preview.mentions]
    form = ErasureForm(
        request.POST if request.method == "POST" else None,
        mention_ids=mention_ids,
        expected=expected,
        initial={"aliases": "\n".join(aliases)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            record = erasure.start(
                request.project,
                subject,
                actor=actor_of(request),
                aliases=aliases,
                mentions_to_erase=form.cleaned_data["mentions"],
                reference=form.cleaned_data["reference"],
                reason=form.cleaned_data["reason"],
            )
        except MemdashError as exc:  # a conflict, a bad choice, no receipt key
            form.add_error(None, exc.detail)
        else:
            return redirect("memories:erasure", pk=record.pk)
    context = {
        "subject": subject,
        "preview": preview,
        "counts": preview.as_dict()["counts"],
        "form": form,
        "expected": expected,
        "action": new_erasure_url(subject),
    }
    return render(request, "memories/erasure_new.html", context)


def _erasure(request: DashboardRequest, pk: uuid.UUID) -> Erasure:
    record = Erasure.objects.filter(project=request.project, pk=pk).select_related("event").first()
    if record is None:
        raise Http404("No such erasure in this project.")
    return record


@vary_on_htmx
@require_GET
@project_member(Role.COMPLIANCE)
def erasure_detail(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    """One erasure: its progress while it runs (the fragment polls), then its receipt."""
    record = _erasure(request, pk)
    template = template_for(request, "memories/erasure_detail.html", ("erasure-status",))
    return render(request, template, {"erasure": record, "event": record.event})


@require_GET
@project_member(Role.COMPLIANCE)
def erasure_receipt(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    """The signed receipt as a JSON file, exactly as signed."""
    record = _erasure(request, pk)
    if record.receipt is None:
        raise Http404("This erasure has no receipt yet.")
    response = JsonResponse(record.receipt, json_dumps_params={"indent": 2, "sort_keys": True})
    response["Content-Disposition"] = f'attachment; filename="erasure-receipt-{record.pk}.json"'
    return response


@vary_on_htmx
@require_GET
@project_member(Role.COMPLIANCE)
def erasure_list(request: DashboardRequest) -> HttpResponse:
    """The project's erasures, newest first."""
    records = Erasure.objects.filter(project=request.project).select_related("event")
    page = requested_page(records, request.GET, key="created_at", size=PAGE_SIZE)
    template = template_for(request, "memories/erasures.html", ("erasure-table",))
    return render(
        request, template, {"page": page, "filter_query": QueryDict(), "oob": is_partial(request)}
    )
