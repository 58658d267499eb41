"""What the archive holds, counted: by source, language, country, theme and month."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, true
from sqlalchemy.orm import Session

from storage.engine import sqlite_file
from storage.models import Article, CrawlRun, Page, Sighting, Snapshot, Source

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

    def as_dict(self) -> dict[str, Any]:
        return {
            "totals": self.totals,
            "file_bytes": self.file_bytes,
            **{name: dict(getattr(self, name))
               for name in ("by_source", "by_language", "by_country", "by_theme", "by_month")},
        }


def _counts(session: Session, key: Any, *joins: Any, order_by_key: bool = False) -> Counts:
    label = func.coalesce(key, UNKNOWN).label("key")
    total = func.count().label("n")
    query = select(label, total).select_from(Article)
    for join in joins:
        query = join(query)
    query = query.group_by(label).order_by(label if order_by_key else total.desc(), label)
    return tuple((str(key), int(count)) for key, count in session.execute(query))


def _json_counts(session: Session, column: Any) -> Counts:
    each = func.json_each(column).table_valued("value").alias("each")
    total = func.count().label("n")
    query = (select(each.c.value, total).select_from(Article).join(each, true())
             .group_by(each.c.value).order_by(total.desc(), each.c.value))
    return tuple((str(value), int(count)) for value, count in session.execute(query))


def _count(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def database_file_bytes(engine: Engine) -> int | None:
    path = sqlite_file(engine.url) if engine.url.get_backend_name() == "sqlite" else None
    if path is None or not path.exists():
        return None
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def archive_stats(session: Session) -> ArchiveStats:
    """Counts across the whole archive (one pass per breakdown; fine for 10^5-10^6 rows)."""
    month = func.coalesce(func.substr(Article.published, 1, 7),
                          func.strftime("%Y-%m", Article.first_seen_at))
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
    bind = session.get_bind()
    return ArchiveStats(
        totals=totals,
        by_source=_counts(session, Source.name,
                          lambda q: q.outerjoin(Source, Article.source_id == Source.id)),
        by_language=_counts(session, Article.language),
        by_country=_json_counts(session, Article.countries),
        by_theme=_json_counts(session, Article.themes),
        by_month=_counts(session, month, order_by_key=True),
        file_bytes=database_file_bytes(bind) if isinstance(bind, Engine) else None,
    )
