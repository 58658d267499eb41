"""A link farm on loopback: every page carries 50,000 in-scope links to new pages.

Pages are generated on request (``/farm/N.html`` links ``/farm/M.html`` for the
next 50,000 M), so nothing large is committed and the farm never ends. Built on
the hostile web, whose servers are the demo web's (crawler/demo/loopback_server.py).
``ReactorLagProbe`` is a Scrapy extension that records the longest time the reactor
did not get to run a 50 ms timer, the measure of how long one page's work blocks
the crawl (and its SIGTERM handler).
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path
from typing import Any

from scrapy import signals
from twisted.internet import task

from tests.hostile_server import HTML, Exchange, HostileWeb

ADDRESS = "127.0.0.91"
LINKS_PER_PAGE = 50_000
_FARM_PAGE = re.compile(r"^/farm/(\d+)\.html$")
log = logging.getLogger(__name__)


def farm_page(number: int, links: int = LINKS_PER_PAGE) -> bytes:
    first = number * links + 1
    anchors = "".join(f'<li><a href="/farm/{n}.html">Story {n} of the farm</a></li>\n'
                      for n in range(first, first + links))
    return (f"<!DOCTYPE html><html><head><title>Farm page {number}</title></head>"
            f"<body><h1>Farm page {number}</h1><ul>{anchors}</ul></body></html>").encode()


class _EveryPath(dict):  # type: ignore[type-arg]
    """Routes of the farm site: any /farm/N.html is a generated page."""

    def get(self, key: Any, default: Any = None) -> Any:
        if (found := super().get(key)) is not None:
            return found
        match = _FARM_PAGE.match(key[1]) if key[0] == "farm" else None
        return _serve_farm(int(match.group(1))) if match else default


def _serve_farm(number: int) -> Any:
    def handle(ex: Exchange) -> None:
        ex.send(200, farm_page(number), {"Content-Type": HTML})
    return handle


def link_farm_web() -> HostileWeb:
    web = HostileWeb({"farm": ADDRESS})
    web.routes = _EveryPath()
    return web


def farm_seeds(web: HostileWeb, dest: Path) -> Path:
    dest.write_text(f'[[sources]]\nname = "Link Farm"\nurls = ["{web.base_url("farm")}'
                    f'/farm/0.html"]\n', encoding="utf-8")
    return dest


class ReactorLagProbe:
    """Writes the longest reactor stall (seconds) to SILKROAD_LAG_FILE when the spider closes."""

    INTERVAL = 0.05

    def __init__(self, path: str) -> None:
        self.path = path
        self.worst = 0.0
        self.last = time.monotonic()
        self.loop = task.LoopingCall(self._tick)

    @classmethod
    def from_crawler(cls, crawler: Any) -> ReactorLagProbe:
        probe = cls(crawler.settings.get("SILKROAD_LAG_FILE"))
        crawler.signals.connect(probe.opened, signal=signals.spider_opened)
        crawler.signals.connect(probe.closed, signal=signals.spider_closed)
        return probe

    def _tick(self) -> None:
        now = time.monotonic()
        stall = now - self.last - self.INTERVAL
        if stall > 0.25:
            log.warning("reactor stalled %.0f ms", stall * 1000)
        self.worst = max(self.worst, stall)
        self.last = now
        Path(self.path).write_text(json.dumps({"worst_stall_s": self.worst}))

    def opened(self, spider: Any = None) -> None:
        self.last = time.monotonic()
        self.loop.start(self.INTERVAL, now=False)

    def closed(self, spider: Any = None) -> None:
        if self.loop.running:
            self.loop.stop()
