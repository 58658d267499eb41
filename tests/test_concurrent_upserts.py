"""Two processes store the same syndicated texts into one archive at the same moment:
both commit everything, and the archive holds one article per text with a sighting
per URL. On PostgreSQL both writers are let in at once (a select-then-insert failed
on the unique index there and lost its whole batch); on SQLite they queue."""

from __future__ import annotations

import multiprocessing
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.analysis.fingerprint import content_hash
from crawler.analysis.near_duplicates import BANDS, signature
from crawler.analysis.page_analysis import ArticleRecord
from storage.archive import FetchRecord, SourceCache, record_fetch
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import Article, ArticleBand, Fetch, Page, Sighting, Source
from storage.search.index import index_drift

TEXTS = 40
BATCH = 9
WRITERS = 2
PLACES = "Khorgos Almaty Urumqi Tashkent Aktau Kashgar Bishkek Dushanbe Termez Osh".split()


def _texts() -> list[ArticleRecord]:
    records = []
    for n in range(TEXTS):
        text = " ".join(f"Freight train {n} number {i} left {PLACES[(n + i) % 10]} for "
                        f"{PLACES[(n * i) % 10]} with {n * 37 + i} wagons." for i in range(12))
        records.append(ArticleRecord(content_hash=content_hash(text), text=text,
                                     relevance=0.8, title=f"Train {n}", language="en",
                                     countries=("CN", "KZ"), minhash=signature(text)))
    return records


def _pages(writer: int, records: list[ArticleRecord]
           ) -> list[tuple[FetchRecord, ArticleRecord | None]]:
    """Each text at this writer's own URL and at a wire URL that every writer fetches,
    then the wire's listing page (no article) that links to it."""
    pages: list[tuple[FetchRecord, ArticleRecord | None]] = []
    for n, record in enumerate(records):
        own = (f"http://site{writer}.test/news/{n}", f"Site {writer}", record)
        wire = (f"http://wire.test/story/{n}", "Wire", record)
        # Who waits for whom, on the article or on the page: both are raced for.
        first, second = (own, wire) if n % 2 else (wire, own)
        for url, source, kept in (first, second, (f"http://wire.test/list/{n}", "Wire", None)):
            body = f"<p>{record.text}</p>" if kept else f"<a href='/story/{n}'>{n}</a>"
            pages.append((FetchRecord(page_url=url, url=url, final_url=url, status=200,
                                      headers={}, body=body.encode(),
                                      fetched_at=datetime(2026, 1, 1, 10, writer),
                                      source=source), kept))
    return pages


def _hammer(db_url: str, writer: int, records: list[ArticleRecord], barrier: Any) -> None:
    engine = make_engine(db_url)
    pages, sources = _pages(writer, records), SourceCache()
    barrier.wait(timeout=120)
    for start in range(0, len(pages), BATCH):
        with Session(engine) as session, session.begin():
            for fetch, record in pages[start:start + BATCH]:
                record_fetch(session, fetch, record, run_id=None, sources=sources,
                             outcome="article" if record else "no_article")
    engine.dispose()


def test_two_processes_store_the_same_texts_at_once(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    records = _texts()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WRITERS)
    writers = [context.Process(target=_hammer, args=(db_url, n, records, barrier))
               for n in range(WRITERS)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(180)
    assert [process.exitcode for process in writers] == [0] * WRITERS

    with Session(engine) as session:
        def count(model: Any) -> int:
            return session.scalar(select(func.count()).select_from(model)) or 0

        hashes = session.scalars(select(Article.content_hash)).all()
        assert sorted(hashes) == sorted(record.content_hash for record in records)
        assert count(Page) == (WRITERS + 2) * TEXTS
        assert count(Fetch) == WRITERS * 3 * TEXTS
        assert count(Source) == WRITERS + 1
        seen = dict(session.execute(select(Sighting.url, Sighting.times_seen)).all())
        assert len(seen) == (WRITERS + 1) * TEXTS
        assert {times for url, times in seen.items() if "wire.test" in url} == {WRITERS}
        assert {times for url, times in seen.items() if "wire.test" not in url} == {1}
        assert count(ArticleBand) == TEXTS * BANDS
        assert index_drift(session).clean
    engine.dispose()
