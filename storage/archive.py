"""The archive's write API: record a fetch, its snapshot and the article it held.

Functions take a ``Session`` and never commit: the caller owns the
transaction, so a batch of pages lands whole or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import DatabaseError, DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from crawler.analysis.fingerprint import body_digest
from crawler.analysis.near_duplicates import BANDS, SIMILARITY_THRESHOLD, band_keys, similarity
from crawler.analysis.page_analysis import ArticleRecord
from crawler.analysis.snapshot_body import PackedBody, pack_body
from crawler.links.urls import canonical_url
from crawler.timeutil import utcnow
from crawler.vocabulary import ArticleState, PageOutcome, PageState
from storage.models import (
    Article,
    ArticleBand,
    Fetch,
    Page,
    Sighting,
    Snapshot,
    Source,
)
from storage.runs import finish_run, run_counts, start_run  # noqa: F401  (re-exported)
from storage.search.index import index_article
from storage.upsert import InsertFactory, PerDialect

REVISIT = PageOutcome.REVISIT  # the bytes equal the last snapshot (or a 304)
STORE_ERROR = PageOutcome.STORE_ERROR  # could not be stored (see record_store_error)
WRITE_CONFLICTS = frozenset({"40001", "40P01"})  # SQLSTATEs: serialization failure, deadlock
# PostgreSQL's failures of the whole database that psycopg raises as no OperationalError
# (SQLite's are all OperationalError): read-only, a table gone, corruption.
DATABASE_FAILURES = frozenset({"25006", "42P01", "XX000", "XX001", "XX002"})

# One equality pair per band, ORed: SQLite searches the primary key for each (a row-value
# IN over the pairs made it scan the whole table, for every new article). Built once: the
# statement is the same for every article but its parameters.
_NEAR_DUPLICATE_CANDIDATES = (
    select(ArticleBand.article_id, func.count())
    .where(or_(*(and_(ArticleBand.band == bindparam(f"b{i}"),
                      ArticleBand.bucket == bindparam(f"k{i}")) for i in range(BANDS))))
    .where(ArticleBand.article_id != bindparam("article_id"))
    .group_by(ArticleBand.article_id)
    .order_by(func.count().desc(), ArticleBand.article_id)
    .limit(20)
)


# A page's first fetch, without an article (most pages of a crawl), in four statements
# built once: through the ORM's unit of work it cost the writer thread about 2.5 ms a
# page, which the crawl's reactor waited for on the GIL.
_PAGES, _SNAPSHOTS, _FETCHES = Page.__table__, Snapshot.__table__, Fetch.__table__
_SOURCES, _ARTICLES, _SIGHTINGS = Source.__table__, Article.__table__, Sighting.__table__
_INSERT_SNAPSHOT = insert(_SNAPSHOTS).returning(_SNAPSHOTS.c.id)
_SET_LAST_SNAPSHOT = (update(_PAGES).where(_PAGES.c.id == bindparam("page_id"))
                      .values(last_digest=bindparam("digest"),
                              last_snapshot_id=bindparam("snapshot_id")))
_INSERT_FETCH = insert(_FETCHES)
# Seen again: only ever later, whichever of two writers commits last.
_SEEN_AGAIN = (update(_ARTICLES)
               .where(_ARTICLES.c.id == bindparam("article_id"),
                      _ARTICLES.c.last_seen_at < bindparam("seen"))
               .values(last_seen_at=bindparam("seen")))
_PAGE_BY_URL = select(Page).where(Page.url == bindparam("url")).with_for_update()


@dataclass(frozen=True)
class _Upserts:
    """The rows two writers may store at the same moment, as INSERT ... ON CONFLICT: the
    second waits for the first and then finds the row stored, where a select-then-insert
    failed on the unique index (PostgreSQL lets both in; SQLite has one writer at a time).
    A statement that returns nothing met a row another writer stored."""

    new_page: Any  # the new page's id
    page_row: Any  # the new Page (ORM)
    new_article: Any  # the new Article (ORM)
    new_source: Any  # the new source's id
    new_sources: Any  # many sources, returning nothing
    sighting: Any  # a new sighting, or one more time an old one was seen
    bands: Any


def _build_upserts(insert_: InsertFactory) -> _Upserts:
    sighting = insert_(_SIGHTINGS)
    return _Upserts(
        new_page=insert_(_PAGES).on_conflict_do_nothing(index_elements=["url"])
        .returning(_PAGES.c.id),
        page_row=insert_(Page).on_conflict_do_nothing(index_elements=["url"]).returning(Page),
        new_article=insert_(Article).on_conflict_do_nothing(index_elements=["content_hash"])
        .returning(Article),
        new_source=insert_(_SOURCES).on_conflict_do_nothing(index_elements=["name"])
        .returning(_SOURCES.c.id),
        new_sources=insert_(_SOURCES).on_conflict_do_nothing(index_elements=["name"]),
        sighting=sighting.on_conflict_do_update(
            index_elements=["article_id", "url"],
            set_={"times_seen": _SIGHTINGS.c.times_seen + 1,
                  "last_seen_at": sighting.excluded.last_seen_at,
                  "last_run_id": sighting.excluded.last_run_id}),
        bands=insert_(ArticleBand.__table__).on_conflict_do_nothing(),
    )


_UPSERTS = PerDialect(_build_upserts)


@dataclass(frozen=True)
class FetchRecord:
    """One HTTP response as the crawler saw it."""

    page_url: str  # canonical URL: the page's identity
    url: str  # the URL as reached (before canonicalisation)
    final_url: str  # after redirects
    status: int
    headers: dict[str, list[str]]
    body: bytes | None  # None for a 304
    fetched_at: datetime
    source: str | None = None
    discovered_via: str | None = None
    encoding: str | None = None
    packed: PackedBody | None = None  # the body already packed (by an extraction worker)

    def header(self, name: str) -> str | None:
        for key, values in self.headers.items():
            if key.lower() == name.lower() and values:
                return values[0]
        return None


@dataclass(frozen=True)
class StoreResult:
    page_state: str  # new | changed | unchanged
    article_state: str | None  # new | duplicate | revisit | None (no article)
    article_id: int | None = None
    snapshot_id: int | None = None
    error: str | None = None  # why the page could not be stored (page_state "error")


@dataclass
class SourceCache:
    """Source ids by name, so a batch does not look them up page by page."""

    ids: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def forget_since(self, count: int) -> None:
        """Drop the ids learnt after the first ``count``: a rolled-back savepoint took
        the rows it created with it (dicts keep insertion order)."""
        for name in list(self.ids)[count:]:
            del self.ids[name]

    def preload(self, session: Session, sources: list[tuple[str, str | None]]) -> None:
        """Register a seeds file's sources (name, language) in one go, before its pages."""
        wanted = {name: language for name, language in sources if name not in self.ids}
        if not wanted:
            return
        self._learn(session, list(wanted))
        now = utcnow()
        created = [{"name": name, "language": language, "created_at": now}
                   for name, language in wanted.items() if name not in self.ids]
        if created:
            session.execute(_UPSERTS(session).new_sources, created)
            self._learn(session, [row["name"] for row in created])

    def _learn(self, session: Session, names: list[str]) -> None:
        for start in range(0, len(names), 500):
            chunk = names[start:start + 500]
            rows = session.execute(select(Source.name, Source.id).where(Source.name.in_(chunk)))
            self.ids.update({name: source_id for name, source_id in rows})

    def id_for(self, session: Session, name: str | None, language: str | None = None) -> int | None:
        if name is None:
            return None
        if name not in self.ids:
            by_name = select(Source.id).where(Source.name == name)
            source_id = session.scalar(by_name)
            if source_id is None:
                source_id = session.scalar(_UPSERTS(session).new_source, {
                    "name": name, "language": language, "created_at": utcnow()})
            if source_id is None:  # another writer's, committed meanwhile
                source_id = session.execute(by_name).scalar_one()
            self.ids[name] = source_id
        return self.ids[name]


def record_fetch(
    session: Session,
    fetch: FetchRecord,
    article: ArticleRecord | None,
    *,
    run_id: int | None,
    outcome: str,
    sources: SourceCache | None = None,
) -> StoreResult:
    """Store a fetch: page row, snapshot when the bytes are new, article and sighting.

    A body equal to the page's last snapshot is a revisit: no new snapshot,
    so an unchanged page costs one row update however often it is crawled.
    """
    sources = sources or SourceCache()
    upserts = _UPSERTS(session)
    source_id = sources.id_for(session, fetch.source)
    if article is None and fetch.body is not None and outcome != REVISIT:
        first = _record_first_fetch(session, upserts, fetch, source_id, run_id, outcome)
        if first is not None:
            return first
    page, new = _page_row(session, upserts, fetch, source_id)
    page_state = PageState.NEW if new else PageState.UNCHANGED
    page.last_fetched_at = fetch.fetched_at
    page.last_status = fetch.status
    if outcome != REVISIT:
        page.last_outcome = outcome
    if fetch.status != 304:
        page.etag = fetch.header("ETag")
        page.last_modified = fetch.header("Last-Modified")

    snapshot_id = page.last_snapshot_id
    if fetch.body is not None:
        digest = fetch.packed.sha256 if fetch.packed else body_digest(fetch.body)
        if digest != page.last_digest:
            packed = fetch.packed or pack_body(fetch.body)
            if page_state == PageState.UNCHANGED:
                page_state = PageState.CHANGED
            snapshot = Snapshot(**_snapshot_columns(page.id, fetch, packed, run_id))
            session.add(snapshot)
            session.flush()
            snapshot_id = snapshot.id
            page.last_digest = digest
            page.last_snapshot_id = snapshot_id

    if outcome == REVISIT and page_state == PageState.UNCHANGED:
        article_id = _refresh_page_sightings(session, upserts, page, fetch, run_id)
        _log_fetch(session, page, fetch, run_id, snapshot_id, outcome, revisit=True)
        return StoreResult(page_state, REVISIT if article_id else None, article_id, snapshot_id)
    if article is None:
        _log_fetch(session, page, fetch, run_id, snapshot_id, outcome,
                   revisit=page_state == PageState.UNCHANGED)
        return StoreResult(page_state, None, snapshot_id=snapshot_id)

    article_id, article_state = _store_article(session, upserts, article, fetch,
                                               source_id, page.id, run_id)
    _record_sighting(session, upserts, article_id, page.id, snapshot_id, fetch, run_id)
    if canonical_url(fetch.final_url) != canonical_url(fetch.url):
        # Redirected: the URL the text was served at is a sighting too.
        _record_sighting(session, upserts, article_id, page.id, snapshot_id,
                         replace(fetch, url=fetch.final_url), run_id)
    _log_fetch(session, page, fetch, run_id, snapshot_id, outcome, revisit=False)
    return StoreResult(page_state, article_state, article_id, snapshot_id)


def _store_article(session: Session, upserts: _Upserts, article: ArticleRecord,
                   fetch: FetchRecord, source_id: int | None, page_id: int,
                   run_id: int | None) -> tuple[int, ArticleState]:
    """The article's id, and whether this fetch stored it. A text another writer stored
    meanwhile is a duplicate here: that writer indexed and banded it."""
    by_hash = select(Article.id).where(Article.content_hash == article.content_hash)
    article_id = session.scalar(by_hash)
    if article_id is None:
        stored = session.scalar(upserts.new_article,
                                _article_columns(article, fetch, source_id, page_id, run_id))
        if stored is not None:
            index_article(session, stored)
            if article.minhash is not None:
                link_near_duplicate(session, stored)
            return stored.id, ArticleState.NEW
        article_id = session.execute(by_hash).scalar_one()
    session.execute(_SEEN_AGAIN, {"article_id": article_id, "seen": fetch.fetched_at})
    return article_id, ArticleState.DUPLICATE


def _page_row(session: Session, upserts: _Upserts, fetch: FetchRecord,
              source_id: int | None) -> tuple[Page, bool]:
    """The page's row, locked until the transaction ends (a writer of the same page at
    the same moment waits, then sees this one's snapshot); True if it is new."""
    page = session.scalar(_PAGE_BY_URL, {"url": fetch.page_url})
    if page is not None:
        return page, False
    page = session.scalar(upserts.page_row, _page_columns(fetch, source_id))
    if page is not None:
        return page, True
    return session.scalars(_PAGE_BY_URL, {"url": fetch.page_url}).one(), False


def is_database_failure(exc: BaseException) -> bool:
    """An error of the database as a whole (locked, full, read-only, corrupt), not of
    one page's data: every other page of the batch would fail the same way."""
    if isinstance(exc, IntegrityError | DataError) or is_write_conflict(exc):
        return False
    return (isinstance(exc, OperationalError) or type(exc) is DatabaseError
            or _sqlstate(exc) in DATABASE_FAILURES)


def is_write_conflict(exc: BaseException) -> bool:
    """PostgreSQL rolled the transaction back for a concurrent one's sake (serialization
    failure, deadlock): no page is at fault, and the same writes succeed if the whole
    transaction is tried again. Never on SQLite, whose writers queue instead."""
    return _sqlstate(exc) in WRITE_CONFLICTS


def _sqlstate(exc: BaseException) -> str | None:
    return getattr(getattr(exc, "orig", None), "sqlstate", None)


def record_store_error(
    session: Session,
    fetch: FetchRecord,
    *,
    run_id: int | None,
    source_id: int | None,
) -> None:
    """A fetch that could not be stored: its page row and the fetch log say so
    (outcome ``store_error``, no snapshot), so the page is visible and fetched in full
    again by the next crawl instead of silently missing.

    ``fetch.page_url`` must be a URL that is safe to store (the fetched one).
    """
    page, _ = _page_row(session, _UPSERTS(session), fetch, source_id)
    page.last_fetched_at = fetch.fetched_at
    page.last_status = fetch.status
    page.last_outcome = STORE_ERROR
    _log_fetch(session, page, fetch, run_id, None, STORE_ERROR, revisit=False)


def _record_first_fetch(session: Session, upserts: _Upserts, fetch: FetchRecord,
                        source_id: int | None, run_id: int | None,
                        outcome: str) -> StoreResult | None:
    """``record_fetch`` for a page not in the archive yet; None if it is."""
    page_id = session.scalar(upserts.new_page, {
        **_page_columns(fetch, source_id), "last_outcome": outcome,
        "etag": fetch.header("ETag"), "last_modified": fetch.header("Last-Modified"),
    })
    if page_id is None:
        return None
    assert fetch.body is not None
    packed = fetch.packed or pack_body(fetch.body)
    snapshot_id = session.scalar(_INSERT_SNAPSHOT,
                                 _snapshot_columns(page_id, fetch, packed, run_id))
    session.execute(_SET_LAST_SNAPSHOT, {"page_id": page_id, "digest": packed.sha256,
                                         "snapshot_id": snapshot_id})
    session.execute(_INSERT_FETCH,
                    _fetch_columns(page_id, fetch, run_id, snapshot_id, outcome, revisit=False))
    return StoreResult("new", None, snapshot_id=snapshot_id)


# A fetch's rows, one mapping each for the prebuilt statements and the ORM alike.

def _page_columns(fetch: FetchRecord, source_id: int | None) -> dict[str, Any]:
    return {"url": fetch.page_url, "source_id": source_id, "first_seen_at": fetch.fetched_at,
            "last_fetched_at": fetch.fetched_at, "last_status": fetch.status,
            "discovered_via": fetch.discovered_via}


def _snapshot_columns(page_id: int, fetch: FetchRecord, packed: PackedBody,
                      run_id: int | None) -> dict[str, Any]:
    return {"page_id": page_id, "run_id": run_id, "fetched_at": fetch.fetched_at,
            "url": fetch.final_url, "requested_url": fetch.url, "status": fetch.status,
            "headers": fetch.headers, "content_type": fetch.header("Content-Type"),
            "encoding": fetch.encoding, "body": packed.compressed, "body_sha256": packed.sha256,
            "body_size": packed.size}


def _article_columns(article: ArticleRecord, fetch: FetchRecord, source_id: int | None,
                     page_id: int, run_id: int | None) -> dict[str, Any]:
    return {"content_hash": article.content_hash, "url": fetch.page_url, "title": article.title,
            "author": article.author, "published": article.published,
            "language": article.language, "text": article.text,
            "description": article.description, "site_name": article.site_name,
            "source_id": source_id, "page_id": page_id, "relevance": article.relevance,
            "countries": list(article.countries), "themes": list(article.themes),
            "topic_version": article.topic_version, "extractor": article.extractor,
            "first_seen_at": fetch.fetched_at, "last_seen_at": fetch.fetched_at,
            "first_run_id": run_id, "minhash": article.minhash}


def _fetch_columns(page_id: int, fetch: FetchRecord, run_id: int | None,
                   snapshot_id: int | None, outcome: str, *, revisit: bool) -> dict[str, Any]:
    return {"page_id": page_id, "run_id": run_id, "fetched_at": fetch.fetched_at,
            "url": fetch.final_url, "status": fetch.status, "snapshot_id": snapshot_id,
            "revisit": revisit, "outcome": outcome}


def _log_fetch(
    session: Session,
    page: Page,
    fetch: FetchRecord,
    run_id: int | None,
    snapshot_id: int | None,
    outcome: str,
    *,
    revisit: bool,
) -> None:
    session.add(Fetch(**_fetch_columns(page.id, fetch, run_id, snapshot_id, outcome,
                                       revisit=revisit)))


def link_near_duplicate(session: Session, article: Article) -> None:
    """Link a new article to the earliest article it nearly repeats, and index its bands.

    Candidates share at least one LSH band; the estimated similarity decides.
    """
    assert article.minhash is not None
    keys = band_keys(article.minhash)
    params: dict[str, int] = {"article_id": article.id}
    for i, (band, bucket) in enumerate(keys):
        params[f"b{i}"], params[f"k{i}"] = band, bucket
    ranked = [row[0] for row in session.execute(_NEAR_DUPLICATE_CANDIDATES, params)]
    # Only the signatures: loading whole candidate articles (their text) cost more than the lookup.
    found = {row.id: row for row in session.execute(
        select(Article.id, Article.minhash, Article.duplicate_of).where(Article.id.in_(ranked))
    )} if ranked else {}
    best: tuple[float, int] | None = None
    for candidate_id in ranked:
        other = found.get(candidate_id)
        if other is None or other.minhash is None:
            continue
        score = similarity(article.minhash, other.minhash)
        if score >= SIMILARITY_THRESHOLD and (best is None or score > best[0]):
            best = (score, other.duplicate_of or other.id)
    if best is not None:
        score, root_id = best
        root = session.get(Article, root_id)
        if root is not None and _published_earlier(article, root):
            # Crawl order is chance: the earlier publication is the original.
            session.execute(
                update(Article)
                .where((Article.id == root_id) | (Article.duplicate_of == root_id))
                .values(duplicate_of=article.id)
            )
            session.execute(update(Article).where(Article.id == root_id)
                            .values(similarity=round(score, 4)))
        else:
            article.similarity = round(score, 4)
            article.duplicate_of = root_id
    _add_bands(session, article.id, keys)


def _published_earlier(article: Article, other: Article) -> bool:
    return bool(article.published and other.published
                and article.published[:10] < other.published[:10])


def replace_signature(session: Session, article: Article, minhash: bytes) -> None:
    """A re-extracted article gets its new signature and LSH bands."""
    session.execute(delete(ArticleBand).where(ArticleBand.article_id == article.id))
    article.minhash = minhash
    _add_bands(session, article.id, band_keys(minhash))


def _add_bands(session: Session, article_id: int, keys: list[tuple[int, int]]) -> None:
    session.execute(_UPSERTS(session).bands,
                    [{"band": band, "bucket": bucket, "article_id": article_id}
                     for band, bucket in keys])


def _refresh_page_sightings(
    session: Session, upserts: _Upserts, page: Page, fetch: FetchRecord, run_id: int | None
) -> int | None:
    """A revisit of an unchanged page: the article of its last snapshot was seen again."""
    if page.last_snapshot_id is None:
        return None
    article_id = session.scalar(
        select(Sighting.article_id).where(Sighting.snapshot_id == page.last_snapshot_id).limit(1)
    )
    if article_id is None:
        return None
    session.execute(_SEEN_AGAIN, {"article_id": article_id, "seen": fetch.fetched_at})
    _record_sighting(session, upserts, article_id, page.id, page.last_snapshot_id, fetch, run_id)
    return article_id


def _record_sighting(
    session: Session,
    upserts: _Upserts,
    article_id: int,
    page_id: int,
    snapshot_id: int | None,
    fetch: FetchRecord,
    run_id: int | None,
) -> None:
    session.execute(upserts.sighting, {
        "article_id": article_id, "page_id": page_id, "snapshot_id": snapshot_id,
        "url": fetch.url, "first_seen_at": fetch.fetched_at, "last_seen_at": fetch.fetched_at,
        "first_run_id": run_id, "last_run_id": run_id, "times_seen": 1,
    })
