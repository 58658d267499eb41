"""Pipeline step 2: write pages, snapshots and articles in batched transactions.

Writes run on one dedicated thread so SQLite never blocks the reactor; a
batch commits as a whole, so a crash loses at most the pages of the batch in
flight (they are fetched again next time) and never half an article.

Batches form as in a database's group commit: an idle writer gathers pages
for ``SILKROAD_BATCH_SECONDS`` (50 ms) and writes them; while it is busy,
pages gather and go together in the next transaction. A page waiting to be
written still holds its response in Scrapy's scraper slot, and Scrapy stops
fetching while the slot holds more than ``SCRAPER_SLOT_MAX_ACTIVE_SIZE``
bytes: a fixed 0.25 s batching delay, whether the writer was busy or not,
starved the extraction workers. A batch is also written once it holds a
quarter of that, and the engine is told when a batch made room.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from scrapy import signals
from scrapy.exceptions import DropItem

from crawler.frontier_recorder import FrontierRecorder
from crawler.items import PageItem
from crawler.page_analysis import ARCHIVABLE, NO_ARTICLE, OFF_TOPIC
from crawler.signals import frontier_done
from crawler.urls import canonical_url, page_identity
from storage.archive import (
    REVISIT,
    FetchRecord,
    SourceCache,
    StoreResult,
    finish_run,
    record_fetch,
    start_run,
)
from storage.engine import make_engine, resolve_db_url, session_factory
from storage.frontier import close_session, resumable_session
from storage.migrate import upgrade
from storage.models import CrawlRun

log = logging.getLogger(__name__)

ENGINE_WAKE_DELAY = 0.01  # seconds


class OffTopic(DropItem):
    """Fetched and kept as a page, but not about China–Central Asia relations."""


class EmptyExtraction(DropItem):
    """Fetched and kept as a page, but it holds no article text (listing, empty page)."""


class Duplicate(DropItem):
    """An article already in the archive: recorded as a new sighting."""


class AnalysisFailed(DropItem):
    """Extraction raised: the raw page is archived, the error logged and counted."""


class Revisit(DropItem):
    """A page unchanged since its last snapshot (304 or same bytes): sighting refreshed."""


@dataclass
class _Pending:
    item: PageItem
    future: asyncio.Future[StoreResult]


COUNTED_STATS = {
    "fetched": "silkroad/pages_fetched",
    "archived": "silkroad/articles_archived",
    "duplicates": "silkroad/duplicates",
    "off_topic": "silkroad/off_topic",
    "prefiltered": "silkroad/prefiltered",
    "no_article": "silkroad/no_article",
    "revisits": "silkroad/revisits",
    "new_pages": "silkroad/pages_new",
    "changed_pages": "silkroad/pages_changed",
    "unchanged_pages": "silkroad/pages_unchanged",
}
ERROR_STATS = ("silkroad/analysis_errors", "silkroad/fetch_errors", "silkroad/http_errors",
               "silkroad/store_errors")


class ArchivePipeline:
    def __init__(self, crawler: Any, db_url: str, batch_size: int, batch_seconds: float,
                 batch_bytes: int | None = None) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.db_url = db_url
        self.batch_size = max(1, batch_size)
        self.batch_seconds = batch_seconds
        self.batch_bytes = batch_bytes or crawler.settings.getint(
            "SCRAPER_SLOT_MAX_ACTIVE_SIZE", 5_000_000) // 4
        self.run_id: int = 0  # set in open_spider
        self._pending: list[_Pending] = []
        self._pending_bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._writes_in_flight = 0
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archive-writer")
        self._sources = SourceCache()
        self.engine: Any = None
        self.sessions: Any = None
        self.session_id: int = 0  # set in open_spider
        self.frontier = FrontierRecorder()

    @classmethod
    def from_crawler(cls, crawler: Any) -> ArchivePipeline:
        settings = crawler.settings
        pipeline = cls(
            crawler,
            resolve_db_url(settings.get("SILKROAD_DB")),
            settings.getint("SILKROAD_BATCH_SIZE", 50),
            settings.getfloat("SILKROAD_BATCH_SECONDS", 0.05),
            settings.getint("SILKROAD_BATCH_BYTES", 0) or None,
        )
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(pipeline.frontier.request_scheduled,
                                signal=signals.request_scheduled)
        crawler.signals.connect(pipeline.frontier_done, signal=frontier_done)
        return pipeline

    # -- lifecycle ---------------------------------------------------------------

    def open_spider(self) -> None:
        self.engine = make_engine(self.db_url)
        upgrade(self.engine)
        self.sessions = session_factory(self.engine)
        settings = self.crawler.settings
        preset = settings.get("SILKROAD_RUN_ID")
        with self.sessions.begin() as session:
            resumed = resumable_session(session) if settings.getbool("SILKROAD_RESUME") else None
            if preset:
                run = session.get(CrawlRun, int(preset))
                if run is None:
                    raise ValueError(f"SILKROAD_RUN_ID={preset}: no such crawl run")
                run.session_id = resumed or run.id
            else:
                run = start_run(
                    session,
                    trigger=settings.get("SILKROAD_TRIGGER", "manual"),
                    seeds_file=str(settings.get("SEEDS_FILE")),
                    pid=os.getpid(),
                    session_id=resumed,
                )
            self.run_id, self.session_id = run.id, run.session_id
            seeds = getattr(self.crawler.spider, "sources", None) or ()
            self._sources.preload(session, [(source.name, source.language) for source in seeds])
        self.stats.set_value("silkroad/run_id", self.run_id)
        self.stats.set_value("silkroad/session_id", self.session_id)
        if resumed:
            log.warning("resuming the interrupted crawl of run %d", resumed)

    async def close_spider(self) -> None:
        await self._flush()

    def spider_closed(self, spider: Any, reason: str) -> None:
        outcome = run_outcome(reason, self.stats.get_value("silkroad/store_errors", 0))
        counts = {name: self.stats.get_value(key, 0) for name, key in COUNTED_STATS.items()}
        counts["errors"] = sum(self.stats.get_value(key, 0) for key in ERROR_STATS)
        self.stats.set_value("silkroad/outcome", outcome)
        stats = {
            k: v for k, v in self.stats.get_stats().items()
            if isinstance(v, int | float | str) and not k.startswith("silkroad/run_id")
        }
        stats["close_reason"] = reason
        stats.update(counts)
        try:
            with self.sessions.begin() as session:
                finish_run(session, self.run_id, outcome=outcome,
                           exit_status=0 if outcome == "ok" else 1, counts=counts, stats=stats)
                if outcome == "ok":
                    close_session(session, self.session_id)
        finally:
            self._writer.shutdown(wait=True)
            self.engine.dispose()

    # -- items -------------------------------------------------------------------

    def frontier_done(self, urls: list[str]) -> None:
        self.frontier.done(urls)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        """Write soon if the writer is idle; a busy writer takes what waits when it is done."""
        if self._timer is None and not self._writes_in_flight:
            self._timer = asyncio.get_running_loop().call_later(
                self.batch_seconds, lambda: asyncio.ensure_future(self._flush())
            )

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageItem):
            return item
        future: asyncio.Future[StoreResult] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(item, future))
        self._pending_bytes += len(item.body or b"")
        if len(self._pending) >= self.batch_size or self._pending_bytes >= self.batch_bytes:
            await self._flush()
        else:
            self._schedule_flush()
        result = await future
        return self._route(item, result)

    def _route(self, item: PageItem, result: StoreResult) -> Any:
        analysis = item.analysis
        if result.article_state == "new":
            return {
                "id": result.article_id,
                "url": canonical_url(item.url),
                "title": analysis.article.title,
                "source": item.source,
                "language": analysis.article.language,
                "countries": list(analysis.article.countries),
            }
        if result.article_state == REVISIT or item.revisit or item.body is None:
            raise Revisit(f"unchanged since the last crawl: {item.url}")
        if result.article_state == "duplicate":
            raise Duplicate(f"already archived as article {result.article_id}: {item.url}")
        if analysis is None:
            raise AnalysisFailed(f"kept raw for `silkroad reprocess`: {item.url}")
        if analysis.outcome == OFF_TOPIC and analysis.article is None:
            raise OffTopic(f"off topic (China and Central Asia not both on the page): {item.url}")
        if analysis.outcome == OFF_TOPIC:
            raise OffTopic(f"off topic (score {analysis.article.relevance}): {item.url}")
        raise EmptyExtraction(f"no article text: {item.url}")

    async def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending, self._pending_bytes = self._pending, [], 0
        if not batch and not self.frontier:
            return
        loop = asyncio.get_running_loop()
        self._writes_in_flight += 1
        try:
            results = await loop.run_in_executor(self._writer, self._write_batch, batch)
        except Exception as exc:
            log.exception("could not write a batch of %d pages", len(batch))
            self.stats.inc_value("silkroad/store_errors", len(batch))
            self._sources = SourceCache()  # ids created in the rolled-back batch are gone
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(DropItem(f"not stored: {exc}"))
            return
        finally:
            self._writes_in_flight -= 1
            if self._pending or self.frontier:
                self._schedule_flush()
        for pending, result in zip(batch, results, strict=True):
            self._count(pending.item, result)
            pending.future.set_result(result)
        if batch:
            # After the pages' responses have left the scraper slot (a few loop turns).
            loop.call_later(ENGINE_WAKE_DELAY, self._wake_engine)

    def _wake_engine(self) -> None:
        """Have the engine look for work now rather than on its next 5 s heartbeat.

        While the scraper slot is full Scrapy sends no request, and once it has room
        only a finished download or that heartbeat makes it look again
        (scrapy/scrapy#6206); stored pages free room without either, so say so.

        Scrapy (2.18-2.19) has no public call for this: it uses the private
        ``ExecutionEngine._slot.nextcall.schedule()``, which
        tests/test_scrapy_private_apis.py checks against the installed Scrapy. If a
        Scrapy release drops it, the crawl still works, only slower (the engine then
        waits for its heartbeat): warn once per crawl rather than slow down silently.
        """
        engine = self.crawler.engine
        if engine is None:
            return
        slot = getattr(engine, "_slot", None)
        schedule = getattr(getattr(slot, "nextcall", None), "schedule", None)
        if callable(schedule):
            schedule()
            return
        # A None slot is an engine between spiders (closing): nothing to wake, all is well.
        if (slot is not None or not hasattr(engine, "_slot")) and not getattr(
                self, "_wake_engine_warned", False):
            from scrapy import __version__ as scrapy_version

            self._wake_engine_warned = True
            log.warning(
                "Scrapy %s has no ExecutionEngine._slot.nextcall.schedule() (a private API "
                "crawler/pipelines/archive.py relies on): the engine now finds work only on "
                "its 5 s heartbeat after a scraper-bound stall, so this crawl may run slower",
                scrapy_version)

    def _write_batch(self, batch: list[_Pending]) -> list[StoreResult]:
        results = []
        with self.sessions.begin() as session:
            self.frontier.write(session, self.session_id,
                                [url for p in batch for url in p.item.request_urls])
            for pending in batch:
                results.append(self._write_one(session, pending.item))
        return results

    def _write_one(self, session: Any, item: PageItem) -> StoreResult:
        analysis = item.analysis
        fetch = FetchRecord(
            page_url=page_identity(item.final_url, analysis.canonical_url if analysis else None),
            url=item.url,
            final_url=item.final_url,
            status=item.status,
            headers=item.headers,
            body=item.body,
            fetched_at=item.fetched_at,
            source=item.source,
            discovered_via=item.discovered_via,
            encoding=None if analysis is None else analysis.encoding,
            packed=None if analysis is None else analysis.packed_body,
        )
        keep = analysis is not None and analysis.outcome == ARCHIVABLE
        article = analysis.article if keep else None
        outcome = analysis.outcome if analysis is not None else (
            REVISIT if item.body is None or item.revisit else "error")
        return record_fetch(session, fetch, article, run_id=self.run_id, outcome=outcome,
                            sources=self._sources)

    def _count(self, item: PageItem, result: StoreResult) -> None:
        inc = self.stats.inc_value
        inc("silkroad/pages_fetched")
        inc(f"silkroad/pages_{result.page_state}")
        per_source = f"silkroad/source/{item.source}"
        inc(f"{per_source}/fetched")
        if result.article_state == "new":
            inc("silkroad/articles_archived")
            inc(f"{per_source}/archived")
            if not item.analysis.article.published:
                inc(f"{per_source}/undated")
        elif result.article_state == "duplicate":
            inc("silkroad/duplicates")
            inc(f"{per_source}/duplicates")
        elif result.article_state == REVISIT:
            inc("silkroad/revisits")
        elif item.analysis is None:
            if item.body is not None and not item.revisit:
                inc(f"{per_source}/analysis_errors")
        elif item.analysis.outcome == OFF_TOPIC:
            inc("silkroad/off_topic")
            inc(f"{per_source}/off_topic")
            if not item.analysis.extracted:
                inc("silkroad/prefiltered")
                inc(f"{per_source}/prefiltered")
        elif item.analysis.outcome == NO_ARTICLE:
            inc("silkroad/no_article")
            inc(f"{per_source}/no_article")


def run_outcome(close_reason: str, store_errors: int) -> str:
    """How a crawl ended, from Scrapy's close reason."""
    if store_errors:
        return "failed"
    if close_reason == "finished" or close_reason.startswith("closespider_"):
        return "ok"
    if close_reason == "shutdown":
        return "interrupted"
    return "failed"
