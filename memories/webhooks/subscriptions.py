"""Webhook subscriptions: creating, changing and deleting a project's webhooks.

The API (memories.api.webhooks) calls these, and so must any other surface that manages
webhooks, so that a webhook is validated the same way wherever it is saved: a name, an http(s) URL that may receive deliveries
(memories.webhooks.targets) and known event types in any of Mem0's spellings.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator

from audit import log as audit_log
from core.errors import InvalidRequest, NotFound
from memories.models import WEBHOOK_NAME_CHARS, WEBHOOK_URL_CHARS, Webhook
from memories.webhooks.notify import EVENT_TYPES
from memories.webhooks.targets import target_problem
from tenancy.models import Project

# Mem0 also lists ingest job types; memdash accepts them so clients can subscribe, but has no
# ingest jobs that would fire them.
ACCEPTED_ONLY = {
    "ingest_job_completed",
    "ingest_job_partially_completed",
    "ingest_job_failed",
    "ingest_job_cancelled",
}


def normalize_event_type(value: Any) -> str:
    """Accept Mem0's spellings: "memory_add", "MEMORY_ADD", "memory.add", "memory:add", "ADD"."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest("event_types must be a list of names such as memory_add")
    name = value.strip().lower().replace(".", "_").replace(":", "_").replace("-", "_")
    if name.upper() in EVENT_TYPES:
        return EVENT_TYPES[name.upper()]
    if name in Webhook.EventType.values or name in ACCEPTED_ONLY:
        return name
    allowed = ", ".join([*Webhook.EventType.values, *sorted(ACCEPTED_ONLY)])
    raise InvalidRequest(f"Unknown webhook event type {value!r}; use one of: {allowed}")


def clean(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """The webhook fields of `data`, checked (all of name, url and event_types unless `partial`)."""
    cleaned: dict[str, Any] = {}
    if "name" in data or not partial:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise InvalidRequest("name is required and must be a non-empty string")
        if len(name.strip()) > WEBHOOK_NAME_CHARS:
            raise InvalidRequest(
                f"name has {len(name.strip())} characters; at most {WEBHOOK_NAME_CHARS}"
            )
        cleaned["name"] = name.strip()
    if "url" in data or not partial:
        url = data.get("url")
        if isinstance(url, str) and len(url) > WEBHOOK_URL_CHARS:
            raise InvalidRequest(f"url has {len(url)} characters; at most {WEBHOOK_URL_CHARS}")
        try:
            if not isinstance(url, str):
                raise DjangoValidationError("not a string")
            URLValidator(schemes=["http", "https"])(url)
        except DjangoValidationError as exc:
            raise InvalidRequest(f"url must be an http(s) URL, got {str(url)[:100]!r}") from exc
        problem = target_problem(url, resolve=False)
        if problem:
            raise InvalidRequest(f"url {problem}")
        cleaned["url"] = url
    if "event_types" in data or not partial:
        types = data.get("event_types")
        if not isinstance(types, list) or not types:
            raise InvalidRequest('event_types must be a non-empty list, e.g. ["memory_add"]')
        cleaned["event_types"] = list(dict.fromkeys(normalize_event_type(t) for t in types))
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            raise InvalidRequest("is_active must be true or false")
        cleaned["is_active"] = data["is_active"]
    return cleaned


def get_webhook(project: Project, webhook_id: Any) -> Webhook:
    """The project's webhook of that id (NotFound for another project's or an unknown one)."""
    try:
        return Webhook.objects.select_related("project").get(project=project, pk=webhook_id)
    except Webhook.DoesNotExist as exc:
        raise NotFound("Webhook not found") from exc


def create_webhook(project: Project, data: dict[str, Any]) -> Webhook:
    """A new webhook of `project` from `data` (name, url, event_types, is_active)."""
    webhook = Webhook.objects.create(project=project, **clean(data, partial=False))
    audit_log.change(
        "webhook.create", project_id=project.pk, target=str(webhook.pk), details=_seen(webhook)
    )
    return webhook


def update_webhook(webhook: Webhook, data: dict[str, Any]) -> Webhook:
    """Change the fields `data` names; the others stay."""
    changes = clean(data, partial=True)
    before, raw = _seen(webhook), {name: getattr(webhook, name) for name in changes}
    for name, value in changes.items():
        setattr(webhook, name, value)
    webhook.save(update_fields=[*changes, "updated_at"])
    after = _seen(webhook)
    diff: dict[str, Any] = {
        k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]
    }
    for name in changes:
        # A change the trail may not show (a URL's credentials or query string)
        # is still a change: it is named, its values are not.
        if name not in diff and raw[name] != getattr(webhook, name):
            diff[name] = {"changed": True, "values": "withheld"}
    if diff:
        audit_log.change(
            "webhook.change", project_id=webhook.project_id, target=str(webhook.pk), details=diff
        )
    return webhook


def delete_webhook(webhook: Webhook) -> None:
    """Delete a webhook (deliveries already queued find it gone and do nothing)."""
    details = _seen(webhook)
    webhook_id, project_id = str(webhook.pk), webhook.project_id
    webhook.delete()
    audit_log.change("webhook.delete", project_id=project_id, target=webhook_id, details=details)


def shown_url(url: str) -> str:
    """A webhook URL without its credentials or query string (tokens often ride there): what
    the audit trail keeps and the dashboard's lists show."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    if parts.port is not None:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _seen(webhook: Webhook) -> dict[str, Any]:
    """What the audit trail keeps of a webhook: never its signing secret, nor a URL's
    credentials or query string (tokens often ride there)."""
    return {
        "name": webhook.name,
        "url": shown_url(webhook.url),
        "event_types": list(webhook.event_types or []),
        "is_active": webhook.is_active,
    }
