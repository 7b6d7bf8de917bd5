"""Retention policies: how long a project keeps its memories.

A policy names where it applies (a filter of the filter language, or the whole project) and a
rule: delete memories N days after they were created, after their last update, or (for a run's
memories) after the run's last activity. Celery beat enforces every enabled policy through the
ordinary delete (memories.services.delete_memories): chunked transactions, so writers never
wait on a long lock; a DELETE history row per memory whose actor names the policy
("retention:<name>"); one DELETE Event per run, with its counts. Retention deletes are final,
not trashed: keeping what a policy says to drop would defeat it, and its dry run shows what it
will take. Legal holds win: held memories are skipped and counted.

Creating, changing and deleting a policy go into the audit trail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Min, Q, QuerySet
from django.utils import timezone

from audit import log as audit_log
from core.errors import Conflict, InvalidRequest, NotFound
from core.text import quoted
from entities.models import Entity
from memories import holds, listing, services
from memories.filters import compile_filters
from memories.models import Event, Memory, RetentionPolicy
from tenancy.models import Project

ACTOR_PREFIX = "retention:"
MAX_NAME = 200
MAX_DAYS = 36_500
FIELDS = ("name", "filters", "rule", "days", "enabled")


def policy_list(project: Project) -> QuerySet[RetentionPolicy]:
    return RetentionPolicy.objects.filter(project=project).order_by("name", "id")


def get_policy(project: Project, policy_id: Any) -> RetentionPolicy:
    try:
        return RetentionPolicy.objects.get(project=project, pk=policy_id)
    except (RetentionPolicy.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("No such retention policy in this project.") from exc


def clean(data: Any, *, partial: bool) -> dict[str, Any]:
    """The policy fields `data` gives, checked; InvalidRequest says what is wrong."""
    if not isinstance(data, dict):
        raise InvalidRequest("a retention policy is an object")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise InvalidRequest(
            f"unknown field {quoted(unknown[0])}; a policy has {', '.join(FIELDS)}"
        )
    missing = [] if partial else [f for f in ("name", "rule", "days") if data.get(f) is None]
    if missing:
        raise InvalidRequest(f"a retention policy needs {', '.join(missing)}")
    out: dict[str, Any] = {}
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or not name.strip():
            raise InvalidRequest("name must be a non-empty string")
        if len(name.strip()) > MAX_NAME:
            raise InvalidRequest(f"name has {len(name.strip())} characters; at most {MAX_NAME}")
        out["name"] = name.strip()
    if "filters" in data:
        filters = data["filters"] or None
        if filters is not None:
            if not isinstance(filters, dict):
                raise InvalidRequest("filters must be an object of the filter language")
            compile_filters(filters)
        out["filters"] = filters
    if "rule" in data:
        if data["rule"] not in RetentionPolicy.Rule.values:
            raise InvalidRequest(
                f"rule must be one of {', '.join(RetentionPolicy.Rule.values)}, "
                f"got {quoted(data['rule'])}"
            )
        out["rule"] = data["rule"]
    if "days" in data:
        days = data["days"]
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
            raise InvalidRequest(f"days must be a whole number from 1 to {MAX_DAYS}")
        out["days"] = days
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            raise InvalidRequest("enabled must be true or false")
        out["enabled"] = data["enabled"]
    return out


def create_policy(project: Project, data: Any, *, actor: str) -> RetentionPolicy:
    fields = clean(data, partial=False)
    try:
        with transaction.atomic():
            policy = RetentionPolicy.objects.create(project=project, created_by=actor, **fields)
    except IntegrityError as exc:
        raise Conflict(f"a retention policy named {quoted(fields['name'])} exists") from exc
    audit_log.change(
        "retention.create", project_id=project.pk, target=str(policy.pk), details=_seen(policy)
    )
    return policy


def update_policy(policy: RetentionPolicy, data: Any, *, actor: str) -> RetentionPolicy:
    fields = clean(data, partial=True)
    before = _seen(policy)
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.updated_at = timezone.now()
    try:
        with transaction.atomic():
            policy.save()
    except IntegrityError as exc:
        raise Conflict(f"a retention policy named {quoted(policy.name)} exists") from exc
    after = _seen(policy)
    diff = {k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]}
    if diff:
        audit_log.change(
            "retention.change", project_id=policy.project_id, target=str(policy.pk), details=diff
        )
    return policy


def delete_policy(policy: RetentionPolicy, *, actor: str) -> None:
    details, target, project_id = _seen(policy), str(policy.pk), policy.project_id
    policy.delete()
    audit_log.change("retention.delete", project_id=project_id, target=target, details=details)


def _seen(policy: RetentionPolicy) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in FIELDS}


# --- what a policy takes -------------------------------------------------------------------------


def due(policy: RetentionPolicy, now: dt.datetime | None = None) -> QuerySet[Memory]:
    """The memories `policy` would delete at `now`, held ones included."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=policy.days)
    rows = listing.matching(policy.project, policy.filters)
    if policy.rule == RetentionPolicy.Rule.CREATED:
        return rows.filter(created_at__lt=cutoff)
    if policy.rule == RetentionPolicy.Rule.UPDATED:
        return rows.filter(updated_at__lt=cutoff)
    quiet = Entity.objects.filter(
        project=policy.project, kind=Entity.Kind.RUN, updated_at__lt=cutoff
    ).values("name")
    return rows.filter(Q(run_id__isnull=False) & Q(run_id__in=quiet))


@dataclass(frozen=True)
class Preview:
    """What enforcing a policy would do now: memories deleted, the oldest, those a hold keeps."""

    deleted: int
    held: int
    oldest: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "would_delete": self.deleted,
            "held": self.held,
            "oldest": self.oldest.isoformat() if self.oldest else None,
        }


def preview(policy: RetentionPolicy, now: dt.datetime | None = None) -> Preview:
    rows, held = holds.without_held(policy.project, due(policy, now).order_by())
    oldest = rows.aggregate(oldest=Min("created_at"))["oldest"]
    return Preview(deleted=rows.count(), held=held, oldest=oldest)


def enforce(policy: RetentionPolicy, now: dt.datetime | None = None) -> Event:
    """Delete what `policy` says is due, in batches; the DELETE Event has the counts."""
    now = now or timezone.now()
    event = services.delete_memories(
        policy.project,
        due(policy, now),
        actor=f"{ACTOR_PREFIX}{policy.name}",
        payload={"retention_policy": str(policy.pk), "name": policy.name, "as_of": now.isoformat()},
        metadata={},
        keep=False,
    )
    RetentionPolicy.objects.filter(pk=policy.pk).update(last_run_at=now, last_event_id=event.pk)
    return event


def enforce_all(now: dt.datetime | None = None) -> int:
    """The beat task: every enabled policy of every project; returns the memories deleted."""
    total = 0
    for policy in RetentionPolicy.objects.filter(enabled=True).select_related("project"):
        event = enforce(policy, now)
        total += (event.results or {}).get("deleted", 0)
    return total
