"""A project with many entities, made in SQL (seconds for 10,000), for the reset tests.

Memories go in by bulk_create with a fixed vector: these tests exercise listing and deleting,
never similarity.
"""

from __future__ import annotations

import hashlib

from django.db import connection

from entities.models import Entity
from memories.models import EMBEDDING_DIMENSIONS, Memory, MemoryHistory

VECTOR = [0.1] * EMBEDDING_DIMENSIONS


def seed_entities(project, count: int, *, kind: str = "user", prefix: str = "person") -> None:
    """`count` entities named "<prefix>-1".. "<prefix>-<count>", each a second older than the
    one before (so the list order is their number order)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Entity._meta.db_table}
                (project_id, kind, name, metadata, created_at, updated_at)
            SELECT %s, %s, %s || '-' || g, '{{}}'::jsonb, now(), now() - g * interval '1 second'
            FROM generate_series(1, %s) g
            """,
            [project.pk, kind, prefix, count],
        )


def seed_memories(project, names: list[str], *, kind: str = "user", per_entity: int = 2) -> int:
    """`per_entity` memories (with their ADD history rows) for each entity in `names`."""
    memories = []
    for name in names:
        for n in range(per_entity):
            text = f"{name} fact {n}"
            memories.append(
                Memory(
                    project=project,
                    memory=text,
                    hash=hashlib.md5(text.encode()).hexdigest(),
                    embedding=VECTOR,
                    embedding_model="seed",
                    **{f"{kind}_id": name},
                )
            )
    Memory.objects.bulk_create(memories, batch_size=1000)
    MemoryHistory.objects.bulk_create(
        [
            MemoryHistory(
                project=project,
                memory_id=m.id,
                event="ADD",
                new_memory=m.memory,
                **{f"{kind}_id": getattr(m, f"{kind}_id")},
            )
            for m in memories
        ],
        batch_size=1000,
    )
    return len(memories)
