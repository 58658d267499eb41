"""Ranked full-text search over the archive, on SQLite FTS5 or PostgreSQL.

SQLite ranks with FTS5's BM25, a match in the title worth ``TITLE_WEIGHT``
matches in the body. PostgreSQL matches ``document @@ to_tsquery(...)`` on
``article_search`` and ranks with ``ts_rank``, the title (weight A) again worth
``TITLE_WEIGHT`` times the body (weight B); it has no document-length
normalization, so unlike BM25 a long article is not marked down. Either way
the shared ``ArticleFilter`` narrows the hits in the same SQL statement, the
query (``storage.search.query``) is bound as a parameter, and the score is
higher for better hits.

PostgreSQL cannot rank from its index: ``ts_rank`` (and a phrase's or NOT's
check) reads each document, some 6.5 KB of tsvector, and ranking all 8,000
matches of a common word at 100,000 articles took 80-320 ms, over the 100 ms
target (``tests/benchmarks/search_bench.py``). So PostgreSQL ranks a bounded
candidate set: the newest ``PG_RANK_CANDIDATES`` articles that the GIN index
alone says may match (``ParsedQuery.loose``: phrases as AND, NOT dropped, the
filters applied), checked against the exact query and ranked. A news archive
wants the recent among equals; a common word's best hits are, in the main, its
best recent hits. Where fewer than the wanted hits come out (a rare phrase of
common words), every match is ranked, as on SQLite, so a query finds nothing
only when nothing matches. ``count_matches`` always counts every match. The
narrower alternatives measured no better: the tsvectors barely compress (lz4 or
no compression changed the size by 2%), so reading them is the cost.

Reading a document is the whole cost (ranking adds next to nothing), and the
planner does not know it: it prices ``@@`` as a cheap comparison, and would
check it row by row, reading a document per row, wherever that saves a sort or
an index. So every search statement runs without sequential scans (``_run``)
and the candidates come from the GIN index alone (``_ranked_candidates``):
a document is read only to rank it, or to check a phrase or NOT.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from crawler.analysis.site_names import site_label
from crawler.errors import QueryError
from storage.models import Article, Sighting, Source
from storage.records import ArticleFilter, to_record
from storage.search.index import FTS_TABLE, PG_CONFIG, PG_TABLE
from storage.search.query import ParsedQuery, parse_query
from storage.search.snippets import Snippet, make_snippet, match_spans, whole

log = logging.getLogger(__name__)

TITLE_WEIGHT = 3.0
BODY_WEIGHT = 1.0
DEFAULT_LIMIT = 20

articles_fts = table(FTS_TABLE, column("rowid"), column("rank"))
article_search = table(PG_TABLE, column("article_id"), column("document"))
# Given as FTS5's rank function, ORDER BY rank lets FTS5 hand over rows best
# first, so filters are checked only until LIMIT rows pass, not on every match.
RANKING = f"bm25({TITLE_WEIGHT}, {BODY_WEIGHT})"
# ts_rank's weights in the order D, C, B (body), A (title).
PG_WEIGHTS = f"'{{0,0,{BODY_WEIGHT / TITLE_WEIGHT:.2f},1}}'::float4[]"
COLLAPSE_OVERFETCH = 5  # ranked rows read per wanted hit when collapsing clusters
PG_RANK_CANDIDATES = 2000


@dataclass(frozen=True)
class SearchHit:
    """One ranked article: its public record, a score (higher is better) and snippets."""

    record: dict[str, Any]
    score: float
    title: Snippet
    snippet: Snippet
    site: str = ""  # the source's name, else the site's declared name, else its host

    def as_record(self) -> dict[str, Any]:
        """The export record plus ``score`` and ``snippet`` (matches in **bold**)."""
        return {**self.record, "score": self.score, "snippet": self.snippet.marked()}


@dataclass(frozen=True)
class _Index:
    """One engine's index as parts of a SELECT: what to read, the score, the order."""

    source: Any
    article_id: ColumnElement[Any]
    match: tuple[ColumnElement[bool], ...]  # none where ``source`` holds only matches
    score: ColumnElement[Any]  # higher is better
    order: tuple[ColumnElement[Any], ...]  # best first
    extra: tuple[ColumnElement[bool], ...] = ()


def _tsquery(name: str, value: str) -> ColumnElement[Any]:
    return func.to_tsquery(literal_column(f"'{PG_CONFIG}'::regconfig"), bindparam(name, value))


def _pg_rank(document: ColumnElement[Any], query: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.ts_rank(literal_column(PG_WEIGHTS), document, query)


def _pg_matches(name: str, tsquery: str) -> Any:
    """The rows of ``article_search`` that match, found by the GIN index alone.

    A materialized CTE, and no sequential scans (``_run``): the planner prices
    ``@@`` as a cheap comparison, when on a row it reads the document from TOAST.
    Left to itself it walks the primary key backwards checking ``@@`` on each row
    (for "newest first"), walks the filtered articles checking each one, or scans
    the whole table for a common word: 0.3-1.1 s for one word at 100,000 articles,
    against 30 ms this way (``tests/benchmarks/search_bench.py``).
    """
    document = article_search.c.document
    return select(article_search.c.article_id, document).where(
        document.op("@@")(_tsquery(name, tsquery))).cte(f"{name}_matches") \
        .prefix_with("MATERIALIZED")


def _pg_index(name: str, tsquery: str) -> _Index:
    matches = _pg_matches(name, tsquery)
    rank = _pg_rank(matches.c.document, _tsquery(name, tsquery))
    # Equal ranks, newest first: the same order whatever the LIMIT.
    return _Index(matches, matches.c.article_id, (), rank,
                  (rank.desc(), matches.c.article_id.desc()))


def _index(parsed: ParsedQuery, dialect: str) -> _Index:
    if dialect == "postgresql":
        return _pg_index("tsquery", parsed.tsquery)
    rank = articles_fts.c.rank
    match = literal_column(FTS_TABLE).op("MATCH")(bindparam("fts_query", parsed.fts))
    return _Index(articles_fts, articles_fts.c.rowid, (match,), -rank, (rank,),
                  (rank.op("MATCH")(bindparam("ranking", RANKING)),))


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _matches(index: _Index, filters: ArticleFilter | None, query: Select[Any]) -> Select[Any]:
    query = query.select_from(index.source).where(*index.match)
    filters = filters or ArticleFilter()
    if filters != ArticleFilter():
        query = filters.apply(query.join(Article, Article.id == index.article_id))
    return query


def ranked_ids_query(parsed: ParsedQuery, filters: ArticleFilter | None = None,
                     dialect: str = "sqlite", bounded: bool = True) -> Select[Any]:
    """(article id, score) of every match, best (highest score) first; on PostgreSQL,
    when ``bounded``, of the matches among the newest ``PG_RANK_CANDIDATES``.

    Only ids and scores go through the ranking; the articles themselves are
    read afterwards for the few that are shown.
    """
    if dialect == "postgresql" and bounded:
        return _ranked_candidates(parsed, filters)
    index = _index(parsed, dialect)
    query = select(index.article_id, index.score).where(*index.extra)
    return _matches(index, filters, query).order_by(*index.order)


def _ranked_candidates(parsed: ParsedQuery, filters: ArticleFilter | None) -> Select[Any]:
    """The newest ``PG_RANK_CANDIDATES`` loose matches, checked and ranked: a
    document is read only to rank it (and check a phrase or NOT)."""
    loose = _pg_index("loose", parsed.loose)
    newest = _matches(loose, filters, select(loose.article_id, loose.source.c.document))
    chosen = newest.order_by(loose.article_id.desc()).limit(PG_RANK_CANDIDATES) \
        .subquery("candidates")
    query = _tsquery("tsquery", parsed.tsquery)
    rank = _pg_rank(chosen.c.document, query)
    ranked = select(chosen.c.article_id, rank)
    if parsed.loose != parsed.tsquery:  # a phrase or NOT: only the document can tell
        ranked = ranked.where(chosen.c.document.op("@@")(query))
    return ranked.order_by(rank.desc(), chosen.c.article_id.desc())


def count_matches(session: Session, query: str | ParsedQuery,
                  filters: ArticleFilter | None = None) -> int:
    parsed = parse_query(query) if isinstance(query, str) else query
    index = _index(parsed, _dialect(session))
    return int(_run(session, _matches(index, filters, select(func.count()))).scalar_one())


def search_articles(session: Session, query: str | ParsedQuery,
                    filters: ArticleFilter | None = None, *,
                    limit: int = DEFAULT_LIMIT, collapse: bool = False) -> list[SearchHit]:
    """The ``limit`` best matches, each with highlighted title and snippet.

    With ``collapse``, near-duplicates (reposts with small edits) give one hit per
    cluster: the best-ranked member stands for the others.
    """
    parsed = parse_query(query) if isinstance(query, str) else query
    wanted = limit * COLLAPSE_OVERFETCH if collapse else limit
    dialect = _dialect(session)
    ranked = _run(session, ranked_ids_query(parsed, filters, dialect).limit(wanted)).all()
    if len(ranked) < wanted and dialect == "postgresql":
        ranked = _run(session, ranked_ids_query(parsed, filters, dialect, bounded=False)
                      .limit(wanted)).all()
    if collapse:
        ranked = _one_per_cluster(session, ranked)[:limit]
    if not ranked:
        return []
    ids = [article_id for article_id, _ in ranked]
    rows = {
        article.id: (article, source)
        for article, source in session.execute(
            select(Article, Source.name)
            .outerjoin(Source, Article.source_id == Source.id)
            .where(Article.id.in_(ids))
        )
    }
    urls = _urls(session, ids)
    found = [(rows[article_id], score) for article_id, score in ranked if article_id in rows]
    spans = match_spans(parsed.fts, [(a.title or "", a.text) for (a, _), _ in found])
    hits = []
    for ((article, source), score), (title_spans, body_spans) in zip(found, spans,
                                                                     strict=True):
        hits.append(SearchHit(
            record=to_record(article, source, urls[article.id]),
            score=round(float(score), 6),
            title=whole(article.title or "", title_spans),
            snippet=make_snippet(article.text, body_spans),
            site=site_label(source, article.site_name, article.url),
        ))
    return hits


def _urls(session: Session, ids: list[int]) -> dict[int, list[str]]:
    """Every URL each article was seen at, in the order they were found."""
    urls: dict[int, list[str]] = defaultdict(list)
    for article_id, url in session.execute(
        select(Sighting.article_id, Sighting.url)
        .where(Sighting.article_id.in_(ids)).order_by(Sighting.id)
    ):
        urls[article_id].append(url)
    return urls


def _one_per_cluster(session: Session, ranked: list[Any]) -> list[Any]:
    roots = dict(session.execute(
        select(Article.id, func.coalesce(Article.duplicate_of, Article.id))
        .where(Article.id.in_([article_id for article_id, _ in ranked]))
    ).all())
    seen: set[int] = set()
    kept = []
    for article_id, score in ranked:
        root = roots.get(article_id, article_id)
        if root not in seen:
            seen.add(root)
            kept.append((article_id, score))
    return kept


# SQLSTATE classes of a query PostgreSQL cannot run as written: syntax (42601) and
# its limits (54xxx, e.g. a tsquery too large).
_PG_QUERY_STATES = ("42601", "54")


# See _pg_matches: a word in most articles made a sequential scan that read every
# document (0.6 s at 100,000 articles, against 10 ms through the GIN index).
_PG_NO_SEQSCAN = text("SET LOCAL enable_seqscan = off")
_PG_SEQSCAN_DEFAULT = text("SET LOCAL enable_seqscan TO DEFAULT")


def _run(session: Session, statement: Any) -> Any:
    postgres = _dialect(session) == "postgresql"
    try:
        if postgres:
            session.execute(_PG_NO_SEQSCAN)
        result = session.execute(statement)
        if postgres:
            session.execute(_PG_SEQSCAN_DEFAULT)
        return result
    except DBAPIError as exc:
        # Input is quoted, so this is rare (e.g. a query the engine finds too complex);
        # the engine's own wording means nothing to the user.
        log.debug("search engine rejected %r: %s", statement, exc)
        state = getattr(exc.orig, "sqlstate", None)
        message = str(exc.orig).lower()
        if (state.startswith(_PG_QUERY_STATES) if state
                else "fts5" in message or "match" in message):
            raise QueryError("the search engine cannot run this query; "
                             "try fewer or simpler terms") from None
        raise
