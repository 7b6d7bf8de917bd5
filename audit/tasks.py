"""Celery tasks of the audit log (imported by Celery only)."""

from __future__ import annotations

from celery import shared_task

from audit import partitions


@shared_task(ignore_result=True)
def maintain_audit_log() -> dict[str, list[str]]:
    """Create the coming months' partitions and drop those past retention (beat, hourly)."""
    return partitions.maintain()
