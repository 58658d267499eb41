"""The archive's tables.

A *page* is one canonical URL; every fetch of it that brought new bytes is a
*snapshot* (the raw body, compressed, with its headers). An *article* is one
distinct extracted text (keyed by its content hash); a *sighting* records that
an article was found at a URL, from which snapshot, in which runs. So the same
text reposted on three sites is one article with three sightings, and a page
whose text changed links to two articles (its versions).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]


class CrawlRun(Base):
    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    trigger: Mapped[str] = mapped_column(String(16))  # manual | schedule | demo | import
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # running | ok | failed | interrupted
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    exit_status: Mapped[int | None]
    seeds_file: Mapped[str | None] = mapped_column(Text)
    pid: Mapped[int | None]
    pages_fetched: Mapped[int] = mapped_column(default=0)
    articles_archived: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    off_topic: Mapped[int] = mapped_column(default=0)
    errors: Mapped[int] = mapped_column(default=0)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The run whose frontier this one continues (itself for a fresh crawl). No
    # foreign key: adding one to an existing SQLite table means rebuilding it.
    session_id: Mapped[int | None]
    # Where the run's process runs, and when it last said it is alive: a run on this
    # machine is judged by its pid, one on another machine by its heartbeat (storage/runs.py).
    hostname: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None]


class Page(Base):
    __tablename__ = "pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    first_seen_at: Mapped[datetime]
    last_fetched_at: Mapped[datetime]
    last_status: Mapped[int]
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_digest: Mapped[str | None] = mapped_column(String(64))
    last_snapshot_id: Mapped[int | None] = mapped_column(
        ForeignKey("snapshots.id", use_alter=True)
    )
    discovered_via: Mapped[str | None] = mapped_column(Text)

    source: Mapped[Source | None] = relationship()


class Snapshot(Base):
    __tablename__ = "snapshots"
    __table_args__ = (Index("ix_snapshots_page_fetched", "page_id", "fetched_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
    fetched_at: Mapped[datetime]
    url: Mapped[str] = mapped_column(Text)  # the URL the body came from, after redirects
    requested_url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[int]
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_type: Mapped[str | None] = mapped_column(Text)
    encoding: Mapped[str | None] = mapped_column(String(32))
    body: Mapped[bytes] = mapped_column(LargeBinary)  # zstd: crawler/analysis/snapshot_body.py
    body_sha256: Mapped[str] = mapped_column(String(64))
    body_size: Mapped[int]


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_first_seen", "first_seen_at"),
        Index("ix_articles_published", "published"),
        Index("ix_articles_language", "language"),
        Index("ix_articles_source", "source_id"),
        Index("ix_articles_duplicate_of", "duplicate_of"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text)  # canonical URL where it was first seen
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    published: Mapped[str | None] = mapped_column(String(32))  # ISO 8601 date or datetime
    language: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    site_name: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    page_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id"))
    relevance: Mapped[float]
    countries: Mapped[list[str]] = mapped_column(default=list)
    themes: Mapped[list[str]] = mapped_column(default=list)
    topic_version: Mapped[str | None] = mapped_column(String(32))
    extractor: Mapped[str | None] = mapped_column(String(64))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    first_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    similarity: Mapped[float | None]  # estimated Jaccard with `duplicate_of`
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)  # crawler.analysis.near_duplicates

    source: Mapped[Source | None] = relationship()
    sightings: Mapped[list[Sighting]] = relationship(
        back_populates="article", order_by="Sighting.first_seen_at"
    )


class ArticleBand(Base):
    """LSH buckets of article signatures: near-duplicate candidates by index lookup."""

    __tablename__ = "article_bands"
    __table_args__ = {"sqlite_with_rowid": False}

    band: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )


class Fetch(Base):
    """Every successful fetch of a page, including revisits that stored no snapshot:
    the archive's log of when each page was seen (and the source of WARC revisit records)."""

    __tablename__ = "fetches"
    __table_args__ = (Index("ix_fetches_page", "page_id", "fetched_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"), index=True)
    fetched_at: Mapped[datetime]
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[int]
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id"))
    revisit: Mapped[bool] = mapped_column(default=False)
    outcome: Mapped[str | None] = mapped_column(String(16))


class FrontierEntry(Base):
    """A request a crawl session has scheduled: pending until its result is stored.

    Kept in the database, where it can be checked, so a crawl killed at any
    moment resumes where it stopped instead of starting over from the seeds.
    """

    __tablename__ = "frontier"
    __table_args__ = (
        UniqueConstraint("session_id", "url", name="uq_frontier_session_url"),
        Index("ix_frontier_session_state_host", "session_id", "state", "host"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))  # page | feed | sitemap | robots
    source: Mapped[str] = mapped_column(String(200))
    via: Mapped[str | None] = mapped_column(Text)
    reached_as: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(default=0)
    depth: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(String(8), default="pending")  # pending | done
    # The URL's host (Scrapy's download slot): the unit a crawl worker leases.
    host: Mapped[str] = mapped_column(String(255), default="", server_default="")
    # The run that claimed it under its lease on the host; None: anyone's to claim.
    claimed_by: Mapped[int | None]


class HostLease(Base):
    """One crawl worker at a time fetches from a host of a session, so that the
    per-site delay, concurrency and AutoThrottle hold for the site as a whole.

    ``run_id`` holds the lease until ``expires_at`` (renewed by its heartbeat); a
    released lease has no run and stays closed until the site's delay has passed.
    """

    __tablename__ = "host_leases"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="CASCADE"), primary_key=True)
    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    run_id: Mapped[int | None]
    expires_at: Mapped[datetime]


class Sighting(Base):
    __tablename__ = "sightings"
    __table_args__ = (
        UniqueConstraint("article_id", "url", name="uq_sightings_article_url"),
        Index("ix_sightings_page", "page_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"))
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id"))
    url: Mapped[str] = mapped_column(Text)  # the URL it was reached at, before canonicalisation
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    first_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
    times_seen: Mapped[int] = mapped_column(default=1)

    article: Mapped[Article] = relationship(back_populates="sightings")
    page: Mapped[Page] = relationship()
