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
import random
import time
from dataclasses import dataclass
from typing import Any

from scrapy import Request, signals
from scrapy.exceptions import DropItem
from scrapy.http import Response

from crawler.analysis.page_analysis import ARCHIVABLE, NO_ARTICLE, OFF_TOPIC
from crawler.extensions.archive_database import ArchiveDatabase, archive_database
from crawler.extensions.frontier_recorder import FrontierRecorder, FrontierWrites, write_taken
from crawler.extensions.run_record import RunRecord
from crawler.items import PageItem
from crawler.links.urls import canonical_url, host_key, page_identity
from crawler.pipelines.protocol_items import protocol_items
from crawler.signals import frontier_added, frontier_committed, frontier_done
from crawler.vocabulary import ArticleState, PageOutcome, PageState, SourceStat, Stat
from storage.archive import (
    REVISIT,
    FetchRecord,
    SourceCache,
    StoreResult,
    is_database_failure,
    is_write_conflict,
    record_fetch,
    record_store_error,
)

log = logging.getLogger(__name__)

ENGINE_WAKE_DELAY = 0.01  # seconds
BATCH_FAILURE_LIMIT = 3  # whole batches in a row that could not be written: the crawl stops
CONFLICT_ATTEMPTS = 5  # tries of a batch that concurrent writers keep rolling back (PostgreSQL)
CONFLICT_BACKOFF = 0.05  # seconds before the second try, doubled for each next one, jittered


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


class StoreFailed(DropItem):
    """The page could not be stored: rolled back alone and recorded as an error."""


@dataclass
class _Pending:
    item: PageItem
    future: asyncio.Future[StoreResult]


class ArchivePipeline:
    """Stores pages: batching, mapping items to records, counting, routing drops.

    The archive, the run and the frontier are the crawl's extensions
    (crawler/extensions/); this only writes into them.
    """

    def __init__(self, crawler: Any, database: ArchiveDatabase, run: RunRecord,
                 frontier: FrontierRecorder, batch_size: int, batch_seconds: float,
                 batch_bytes: int | None = None) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.database = database
        self.run = run
        self.frontier = frontier
        self.batch_size = max(1, batch_size)
        self.batch_seconds = batch_seconds
        self.batch_bytes = batch_bytes or crawler.settings.getint(
            "SCRAPER_SLOT_MAX_ACTIVE_SIZE", 5_000_000) // 4
        self._pending: list[_Pending] = []
        self._pending_bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._writes_in_flight = 0
        self._sources = SourceCache()
        self._batch_failures_in_a_row = 0

    @classmethod
    def from_crawler(cls, crawler: Any) -> ArchivePipeline:
        settings = crawler.settings
        pipeline = cls(
            crawler,
            archive_database(crawler),
            _extension(crawler, RunRecord),
            _extension(crawler, FrontierRecorder),
            settings.getint("SILKROAD_BATCH_SIZE", 50),
            settings.getfloat("SILKROAD_BATCH_SECONDS", 0.05),
            settings.getint("SILKROAD_BATCH_BYTES", 0) or None,
        )
        crawler.signals.connect(pipeline.frontier_done, signal=frontier_done)
        crawler.signals.connect(pipeline.frontier_done, signal=frontier_added)
        crawler.signals.connect(pipeline.response_received, signal=signals.response_received)
        return pipeline

    @property
    def run_id(self) -> int:
        return self.run.run_id

    @property
    def session_id(self) -> int:
        return self.run.session_id

    # -- lifecycle ---------------------------------------------------------------

    def open_spider(self) -> None:
        self.run.ensure_started()
        seeds = getattr(self.crawler.spider, "sources", None) or ()
        with self.database.sessions.begin() as session:
            self._sources.preload(session, [(source.name, source.language) for source in seeds])

    async def close_spider(self) -> None:
        await self._flush()

    # -- items -------------------------------------------------------------------

    def frontier_done(self) -> None:
        """The frontier recorder took new requests or URLs done; they go with the next
        batch (new requests are fetched only once written)."""
        self._schedule_flush()

    def response_received(self, response: Response, request: Request) -> None:
        """robots.txt and followed redirects go into the next batch, as fetched."""
        for item in protocol_items(response, request, self._source_of):
            future: asyncio.Future[StoreResult] = asyncio.get_running_loop().create_future()
            future.add_done_callback(lambda done: done.exception())  # counted, not awaited
            self._pending.append(_Pending(item, future))
            self._pending_bytes += len(item.body or b"")
        self._schedule_flush()

    def _source_of(self, url: str, request: Request) -> str:
        named = request.cb_kwargs.get("source_name")
        if named:
            return str(named)
        source_for = getattr(self.crawler.spider, "source_for", None)
        found = source_for(url, None) if source_for is not None else None
        return found.name if found is not None else host_key(url)

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
        if result.article_state == ArticleState.NEW:
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
        if result.article_state == ArticleState.DUPLICATE:
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
            results, committed, conflicts = await loop.run_in_executor(
                self.database.writer, self._write_batch, batch)
        except Exception as exc:
            self.frontier.settled()
            log.exception("could not write a batch of %d pages", len(batch))
            self.stats.inc_value(Stat.STORE_ERRORS, len(batch))
            self.stats.inc_value(Stat.BATCH_FAILURES)
            self._sources = SourceCache()  # ids created in the rolled-back batch are gone
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(DropItem(f"not stored: {exc}"))
            self._batch_failed()
            return
        finally:
            self._writes_in_flight -= 1
            if self._pending or self.frontier:
                self._schedule_flush()
        self._batch_failures_in_a_row = 0
        if conflicts:
            self.stats.inc_value(Stat.WRITE_CONFLICTS, conflicts)
        self.frontier.settled()
        self.crawler.signals.send_catch_log(frontier_committed, urls=committed.done,
                                            added=len(committed.pending)
                                            + len(committed.claimed))
        for pending, result in zip(batch, results, strict=True):
            self._count(pending.item, result)
            if result.error is not None:
                pending.future.set_exception(StoreFailed(f"not stored ({result.error}): "
                                                         f"{pending.item.url}"))
            else:
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

    def _batch_failed(self) -> None:
        """Whole batches failing in a row (disk full, database locked or broken): fetching
        more only loses more pages, so the crawl stops, failed."""
        self._batch_failures_in_a_row += 1
        if self._batch_failures_in_a_row != BATCH_FAILURE_LIMIT:
            return
        log.error("%d batches in a row could not be written to %s: stopping the crawl",
                  BATCH_FAILURE_LIMIT, self.database.db_url)
        engine = self.crawler.engine
        if engine is not None and getattr(engine, "spider", None) is not None:
            asyncio.ensure_future(engine.close_spider_async(reason="store_failed"))

    def _write_batch(self, batch: list[_Pending]
                     ) -> tuple[list[StoreResult], FrontierWrites, int]:
        """The batch's results, the frontier writes it committed, and how often it was
        written again from the start because PostgreSQL rolled it back for a concurrent
        writer's sake (a deadlock between two crawls storing the same texts): that is no
        page's fault and no failure of the database. Runs on the writer thread; the
        caller counts."""
        # Given back to the recorder if nothing commits; the pages' own requests are done
        # only with the pages, and stay pending for a resume if the batch is lost.
        writes = self.frontier.take()
        stored = [url for p in batch for url in p.item.request_urls]
        try:
            for conflicts in range(CONFLICT_ATTEMPTS - 1):
                try:
                    return (*self._write_attempt(batch, writes, stored), conflicts)
                except Exception as exc:
                    if not is_write_conflict(exc):
                        raise
                    self._sources = SourceCache()  # ids created in the rolled-back batch
                    delay = CONFLICT_BACKOFF * 2 ** conflicts * random.uniform(0.5, 1.5)
                    log.info("a concurrent writer rolled back a batch of %d pages (%s): "
                             "writing it again in %.2f s", len(batch), _reason(exc), delay)
                    time.sleep(delay)  # the writer thread's, not the reactor's
            return (*self._write_attempt(batch, writes, stored), CONFLICT_ATTEMPTS - 1)
        except Exception:
            self.frontier.restore(writes)
            raise

    def _write_attempt(self, batch: list[_Pending], writes: FrontierWrites, stored: list[str]
                       ) -> tuple[list[StoreResult], FrontierWrites]:
        """The batch in one transaction; if one of its pages cannot be stored, again with
        each page in a savepoint of its own (which costs every page about a sixth more
        when done always), so that page is rolled back alone and the rest commits."""
        try:
            return self._write_transaction(batch, writes, stored, isolated=False)
        except Exception as exc:
            if is_database_failure(exc) or is_write_conflict(exc):
                raise
            self._sources = SourceCache()  # ids created in the rolled-back transaction are gone
            log.warning("a page of a batch of %d could not be stored: writing them one by one",
                        len(batch))
        return self._write_transaction(batch, writes, stored, isolated=True)

    def _write_transaction(self, batch: list[_Pending], writes: FrontierWrites,
                           stored: list[str], *, isolated: bool
                           ) -> tuple[list[StoreResult], FrontierWrites]:
        """The pages and the frontier's writes in one transaction; what it committed
        (``done`` then names every URL marked done)."""
        write = self._write_isolated if isolated else self._write_one
        with self.database.sessions.begin() as session:
            done = write_taken(session, self.session_id, self.run_id, writes, stored)
            results = [write(session, p.item) for p in batch]
        return results, FrontierWrites(writes.pending, writes.claimed, done)

    def _write_isolated(self, session: Any, item: PageItem) -> StoreResult:
        """One page in its own savepoint: a page that cannot be stored is rolled back
        alone and recorded as an error. Errors of the database itself still fail the
        whole batch."""
        known = len(self._sources)
        try:
            with session.begin_nested():
                return self._write_one(session, item)
        except Exception as exc:
            if is_database_failure(exc) or is_write_conflict(exc):
                raise
            self._sources.forget_since(known)
            reason = _reason(exc)
            log.error("could not store %s, recorded as an error: %s", item.url, reason,
                      exc_info=log.isEnabledFor(logging.DEBUG))
            self._record_store_error(session, item)
            return StoreResult(PageState.ERROR, None, error=reason)

    def _record_store_error(self, session: Any, item: PageItem) -> None:
        known = len(self._sources)
        try:
            page_url = canonical_url(item.final_url)
        except ValueError:
            page_url = item.final_url
        fetch = FetchRecord(page_url=page_url, url=item.url, final_url=item.final_url,
                            status=item.status, headers={}, body=None,
                            fetched_at=item.fetched_at, source=item.source,
                            discovered_via=item.discovered_via)
        try:
            with session.begin_nested():
                record_store_error(session, fetch, run_id=self.run_id,
                                   source_id=self._sources.id_for(session, item.source))
        except Exception as exc:
            if is_database_failure(exc) or is_write_conflict(exc):
                raise
            self._sources.forget_since(known)
            log.error("could not record the store error of %s either: %s", item.url, exc)

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
        outcome = item.outcome or (analysis.outcome if analysis is not None else (
            REVISIT if item.body is None or item.revisit else PageOutcome.ERROR))
        return record_fetch(session, fetch, article, run_id=self.run_id, outcome=outcome,
                            sources=self._sources)

    def _count(self, item: PageItem, result: StoreResult) -> None:
        inc = self.stats.inc_value

        def per_source(counter: SourceStat) -> None:
            inc(Stat.source(item.source, counter))

        if item.outcome is not None and result.error is None:
            # Not pages: counted apart, so "pages fetched" still means pages.
            inc(Stat.ROBOTS_STORED if item.outcome == PageOutcome.ROBOTS
                else Stat.REDIRECTS_STORED)
            return
        inc(Stat.PAGES_FETCHED)
        per_source(SourceStat.FETCHED)
        if result.error is not None:
            inc(Stat.STORE_ERRORS)
            per_source(SourceStat.STORE_ERRORS)
            self.run.note_store_failure(item.url, result.error)
            return
        inc(Stat.pages(result.page_state))
        if result.article_state == ArticleState.NEW:
            inc(Stat.ARTICLES_ARCHIVED)
            per_source(SourceStat.ARCHIVED)
            if not item.analysis.article.published:
                per_source(SourceStat.UNDATED)
        elif result.article_state == ArticleState.DUPLICATE:
            inc(Stat.DUPLICATES)
            per_source(SourceStat.DUPLICATES)
        elif result.article_state == REVISIT:
            inc(Stat.REVISITS)
        elif item.analysis is None:
            if item.body is not None and not item.revisit:
                per_source(SourceStat.ANALYSIS_ERRORS)
        elif item.analysis.outcome == OFF_TOPIC:
            inc(Stat.OFF_TOPIC)
            per_source(SourceStat.OFF_TOPIC)
            if not item.analysis.extracted:
                inc(Stat.PREFILTERED)
                per_source(SourceStat.PREFILTERED)
        elif item.analysis.outcome == NO_ARTICLE:
            inc(Stat.NO_ARTICLE)
            per_source(SourceStat.NO_ARTICLE)


def _extension(crawler: Any, cls: type[Any]) -> Any:
    extension = crawler.get_extension(cls)
    if extension is None:
        raise RuntimeError(f"the {cls.__name__} extension is not enabled (EXTENSIONS)")
    return extension


def _reason(exc: Exception) -> str:
    """One short line: the driver's error rather than SQLAlchemy's statement and parameters."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).splitlines() or [""]
    return f"{type(cause).__name__}: {lines[0]}"[:300]
