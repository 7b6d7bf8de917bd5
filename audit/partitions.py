"""The audit log's monthly partitions: created ahead of time, dropped whole when retention ends.

Rows land in `audit_log_pYYYYMM` by their month; `audit_log_default` catches a month nobody
created yet (nothing is ever refused for want of a partition). A retention purge drops the
partitions that end before the cutoff (MEMDASH_ACCESS_LOG_DAYS), which the append-only trigger
allows, as it refuses deleting rows one by one. Celery beat runs `maintain` hourly.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from django.conf import settings
from django.db import connection as default_connection
from django.utils import timezone

logger = logging.getLogger(__name__)

TABLE = "audit_log"
NAME = re.compile(r"^audit_log_p(\d{4})(\d{2})$")
MONTHS_AHEAD = 3


def month_start(moment: dt.datetime) -> dt.date:
    return dt.date(moment.year, moment.month, 1)


def next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def partition_name(month: dt.date) -> str:
    return f"{TABLE}_p{month.year:04d}{month.month:02d}"


def previous_month(day: dt.date) -> dt.date:
    return dt.date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 1)


def ensure_partitions(
    *,
    now: dt.datetime | None = None,
    months_ahead: int = MONTHS_AHEAD,
    months_back: int = 0,
    connection: Any = None,
) -> list[str]:
    """Create the partitions of this month, the next `months_ahead` and the last `months_back`
    (for loading old rows); their names."""
    connection = connection or default_connection
    month = month_start(now or timezone.now())
    for _ in range(months_back):
        month = previous_month(month)
    created = []
    with connection.cursor() as cursor:
        for _ in range(months_back + months_ahead + 1):
            name = partition_name(month)
            upper = next_month(month)
            cursor.execute("SELECT to_regclass(%s)", [name])
            if cursor.fetchone()[0] is None:
                # Rows of this month already in the default partition would make the new one
                # overlap it; they stay there (the purge cannot drop them, see the README).
                cursor.execute(
                    "SELECT EXISTS (SELECT 1 FROM audit_log_default WHERE at >= %s AND at < %s)",
                    [month, upper],
                )
                if cursor.fetchone()[0]:
                    logger.warning("audit log: rows of %s are in the default partition", name)
                else:
                    cursor.execute(
                        f'CREATE TABLE "{name}" PARTITION OF {TABLE} '
                        f"FOR VALUES FROM ('{month.isoformat()}') TO ('{upper.isoformat()}')"
                    )
                    # The parent's TRUNCATE trigger does not fire for a partition truncated alone.
                    cursor.execute(
                        f'CREATE TRIGGER "{name}_no_truncate" BEFORE TRUNCATE ON "{name}" '
                        "FOR EACH STATEMENT EXECUTE FUNCTION memdash_audit_append_only()"
                    )
                    created.append(name)
            month = upper
    return created


def partitions(connection: Any = None) -> list[tuple[str, dt.date]]:
    """The monthly partitions and the month each holds, oldest first."""
    connection = connection or default_connection
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    found = []
    for name in names:
        match = NAME.match(name)
        if match:
            found.append((name, dt.date(int(match[1]), int(match[2]), 1)))
    return sorted(found, key=lambda item: item[1])


def purge(*, now: dt.datetime | None = None, days: int | None = None) -> list[str]:
    """Drop the partitions whose every row is older than the retention; their names."""
    days = settings.MEMDASH_ACCESS_LOG_DAYS if days is None else days
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    dropped = []
    with default_connection.cursor() as cursor:
        for name, month in partitions():
            end = next_month(month)
            if dt.datetime(end.year, end.month, end.day, tzinfo=dt.UTC) <= cutoff:
                cursor.execute(f'DROP TABLE "{name}"')
                dropped.append(name)
    if dropped:
        logger.info("audit log: dropped %s (older than %d days)", ", ".join(dropped), days)
    return dropped


def maintain() -> dict[str, list[str]]:
    return {"created": ensure_partitions(), "dropped": purge()}
