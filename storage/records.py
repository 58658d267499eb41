"""Articles as the outside world sees them: the JSON / CSV record and its filters.

The record's fields are a public interface (DESIGN.md §4): add, never rename.
"""

from __future__ import annotations

import json
import re
from calendar import monthrange
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, exists, func, literal_column, select
from sqlalchemy.orm import Session

from crawler.errors import UsageError
from crawler.timeutil import isoformat_utc
from storage.models import Article, Sighting, Source
from storage.portable_sql import json_array_agg, json_elements, timestamp_prefix

RECORD_FIELDS = (
    "id", "url", "urls", "title", "author", "published", "language", "source", "text",
    "content_hash", "relevance", "countries", "themes", "first_seen", "last_seen",
    "duplicate_of",
)


@dataclass(frozen=True)
class ArticleFilter:
    """The filters shared by search and export."""

    language: str | None = None
    country: str | None = None
    theme: str | None = None
    source: str | None = None
    since: date | None = None
    until: date | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.language:  # "zh" is also zh-Hans and zh-Hant, whatever the case
            wanted, language = self.language.lower(), func.lower(Article.language)
            query = query.where((language == wanted) | language.like(f"{wanted}-%"))
        if self.country:
            query = query.where(_json_contains(Article.countries, self.country.upper()))
        if self.theme:
            query = query.where(_json_contains(Article.themes, self.theme.lower()))
        if self.source:
            query = query.where(
                Article.source_id.in_(select(Source.id).where(Source.name == self.source))
            )
        # Filter on the publication date when known, else on when we first saw it.
        when = func.coalesce(func.substr(Article.published, 1, 10),
                             timestamp_prefix(Article.first_seen_at, 10))
        if self.since:
            query = query.where(when >= self.since.isoformat())
        if self.until:
            query = query.where(when <= self.until.isoformat())
        return query


def _json_contains(column: Any, value: str) -> Any:
    each = json_elements(column).table_valued("value")
    return exists(select(literal_column("1")).select_from(each).where(each.c.value == value))


def urls_subquery() -> Any:
    return (
        select(json_array_agg(Sighting.url))
        .where(Sighting.article_id == Article.id)
        .scalar_subquery()
    )


def record_query(filters: ArticleFilter | None = None) -> Select[Any]:
    query = (
        select(Article, Source.name, urls_subquery())
        .outerjoin(Source, Article.source_id == Source.id)
        .order_by(Article.id)
    )
    return (filters or ArticleFilter()).apply(query)


def to_record(
    article: Article, source: str | None, urls_json: str | list[str] | None
) -> dict[str, Any]:
    # Code-point order, the same from either engine (and SQLite's order before).
    urls = sorted(json.loads(urls_json) if isinstance(urls_json, str) else urls_json or [])
    if article.url not in urls:
        urls.insert(0, article.url)
    return {
        "id": article.id,
        "url": article.url,
        "urls": urls,
        "title": article.title,
        "author": article.author,
        "published": article.published,
        "language": article.language,
        "source": source,
        "text": article.text,
        "content_hash": article.content_hash,
        "relevance": article.relevance,
        "countries": list(article.countries or []),
        "themes": list(article.themes or []),
        "first_seen": isoformat_utc(article.first_seen_at),
        "last_seen": isoformat_utc(article.last_seen_at),
        "duplicate_of": article.duplicate_of,
    }


def iter_records(
    session: Session, filters: ArticleFilter | None = None, *, batch: int = 500
) -> Iterator[dict[str, Any]]:
    """Stream every matching article as a record, in id order, in constant memory."""
    result = session.execute(record_query(filters).execution_options(yield_per=batch))
    for article, source, urls in result:
        yield to_record(article, source, urls)
        session.expunge(article)


DATE_FORMS = "YYYY, YYYY-MM or YYYY-MM-DD"
_PARTIAL_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")


def parse_day(value: str | None, *, last: bool = False, option: str = "") -> date | None:
    """The first day of the year, month or day that ``value`` names (2025, 2025-06,
    2025-06-01), or with ``last`` its last day: ``--until 2025-06`` means through
    30 June. ``option`` names the flag in the error."""
    if value is None:
        return None
    match = _PARTIAL_DATE.fullmatch(value.strip())
    try:
        if match is None:
            raise ValueError(value)
        year, month, day = match.groups()
        if day is not None:
            return date(int(year), int(month), int(day))
        if month is not None:
            first = date(int(year), int(month), 1)
            return first.replace(day=monthrange(first.year, first.month)[1]) if last else first
        return date(int(year), 12, 31) if last else date(int(year), 1, 1)
    except ValueError:
        where = f"{option}: " if option else ""
        raise UsageError(f"{where}not a date (want {DATE_FORMS}): {value!r}") from None
