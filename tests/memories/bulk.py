"""Many memories at once for the tests of bulk work (an erasure, retention): seeded in a few
SQL statements, as the API would take minutes for this many."""

from __future__ import annotations

from django.db import connection

PER_EVENT = 1000


def seed(project, size: int, user: str) -> None:
    """`size` memories of one user, each with its ADD history row, from one ADD Event per
    PER_EVENT of them, in a few statements (the API would take minutes for this many)."""
    vector = "[" + ",".join(["1"] + ["0"] * 383) + "]"
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO memories_event (id, project_id, event_type, status, payload, metadata,
                actor, attempts, created_at, updated_at, started_at, completed_at)
            SELECT gen_random_uuid(), %(project)s, 'ADD', 'SUCCEEDED',
                jsonb_build_object('user_id', %(user)s, 'messages',
                    jsonb_build_array(jsonb_build_object('role', 'user',
                        'content', 'batch ' || n || ' of ' || %(user)s))),
                jsonb_build_object('user_id', %(user)s), 'api-key:m0-bulk', 1,
                now(), now(), now(), now()
            FROM generate_series(1, %(events)s) AS n
            """,
            {"project": project.pk, "user": user, "events": -(-size // PER_EVENT)},
        )
        cursor.execute(
            """
            WITH events AS (
                SELECT id, row_number() OVER (ORDER BY id) - 1 AS k
                FROM memories_event WHERE project_id = %(project)s
            ), rows AS (
                SELECT gen_random_uuid() AS id, n,
                    (SELECT id FROM events WHERE k = (n - 1) / %(per)s) AS event_id
                FROM generate_series(1, %(size)s) AS n
            ), memories AS (
                INSERT INTO memories_memory (id, project_id, user_id, memory, hash, metadata,
                    immutable, created_at, updated_at, embedding, embedding_model,
                    source_event_id)
                SELECT id, %(project)s, %(user)s, 'Fact number ' || n || ' about ' || %(user)s,
                    md5('fact ' || n), jsonb_build_object('n', n), false, now(), now(),
                    %(vector)s::vector, 'bulk', event_id
                FROM rows
                RETURNING id, memory, source_event_id
            )
            INSERT INTO memories_memoryhistory (id, project_id, memory_id, event, new_memory,
                input, user_id, actor, source_event_id, created_at)
            SELECT gen_random_uuid(), %(project)s, id, 'ADD', memory,
                jsonb_build_array(jsonb_build_object('role', 'user', 'content', memory)),
                %(user)s, 'api-key:m0-bulk', source_event_id, now()
            FROM memories
            """,
            {
                "project": project.pk,
                "user": user,
                "size": size,
                "per": PER_EVENT,
                "vector": vector,
            },
        )
        cursor.execute(
            "INSERT INTO entities_entity (project_id, kind, name, metadata, created_at, "
            "updated_at) VALUES (%s, 'user', %s, '{}', now(), now())",
            [project.pk, user],
        )
        # As autovacuum would soon after a bulk load. Until then the planner takes the tables
        # for empty, and on a loaded machine a chunked delete's `id IN (...)` became a nested
        # loop over the whole table (one 5k chunk of the 100k retention test ran for minutes).
        cursor.execute("ANALYZE memories_memory, memories_memoryhistory, memories_event")
