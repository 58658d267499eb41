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
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.page_analysis import ARCHIVABLE, analyse_page
from storage.archive import (
    ArticleRecord,
    FetchRecord,
    SourceCache,
    record_fetch,
    replace_signature,
)
from storage.article_edits import update_article
from storage.models import Article, Page, Sighting, Snapshot, Source
from storage.snapshot_body import unpack_body

BATCH = 100
# ArticleRecord fields that map one to one onto Article columns.
_COPIED = ("title", "author", "published", "language", "description", "site_name",
           "relevance", "topic_version", "extractor", "text", "content_hash")


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
) -> Counter[str]:
    """Returns counts: pages, unchanged, updated, re_extracted, newly_archived, now_off_topic."""
    with sessions() as session:
        refs = snapshots_to_reprocess(session, since=since, source=source)
    counts: Counter[str] = Counter(pages=len(refs))
    cache = SourceCache()
    for start in range(0, len(refs), BATCH):
        with sessions.begin() as session:
            for ref in refs[start : start + BATCH]:
                counts[_reprocess_one(session, ref, cache)] += 1
                if on_page:
                    on_page()
    return counts


def _reprocess_one(session: Session, ref: SnapshotRef, cache: SourceCache) -> str:
    snapshot = session.get(Snapshot, ref.snapshot_id)
    assert snapshot is not None
    body = unpack_body(snapshot.body)
    article_id = session.scalar(
        select(Sighting.article_id).where(Sighting.snapshot_id == snapshot.id).limit(1)
    )
    # An archived article is always scored again; other pages need only the prefilter.
    analysis = analyse_page(body, snapshot.url, snapshot.content_type, language_hint=ref.language,
                            prefilter=article_id is None)
    record = analysis.article
    if article_id is None:
        if analysis.outcome != ARCHIVABLE or record is None:
            return "unchanged"
        fetch = FetchRecord(
            page_url=session.get(Page, ref.page_id).url,  # type: ignore[union-attr]
            url=snapshot.requested_url or snapshot.url, final_url=snapshot.url,
            status=snapshot.status, headers=snapshot.headers or {}, body=None,
            fetched_at=snapshot.fetched_at, source=ref.source, discovered_via="reprocess",
            encoding=analysis.encoding,
        )
        result = record_fetch(session, fetch, record, run_id=None, outcome=ARCHIVABLE,
                              sources=cache)
        return "newly_archived" if result.article_state == "new" else "unchanged"
    if record is None:
        return "now_off_topic"
    article = session.get(Article, article_id)
    assert article is not None
    changes = _changes(article, record)
    if not changes:
        return "unchanged" if analysis.outcome == ARCHIVABLE else "now_off_topic"
    if "content_hash" in changes and session.scalar(
        select(Article.id).where(Article.content_hash == record.content_hash)
    ):
        changes = {k: v for k, v in changes.items() if k not in ("text", "content_hash")}
    update_article(session, article_id, **changes)
    if "content_hash" in changes and record.minhash is not None:
        replace_signature(session, article, record.minhash)
    if analysis.outcome != ARCHIVABLE:
        return "now_off_topic"
    return "re_extracted" if "content_hash" in changes else "updated"


def _changes(article: Article, record: ArticleRecord) -> dict[str, object]:
    changes: dict[str, object] = {}
    for name in _COPIED:
        value = getattr(record, name)
        if value is not None and getattr(article, name) != value:
            changes[name] = value
    for name in ("countries", "themes"):
        value = list(getattr(record, name))
        if list(getattr(article, name) or []) != value:
            changes[name] = value
    return changes



