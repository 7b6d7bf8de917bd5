"""Semantic + keyword search over one project's memories.

The candidate set is the caller's scope (filters, expiry), counted up to
MEMDASH_EXACT_SEARCH_LIMIT rows to pick one of two rankings:

- Small scopes (the usual case: one user's memories) are ranked exactly, in one query: the
  scope's btree finds its rows, each gets its cosine distance and, when it matches any query
  word, its keyword rank, and the best `pool` rows of either ranking become candidates. The
  full-text index is deliberately not used there: intersecting a common word's posting list
  (a tenth of the table for "user") with a scope of a hundred rows costs more than ranking the
  hundred rows.
- Large scopes go through the HNSW index with pgvector's iterative scan, because HNSW applies
  filters only after the index scan and would otherwise return too few rows; those semantic
  candidates get their keyword rank in the same query. Rows of a large scope that match every
  query word (from at most KEYWORD_SCAN_LIMIT of them) join as keyword candidates: ranking
  every row that matches any word is unbounded (0.6 s for "user" over 1M memories), while
  matching all words stays selective and still finds rare tokens the embedding misses.

The candidates are then scored together:
score = semantic + (1 - semantic) * KEYWORD_WEIGHT * keyword, with semantic = cosine similarity
clamped to [0, 1] and keyword = the share of the query's information a memory contains: the
IDFs of the query words (as lexemes) it contains over the IDFs of every query word some
candidate contains. The IDFs are counted over the candidates, which the query returns anyway,
so a rare word ("LGBTQ", "QX-77341") weighs much more than a common one (a name every memory
starts with, "user"), at no extra query or round trip. Scores stay in [0, 1] and never fall
below the cosine similarity, so `threshold` still hides only memories that neither meaning
nor words tie to the query; a memory with all the query's words closes KEYWORD_WEIGHT of its
gap to 1. (Until 2026-12 the keyword part was ts_rank_cd, which weighs every word alike: on
LoCoMo, `manage.py benchmark_retrieval`, evidence recall@10 went from 0.69 to 0.74.)
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection, transaction
from django.db.models import (
    Case,
    ExpressionWrapper,
    F,
    FloatField,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import CombinedExpression, RawSQL
from pgvector import Vector as PgVector
from pgvector.django import CosineDistance

from core.keyset import capped_count
from memories import embeddings, listing
from memories.models import TEXT_SEARCH_CONFIG, Memory
from memories.querysets import MemoryQuerySet
from tenancy.models import Project

MIN_CANDIDATES = 60
MAX_QUERY_WORDS = 32
# How much of the gap between a memory's cosine similarity and 1 a memory containing every
# query word closes (below 1, so such memories still rank by similarity among themselves).
KEYWORD_WEIGHT = 0.8
# Large scopes: rows matching every query word that are considered as keyword candidates.
KEYWORD_SCAN_LIMIT = 1000
# Bounds of hnsw.max_scan_tuples for large scopes (see _approximate_candidates).
MIN_SCAN_TUPLES = 2_000
# pgvector's upper bound for hnsw.ef_search: a larger reach continues by iterative scan.
HNSW_MAX_EF_SEARCH = 1_000
MAX_SCAN_TUPLES = 200_000
_WORD = re.compile(r"\w+", re.UNICODE)
# A lexeme in tsvector's text form: 'word':1,3 (a quote inside is doubled).
_LEXEME = re.compile(r"'((?:[^']|'')*)'")


Vector = list[float]

# The exact ranking of a small scope (_exact_candidates): each row of the scope gets its cosine
# distance and, when it matches any query word, its ts_rank_cd (normalised to [0, 1), as
# _rank does); the `limit` best rows of either ranking are returned without the embedding, with
# the query words parsed like the memories (query_vector). Equal ranks are common (one word,
# once, in a short text): the id settles them, so a search returns the same rows every time.
# "distance + 0" keeps the HNSW index from supplying the order (see _sorted_distance); words
# are matched row by row, not through the full-text index (see the module docstring).
_EXACT_RANKING = """
SELECT {columns}, distance, query_vector FROM (
    SELECT scored.*,
        row_number() OVER (ORDER BY distance + 0, id) AS semantic_place,
        row_number() OVER (ORDER BY rank DESC NULLS LAST, id) AS keyword_place
    FROM (
        SELECT s.*,
            s.embedding <=> q.vector AS distance,
            CASE WHEN s.search_vector @@ q.matched
                THEN ts_rank_cd(s.search_vector, q.matched, 32) END AS rank,
            q.words AS query_vector
        FROM (
            SELECT %s::vector AS vector,
                websearch_to_tsquery(%s::regconfig, %s) AS matched,
                to_tsvector(%s::regconfig, %s)::text AS words
        ) q CROSS JOIN ({scope}) s
    ) scored
) ranked
WHERE semantic_place <= %s OR (keyword_place <= %s AND rank IS NOT NULL)
"""
# The columns it returns: every one but the vectors (the search_vector when words are compared).
_COLUMNS = ", ".join(
    connection.ops.quote_name(str(field.column))
    for field in Memory._meta.concrete_fields
    if field.name not in ("embedding", "search_vector")
)
_COLUMNS_WITH_WORDS = f"{_COLUMNS}, {connection.ops.quote_name('search_vector')}"


class _Ranked(Protocol):
    """What the ranking queries annotate on each row they return."""

    distance: float
    rank: float | None
    search_vector: str
    query_vector: str


@dataclass
class Candidate:
    """A row a ranking considers: its cosine distance to the query and the query's lexemes
    (stemmed words, as the full-text index has them) it contains."""

    memory: Memory
    distance: float
    lexemes: frozenset[str] = field(default_factory=frozenset)


@dataclass
class SearchHit:
    memory: Memory
    score: float
    semantic: float
    keyword: float


def search_memories(
    project: Project,
    *,
    query: str,
    filters: dict[str, Any],
    top_k: int,
    threshold: float,
    show_expired: bool = False,
    keyword: bool = True,
) -> list[SearchHit]:
    """The `top_k` memories that `filters` matches (expired ones only with `show_expired`)
    most relevant to `query`, scored in [0, 1]."""
    scope = listing.matching(project, listing.visible(filters, show_expired=show_expired))
    vector = embeddings.embed_one(query)
    pool = max(top_k * 4, MIN_CANDIDATES)
    size, capped = capped_count(scope, settings.MEMDASH_EXACT_SEARCH_LIMIT)
    if size == 0:
        return []
    words = _query_words(query) if keyword else []
    if capped:
        candidates = _approximate_candidates(scope, vector, query, words, pool)
    else:
        candidates = _exact_candidates(scope, vector, words, pool)
    keywords = _keyword_scores(candidates)
    hits = []
    for candidate, keyword_score in zip(candidates, keywords, strict=True):
        semantic = _similarity(candidate.distance)
        score = min(1.0, semantic + (1.0 - semantic) * KEYWORD_WEIGHT * keyword_score)
        hits.append(SearchHit(candidate.memory, score, semantic, keyword_score))
    ranked = sorted(hits, key=lambda h: (-h.score, -h.memory.created_at.timestamp()))
    return [h for h in ranked if h.score >= threshold][:top_k]


def nearest(scope: MemoryQuerySet, vector: Vector, limit: int) -> list[Memory]:
    """The `limit` memories of `scope` nearest to `vector`, nearest first, by the same
    exact-or-HNSW choice as search (the pipeline's similar memories)."""
    size, capped = capped_count(scope, settings.MEMDASH_EXACT_SEARCH_LIMIT)
    if size == 0:
        return []
    if capped:
        rows = _approximate_candidates(scope, vector, "", [], limit)
    else:
        rows = _exact_candidates(scope, vector, [], limit)
    return [c.memory for c in sorted(rows, key=lambda c: c.distance)]


def _similarity(distance: float) -> float:
    return max(0.0, min(1.0, 1.0 - float(distance)))


def _query_words(query: str) -> list[str]:
    """The query's distinct words, lower-cased, in order (stop words are dropped by PostgreSQL:
    they match nothing)."""
    return list(dict.fromkeys(_WORD.findall(query.lower())))[:MAX_QUERY_WORDS]


def _keyword_scores(candidates: list[Candidate]) -> list[float]:
    """Each candidate's keyword score in [0, 1]: the share of the query's information it
    contains, that is the IDFs (BM25's) of the query lexemes it contains over the IDFs of all
    query lexemes any candidate contains (term frequency and length are left out, as memories
    are short). Document frequencies are counted among the candidates: a word most of them
    contain (a speaker's name, "user") adds little, a rare one much."""
    total = len(candidates)
    frequency = Counter(lexeme for c in candidates for lexeme in c.lexemes)
    idf = {lexeme: math.log(1 + (total - n + 0.5) / (n + 0.5)) for lexeme, n in frequency.items()}
    information = sum(idf.values())
    if information <= 0:
        return [0.0] * total
    return [min(1.0, sum(idf[lexeme] for lexeme in c.lexemes) / information) for c in candidates]


def _query_vector(words: list[str]) -> SearchVector:
    """The query's words parsed like the memories (a constant: PostgreSQL computes it once)."""
    return SearchVector(Value(" ".join(words)), config=TEXT_SEARCH_CONFIG)


def _lexemes(vector_text: str | None) -> set[str]:
    return {lexeme.replace("''", "'") for lexeme in _LEXEME.findall(vector_text or "")}


def _fetched(rows: MemoryQuerySet, with_words: bool) -> MemoryQuerySet:
    # The search_vector (a few hundred bytes) only when lexemes are compared.
    return rows.defer("embedding") if with_words else rows.without_vectors()


def _candidate(memory: Memory, with_words: bool) -> Candidate:
    """A fetched row as a candidate; with `with_words` it was fetched with its search_vector
    and the query's (_query_vector), and keeps the lexemes they share."""
    ranked = cast(_Ranked, memory)
    shared: frozenset[str] = frozenset()
    if with_words:
        shared = frozenset(_lexemes(ranked.search_vector) & _lexemes(ranked.query_vector))
    return Candidate(memory, float(ranked.distance), shared)


def _any_word(words: list[str]) -> SearchQuery:
    return SearchQuery(_any_word_text(words), config=TEXT_SEARCH_CONFIG, search_type="websearch")


def _any_word_text(words: list[str]) -> str:
    # websearch syntax never raises on odd input; "or" makes any word count as a match.
    return " or ".join(words)


def _every_word(query: str) -> SearchQuery:
    # The query's own text, parsed like the documents ("QX-77341" -> 'qx' & '-77341').
    return SearchQuery(query, config=TEXT_SEARCH_CONFIG, search_type="plain")


def _rank(ts_query: SearchQuery) -> Case:
    """ts_rank_cd of the rows matching `ts_query` (normalised to [0, 1)), NULL for the others."""
    rank = SearchRank(F("search_vector"), ts_query, normalization=32, cover_density=True)
    return Case(When(search_vector=ts_query, then=rank), output_field=FloatField())


def _sorted_distance() -> ExpressionWrapper[CombinedExpression]:
    """The `distance` annotation as a sort key the HNSW index cannot serve ("+ 0").

    The planner may otherwise feed an ORDER BY distance from the index (it did, on a test
    database whose statistics were left by bulk tests): without an iterative scan that walk
    returns at most ef_search rows, and once the scope's filter has dropped the other scopes'
    rows (or dead ones) a scope with memories could come back with none. Rows fetched by the
    scope's own btree and sorted are exact."""
    return ExpressionWrapper(F("distance") + Value(0.0), output_field=FloatField())


def _exact_candidates(
    scope: MemoryQuerySet, vector: Vector, words: list[str], limit: int
) -> list[Candidate]:
    """The `limit` nearest rows plus the `limit` best keyword matches (by ts_rank_cd), ranked
    over the whole scope in one query, with the query words each contains.

    The ORM compiles the scope; the ranking around it is written out (_EXACT_RANKING). Built
    from annotations, windows and a filter on them, which Django compiles as a QUALIFY
    subquery (the query compiled twice), the same query took 2.3 ms of Python per search, the
    largest single share of the workers' CPU under 50 concurrent clients (py-spy during
    `manage.py benchmark_load`); the scope alone compiles in 0.3 ms."""
    scope_sql, scope_params = scope.order_by().query.sql_with_params()
    with_words = bool(words)
    sql = _EXACT_RANKING.format(
        columns=_COLUMNS_WITH_WORDS if with_words else _COLUMNS, scope=scope_sql
    )
    # Without words the text query is NULL: it matches nothing, so only the nearest rows return.
    params = [
        PgVector(vector).to_text(),
        TEXT_SEARCH_CONFIG,
        _any_word_text(words) if with_words else None,
        TEXT_SEARCH_CONFIG,
        " ".join(words) if with_words else None,
        *scope_params,
        limit,
        limit,
    ]
    return [_candidate(memory, with_words) for memory in Memory.objects.raw(sql, params)]


def _approximate_candidates(
    scope: MemoryQuerySet, vector: Vector, query: str, words: list[str], limit: int
) -> list[Candidate]:
    """HNSW's `limit` nearest rows plus the best rows matching every word, with the query
    words each contains; the exact scan's rows when the index scan comes back short."""
    distance = CosineDistance("embedding", vector)
    any_word = _any_word(words) if words else None
    # HNSW's walk misses some of the nearest rows (dense clusters of near-identical memories
    # are the worst: at ef_search 60 the top 10 of a large scope held 72-81% of the exact top
    # 10), so the walk gathers `reach` rows (MEMDASH_HNSW_REACH) and the `limit` nearest of
    # them are kept (`manage.py benchmark` measures this recall at every scope).
    reach = max(limit, settings.MEMDASH_HNSW_REACH)
    walked, params = (
        scope.annotate(distance=distance).order_by("distance").values("pk", "distance")[:reach]
    ).query.sql_with_params()
    # Only the `limit` nearest of the walk are fetched whole (a heap fetch each). relaxed_order
    # returns the walk only roughly ordered while the planner takes it for sorted: "+ 0" makes
    # it sort.
    kept = RawSQL(
        f"SELECT w.pk FROM ({walked}) w ORDER BY w.distance + 0 LIMIT %s", (*params, limit)
    )
    nearest = Memory.objects.filter(pk__in=kept).annotate(distance=distance)
    if words:
        nearest = nearest.annotate(query_vector=_query_vector(words))
    with transaction.atomic(), connection.cursor() as cursor:
        # relaxed_order keeps scanning the graph until enough rows pass the filters, visiting
        # at most max_scan_tuples rows (each costs a heap fetch to test the filters). A scope
        # this large holds at least MEMDASH_EXACT_SEARCH_LIMIT of the table's rows, so twice
        # `reach` matches' worth of an evenly spread such scope is enough; pgvector's fixed
        # default (20,000) spent up to 3 s at 1M rows on queries whose neighbourhood the
        # filters mostly exclude, for the same rows.
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        cursor.execute(
            "SELECT set_config('hnsw.ef_search', %s, true),"
            " set_config('hnsw.max_scan_tuples', greatest(%s, least(%s,"
            " 2 * %s * reltuples / %s))::bigint::text, true)"
            " FROM pg_class WHERE oid = %s::regclass",
            [
                str(min(reach, HNSW_MAX_EF_SEARCH)),
                MIN_SCAN_TUPLES,
                MAX_SCAN_TUPLES,
                reach,
                settings.MEMDASH_EXACT_SEARCH_LIMIT,
                Memory._meta.db_table,
            ],
        )
        ordered = _fetched(nearest.order_by(_sorted_distance()), bool(words))
        found = {m.pk: m for m in ordered[:limit]}
    # The scope holds more than MEMDASH_EXACT_SEARCH_LIMIT rows, so fewer nearest rows than
    # that (or than `limit`) means the scan reached max_scan_tuples before enough rows passed
    # the filters: the graph around the query is full of other scopes' rows, or of dead ones
    # not yet vacuumed. A short answer would hide memories that exist; the exact scan cannot.
    if len(found) < min(limit, settings.MEMDASH_EXACT_SEARCH_LIMIT + 1):
        return _exact_candidates(scope, vector, words, limit)
    if any_word is not None:
        matching = (
            scope.filter(search_vector=_every_word(query))
            .order_by()
            .values("pk")[:KEYWORD_SCAN_LIMIT]
        )
        best = (
            Memory.objects.filter(pk__in=Subquery(matching))
            .annotate(distance=distance, rank=_rank(any_word), query_vector=_query_vector(words))
            .order_by(F("rank").desc(nulls_last=True))
            .defer("embedding")[:limit]
        )
        for memory in best:
            found.setdefault(memory.pk, memory)
    return [_candidate(memory, bool(words)) for memory in found.values()]
