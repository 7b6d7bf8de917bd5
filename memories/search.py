"""Semantic + keyword search over one project's memories.

The candidate set is the caller's scope (filters, expiry). Small scopes (the usual case: one
user's memories) are ranked exactly with a sequential cosine sort over the scope's btree
index; large scopes go through the HNSW index with pgvector's iterative scan, because HNSW
applies filters only after the index scan and would otherwise return too few rows. Keyword
matches from the full-text index join the candidates and boost their score.

score = semantic + (1 - semantic) * keyword, with semantic = cosine similarity clamped to
[0, 1] and keyword = ts_rank_cd normalised to [0, 1); so scores stay in [0, 1], and a keyword
match can only raise a memory's rank.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, transaction
from django.db.models import ExpressionWrapper, F, FloatField, Q, Value
from pgvector.django import CosineDistance

from memories import embeddings
from memories.models import TEXT_SEARCH_CONFIG, Memory

MIN_CANDIDATES = 60
MAX_QUERY_WORDS = 32
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class SearchHit:
    memory: Memory
    score: float
    semantic: float
    keyword: float


def search_memories(
    project,
    *,
    query: str,
    q: Q,
    top_k: int,
    threshold: float,
    show_expired: bool = False,
    keyword: bool = True,
) -> list[SearchHit]:
    """The `top_k` memories of the scope most relevant to `query`, scored in [0, 1]."""
    scope = Memory.objects.for_project(project).visible(show_expired=show_expired).matching(q)
    vector = embeddings.embed_one(query)
    pool = max(top_k * 4, MIN_CANDIDATES)
    semantic = nearest(scope, vector, pool)
    if not semantic and not keyword:
        return []
    hits = {m.pk: SearchHit(m, 0.0, _similarity(m.distance), 0.0) for m in semantic}
    if keyword:
        for memory in _keyword_candidates(scope, vector, query, pool):
            hit = hits.setdefault(
                memory.pk, SearchHit(memory, 0.0, _similarity(memory.distance), 0.0)
            )
            hit.keyword = float(memory.rank)
    for hit in hits.values():
        hit.score = min(1.0, hit.semantic + (1.0 - hit.semantic) * hit.keyword)
    ranked = sorted(hits.values(), key=lambda h: (-h.score, -h.memory.created_at.timestamp()))
    return [h for h in ranked if h.score >= threshold][:top_k]


def nearest(scope, vector, limit: int) -> list[Memory]:
    """The `limit` memories of `scope` nearest to `vector` (each with `.distance`), nearest first.

    Exact for scopes up to MEMDASH_EXACT_SEARCH_LIMIT rows, HNSW with iterative scan beyond.
    """
    size, capped = scope.capped_count(settings.MEMDASH_EXACT_SEARCH_LIMIT)
    if size == 0:
        return []
    if capped:
        return _approximate_candidates(scope, vector, limit)
    return _exact_candidates(scope, vector, min(limit, size))


def _similarity(distance: float) -> float:
    return max(0.0, min(1.0, 1.0 - float(distance)))


def _exact_candidates(scope, vector, limit: int) -> list[Memory]:
    # Adding 0 keeps the planner from ordering through the HNSW index (which filters after the
    # scan); the scope's btree finds the rows and a top-N sort ranks them exactly.
    distance = CosineDistance("embedding", vector)
    return list(
        scope.annotate(distance=distance)
        .order_by(ExpressionWrapper(distance + Value(0.0), output_field=FloatField()))
        .defer("embedding", "search_vector")[:limit]
    )


def _approximate_candidates(scope, vector, limit: int) -> list[Memory]:
    with transaction.atomic(), connection.cursor() as cursor:
        # relaxed_order keeps scanning the graph until enough rows pass the filters.
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(max(limit, 40))])
        rows = list(
            scope.annotate(distance=CosineDistance("embedding", vector))
            .order_by("distance")
            .defer("embedding", "search_vector")[:limit]
        )
    return sorted(rows, key=lambda m: m.distance)


def _keyword_candidates(scope, vector, query: str, limit: int) -> list[Memory]:
    words = _WORD.findall(query.lower())[:MAX_QUERY_WORDS]
    if not words:
        return []
    # websearch syntax never raises on odd input; "or" makes any word count as a match.
    ts_query = SearchQuery(" or ".join(words), config=TEXT_SEARCH_CONFIG, search_type="websearch")
    return list(
        scope.filter(search_vector=ts_query)
        .annotate(
            rank=SearchRank(F("search_vector"), ts_query, normalization=32, cover_density=True)
        )
        .annotate(distance=CosineDistance("embedding", vector))
        .order_by("-rank")
        .defer("embedding", "search_vector")[:limit]
    )
