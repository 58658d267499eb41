"""What the archive holds, counted: by source, language, country, theme and month."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from storage.models import Article, CrawlRun, Page, Sighting, Snapshot, Source
from storage.portable_sql import database_bytes, json_elements, timestamp_prefix

Counts = tuple[tuple[str, int], ...]
UNKNOWN = "(unknown)"


@dataclass(frozen=True)
class ArchiveStats:
    totals: dict[str, int]
    by_source: Counts
    by_language: Counts
    by_country: Counts
    by_theme: Counts
    by_month: Counts
    file_bytes: int | None  # main file plus write-ahead log; None when not a file
    database_bytes: int | None = None  # the file's size, or PostgreSQL's pg_database_size

    def as_dict(self) -> dict[str, Any]:
        return {
            "totals": self.totals,
            "file_bytes": self.file_bytes,
            "database_bytes": self.database_bytes,
            **{name: dict(getattr(self, name))
               for name in ("by_source", "by_language", "by_country", "by_theme", "by_month")},
        }


def _ordered(rows: Any, *, by_key: bool) -> Counts:
    """Most first, ties by key; or by key. Sorted here, in code-point order: a
    PostgreSQL database's collation would order the keys differently from SQLite."""
    counts = [(str(key), int(count)) for key, count in rows]
    return tuple(sorted(counts, key=(lambda c: c[0]) if by_key else (lambda c: (-c[1], c[0]))))


def _counts(session: Session, key: Any, *joins: Any, order_by_key: bool = False) -> Counts:
    label = func.coalesce(key, UNKNOWN).label("key")
    query = select(label, func.count()).select_from(Article)
    for join in joins:
        query = join(query)
    return _ordered(session.execute(query.group_by(label)), by_key=order_by_key)


def _json_counts(session: Session, column: Any) -> Counts:
    each = json_elements(column).table_valued("value").alias("each")
    query = (select(each.c.value, func.count()).select_from(Article).join(each, true())
             .group_by(each.c.value))
    return _ordered(session.execute(query), by_key=False)


def held_values(session: Session, field: str) -> tuple[str, ...]:
    """Every value the archive's articles hold in ``field`` (``language``, or the JSON
    arrays ``countries`` and ``themes``), in code-point order."""
    if field == "language":
        query = select(Article.language).where(Article.language.is_not(None)).distinct()
    else:
        each = json_elements(getattr(Article, field)).table_valued("value").alias("each")
        query = select(each.c.value).select_from(Article).join(each, true()).distinct()
    return tuple(sorted(str(value) for value in session.scalars(query)))


def _count(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def archive_stats(session: Session) -> ArchiveStats:
    """Counts across the whole archive (one pass per breakdown; fine for 10^5-10^6 rows)."""
    month = func.coalesce(func.substr(Article.published, 1, 7),
                          timestamp_prefix(Article.first_seen_at, 7))
    totals = {
        "articles": _count(session, Article),
        "near_duplicates": int(session.scalar(
            select(func.count()).where(Article.duplicate_of.is_not(None))) or 0),
        "sightings": _count(session, Sighting),
        "pages": _count(session, Page),
        "snapshots": _count(session, Snapshot),
        "raw_bytes": int(session.scalar(select(func.sum(Snapshot.body_size))) or 0),
        "sources": _count(session, Source),
        "crawl_runs": _count(session, CrawlRun),
    }
    size = database_bytes(session)
    return ArchiveStats(
        totals=totals,
        by_source=_counts(session, Source.name,
                          lambda q: q.outerjoin(Source, Article.source_id == Source.id)),
        by_language=_counts(session, Article.language),
        by_country=_json_counts(session, Article.countries),
        by_theme=_json_counts(session, Article.themes),
        by_month=_counts(session, month, order_by_key=True),
        file_bytes=size if session.get_bind().dialect.name == "sqlite" else None,
        database_bytes=size,
    )
