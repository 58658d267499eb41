"""Coverage over time, counted in the database: the figures the coverage report draws.

Plain data out (tuples of frozen dataclasses), so that whatever draws them needs
no SQLAlchemy. An article is dated by its publication day when known, else by
the day we first saw it, as the filters of search and export date it
(``storage.records.ArticleFilter``); one code path for SQLite and PostgreSQL,
text ordered in Python (code-point order) as in ``storage.stats``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import case, distinct, func, select, true
from sqlalchemy.orm import Session

from storage.models import Article, Sighting, Source
from storage.portable_sql import json_elements, timestamp_prefix
from storage.records import ArticleFilter

UNKNOWN = "(unknown)"
DEFAULT_TOP_STORIES = 15

# The publication day when the article gives one, else the day it was first seen.
ARTICLE_DAY = case(
    (func.length(Article.published) >= 10, func.substr(Article.published, 1, 10)),
    else_=timestamp_prefix(Article.first_seen_at, 10),
)
ARTICLE_MONTH = func.substr(ARTICLE_DAY, 1, 7)


@dataclass(frozen=True)
class MonthCount:
    month: str  # YYYY-MM
    key: str  # a country code, theme or language
    articles: int


@dataclass(frozen=True)
class SourceActivity:
    name: str
    articles: int
    last_article: str | None  # YYYY-MM-DD; None: no article (matching the filters)


@dataclass(frozen=True)
class RepostedStory:
    """A story and its near-duplicates (one cluster), counted across every URL they were seen at."""

    article_id: int  # the cluster's original
    title: str | None
    url: str
    day: str
    source: str | None
    versions: int  # distinct texts in the cluster
    sightings: int  # URLs the texts were seen at
    sites: int  # distinct hosts (with their port) among those URLs


@dataclass(frozen=True)
class Coverage:
    articles: int
    sightings: int
    near_duplicates: int
    first_day: str | None
    last_day: str | None
    archive_articles: int  # in the whole archive, whatever the filters
    archive_last_day: str | None  # the newest article day not after the last crawl
    by_country: tuple[MonthCount, ...]
    by_theme: tuple[MonthCount, ...]
    by_language: tuple[MonthCount, ...]
    sources: tuple[SourceActivity, ...]
    reposted: tuple[RepostedStory, ...]


def coverage(session: Session, filters: ArticleFilter | None = None, *,
             top_stories: int = DEFAULT_TOP_STORIES) -> Coverage:
    """Everything the report shows, for the articles that match ``filters``."""
    filters = filters or ArticleFilter()
    first, last, articles = session.execute(_filtered(filters,
        select(func.min(ARTICLE_DAY), func.max(ARTICLE_DAY), func.count(Article.id)))).one()
    sightings = session.scalar(_filtered(filters,
        select(func.count(Sighting.id)).select_from(Article)
        .join(Sighting, Sighting.article_id == Article.id)))
    near = session.scalar(_filtered(filters,
        select(func.count(Article.id)).where(Article.duplicate_of.is_not(None))))
    return Coverage(
        articles=int(articles or 0), sightings=int(sightings or 0), near_duplicates=int(near or 0),
        first_day=first, last_day=last,
        archive_articles=int(session.scalar(select(func.count(Article.id))) or 0),
        archive_last_day=archive_last_day(session),
        by_country=_tag_months(session, filters, Article.countries),
        by_theme=_tag_months(session, filters, Article.themes),
        by_language=_months(session, filters, func.coalesce(Article.language, UNKNOWN)),
        sources=source_activity(session, filters),
        reposted=reposted_stories(session, filters, limit=top_stories),
    )


def _filtered(filters: ArticleFilter, query: Any) -> Any:
    return filters.apply(query)


def archive_last_day(session: Session) -> str | None:
    """The newest article day of the archive, ignoring days after the last time anything
    was first seen: a page that claims to be published next year is not news of today."""
    crawled = select(func.max(timestamp_prefix(Article.first_seen_at, 10))).scalar_subquery()
    return session.scalar(select(func.max(ARTICLE_DAY)).where(ARTICLE_DAY <= crawled))


def _ordered_months(rows: Any) -> tuple[MonthCount, ...]:
    counts = [MonthCount(str(month), str(key), int(n)) for month, key, n in rows]
    return tuple(sorted(counts, key=lambda c: (c.month, c.key)))


def _months(session: Session, filters: ArticleFilter, key: Any) -> tuple[MonthCount, ...]:
    month, key = ARTICLE_MONTH.label("month"), key.label("key")
    query = select(month, key, func.count()).select_from(Article).group_by(month, key)
    return _ordered_months(session.execute(_filtered(filters, query)))


def _tag_months(session: Session, filters: ArticleFilter, column: Any
                ) -> tuple[MonthCount, ...]:
    """An article counts once in each of its tags' series (and in none when it has none)."""
    each = json_elements(column).table_valued("value").alias("each")
    month = ARTICLE_MONTH.label("month")
    query = (select(month, each.c.value, func.count()).select_from(Article).join(each, true())
             .group_by(month, each.c.value))
    return _ordered_months(session.execute(_filtered(filters, query)))


def source_activity(session: Session, filters: ArticleFilter) -> tuple[SourceActivity, ...]:
    """Every source with its matching articles and its newest one's day, most articles first;
    a source of the seeds that gave no matching article is listed with none."""
    name = func.coalesce(Source.name, UNKNOWN).label("name")
    query = (select(name, func.count(Article.id), func.max(ARTICLE_DAY)).select_from(Article)
             .outerjoin(Source, Article.source_id == Source.id).group_by(name))
    rows = session.execute(_filtered(filters, query))
    found = {str(n): (int(count), last) for n, count, last in rows}
    for source in session.scalars(select(Source.name)):
        found.setdefault(source, (0, None))
    activity = [SourceActivity(n, count, last) for n, (count, last) in found.items()]
    return tuple(sorted(activity, key=lambda s: (-s.articles, s.name)))


def reposted_stories(session: Session, filters: ArticleFilter, *,
                     limit: int = DEFAULT_TOP_STORIES) -> tuple[RepostedStory, ...]:
    """The stories seen at the most URLs, a story being an article with its near-duplicates
    (``duplicate_of`` points at the cluster's original); only those seen more than once."""
    root = func.coalesce(Article.duplicate_of, Article.id).label("root")
    seen = func.count(Sighting.id)
    query = (select(root, func.count(distinct(Article.id)), seen).select_from(Article)
             .join(Sighting, Sighting.article_id == Article.id)
             .group_by(root).having(seen > 1)
             .order_by(seen.desc(), func.count(distinct(Article.id)).desc(), root)
             .limit(limit))
    top = [(int(r), int(versions), int(n)) for r, versions, n in
           session.execute(_filtered(filters, query))]
    if not top:
        return ()
    ids = [r for r, _, _ in top]
    hosts: dict[int, set[str]] = defaultdict(set)
    member_root = func.coalesce(Article.duplicate_of, Article.id)
    for cluster, url in session.execute(_filtered(filters,
            select(member_root, Sighting.url).select_from(Article)
            .join(Sighting, Sighting.article_id == Article.id).where(member_root.in_(ids)))):
        hosts[int(cluster)].add((urlsplit(url).netloc or url).lower())
    originals = {row.id: row for row in session.execute(
        select(Article.id, Article.title, Article.url, ARTICLE_DAY.label("day"),
               Source.name.label("source"))
        .outerjoin(Source, Article.source_id == Source.id).where(Article.id.in_(ids)))}
    return tuple(
        RepostedStory(article_id=r, title=originals[r].title, url=originals[r].url,
                      day=originals[r].day, source=originals[r].source, versions=versions,
                      sightings=n, sites=len(hosts[r]))
        for r, versions, n in top)
