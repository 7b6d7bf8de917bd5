"""The dashboard's Webhooks page (admins only, as the webhooks API is): the project's webhooks
with their last delivery, a form to add one (its signing secret shown once, right after), and
a page per webhook to edit, disable, delete or test it, with its delivery log.

Every change goes through memories.webhooks.subscriptions, as the API's do, so a webhook is
checked and audited the same way wherever it is saved; the test event goes through the same
Celery task as real changes (memories.webhooks.deliveries), so it lands in the log.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from core.errors import MemdashError, QueueUnavailable
from core.htmx import template_for, vary_on_htmx
from memories.models import WEBHOOK_NAME_CHARS, WEBHOOK_URL_CHARS, Webhook
from memories.webhooks import deliveries, subscriptions
from tenancy.access import DashboardRequest, project_member
from tenancy.models import Role

# The secret of a webhook just created, kept in the session only until the page that shows it
# (once) is rendered.
NEW_SECRET_KEY = "memdash_new_webhook_secret"


class WebhookForm(forms.Form):
    """Name, URL and event types; the checks themselves are the service's (subscriptions.clean)."""

    name = forms.CharField(max_length=WEBHOOK_NAME_CHARS)
    url = forms.CharField(
        max_length=WEBHOOK_URL_CHARS,
        label="URL",
        widget=forms.URLInput(attrs={"class": "mono", "spellcheck": "false"}),
        help_text="An http(s) URL that receives a signed POST for each change.",
    )
    event_types = forms.MultipleChoiceField(
        # Labelled with the API's names, which receivers see in the log and the docs.
        choices=[(value, value) for value in Webhook.EventType.values],
        widget=forms.CheckboxSelectMultiple,
        label="Events",
    )

    @classmethod
    def of(cls, webhook: Webhook, data: Any = None) -> WebhookForm:
        known = [t for t in webhook.event_types if t in Webhook.EventType.values]
        initial = {"name": webhook.name, "url": webhook.url, "event_types": known}
        return cls(data, initial=initial, prefix="edit")


@require_http_methods(["GET", "POST"])
@project_member(Role.ADMIN)
def webhook_list(request: DashboardRequest) -> HttpResponse:
    """The webhooks; POST adds one, then shows its page (with the secret, once)."""
    form = WebhookForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            webhook = subscriptions.create_webhook(request.project, dict(form.cleaned_data))
        except MemdashError as exc:
            form.add_error(None, exc.detail)
        else:
            request.session[NEW_SECRET_KEY] = {"id": str(webhook.pk), "secret": webhook.secret}
            messages.success(request, f"Added the webhook {webhook.name!r}.")
            return redirect("memories:webhook", webhook.pk)
    webhooks = list(Webhook.objects.filter(project=request.project).order_by("created_at"))
    last = deliveries.last_outcomes(webhooks)
    rows = [
        {"webhook": hook, "url": subscriptions.shown_url(hook.url), "last": last.get(hook.pk)}
        for hook in webhooks
    ]
    context = {"rows": rows, "form": form}
    return render(request, "memories/webhooks.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@vary_on_htmx
@project_member(Role.ADMIN)
def webhook_detail(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    """One webhook, its delivery log (alone for htmx: the log's refresh) and its edit form;
    POST saves the form."""
    webhook = subscriptions.get_webhook(request.project, pk)
    form = WebhookForm.of(webhook, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            changes = dict(form.cleaned_data)
            # Types the form does not offer (Mem0's ingest jobs, API-only) stay subscribed.
            kept = [t for t in webhook.event_types if t not in Webhook.EventType.values]
            changes["event_types"] = [*changes["event_types"], *kept]
            subscriptions.update_webhook(webhook, changes)
        except MemdashError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, f"Saved the webhook {webhook.name!r}.")
            return redirect("memories:webhook", webhook.pk)
        webhook.refresh_from_db()  # the page shows what is stored, the form what was typed
    just_created = request.session.get(NEW_SECRET_KEY) or {}
    new_secret = ""
    if just_created.get("id") == str(webhook.pk):
        new_secret = just_created["secret"]
        del request.session[NEW_SECRET_KEY]  # shown this once, never again
    context = {
        "webhook": webhook,
        "url": subscriptions.shown_url(webhook.url),
        "form": form,
        "log": deliveries.log_page(webhook, request.GET),
        "kept": deliveries.KEEP_PER_WEBHOOK,
        "new_secret": new_secret,
    }
    template = template_for(request, "memories/webhook_detail.html", ("webhook-log",))
    return render(request, template, context, status=400 if form.errors else 200)


@require_POST
@project_member(Role.ADMIN)
def webhook_switch(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    """Enable or disable a webhook (a disabled one is sent nothing, even deliveries queued)."""
    webhook = subscriptions.get_webhook(request.project, pk)
    action = request.POST.get("action")
    if action in ("enable", "disable"):
        subscriptions.update_webhook(webhook, {"is_active": action == "enable"})
        messages.success(request, f"{action.capitalize()}d the webhook {webhook.name!r}.")
    else:
        messages.error(request, "Unknown action: enable or disable.")
    return redirect("memories:webhook", webhook.pk)


@require_POST
@project_member(Role.ADMIN)
def webhook_test(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    """Queue a test event to the webhook; it appears in the log like any delivery."""
    webhook = subscriptions.get_webhook(request.project, pk)
    if not webhook.is_active:
        messages.error(request, "This webhook is disabled: enable it to send a test event.")
    else:
        try:
            deliveries.send_test(webhook)
        except QueueUnavailable as exc:
            messages.error(request, str(exc.detail))
        else:
            messages.success(
                request, "Test event queued: its delivery appears in the delivery log."
            )
    return redirect("memories:webhook", webhook.pk)


@require_http_methods(["GET", "POST"])
@vary_on_htmx
@project_member(Role.ADMIN)
def webhook_delete(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    """GET: the confirmation (in the page for htmx). POST: delete it, then back to the list."""
    webhook = subscriptions.get_webhook(request.project, pk)
    if request.method == "GET":
        template = template_for(request, "memories/webhook_delete.html", ("delete-confirm",))
        return render(request, template, {"webhook": webhook})
    subscriptions.delete_webhook(webhook)
    messages.success(request, f"Deleted the webhook {webhook.name!r} and its delivery log.")
    target = reverse("memories:webhooks")
    if request.htmx:
        return HttpResponseClientRedirect(target)
    return redirect(target)
