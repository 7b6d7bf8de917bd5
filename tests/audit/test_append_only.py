"""The audit log is append-only in PostgreSQL itself: UPDATE, DELETE and TRUNCATE raise, on the
table and on each of its partitions, whoever sends them. The two exceptions: an erasure's
redaction of the requests' free text (query, filters, path), and a retention purge that drops
whole old monthly partitions (DDL, never a row DELETE)."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from audit import log as audit_log
from audit import partitions
from audit.models import AuditEntry
from audit.tasks import maintain_audit_log
from memdash.celery import app as celery_app

pytestmark = pytest.mark.django_db

MARIA_MEMORY = "11111111-1111-1111-1111-111111111111"
BOB_MEMORY = "22222222-2222-2222-2222-222222222222"


def insert(at: dt.datetime | None = None, **values) -> int:
    """One log row by plain SQL (the way audit.log writes them); its id."""
    row = {
        "project_id": None,
        "kind": "read",
        "action": "memories.search",
        "surface": "api",
        "actor_type": "key",
        "actor_label": "api-key:m0-test",
        "path": "/v1/memories/search/",
        **values,
    }
    if at is not None:
        row["at"] = at
    for name in ("filters", "details"):
        if row.get(name) is not None:
            row[name] = json.dumps(row[name])
    columns = ", ".join(row)
    marks = ", ".join("%s" for _ in row)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO audit_log ({columns}) VALUES ({marks}) RETURNING id", list(row.values())
        )
        return cursor.fetchone()[0]


def run(sql: str, params=(), *, redaction: bool = False) -> int:
    """`sql` in a transaction of its own (a savepoint inside the test's), so a refusal leaves
    the test's transaction usable; the rows it touched. `redaction` flags the transaction as
    an erasure's redaction, for this savepoint only."""
    with transaction.atomic(), connection.cursor() as cursor:
        if redaction:
            cursor.execute("SET LOCAL memdash.audit_redaction = 'on'")
        cursor.execute(sql, params)
        count = cursor.rowcount
        if redaction:
            # SET LOCAL outlives a released savepoint (it lasts until the outer transaction
            # ends): put it back, so the next statement of the test is not flagged.
            cursor.execute("SET LOCAL memdash.audit_redaction = 'off'")
        return count


def refused(sql: str, params=(), *, redaction: bool = False) -> None:
    with pytest.raises(DatabaseError, match="the audit log is append-only") as caught:
        run(sql, params, redaction=redaction)
    # insufficient_privilege, as the trigger raises it
    assert getattr(caught.value.__cause__, "sqlstate", None) == "42501"


def partition_of(row_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM audit_log WHERE id = %s", [row_id])
        found = cursor.fetchone()
    return found[0] if found else ""


def all_partitions() -> set[str]:
    """Every partition of the log, from pg_inherits (the default one included)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'audit_log'::regclass"
        )
        return {name for (name,) in cursor.fetchall()}


def row(row_id: int) -> AuditEntry:
    return AuditEntry.objects.get(pk=row_id)


@pytest.fixture
def entry() -> int:
    """A row of this month (in its monthly partition, which the migration created)."""
    return insert(
        query="maria's allergy",
        filters={"user_id": "maria"},
        entities=["user:maria"],
        memory_ids=[MARIA_MEMORY],
        total=1,
        actor_name="reader bot",
    )


def test_rows_of_this_month_land_in_its_partition(entry):
    name = partitions.partition_name(partitions.month_start(row(entry).at))
    assert partition_of(entry) == name
    assert {name, "audit_log_default"} <= all_partitions()


# --- UPDATE ----------------------------------------------------------------------------------

# Every column, with a new value. The first three are the free text an erasure may redact.
NEW_VALUES = [
    ("query", "'rewritten'"),
    ("filters", "'{}'::jsonb"),
    ("path", "'/elsewhere/'"),
    ("at", "at - interval '1 day'"),
    ("project_id", "12345"),
    ("kind", "'change'"),
    ("action", "'memory.get'"),
    ("surface", "'dashboard'"),
    ("actor_type", "'user'"),
    ("actor_id", "'42'"),
    ("actor_name", "'someone else'"),
    ("actor_label", "'user:mallory'"),
    ("role", "'viewer'"),
    ("ip", "'10.0.0.9'"),
    ("user_agent", "'forged/1'"),
    ("request_id", "'forged-request'"),
    ("entities", "'{user:bob}'"),
    ("memory_ids", f"'{{{BOB_MEMORY}}}'"),
    ("total", "99"),
    ("target", "'forged'"),
    ("details", "'{\"forged\": true}'::jsonb"),
]
FREE_TEXT = {"query", "filters", "path"}
NOT_FREE_TEXT = [(column, value) for column, value in NEW_VALUES if column not in FREE_TEXT]


@pytest.mark.parametrize(("column", "value"), NEW_VALUES, ids=[c for c, _ in NEW_VALUES])
def test_update_of_any_column_is_refused_on_the_table(entry, column, value):
    before = AuditEntry.objects.filter(pk=entry).values().get()
    refused(f"UPDATE audit_log SET {column} = {value} WHERE id = %s", [entry])
    assert AuditEntry.objects.filter(pk=entry).values().get() == before


@pytest.mark.parametrize(("column", "value"), NEW_VALUES, ids=[c for c, _ in NEW_VALUES])
def test_update_of_any_column_is_refused_on_the_partition(entry, column, value):
    name = partition_of(entry)
    assert name.startswith("audit_log_p")
    refused(f'UPDATE "{name}" SET {column} = {value} WHERE id = %s', [entry])
    assert row(entry).action == "memories.search"


def test_an_update_that_changes_nothing_is_refused_too(entry):
    refused("UPDATE audit_log SET action = action WHERE id = %s", [entry])


def test_update_is_refused_on_the_default_partition():
    # A month nobody created a partition for lands in the default one, which is guarded too.
    old = insert(at=dt.datetime(2001, 2, 3, tzinfo=dt.UTC))
    assert partition_of(old) == "audit_log_default"
    refused("UPDATE audit_log_default SET actor_label = 'x' WHERE id = %s", [old])
    refused("UPDATE audit_log SET actor_label = 'x' WHERE id = %s", [old])


def test_update_of_every_row_at_once_is_refused(entry):
    insert(action="memory.get")
    refused("UPDATE audit_log SET total = 0")
    assert row(entry).total == 1


# --- DELETE and TRUNCATE ---------------------------------------------------------------------


def test_delete_is_refused_on_the_table_and_on_the_partition(entry):
    refused("DELETE FROM audit_log WHERE id = %s", [entry])
    refused("DELETE FROM audit_log")
    refused(f'DELETE FROM "{partition_of(entry)}" WHERE id = %s', [entry])
    assert AuditEntry.objects.filter(pk=entry).exists()


def test_delete_through_the_orm_is_refused(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry).delete()
    assert AuditEntry.objects.filter(pk=entry).exists()


def test_delete_is_refused_on_the_default_partition():
    old = insert(at=dt.datetime(2001, 2, 3, tzinfo=dt.UTC))
    refused("DELETE FROM audit_log_default WHERE id = %s", [old])
    assert AuditEntry.objects.filter(pk=old).exists()


def test_truncate_is_refused_on_the_table(entry):
    refused("TRUNCATE audit_log")
    refused("TRUNCATE audit_log CASCADE")
    assert AuditEntry.objects.filter(pk=entry).exists()


def test_truncate_is_refused_on_every_partition(entry):
    # A partition truncated alone does not fire the parent's TRUNCATE trigger: each partition
    # has its own, the default one included.
    insert(at=dt.datetime(2001, 2, 3, tzinfo=dt.UTC))
    names = all_partitions()
    assert partition_of(entry) in names and "audit_log_default" in names
    for name in sorted(names):
        refused(f'TRUNCATE "{name}"')
    assert AuditEntry.objects.filter(pk=entry).exists()


def test_the_redaction_flag_does_not_allow_delete_or_truncate(entry):
    refused("DELETE FROM audit_log WHERE id = %s", [entry], redaction=True)
    refused("TRUNCATE audit_log", redaction=True)
    refused(f'TRUNCATE "{partition_of(entry)}"', redaction=True)


# --- the redaction exception -----------------------------------------------------------------


def test_with_the_redaction_flag_the_free_text_can_be_rewritten(entry):
    changed = run(
        "UPDATE audit_log SET query = '[erased]', filters = to_jsonb('[erased]'::text), "
        "path = '/v1/[erased]/' WHERE id = %s",
        [entry],
        redaction=True,
    )
    assert changed == 1
    after = row(entry)
    assert (after.query, after.filters, after.path) == ("[erased]", "[erased]", "/v1/[erased]/")
    # The rest of the row is as it was.
    assert after.entities == ["user:maria"] and after.actor_name == "reader bot"


@pytest.mark.parametrize("column", sorted(FREE_TEXT))
def test_with_the_redaction_flag_each_free_text_column_alone(entry, column):
    value = dict(NEW_VALUES)[column]
    assert run(f"UPDATE audit_log SET {column} = {value} WHERE id = %s", [entry], redaction=True)


def test_the_redaction_flag_works_on_the_partition_too(entry):
    name = partition_of(entry)
    assert run(f'UPDATE "{name}" SET query = NULL WHERE id = %s', [entry], redaction=True) == 1
    assert row(entry).query is None


@pytest.mark.parametrize(("column", "value"), NOT_FREE_TEXT, ids=[c for c, _ in NOT_FREE_TEXT])
def test_with_the_redaction_flag_other_columns_are_still_refused(entry, column, value):
    refused(f"UPDATE audit_log SET {column} = {value} WHERE id = %s", [entry], redaction=True)
    # Not even alongside a redaction of the query.
    refused(
        f"UPDATE audit_log SET query = '[erased]', {column} = {value} WHERE id = %s",
        [entry],
        redaction=True,
    )
    assert row(entry).query == "maria's allergy"


@pytest.mark.parametrize("flag", ["off", "true", "1", "ON", ""])
def test_only_the_exact_flag_opens_the_exception(entry, flag):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT set_config('memdash.audit_redaction', %s, true)", [flag])
        cursor.execute("UPDATE audit_log SET query = 'x' WHERE id = %s", [entry])


def test_a_released_redaction_leaves_plain_updates_refused(entry):
    run("UPDATE audit_log SET query = NULL WHERE id = %s", [entry], redaction=True)
    refused("UPDATE audit_log SET filters = NULL WHERE id = %s", [entry])


# --- audit.log.redact, as an erasure calls it ------------------------------------------------


def test_redact_erases_the_free_text_of_the_subjects_rows(project, other_project):
    by_entity = insert(
        project_id=project.pk,
        query="does maria have allergies",
        filters={"user_id": "maria"},
        path="/entities/user/maria/",
        entities=["user:maria"],
    )
    by_memory = insert(
        project_id=project.pk,
        query="green tea",
        filters=None,
        path="/v1/memories/search/",
        entities=["user:someone"],
        memory_ids=[MARIA_MEMORY],
    )
    bobs = insert(
        project_id=project.pk, query="chess", filters={"user_id": "bob"}, entities=["user:bob"]
    )
    elsewhere = insert(
        project_id=other_project.pk,
        query="maria in another project",
        filters={"user_id": "maria"},
        entities=["user:maria"],
    )

    redacted = audit_log.redact(
        project.pk, entities=["user:maria"], memory_ids=[MARIA_MEMORY], name="maria"
    )

    assert redacted == 2
    first, second = row(by_entity), row(by_memory)
    assert (first.query, first.filters, first.path) == (
        audit_log.REDACTED,
        audit_log.REDACTED,
        f"/entities/user/{audit_log.REDACTED}/",
    )
    # Kept: the entity keys (pseudonymous references that still answer "who read maria's
    # memories"), the memory ids, who read and when.
    assert first.entities == ["user:maria"] and first.actor_label == "api-key:m0-test"
    # A missing filter stays missing; a path without the name stays as it was.
    assert (second.query, second.filters, second.path) == (
        audit_log.REDACTED,
        None,
        "/v1/memories/search/",
    )
    assert [str(m) for m in second.memory_ids] == [MARIA_MEMORY]
    assert (row(bobs).query, row(bobs).filters) == ("chess", {"user_id": "bob"})
    assert row(elsewhere).query == "maria in another project"

    # Done twice, nothing is left to redact.
    assert audit_log.redact(project.pk, entities=["user:maria"], memory_ids=[], name="maria") == 0


def test_redact_leaves_the_table_append_only_afterwards(project):
    # An erasure calls redact() inside a transaction of its own (memories.erasure); whatever
    # follows in that transaction gets no exception.
    subject = insert(project_id=project.pk, query="maria", entities=["user:maria"])
    other = insert(project_id=project.pk, query="bob", entities=["user:bob"])
    with transaction.atomic():
        assert audit_log.redact(project.pk, entities=["user:maria"], memory_ids=[]) == 1
        refused("UPDATE audit_log SET query = NULL WHERE id = %s", [other])
    refused("UPDATE audit_log SET query = NULL WHERE id = %s", [other])
    assert row(subject).query == audit_log.REDACTED and row(other).query == "bob"


def test_redact_with_nothing_to_match_changes_nothing(project, entry):
    assert audit_log.redact(project.pk, entities=[], memory_ids=[]) == 0
    assert row(entry).query == "maria's allergy"


# --- partitions ------------------------------------------------------------------------------


def test_ensure_partitions_creates_this_month_and_the_months_ahead():
    created = partitions.ensure_partitions(
        now=dt.datetime(2040, 11, 20, 15, tzinfo=dt.UTC), months_ahead=3
    )
    assert created == [
        "audit_log_p204011",
        "audit_log_p204012",
        "audit_log_p204101",  # across the new year
        "audit_log_p204102",
    ]
    assert set(created) <= all_partitions()
    # Once made, they are not made again.
    assert partitions.ensure_partitions(now=dt.datetime(2040, 12, 1, tzinfo=dt.UTC)) == [
        "audit_log_p204103"
    ]
    # Each holds its month: the first instant in, the last instant of the month before out.
    inside = insert(at=dt.datetime(2040, 12, 1, tzinfo=dt.UTC))
    before = insert(at=dt.datetime(2040, 12, 1, tzinfo=dt.UTC) - dt.timedelta(microseconds=1))
    last = insert(at=dt.datetime(2041, 2, 28, 23, 59, 59, tzinfo=dt.UTC))
    assert partition_of(inside) == "audit_log_p204012"
    assert partition_of(before) == "audit_log_p204011"
    assert partition_of(last) == "audit_log_p204102"


def test_the_default_months_ahead():
    created = partitions.ensure_partitions(now=dt.datetime(2050, 1, 5, tzinfo=dt.UTC))
    assert len(created) == partitions.MONTHS_AHEAD + 1


def test_months_back_creates_past_partitions_for_old_rows():
    created = partitions.ensure_partitions(
        now=dt.datetime(2020, 3, 15, tzinfo=dt.UTC), months_ahead=0, months_back=2
    )
    assert created == ["audit_log_p202001", "audit_log_p202002", "audit_log_p202003"]
    january = insert(at=dt.datetime(2020, 1, 10, 8, tzinfo=dt.UTC))
    march = insert(at=dt.datetime(2020, 3, 31, 23, tzinfo=dt.UTC))
    assert partition_of(january) == "audit_log_p202001"
    assert partition_of(march) == "audit_log_p202003"
    assert [name for name, _ in partitions.partitions()][:3] == created


def test_new_partitions_are_append_only_too():
    partitions.ensure_partitions(
        now=dt.datetime(2020, 1, 15, tzinfo=dt.UTC), months_ahead=0, months_back=0
    )
    old = insert(at=dt.datetime(2020, 1, 10, tzinfo=dt.UTC))
    assert partition_of(old) == "audit_log_p202001"
    refused("UPDATE audit_log_p202001 SET action = 'x' WHERE id = %s", [old])
    refused("DELETE FROM audit_log_p202001 WHERE id = %s", [old])
    refused("TRUNCATE audit_log_p202001")


def test_a_month_with_rows_in_the_default_partition_gets_none(caplog):
    # Its rows arrived before its partition: creating one now would overlap the default
    # partition's rows, so they stay there (the purge cannot drop them; see the README).
    early = insert(at=dt.datetime(2019, 5, 10, tzinfo=dt.UTC))
    assert partition_of(early) == "audit_log_default"
    with caplog.at_level(logging.WARNING, logger="audit.partitions"):
        created = partitions.ensure_partitions(
            now=dt.datetime(2019, 5, 20, tzinfo=dt.UTC), months_ahead=1
        )
    assert created == ["audit_log_p201906"]
    assert "audit_log_p201905" not in all_partitions()
    assert "rows of audit_log_p201905 are in the default partition" in caplog.text
    assert partition_of(early) == "audit_log_default"


@pytest.fixture
def old_months():
    """January to March 2020, each with a row."""
    partitions.ensure_partitions(
        now=dt.datetime(2020, 3, 15, tzinfo=dt.UTC), months_ahead=0, months_back=2
    )
    return {
        month: insert(at=dt.datetime(2020, month, 10, tzinfo=dt.UTC), target=f"2020-{month}")
        for month in (1, 2, 3)
    }


def test_purge_drops_whole_partitions_past_retention(old_months, settings, entry):
    settings.MEMDASH_ACCESS_LOG_DAYS = 30
    statements: list[str] = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        dropped = partitions.purge()

    assert {"audit_log_p202001", "audit_log_p202002", "audit_log_p202003"} <= set(dropped)
    left = all_partitions()
    assert not {"audit_log_p202001", "audit_log_p202002", "audit_log_p202003"} & left
    assert not AuditEntry.objects.filter(pk__in=old_months.values()).exists()
    # This month's partition (and its row), the months ahead and the default one stay.
    this_month = partitions.month_start(row(entry).at)
    assert partitions.partition_name(this_month) in left
    assert partitions.partition_name(partitions.next_month(this_month)) in left
    assert "audit_log_default" in left
    # Dropped as tables: the append-only trigger would have refused a row DELETE.
    assert not [s for s in statements if s.lstrip().upper().startswith(("DELETE", "TRUNCATE"))]
    assert [s for s in statements if s.startswith("DROP TABLE")] == [
        f'DROP TABLE "{name}"' for name in dropped
    ]


def test_purge_keeps_a_month_until_its_last_row_is_past_retention(old_months):
    # January 2020 ends on 2020-02-01: with 10 days of retention it may go from 2020-02-11.
    almost = dt.datetime(2020, 2, 10, 23, 59, tzinfo=dt.UTC)
    assert partitions.purge(now=almost, days=10) == []
    assert partitions.purge(now=dt.datetime(2020, 2, 11, tzinfo=dt.UTC), days=10) == [
        "audit_log_p202001"
    ]
    assert not AuditEntry.objects.filter(pk=old_months[1]).exists()
    assert AuditEntry.objects.filter(pk__in=[old_months[2], old_months[3]]).count() == 2


def test_purge_uses_the_retention_setting(old_months, settings):
    assert settings.MEMDASH_ACCESS_LOG_DAYS == 400  # the documented default
    # 2020-03 ends on 2020-04-01; 400 days later is 2021-05-06.
    assert partitions.purge(now=dt.datetime(2021, 5, 5, tzinfo=dt.UTC)) == [
        "audit_log_p202001",
        "audit_log_p202002",
    ]
    settings.MEMDASH_ACCESS_LOG_DAYS = 10_000
    assert partitions.purge(now=dt.datetime(2021, 5, 7, tzinfo=dt.UTC)) == []
    assert AuditEntry.objects.filter(pk=old_months[3]).exists()


def test_purge_never_touches_the_default_partition(settings):
    stray = insert(at=dt.datetime(2001, 2, 3, tzinfo=dt.UTC))
    settings.MEMDASH_ACCESS_LOG_DAYS = 1
    partitions.purge()
    assert "audit_log_default" in all_partitions()
    assert AuditEntry.objects.filter(pk=stray).exists()


# --- the Celery task -------------------------------------------------------------------------


def test_maintain_audit_log_creates_the_coming_months_and_drops_the_old(old_months, settings):
    settings.MEMDASH_ACCESS_LOG_DAYS = 30
    furthest = partitions.month_start(dt.datetime.now(dt.UTC))
    for _ in range(partitions.MONTHS_AHEAD):
        furthest = partitions.next_month(furthest)
    name = partitions.partition_name(furthest)
    assert name in all_partitions()
    with connection.cursor() as cursor:  # DDL: what the append-only trigger does not guard
        cursor.execute(f'DROP TABLE "{name}"')

    outcome = maintain_audit_log()  # called as the worker would, without a broker

    assert outcome["created"] == [name]
    assert {"audit_log_p202001", "audit_log_p202002", "audit_log_p202003"} <= set(
        outcome["dropped"]
    )
    assert name in all_partitions()
    assert not AuditEntry.objects.filter(pk__in=old_months.values()).exists()
    # Run again, there is nothing left to do.
    assert maintain_audit_log() == {"created": [], "dropped": []}


def test_maintain_audit_log_is_on_the_beat_schedule():
    schedule = settings.CELERY_BEAT_SCHEDULE
    entries = [entry for entry in schedule.values() if entry["task"].endswith("maintain_audit_log")]
    assert len(entries) == 1
    assert entries[0]["task"] == maintain_audit_log.name == "audit.tasks.maintain_audit_log"
    assert entries[0]["schedule"] <= 3600  # hourly
    assert celery_app.conf.beat_schedule == schedule
    assert maintain_audit_log.name in celery_app.tasks
