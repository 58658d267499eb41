"""The start requests of a seeds file, as frontier entries.

One list for both who start a crawl session: the ``seeds`` spider of a single
crawl (which turns each into a Scrapy request) and ``silkroad crawl --workers``,
which writes them into the session's frontier before its workers start. Free of
Scrapy, so the launcher does not load it.
"""

from __future__ import annotations

from collections.abc import Iterable

from crawler.links.urls import canonical_url, host_key
from crawler.seeds import Source
from crawler.vocabulary import FetchKind
from storage.frontier import PendingRequest

SEED_PRIORITY = 100
FEED_PRIORITY = 50


def seed_entries(sources: Iterable[Source], *, fetch_robots: bool) -> list[PendingRequest]:
    """Each source's pages, feeds and sitemaps, and (when Scrapy's robots.txt middleware
    is off) one robots.txt per host, read for its ``Sitemap:`` lines."""
    entries: list[PendingRequest] = []
    robots_seen: set[str] = set()
    for source in sources:
        for urls, kind in ((source.urls, FetchKind.PAGE), (source.feeds, FetchKind.FEED),
                           (source.sitemaps, FetchKind.SITEMAP)):
            entries += [_seed(url, kind, source) for url in urls]
        if not fetch_robots:
            continue
        for url in source.start_urls():
            robots = "/".join(url.split("/", 3)[:3]) + "/robots.txt"
            if host_key(robots) not in robots_seen:
                robots_seen.add(host_key(robots))
                entries.append(_seed(robots, FetchKind.ROBOTS, source))
    return entries


def _seed(url: str, kind: str, source: Source) -> PendingRequest:
    return PendingRequest(url=canonical_url(url), kind=str(kind), source=source.name,
                          via="seed", reached_as=url, priority=SEED_PRIORITY)
