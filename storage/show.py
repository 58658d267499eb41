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

from crawler.analysis.site_names import declared_site_name, site_label
from crawler.errors import UsageError
from crawler.timeutil import isoformat_utc
from storage.models import Article, Page, Sighting, Snapshot, Source
from storage.provenance import article_provenance
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
class RelatedArticle:
    id: int
    title: str | None
    first_seen: str | None
    similarity: float | None = None


@dataclass(frozen=True)
class ArticleDetail:
    """The public record plus the metadata export leaves out, and the provenance."""

    record: dict[str, Any]
    metadata: dict[str, Any]
    sightings: tuple[SightingInfo, ...]
    versions: tuple[RelatedArticle, ...] = ()  # texts of the same page(s), oldest first
    near_duplicates: tuple[RelatedArticle, ...] = ()  # the rest of its cluster
    discovery: tuple[str, ...] = ()  # seed → listing/feed/sitemap → page
    headers: dict[str, Any] | None = None  # response headers of the first snapshot

    def as_dict(self) -> dict[str, Any]:
        return {**self.record, **self.metadata,
                "sightings": [asdict(sighting) for sighting in self.sightings],
                "versions": [asdict(v) for v in self.versions],
                "near_duplicates": [asdict(d) for d in self.near_duplicates],
                "discovery_path": list(self.discovery),
                "response_headers": self.headers or {}}


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
        "site_name": declared_site_name(article.site_name, article.url),
        "site": site_label(source, article.site_name, article.url),
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
    provenance = article_provenance(session, article)
    return ArticleDetail(
        to_record(article, source, urls), metadata, tuple(sightings),
        versions=_versions(session, article),
        near_duplicates=_cluster(session, article),
        discovery=tuple(f"{hop.kind} {hop.url}" if hop.url else hop.kind
                        for hop in provenance.path) if provenance else (),
        headers=provenance.headers if provenance else None,
    )


def _related(rows: Any) -> tuple[RelatedArticle, ...]:
    return tuple(RelatedArticle(row.id, row.title, isoformat_utc(row.first_seen_at),
                                getattr(row, "similarity", None)) for row in rows)


def _versions(session: Session, article: Article) -> tuple[RelatedArticle, ...]:
    """Every text seen on the pages this article was seen on, in the order they appeared."""
    pages = select(Sighting.page_id).where(Sighting.article_id == article.id)
    rows = session.execute(
        select(Article.id, Article.title, Article.first_seen_at).distinct()
        .join(Sighting, Sighting.article_id == Article.id)
        .where(Sighting.page_id.in_(pages))
        .order_by(Article.first_seen_at, Article.id)
    )
    versions = _related(rows)
    return versions if len(versions) > 1 else ()


def _cluster(session: Session, article: Article) -> tuple[RelatedArticle, ...]:
    root = article.duplicate_of or article.id
    rows = session.execute(
        select(Article.id, Article.title, Article.first_seen_at, Article.similarity)
        .where(((Article.id == root) | (Article.duplicate_of == root)) & (Article.id != article.id))
        .order_by(Article.first_seen_at, Article.id)
    )
    return _related(rows)
