"""Re-run analysis over stored snapshots, offline: after upgrading trafilatura
or editing the topic vocabulary, the archive catches up without the network.

Each page's latest snapshot is analysed again. Articles are updated in place
(the search index follows through `storage.article_edits`); nothing is
deleted: an article that no longer passes the topic filter is reported, not
dropped, because the archive never loses what it once kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session, sessionmaker

from crawler.analysis.page_analysis import ARCHIVABLE, PageAnalysis, analyse_page
from crawler.analysis.snapshot_body import unpack_body
from crawler.vocabulary import NOT_PAGES
from storage.archive import (
    ArticleRecord,
    FetchRecord,
    SourceCache,
    record_fetch,
    replace_signature,
)
from storage.article_edits import update_article
from storage.engine import make_engine, session_factory
from storage.models import Article, Page, Sighting, Snapshot, Source

BATCH = 100
# ArticleRecord fields that map one to one onto Article columns.
_COPIED = ("title", "author", "published", "language", "description", "site_name",
           "relevance", "topic_version", "extractor", "text", "content_hash")
# What the extractor reads off the page. A new extractor's "none" is a judgement (a
# bare label is no author, a site's name no title), so it clears the old value; the
# same extractor finding nothing this time keeps what was found before.
_EXTRACTED = frozenset({"title", "author", "published", "language", "description",
                        "site_name"})


@dataclass(frozen=True)
class SnapshotRef:
    snapshot_id: int
    page_id: int
    source: str | None
    language: str | None


def snapshots_to_reprocess(session: Session, *, since: date | None, source: str | None
                           ) -> list[SnapshotRef]:
    query = (
        select(Snapshot.id, Snapshot.page_id, Source.name, Source.language)
        .join(Page, Page.last_snapshot_id == Snapshot.id)
        .outerjoin(Source, Page.source_id == Source.id)
        .where(or_(Page.last_outcome.is_(None), Page.last_outcome.not_in(NOT_PAGES)))
        .order_by(Snapshot.id)
    )
    if since is not None:
        query = query.where(Snapshot.fetched_at >= datetime.combine(since, time.min))
    if source is not None:
        query = query.where(Source.name == source)
    return [SnapshotRef(*row) for row in session.execute(query)]


def reprocess(
    sessions: sessionmaker[Session],
    *,
    since: date | None = None,
    source: str | None = None,
    on_page: Callable[[], None] | None = None,
    reader: sessionmaker[Session] | None = None,
) -> Counter[str]:
    """Returns counts: pages, unchanged, updated, re_extracted, newly_archived, now_off_topic.

    Each batch is read and analysed with no write transaction open, then written in
    one short transaction: a crawl writing meanwhile waits milliseconds, not the
    minutes a batch takes to extract. ``reader`` (default: a read-only engine on the
    same file) must not take SQLite's write lock as ``sessions`` does.
    """
    own_reader = reader is None
    reader = reader or _reader_for(sessions)
    try:
        with reader() as session:
            refs = snapshots_to_reprocess(session, since=since, source=source)
        counts: Counter[str] = Counter(pages=len(refs))
        cache = SourceCache()
        for start in range(0, len(refs), BATCH):
            analysed = []
            for ref in refs[start : start + BATCH]:
                analysed.append(_read_and_analyse(reader, ref))
                if on_page:
                    on_page()
            with sessions.begin() as session:
                for page, analysis in analysed:
                    counts[_store(session, page, analysis, cache)] += 1
    finally:
        if own_reader and reader is not sessions:
            reader.kw["bind"].dispose()
    return counts


def _reader_for(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    engine: Engine = sessions.kw["bind"]
    database = engine.url.database
    if not database or database == ":memory:":
        return sessions  # one connection only: nothing else can write meanwhile
    return session_factory(make_engine(engine.url.render_as_string(hide_password=False),
                                       readonly=True))


@dataclass(frozen=True)
class _Stored:
    """What analysing one snapshot needs, read before the analysis."""

    ref: SnapshotRef
    snapshot_id: int
    body: bytes
    url: str
    requested_url: str | None
    content_type: str | None
    status: int
    headers: dict[str, list[str]]
    fetched_at: datetime
    page_url: str
    article_id: int | None


def _load(session: Session, ref: SnapshotRef) -> _Stored:
    snapshot = session.get(Snapshot, ref.snapshot_id)
    page = session.get(Page, ref.page_id)
    assert snapshot is not None and page is not None
    article_id = session.scalar(
        select(Sighting.article_id).where(Sighting.snapshot_id == snapshot.id).limit(1)
    )
    return _Stored(ref, snapshot.id, unpack_body(snapshot.body), snapshot.url,
                   snapshot.requested_url, snapshot.content_type, snapshot.status,
                   snapshot.headers or {}, snapshot.fetched_at, page.url, article_id)


def _read_and_analyse(reader: sessionmaker[Session], ref: SnapshotRef
                      ) -> tuple[_Stored, PageAnalysis]:
    """One page read in a short read transaction and analysed with none open; the body
    is dropped once analysed, so a batch never holds more than one in memory."""
    with reader() as session:
        page = _load(session, ref)
    # An archived article is always scored again; other pages need only the prefilter.
    analysis = analyse_page(page.body, page.url, page.content_type,
                            language_hint=ref.language, prefilter=page.article_id is None)
    return replace(page, body=b""), analysis


def _store(session: Session, page: _Stored, analysis: PageAnalysis, cache: SourceCache) -> str:
    record = analysis.article
    if page.article_id is None:
        if analysis.outcome != ARCHIVABLE or record is None:
            return "unchanged"
        fetch = FetchRecord(
            page_url=page.page_url, url=page.requested_url or page.url, final_url=page.url,
            status=page.status, headers=page.headers, body=None, fetched_at=page.fetched_at,
            source=page.ref.source, discovered_via="reprocess", encoding=analysis.encoding,
        )
        result = record_fetch(session, fetch, record, run_id=None, outcome=ARCHIVABLE,
                              sources=cache)
        return "newly_archived" if result.article_state == "new" else "unchanged"
    if record is None:
        return "now_off_topic"
    article = session.get(Article, page.article_id)
    assert article is not None
    if article.page_id is not None and article.page_id != page.ref.page_id:
        # Seen on another page too (syndicated): the article keeps what its own page
        # says, or each run would set the fields of whichever page came last.
        return "unchanged" if analysis.outcome == ARCHIVABLE else "now_off_topic"
    changes = _changes(article, record)
    if not changes:
        return "unchanged" if analysis.outcome == ARCHIVABLE else "now_off_topic"
    if "content_hash" in changes and session.scalar(
        select(Article.id).where(Article.content_hash == record.content_hash)
    ):
        changes = {k: v for k, v in changes.items() if k not in ("text", "content_hash")}
    update_article(session, page.article_id, **changes)
    if "content_hash" in changes and record.minhash is not None:
        replace_signature(session, article, record.minhash)
    if analysis.outcome != ARCHIVABLE:
        return "now_off_topic"
    return "re_extracted" if "content_hash" in changes else "updated"


def _changes(article: Article, record: ArticleRecord) -> dict[str, object]:
    changes: dict[str, object] = {}
    new_extractor = record.extractor is not None and record.extractor != article.extractor
    for name in _COPIED:
        value = getattr(record, name)
        if (value is not None or (new_extractor and name in _EXTRACTED)) \
                and getattr(article, name) != value:
            changes[name] = value
    for name in ("countries", "themes"):
        value = list(getattr(record, name))
        if list(getattr(article, name) or []) != value:
            changes[name] = value
    return changes
