"""Fixtures of the memories tests."""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.fixture
def without_vector_index():
    """Seed without the HNSW index (inserting 100k vectors into it takes minutes and is not
    what the bulk tests are about); it is put back at the end, once the table is emptied."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'memory_embedding_hnsw'")
        (definition,) = cursor.fetchone()
        cursor.execute("DROP INDEX memory_embedding_hnsw")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM memories_memory")
            cursor.execute(definition)
