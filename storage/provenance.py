"""Where an article came from: the chain of pages, feeds and sitemaps that led the
crawl from a seed to the page, plus what processed it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.links.urls import canonical_url
from storage.models import Article, Page, Snapshot

MAX_HOPS = 20


@dataclass(frozen=True)
class Hop:
    kind: str  # seed | page | feed | sitemap | robots | warc | reprocess
    url: str | None


def discovery_path(session: Session, page: Page) -> list[Hop]:
    """Seed first, the page itself last: ``seed → listing/feed/sitemap → page``."""
    hops = [Hop("page", page.url)]
    via, seen = page.discovered_via, {page.url}
    while via and len(hops) < MAX_HOPS:
        kind, _, url = via.partition(":")
        if kind not in ("page", "feed", "sitemap", "robots") or not url:
            hops.append(Hop(kind, None))
            break
        hops.append(Hop(kind, url))
        if kind != "page":
            break  # feeds and sitemaps are not stored as pages: the chain ends there
        parent = session.scalar(select(Page).where(Page.url == canonical_url(url)))
        if parent is None or parent.url in seen:
            break
        seen.add(parent.url)
        via = parent.discovered_via
        hops[-1] = Hop("page", parent.url)
    return hops[::-1]


@dataclass(frozen=True)
class Provenance:
    path: list[Hop]
    headers: dict[str, list[str]]
    fetched_at: str | None
    extractor: str | None
    topic_version: str | None


def article_provenance(session: Session, article: Article) -> Provenance | None:
    page = session.get(Page, article.page_id) if article.page_id else None
    if page is None:
        return None
    snapshot = session.scalar(
        select(Snapshot).where(Snapshot.page_id == page.id)
        .order_by(Snapshot.fetched_at).limit(1)
    )
    return Provenance(
        path=discovery_path(session, page),
        headers=dict(snapshot.headers or {}) if snapshot else {},
        fetched_at=snapshot.fetched_at.isoformat() + "Z" if snapshot else None,
        extractor=article.extractor,
        topic_version=article.topic_version,
    )
