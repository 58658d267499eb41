"""A crawl that is closing stops fetching at once.

When the page budget is reached (CLOSESPIDER_PAGECOUNT) or SIGTERM arrives,
Scrapy stops taking requests from the scheduler but still downloads every
request already handed to the downloader: up to CONCURRENT_REQUESTS (64), each
waiting out its site's delay. On one site with the shipped 0.5 s delay that is
half a minute of fetching past a ``--max-pages 12`` budget, and a SIGTERM not
honoured for as long. So once closing, the requests still queued behind a
delay are failed with :class:`CrawlClosing`; the spider leaves them pending in
the frontier, where a resumed crawl finds them. Downloads under way finish.
``-s SILKROAD_PROMPT_CLOSE=False`` restores Scrapy's own drain.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from twisted.internet import task
from twisted.python.failure import Failure

from crawler.vocabulary import Stat

log = logging.getLogger(__name__)

CHECK_SECONDS = 0.2


class CrawlClosing(IgnoreRequest):
    """Not fetched: the crawl was closing."""


class PromptClose:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.loop = task.LoopingCall(self.check)
        self._warned = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> PromptClose:
        if not crawler.settings.getbool("SILKROAD_PROMPT_CLOSE", True):
            raise NotConfigured("SILKROAD_PROMPT_CLOSE is off")
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
        """Scrapy (2.18-2.19) tells a closing engine only by the private
        ``ExecutionEngine._slot.closing``, which tests/test_scrapy_private_apis.py checks
        against the installed Scrapy. If a release drops it, the crawl still closes, only
        later (queued requests are fetched first): warn once rather than do so silently."""
        engine = self.crawler.engine
        if engine is None:
            return
        slot = getattr(engine, "_slot", None)
        if (slot is None and not hasattr(engine, "_slot")) or (
                slot is not None and not hasattr(slot, "closing")):
            self._warn_missing_api()
            return
        if slot is None or slot.closing is None:
            return  # between spiders, or open and not closing
        dropped = drain_downloader(engine.downloader)
        if dropped:
            self.crawler.stats.inc_value(Stat.UNFETCHED_AT_CLOSE, dropped)
            log.info("closing: %d queued request(s) not fetched", dropped)

    def _warn_missing_api(self) -> None:
        if self._warned:
            return
        from scrapy import __version__ as scrapy_version

        self._warned = True
        log.warning(
            "Scrapy %s has no ExecutionEngine._slot.closing (a private API "
            "crawler/extensions/prompt_close.py relies on): a closing crawl now fetches the "
            "requests already queued before it stops", scrapy_version)


def drain_downloader(downloader: Any) -> int:
    """Fail every request waiting in a download slot's queue; the number failed."""
    dropped = 0
    for slot in list(downloader.slots.values()):
        while slot.queue:
            request, deferred = slot.queue.popleft()
            if deferred.called:  # its download was cancelled (the engine is closing too)
                continue
            deferred.errback(Failure(CrawlClosing(f"crawl closing: {request.url} not fetched")))
            dropped += 1
    return dropped
