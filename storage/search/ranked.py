"""Ranked full-text search over the archive.

BM25 from FTS5, with a match in the title worth ``TITLE_WEIGHT`` matches in
the body; the shared ``ArticleFilter`` narrows the hits in the same SQL
statement. The query is parsed into a safe FTS5 expression
(``storage.search.query``) and bound as a parameter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, column, func, literal_column, select, table
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from crawler.errors import QueryError
from storage.models import Article, Source
from storage.records import ArticleFilter, to_record, urls_subquery
from storage.search.index import FTS_TABLE
from storage.search.query import ParsedQuery, parse_query
from storage.search.snippets import Snippet, make_snippet, match_spans, whole

log = logging.getLogger(__name__)

TITLE_WEIGHT = 3.0
BODY_WEIGHT = 1.0
DEFAULT_LIMIT = 20

articles_fts = table(FTS_TABLE, column("rowid"), column("rank"))
# Given as FTS5's rank function, ORDER BY rank lets FTS5 hand over rows best
# first, so filters are checked only until LIMIT rows pass, not on every match.
RANKING = f"bm25({TITLE_WEIGHT}, {BODY_WEIGHT})"
COLLAPSE_OVERFETCH = 5  # ranked rows read per wanted hit when collapsing clusters


@dataclass(frozen=True)
class SearchHit:
    """One ranked article: its public record, a score (higher is better) and snippets."""

    record: dict[str, Any]
    score: float
    title: Snippet
    snippet: Snippet

    def as_record(self) -> dict[str, Any]:
        """The export record plus ``score`` and ``snippet`` (matches in **bold**)."""
        return {**self.record, "score": self.score, "snippet": self.snippet.marked()}


def _matching(parsed: ParsedQuery) -> Any:
    return literal_column(FTS_TABLE).op("MATCH")(bindparam("fts_query", parsed.fts))


def _matches(parsed: ParsedQuery, filters: ArticleFilter | None, query: Select[Any]
             ) -> Select[Any]:
    query = query.select_from(articles_fts).where(_matching(parsed))
    filters = filters or ArticleFilter()
    if filters != ArticleFilter():
        query = filters.apply(query.join(Article, Article.id == articles_fts.c.rowid))
    return query


def ranked_ids_query(parsed: ParsedQuery, filters: ArticleFilter | None = None) -> Select[Any]:
    """(article id, bm25 rank) of every match, best (lowest) first.

    Only ids and ranks go through the ranking; the articles themselves are
    read afterwards for the few that are shown.
    """
    rank = articles_fts.c.rank
    query = select(articles_fts.c.rowid, rank).where(
        rank.op("MATCH")(bindparam("ranking", RANKING)))
    return _matches(parsed, filters, query).order_by(rank)


def count_matches(session: Session, query: str | ParsedQuery,
                  filters: ArticleFilter | None = None) -> int:
    parsed = parse_query(query) if isinstance(query, str) else query
    return int(_run(session, _matches(parsed, filters, select(func.count()))).scalar_one())


def search_articles(session: Session, query: str | ParsedQuery,
                    filters: ArticleFilter | None = None, *,
                    limit: int = DEFAULT_LIMIT, collapse: bool = False) -> list[SearchHit]:
    """The ``limit`` best matches, each with highlighted title and snippet.

    With ``collapse``, near-duplicates (reposts with small edits) give one hit per
    cluster: the best-ranked member stands for the others.
    """
    parsed = parse_query(query) if isinstance(query, str) else query
    wanted = limit * COLLAPSE_OVERFETCH if collapse else limit
    ranked = _run(session, ranked_ids_query(parsed, filters).limit(wanted)).all()
    if collapse:
        ranked = _one_per_cluster(session, ranked)[:limit]
    if not ranked:
        return []
    rows = {
        article.id: (article, source, urls)
        for article, source, urls in session.execute(
            select(Article, Source.name, urls_subquery())
            .outerjoin(Source, Article.source_id == Source.id)
            .where(Article.id.in_([article_id for article_id, _ in ranked]))
        )
    }
    found = [(rows[article_id], rank) for article_id, rank in ranked if article_id in rows]
    spans = match_spans(parsed.fts, [(a.title or "", a.text) for (a, _, _), _ in found])
    hits = []
    for ((article, source, urls), rank), (title_spans, body_spans) in zip(found, spans,
                                                                         strict=True):
        hits.append(SearchHit(
            record=to_record(article, source, urls),
            score=round(-rank, 6),
            title=whole(article.title or "", title_spans),
            snippet=make_snippet(article.text, body_spans),
        ))
    return hits


def _one_per_cluster(session: Session, ranked: list[Any]) -> list[Any]:
    roots = dict(session.execute(
        select(Article.id, func.coalesce(Article.duplicate_of, Article.id))
        .where(Article.id.in_([article_id for article_id, _ in ranked]))
    ).all())
    seen: set[int] = set()
    kept = []
    for article_id, rank in ranked:
        root = roots.get(article_id, article_id)
        if root not in seen:
            seen.add(root)
            kept.append((article_id, rank))
    return kept


def _run(session: Session, statement: Any) -> Any:
    try:
        return session.execute(statement)
    except OperationalError as exc:
        # Input is quoted, so this is rare (e.g. a query FTS5 finds too complex);
        # SQLite's own wording means nothing to the user.
        log.debug("FTS5 rejected %r: %s", statement, exc)
        if "fts5" in str(exc.orig).lower() or "match" in str(exc.orig).lower():
            raise QueryError("the search engine cannot run this query; "
                             "try fewer or simpler terms") from None
        raise
