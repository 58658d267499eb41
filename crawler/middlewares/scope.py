"""Keep every request inside the seeds' scope, redirects included.

The spider follows only in-scope links, but Scrapy's RedirectMiddleware follows a
redirect wherever it points, so without this one page could send the crawl to
any site and file what it found there under its own source. Scrapy's
OffsiteMiddleware does not cover it: it reads the spider's ``allowed_domains``
(hosts without ports), and lets through every request marked ``dont_filter``,
which retried requests are, and their redirects after them.

A request is in scope when ``crawler.links.source_scope.SourceScope`` allows it: some source,
or its host is the host of one of the seeds' own URLs (a seed is fetched even
if its source's ``allowed_domains`` leave its host out). Requests are checked
before download rather than when scheduled, so that a refused one reaches the
spider's errback and the database frontier records it as done.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request
from scrapy.exceptions import IgnoreRequest

from crawler.links.source_scope import SourceScope
from crawler.links.urls import host_key
from crawler.vocabulary import Stat

log = logging.getLogger(__name__)


class OffScope(IgnoreRequest):
    """A request (a redirect, usually) that leaves every source's scope."""


class SourceScopeMiddleware:
    def __init__(self, stats: Any) -> None:
        self.stats = stats
        self.crawler: Any = None
        self._scope: SourceScope | None = None
        self._hosts_logged: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Any) -> SourceScopeMiddleware:
        middleware = cls(crawler.stats)
        middleware.crawler = crawler
        return middleware

    @property
    def scope(self) -> SourceScope | None:
        if self._scope is None:
            sources = getattr(getattr(self.crawler, "spider", None), "sources", None)
            if sources is None:
                return None  # not a seeds spider: nothing to scope by
            self._scope = SourceScope(sources)
        return self._scope

    def process_request(self, request: Request) -> None:
        scope = self.scope
        if scope is None or scope.allows(request.url):
            return
        self.stats.inc_value(Stat.OFF_SCOPE_REFUSED)
        host = host_key(request.url)
        if host not in self._hosts_logged:
            self._hosts_logged.add(host)
            via = request.meta.get("redirect_urls") or []
            log.info("not following %s: off scope%s", request.url,
                     f" (redirected from {via[-1]})" if via else "")
        raise OffScope(f"off scope: {request.url}")
