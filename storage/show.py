"""One article with its provenance: every place it was seen and the raw fetches behind it.

This is what makes an archived text citable: for each sighting, the URL, when
and in which crawl runs it was seen, and the snapshots (stored raw pages) of
that URL's page, with the one the sighting was recorded from flagged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.errors import UsageError
from crawler.timeutil import isoformat_utc
from storage.models import Article, Page, Sighting, Snapshot, Source
from storage.records import to_record, urls_subquery


@dataclass(frozen=True)
class SnapshotInfo:
    id: int
    fetched_at: str | None
    status: int
    size: int
    content_type: str | None
    url: str
    run_id: int | None
    recorded: bool  # the snapshot this sighting was recorded from


@dataclass(frozen=True)
class SightingInfo:
    url: str
    page_url: str
    first_seen: str | None
    last_seen: str | None
    times_seen: int
    first_run_id: int | None
    last_run_id: int | None
    snapshots: tuple[SnapshotInfo, ...]


@dataclass(frozen=True)
class ArticleDetail:
    """The public record plus the metadata export leaves out, and the provenance."""

    record: dict[str, Any]
    metadata: dict[str, Any]
    sightings: tuple[SightingInfo, ...]

    def as_dict(self) -> dict[str, Any]:
        return {**self.record, **self.metadata,
                "sightings": [asdict(sighting) for sighting in self.sightings]}


def _snapshots(session: Session, page_id: int, recorded_id: int | None) -> tuple[SnapshotInfo, ...]:
    rows = session.execute(
        select(Snapshot.id, Snapshot.fetched_at, Snapshot.status, Snapshot.body_size,
               Snapshot.content_type, Snapshot.url, Snapshot.run_id)
        .where(Snapshot.page_id == page_id)
        .order_by(Snapshot.fetched_at, Snapshot.id)
    )
    return tuple(
        SnapshotInfo(id=row.id, fetched_at=isoformat_utc(row.fetched_at), status=row.status,
                     size=row.body_size, content_type=row.content_type, url=row.url,
                     run_id=row.run_id, recorded=row.id == recorded_id)
        for row in rows
    )


def article_detail(session: Session, article_id: int) -> ArticleDetail:
    """Everything the archive knows about one article; ``UsageError`` when there is none."""
    row = session.execute(
        select(Article, Source.name, urls_subquery())
        .outerjoin(Source, Article.source_id == Source.id)
        .where(Article.id == article_id)
    ).one_or_none()
    if row is None:
        raise UsageError(f"no article with id {article_id}")
    article, source, urls = row
    metadata = {
        "description": article.description,
        "site_name": article.site_name,
        "topic_version": article.topic_version,
        "extractor": article.extractor,
        "first_run_id": article.first_run_id,
    }
    sightings = []
    for sighting, page_url in session.execute(
        select(Sighting, Page.url).join(Page, Sighting.page_id == Page.id)
        .where(Sighting.article_id == article_id)
        .order_by(Sighting.first_seen_at, Sighting.id)
    ):
        sightings.append(SightingInfo(
            url=sighting.url, page_url=page_url,
            first_seen=isoformat_utc(sighting.first_seen_at),
            last_seen=isoformat_utc(sighting.last_seen_at), times_seen=sighting.times_seen,
            first_run_id=sighting.first_run_id, last_run_id=sighting.last_run_id,
            snapshots=_snapshots(session, sighting.page_id, sighting.snapshot_id),
        ))
    return ArticleDetail(to_record(article, source, urls), metadata, tuple(sightings))
