"""Reading the audit log: one filter for the API (`GET /v1/audit/`), the dashboard's Audit page,
its downloads and the "Accessed by" panels.

Filters: `kind` (read or change), `action` (one action, or a family such as `memories.` or
`key.`), `actor` (a key's or a user's name, a key prefix, or an actor label), `entity` (an id of
any kind, or `user:maria`), `memory_id`, and `since` / `until` (dates or ISO times; a bare
`until` date includes its day). Any other parameter, or a value these do not accept, is an
InvalidRequest that says which and why: an auditor must never get an empty page for a typo.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_date, parse_datetime

from audit.models import AuditEntry
from core.errors import InvalidRequest
from core.text import quoted

KINDS = ("read", "change")
READS = (
    "memory.get", "memory.history", "memories.list", "memories.search", "event.get",
    "events.list", "entity.get", "entities.list", "person.page", "export.download",
    "erasure.preview", "trash.list", "memories.summary", "profile.get", "entities.filters",
    "history.list",
)  # fmt: skip
CHANGES = (
    "login", "logout", "login.failed", "member.add", "member.role", "member.remove",
    "key.create", "key.change", "key.revoke", "key.delete", "settings.change",
    "webhook.create", "webhook.change", "webhook.delete", "export.create", "erasure.confirm",
    "erasure.done", "hold.place", "hold.release", "retention.create", "retention.change",
    "retention.delete", "profile.settings", "project.create", "project.delete", "org.create",
    "org.delete", "login.locked", "password.change", "member.password_reset",
)  # fmt: skip
ACTIONS = READS + CHANGES
FAMILIES = tuple(sorted({action.split(".")[0] + "." for action in ACTIONS if "." in action}))
LOGINS = ("login", "logout", "login.failed", "login.locked", "password.change")
ENTITY_KINDS = ("user", "agent", "app", "run")
# Parameters of the list itself, not filters.
PAGING = ("page", "page_size", "cursor", "older", "newer", "format")
MAX_VALUE = 300


@dataclass(frozen=True)
class AuditFilter:
    kind: str | None = None
    action: str | None = None
    actor: str | None = None
    entity: str | None = None
    memory_id: uuid.UUID | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    @property
    def given(self) -> dict[str, str]:
        """The filter as query parameters (what the dashboard's pills and links carry)."""
        out = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is not None:
                out[item.name] = value.isoformat() if isinstance(value, dt.datetime) else str(value)
        return out


def parse(params: Mapping[str, Any], *, extra: Iterable[str] = ()) -> AuditFilter:
    """An AuditFilter from query parameters; InvalidRequest for anything it does not know."""
    names = {item.name for item in fields(AuditFilter)}
    unknown = sorted(set(params) - names - set(PAGING) - set(extra))
    if unknown:
        raise InvalidRequest(
            f"unknown audit filter {quoted(unknown[0])}; filters are {', '.join(sorted(names))}"
        )
    values = {name: _text(params, name) for name in names}
    kind = values["kind"]
    if kind is not None and kind not in KINDS:
        raise InvalidRequest(f"kind must be read or change, got {quoted(kind)}")
    action = values["action"]
    if action is not None and action not in ACTIONS and action not in FAMILIES:
        raise InvalidRequest(
            f"unknown action {quoted(action)}; actions are {', '.join(ACTIONS)}, or a family "
            f"such as {', '.join(FAMILIES[:3])}"
        )
    entity = values["entity"]
    if entity is not None and ":" in entity and entity.split(":", 1)[0] not in ENTITY_KINDS:
        raise InvalidRequest(
            f"entity is an id, or kind:id with kind one of {', '.join(ENTITY_KINDS)}; "
            f"got {quoted(entity)}"
        )
    memory_id = None
    if values["memory_id"] is not None:
        try:
            memory_id = uuid.UUID(values["memory_id"])
        except ValueError as exc:
            raise InvalidRequest(
                f"memory_id should be a UUID, got {quoted(values['memory_id'])}"
            ) from exc
    since = parse_moment(values["since"], "since", end_of_day=False)
    until = parse_moment(values["until"], "until", end_of_day=True)
    if since and until and since > until:
        raise InvalidRequest("since is after until")
    return AuditFilter(kind, action, values["actor"], entity, memory_id, since, until)


def _text(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string")
    if len(value) > MAX_VALUE:
        raise InvalidRequest(f"{name} has {len(value)} characters; at most {MAX_VALUE}")
    return value.strip()


def parse_moment(value: str | None, name: str, *, end_of_day: bool) -> dt.datetime | None:
    """A date (a bare `until` date ends with its day) or an ISO time; InvalidRequest else."""
    if value is None:
        return None
    try:
        # A date first: parse_datetime (datetime.fromisoformat) takes "2025-03-01" as its
        # midnight, which would make a bare `until` date exclude its own day.
        day = parse_date(value)
        moment = None if day else parse_datetime(value)
    except ValueError:
        moment = day = None
    if moment is None and day is None:
        raise InvalidRequest(
            f"{name} must be a date (YYYY-MM-DD) or an ISO time, got {quoted(value)}"
        )
    if moment is None:
        assert day is not None
        moment = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
        if end_of_day:
            moment += dt.timedelta(days=1) - dt.timedelta(microseconds=1)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def entries(
    project_id: int, audit_filter: AuditFilter, *, members: Iterable[str] = ()
) -> QuerySet[AuditEntry]:
    """The project's log rows the filter selects, newest first (keyset order: at, id).

    Logins belong to no project: those of the project's members (`members`: usernames) are
    shown with it, failed ones by the name that was tried.
    """
    names = sorted(set(members))
    logins = Q(project_id__isnull=True, action__in=LOGINS) & (
        Q(actor_label__in=[f"user:{n}" for n in names]) | Q(target__in=names)
    )
    rows = AuditEntry.objects.filter(Q(project_id=project_id) | logins)
    f = audit_filter
    if f.kind:
        rows = rows.filter(kind=f.kind)
    if f.action:
        rows = (
            rows.filter(action__startswith=f.action)
            if f.action.endswith(".")
            else rows.filter(action=f.action)
        )
    if f.actor:
        rows = rows.filter(
            Q(actor_name=f.actor)
            | Q(actor_label=f.actor)
            | Q(actor_label=f"api-key:{f.actor}")
            | Q(actor_label=f"user:{f.actor}")
        )
    if f.entity:
        keys = [f.entity] if ":" in f.entity else [f"{kind}:{f.entity}" for kind in ENTITY_KINDS]
        rows = rows.filter(entities__overlap=keys)
    if f.memory_id:
        rows = rows.filter(memory_ids__contains=[f.memory_id])
    if f.since:
        rows = rows.filter(at__gte=f.since)
    if f.until:
        rows = rows.filter(at__lte=f.until)
    return rows.order_by("-at", "-id")


def entry_payload(entry: AuditEntry) -> dict[str, Any]:
    """One row as the API and the JSON download give it."""
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "kind": entry.kind,
        "action": entry.action,
        "surface": entry.surface,
        "actor": {
            "type": entry.actor_type,
            "id": entry.actor_id or None,
            "name": entry.actor_name or None,
            "label": entry.actor_label or None,
            "role": entry.role or None,
        },
        "ip": entry.ip,
        "user_agent": entry.user_agent or None,
        "request_id": entry.request_id or None,
        "path": entry.path or None,
        "entities": entry.entities,
        "filters": entry.filters,
        "query": entry.query,
        "memory_ids": [str(pk) for pk in entry.memory_ids],
        "total": entry.total,
        "target": entry.target or None,
        "details": entry.details,
    }


CSV_COLUMNS = (
    "at", "kind", "action", "surface", "actor_type", "actor_name", "actor_label", "role", "ip",
    "user_agent", "request_id", "path", "entities", "filters", "query", "memory_ids", "total",
    "target", "details",
)  # fmt: skip


def csv_row(entry: AuditEntry) -> list[str]:
    """One row as the CSV download gives it (lists space-separated, JSON as text)."""
    out = []
    for name in CSV_COLUMNS:
        value = getattr(entry, name)
        if value is None:
            out.append("")
        elif name in ("filters", "details"):
            out.append(json.dumps(value, ensure_ascii=False))
        elif isinstance(value, dt.datetime):
            out.append(value.isoformat())
        elif isinstance(value, list):
            out.append(" ".join(str(v) for v in value))
        else:
            out.append(str(value))
    return out


LATEST_READS = 10


def latest_reads(
    project_id: int, *, entity: str | None = None, memory_id: uuid.UUID | None = None
) -> list[AuditEntry]:
    """The newest reads of an entity ("user:maria") or of one memory, for "Accessed by"."""
    selected = AuditFilter(kind="read", entity=entity, memory_id=memory_id)
    return list(entries(project_id, selected)[:LATEST_READS])
