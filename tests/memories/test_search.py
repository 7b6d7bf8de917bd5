"""memories.search: exact ranking of small scopes, HNSW ranking of large ones, keyword boosts.

The data is the benchmark's synthetic dataset, tiny: 300 memories across 3 users (~100 each).
"""

from __future__ import annotations

import random
import re

import pytest
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from pgvector.django import CosineDistance

from bench import corpus, seeding
from memories import embeddings
from memories.models import TEXT_SEARCH_CONFIG, Memory
from memories.search import MIN_CANDIDATES, search_memories

QUERIES = corpus.questions(12, random.Random(5)) + [
    "allergic to peanuts",
    "trip to Japan in March",
    "what does the user do for work",
    "music",
]


@pytest.fixture
def dataset(db):
    return seeding.prepare(memories=300, users=3, pool=60, seed=1, log=lambda message: None)


def reference_search(scope, query: str, top_k: int, threshold: float) -> list[tuple[str, float]]:
    """The ranking as first written: top candidates by distance, plus top candidates by keyword
    rank among rows matching any query word, scored and sorted in Python."""
    vector = embeddings.embed_one(query)
    pool = max(top_k * 4, MIN_CANDIDATES)
    distance = CosineDistance("embedding", vector)
    semantic = list(scope.annotate(distance=distance).order_by("distance")[:pool])
    hits = {m.pk: [m, max(0.0, min(1.0, 1.0 - m.distance)), 0.0] for m in semantic}
    words = re.findall(r"\w+", query.lower())
    ts_query = SearchQuery(" or ".join(words), config=TEXT_SEARCH_CONFIG, search_type="websearch")
    keyword = (
        scope.filter(search_vector=ts_query)
        .annotate(
            rank=SearchRank(F("search_vector"), ts_query, normalization=32, cover_density=True)
        )
        .annotate(distance=distance)
        .order_by("-rank")[:pool]
    )
    for m in keyword:
        hit = hits.setdefault(m.pk, [m, max(0.0, min(1.0, 1.0 - m.distance)), 0.0])
        hit[2] = float(m.rank)
    scored = [(m, min(1.0, semantic + (1.0 - semantic) * kw)) for m, semantic, kw in hits.values()]
    scored.sort(key=lambda pair: (-pair[1], -pair[0].created_at.timestamp()))
    return [(str(m.pk), round(score, 5)) for m, score in scored if score >= threshold][:top_k]


def results(hits) -> list[tuple[str, float]]:
    return [(str(h.memory.pk), round(h.score, 5)) for h in hits]


def test_small_scopes_rank_exactly_like_the_reference(dataset):
    project = dataset.project
    for user in dataset.users:
        scope = Memory.objects.for_project(project).unexpired().filter(user_id=user)
        for query in QUERIES:
            hits = search_memories(
                project, query=query, filters={"user_id": user}, top_k=10, threshold=0.1
            )
            assert results(hits) == reference_search(scope, query, 10, 0.1), query


def test_scores_are_in_unit_range_sorted_and_capped_at_top_k(dataset):
    hits = search_memories(
        dataset.project,
        query="Is the user allergic to anything?",
        filters={"user_id": dataset.users[0]},
        top_k=5,
        threshold=0.0,
    )

    assert len(hits) == 5
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_small_scope_search_runs_two_queries_count_and_ranking(dataset, django_assert_num_queries):
    embeddings.embed_one("warm up")
    with django_assert_num_queries(2):
        search_memories(
            dataset.project,
            query="food allergies",
            filters={"user_id": dataset.users[0]},
            top_k=10,
            threshold=0.1,
        )


def test_small_scope_ranking_does_not_read_the_full_text_index(dataset):
    from django.db import connection

    with CaptureQueriesContext(connection) as ctx:
        search_memories(
            dataset.project,
            query="user allergies",
            filters={"user_id": dataset.users[0]},
            top_k=10,
            threshold=0.1,
        )
    ranking_sql = ctx.captured_queries[-1]["sql"]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + ranking_sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "memory_fts_gin" not in plan


@pytest.fixture
def large_scope_threshold(settings):
    """Make every scope of more than 20 rows 'large', so the HNSW path runs on tiny data."""
    settings.MEMDASH_EXACT_SEARCH_LIMIT = 20


def test_large_scopes_rank_through_hnsw_with_keyword_boosts(dataset, large_scope_threshold):
    hits = search_memories(
        dataset.project,
        query="planning a trip",
        filters={"user_id": "*"},
        top_k=10,
        threshold=0.0,
    )

    assert len(hits) == 10
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    assert any(h.keyword > 0 for h in hits)


def test_large_scopes_find_a_rare_word_the_embedding_misses(dataset, large_scope_threshold):
    user = dataset.users[0]
    rare = Memory.objects.filter(project=dataset.project, user_id=user).first()
    Memory.objects.filter(pk=rare.pk).update(memory="Ticket QX-77341 was escalated to billing")

    hits = search_memories(
        dataset.project,
        query="ticket QX-77341 escalated to billing",
        filters={"user_id": "*"},
        top_k=10,
        threshold=0.0,
    )

    assert rare.pk in [h.memory.pk for h in hits]
