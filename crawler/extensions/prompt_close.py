"""A crawl that is closing stops fetching at once.

When the page budget is reached (CLOSESPIDER_PAGECOUNT) or SIGTERM arrives,
Scrapy stops taking requests from the scheduler but still downloads every
request already handed to the downloader: up to CONCURRENT_REQUESTS (64), each
waiting out its site's delay. On one site with the shipped 0.5 s delay that is
half a minute of fetching past a ``--max-pages 12`` budget, and a SIGTERM not
honoured for as long. So once closing, the requests still queued behind a
delay are failed with :class:`CrawlClosing`; the spider leaves them pending in
the frontier, where a resumed crawl finds them. Downloads under way finish.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from twisted.internet import task
from twisted.python.failure import Failure

log = logging.getLogger(__name__)

CHECK_SECONDS = 0.2


class CrawlClosing(IgnoreRequest):
    """Not fetched: the crawl was closing."""


class PromptClose:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.loop = task.LoopingCall(self.check)

    @classmethod
    def from_crawler(cls, crawler: Any) -> PromptClose:
        extension = cls(crawler)
        crawler.signals.connect(extension.opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.closed, signal=signals.spider_closed)
        return extension

    def opened(self) -> None:
        self.loop.start(CHECK_SECONDS, now=False)

    def closed(self) -> None:
        if self.loop.running:
            self.loop.stop()

    def check(self) -> None:
        engine = self.crawler.engine
        slot = getattr(engine, "_slot", None)
        if engine is None or slot is None or slot.closing is None:
            return
        dropped = drain_downloader(engine.downloader)
        if dropped:
            self.crawler.stats.inc_value("silkroad/unfetched_at_close", dropped)
            log.info("closing: %d queued request(s) not fetched", dropped)


def drain_downloader(downloader: Any) -> int:
    """Fail every request waiting in a download slot's queue; the number failed."""
    dropped = 0
    for slot in list(downloader.slots.values()):
        while slot.queue:
            request, deferred = slot.queue.popleft()
            deferred.errback(Failure(CrawlClosing(f"crawl closing: {request.url} not fetched")))
            dropped += 1
    return dropped
