"""Read at most the first SILKROAD_ROBOTSTXT_MAXSIZE bytes of a robots.txt.

Scrapy fetches robots.txt under the page limit, DOWNLOAD_MAXSIZE (16 MiB), and
parses all of it before the site's first page: a 15 MiB robots.txt took the
crawl to 1 GB. Like Google (500 KiB), we stop the download at the limit and
read the file up to its last complete line within it; the rules past it are
ignored, the rules before it obeyed. A compressed robots.txt is cut the same
way once decompressed.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.exceptions import StopDownload
from scrapy.http import Response

from crawler.vocabulary import Stat

log = logging.getLogger(__name__)

_RECEIVED = "silkroad_robots_bytes"


def is_robots_txt(request: Request) -> bool:
    return urlsplit(request.url).path == "/robots.txt"


def first_lines(body: bytes, limit: int) -> bytes:
    """``body`` cut to its last complete line within ``limit`` bytes."""
    if len(body) <= limit:
        return body
    head = body[:limit]
    return head[:head.rfind(b"\n") + 1]


class RobotsTxtSizeMiddleware:
    def __init__(self, limit: int, stats: Any) -> None:
        self.limit = limit
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> RobotsTxtSizeMiddleware:
        middleware = cls(crawler.settings.getint("SILKROAD_ROBOTSTXT_MAXSIZE", 512 * 1024),
                         crawler.stats)
        crawler.signals.connect(middleware.bytes_received, signal=signals.bytes_received)
        return middleware

    def process_request(self, request: Request) -> None:
        if is_robots_txt(request):
            request.meta[_RECEIVED] = 0  # a retry starts again

    def bytes_received(self, data: bytes, request: Request, spider: Any = None) -> None:
        """Stop a robots.txt download past the limit; what came so far is the response."""
        if not is_robots_txt(request):
            return
        received = request.meta.get(_RECEIVED, 0) + len(data)
        request.meta[_RECEIVED] = received
        if received > self.limit:
            raise StopDownload(fail=False)

    def process_response(self, request: Request, response: Response) -> Response:
        if not is_robots_txt(request) or len(response.body) <= self.limit:
            return response
        self.stats.inc_value(Stat.ROBOTS_TRUNCATED)
        log.warning("%s is over %d bytes: only its first %d bytes are read", request.url,
                    self.limit, self.limit)
        return response.replace(body=first_lines(response.body, self.limit))
