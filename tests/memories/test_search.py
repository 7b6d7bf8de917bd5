"""memories.search: exact ranking of small scopes, HNSW ranking of large ones, keyword boosts.

The data is the benchmark's synthetic dataset, tiny: 300 memories across 3 users (~100 each).
"""

from __future__ import annotations

import math
import random
import re

import pytest
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from pgvector.django import CosineDistance

from bench import corpus, seeding
from memories import embeddings, listing, services
from memories.attribution import Message, Scope
from memories.models import TEXT_SEARCH_CONFIG, Memory
from memories.search import KEYWORD_WEIGHT, MIN_CANDIDATES, nearest, search_memories

QUERIES = corpus.questions(12, random.Random(5)) + [
    "allergic to peanuts",
    "trip to Japan in March",
    "what does the user do for work",
    "music",
]


@pytest.fixture
def dataset(db):
    return seeding.prepare(memories=300, users=3, pool=60, seed=1, log=lambda message: None)


def results(hits) -> list[tuple[str, float]]:
    return [(str(h.memory.pk), round(h.score, 5)) for h in hits]


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


def small_scope_ranking_plan(dataset, query: str, *, settings: tuple[str, ...] = (), **options):
    """EXPLAIN of the ranking query a search of one user's scope runs (its last query), with
    `settings` (SET LOCAL statements) in force."""
    from django.db import connection, transaction

    with CaptureQueriesContext(connection) as ctx:
        search_memories(
            dataset.project,
            query=query,
            filters={"user_id": dataset.users[0]},
            top_k=10,
            threshold=0.1,
            **options,
        )
    ranking_sql = ctx.captured_queries[-1]["sql"]
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in settings:
            cursor.execute(f"SET LOCAL {setting}")
        cursor.execute("EXPLAIN " + ranking_sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_small_scope_ranking_does_not_read_the_full_text_index(dataset):
    assert "memory_fts_gin" not in small_scope_ranking_plan(dataset, "user allergies")


@pytest.mark.parametrize("keyword", [True, False])
def test_the_exact_path_never_walks_the_hnsw_index(dataset, keyword):
    """Even where the planner would rather not sort (as stale statistics once made it prefer),
    the exact ranking cannot take its order from the index: that walk stops at ef_search rows
    and the scope's filter may leave none of them (a CI run's search found no memory of a
    scope that had one)."""
    plan = small_scope_ranking_plan(
        dataset,
        "food allergies",
        settings=("enable_sort = off", "enable_seqscan = off"),
        keyword=keyword,
    )
    assert "memory_embedding_hnsw" not in plan


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


def test_large_scopes_keep_the_nearest_rows_of_the_hnsw_walk(dataset, large_scope_threshold):
    # The walk gathers MEMDASH_HNSW_REACH rows, more than this dataset holds: the rows kept must
    # be the exact nearest, in order (relaxed_order returns the walk only roughly sorted).
    scope = listing.matching(dataset.project, {"user_id": "*"})
    for query in ("planning a trip", "what does the user eat", "favourite sport"):
        vector = embeddings.embed_one(query)
        exact = list(
            scope.annotate(d=CosineDistance("embedding", vector) + 0.0)
            .order_by("d")
            .values_list("pk", flat=True)[:10]
        )

        assert [m.pk for m in nearest(scope, vector, 10)] == exact


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


# --- the IDF keyword fusion -------------------------------------------------------------------


def idf_fusion_reference(scope, query: str, top_k: int, threshold: float):
    """The IDF fusion written out from its description: the `pool` nearest rows and the `pool`
    best ts_rank_cd matches are the candidates; a word's IDF is counted over them; a memory's
    keyword score is the IDF share of the query's lexemes it holds."""
    from django.db import connection

    vector = embeddings.embed_one(query)
    pool = max(top_k * 4, MIN_CANDIDATES)
    distance = CosineDistance("embedding", vector)
    words = list(dict.fromkeys(re.findall(r"\w+", query.lower())))
    ts_query = SearchQuery(" or ".join(words), config=TEXT_SEARCH_CONFIG, search_type="websearch")
    candidates = {m.pk: m for m in scope.annotate(distance=distance).order_by("distance")[:pool]}
    by_rank = (
        scope.filter(search_vector=ts_query)
        .annotate(
            rank=SearchRank(F("search_vector"), ts_query, normalization=32, cover_density=True)
        )
        .annotate(distance=distance)
        .order_by("-rank")[:pool]
    )
    for m in by_rank:
        candidates.setdefault(m.pk, m)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tsvector_to_array(to_tsvector(%s, %s))", [TEXT_SEARCH_CONFIG, " ".join(words)]
        )
        query_lexemes = set(cursor.fetchone()[0])
        cursor.execute(
            "SELECT id, tsvector_to_array(search_vector) FROM memories_memory WHERE id = ANY(%s)",
            [list(candidates)],
        )
        held = {pk: set(lexemes) & query_lexemes for pk, lexemes in cursor.fetchall()}
    count = len(candidates)
    frequency = {lexeme: sum(lexeme in h for h in held.values()) for lexeme in query_lexemes}
    idf = {
        lexeme: math.log(1 + (count - n + 0.5) / (n + 0.5)) for lexeme, n in frequency.items() if n
    }
    information = sum(idf.values())
    scored = []
    for pk, m in candidates.items():
        semantic = max(0.0, min(1.0, 1.0 - m.distance))
        keyword = sum(idf[lexeme] for lexeme in held[pk]) / information if information else 0.0
        scored.append((m, semantic + (1.0 - semantic) * KEYWORD_WEIGHT * keyword))
    scored.sort(key=lambda pair: (-pair[1], -pair[0].created_at.timestamp()))
    return [(str(m.pk), round(score, 5)) for m, score in scored if score >= threshold][:top_k]


def test_small_scopes_rank_like_the_idf_fusion_reference(dataset):
    project = dataset.project
    for user in dataset.users:
        scope = Memory.objects.for_project(project).unexpired().filter(user_id=user)
        for query in QUERIES:
            hits = search_memories(
                project, query=query, filters={"user_id": user}, top_k=10, threshold=0.1
            )
            assert results(hits) == idf_fusion_reference(scope, query, 10, 0.1), query


@pytest.fixture
def ada_and_bo(project):
    texts = [
        "Ada: I walked the dog along the canal",
        "Ada: I baked rye bread on Sunday",
        "Ada: I painted the garden fence green",
        "Bo: the kayak I bought is bright red",
    ]
    services.add_memories(
        project,
        messages=[Message("user", text) for text in texts],
        scope=Scope(user_id="chat"),
        actor="test",
    )
    return project


def test_a_rare_query_word_weighs_more_than_a_common_one(ada_and_bo):
    hits = search_memories(
        ada_and_bo, query="Ada kayak", filters={"user_id": "chat"}, top_k=10, threshold=0.0
    )

    keyword = {h.memory.memory: h.keyword for h in hits}
    # "ada" is in 3 of the 4 candidates, "kayak" in one: IDF 0.36 against 1.20.
    common, rare = math.log(1 + 1.5 / 3.5), math.log(1 + 3.5 / 1.5)
    assert keyword.pop("Bo: the kayak I bought is bright red") == pytest.approx(
        rare / (rare + common)
    )
    assert list(keyword.values()) == pytest.approx([common / (rare + common)] * 3)
    assert hits[0].memory.memory.startswith("Bo: the kayak")


def test_keyword_matches_raise_scores_but_never_to_1_nor_below_cosine(ada_and_bo):
    hits = search_memories(
        ada_and_bo,
        query="bright red kayak",
        filters={"user_id": "chat"},
        top_k=10,
        threshold=0.0,
    )

    full = hits[0]
    assert full.memory.memory == "Bo: the kayak I bought is bright red"
    assert full.keyword == pytest.approx(1.0)
    assert full.score == pytest.approx(full.semantic + (1 - full.semantic) * KEYWORD_WEIGHT)
    assert full.score < 1.0
    assert all(h.keyword == 0.0 and h.score == pytest.approx(h.semantic) for h in hits[1:])
    assert all(0.0 <= h.semantic <= h.score <= 1.0 for h in hits)


def test_without_keyword_search_scores_are_the_cosine_similarity(ada_and_bo):
    hits = search_memories(
        ada_and_bo,
        query="bright red kayak",
        filters={"user_id": "chat"},
        top_k=10,
        threshold=0.0,
        keyword=False,
    )

    assert all(h.keyword == 0.0 and h.score == h.semantic for h in hits)
    assert [h.semantic for h in hits] == sorted((h.semantic for h in hits), reverse=True)
