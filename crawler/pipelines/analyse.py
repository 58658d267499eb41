"""Pipeline step 1: decode, extract, score and hash each page, off the reactor."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scrapy import signals

from crawler.analysis.fingerprint import body_digest
from crawler.analysis.page_analysis import profile_settings
from crawler.items import PageItem
from crawler.pipelines.extraction_pool import ExtractionPool
from crawler.vocabulary import Stat

log = logging.getLogger(__name__)


class AnalysePipeline:
    def __init__(self, pool: ExtractionPool, stats: Any) -> None:
        self.pool = pool
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> AnalysePipeline:
        settings = crawler.settings
        processes = settings.get("SILKROAD_EXTRACT_PROCESSES")
        profile_path, threshold = profile_settings(settings)
        pool = ExtractionPool(
            None if processes in (None, "") else int(processes),
            profile_path=profile_path,
            threshold=threshold,
            prefilter=settings.getbool("SILKROAD_TOPIC_PREFILTER"),
        )
        pipeline = cls(pool, crawler.stats)
        # Workers exit while the run is recorded; the crawl waits for them before it ends,
        # on a thread: blocking the reactor here for a second or more made Scrapy's timer
        # that closes its HTTP connections fire after they had closed (AlreadyCalledError).
        crawler.signals.connect(pipeline.join_pool, signal=signals.engine_stopped)
        return pipeline

    async def join_pool(self) -> None:
        await asyncio.to_thread(self.pool.join)

    def open_spider(self) -> None:
        self.pool.start()

    def close_spider(self) -> None:
        self.pool.shutdown(wait=False)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageItem) or item.body is None:
            return item
        if item.previous_digest is not None and body_digest(item.body) == item.previous_digest:
            self.stats.inc_value(Stat.REVISITS_SAME_DIGEST)
            item.revisit = True
            return item  # unchanged bytes: nothing new to analyse
        content_type = next(
            (v[0] for k, v in item.headers.items() if k.lower() == "content-type" and v), None
        )
        try:
            item.analysis = await self.pool.analyse(
                item.body, item.final_url, content_type, item.language_hint
            )
        except Exception:
            # The page is still archived raw; `silkroad reprocess` can retry it.
            log.exception("analysis failed for %s", item.url)
            self.stats.inc_value(Stat.ANALYSIS_ERRORS)
        return item
