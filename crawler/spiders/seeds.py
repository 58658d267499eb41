"""The `seeds` spider: crawl the sources of a seeds file, within their hosts.

It only discovers and fetches; what a page holds is decided by the pipelines.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from twisted.python.failure import Failure

from crawler.discovery import (
    feed_links,
    is_feed_type,
    looks_like_feed,
    robots_sitemaps,
    sitemap_entries,
)
from crawler.items import PageItem
from crawler.link_priority import link_priority
from crawler.page_analysis import topic_profile
from crawler.seeds import DEFAULT_SEEDS_FILE, SeedsFile, Source, load_seeds
from crawler.timeutil import utcnow
from crawler.urls import canonical_url, host_key, in_scope

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
SEED_PRIORITY = 100
FEED_PRIORITY = 50


class SeedsSpider(scrapy.Spider):
    name = "seeds"

    def __init__(self, *args: Any, seeds_file: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seeds_file_arg = seeds_file
        self.seeds: SeedsFile | None = None
        self.link_extractor = LinkExtractor(unique=True, strip=True)

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> SeedsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        path = spider._seeds_file_arg or crawler.settings.get("SEEDS_FILE") or DEFAULT_SEEDS_FILE
        spider.seeds = load_seeds(path)
        return spider

    @property
    def sources(self) -> tuple[Source, ...]:
        assert self.seeds is not None
        return self.seeds.sources

    async def start(self) -> AsyncIterator[scrapy.Request]:
        robots_seen: set[str] = set()
        for source in self.sources:
            for url in source.urls:
                yield self._request(url, source, self.parse_page, "seed", SEED_PRIORITY)
            for url in source.feeds:
                yield self._request(url, source, self.parse_feed, "seed", SEED_PRIORITY)
            for url in source.sitemaps:
                yield self._request(url, source, self.parse_sitemap, "seed", SEED_PRIORITY)
            for url in source.start_urls():
                root = url.split("/", 3)[:3]
                robots = "/".join(root) + "/robots.txt"
                if host_key(robots) not in robots_seen:
                    robots_seen.add(host_key(robots))
                    yield self._request(robots, source, self.parse_robots, "seed", SEED_PRIORITY)

    def _request(
        self,
        url: str,
        source: Source,
        callback: Any,
        via: str,
        priority: int = 0,
    ) -> scrapy.Request:
        return scrapy.Request(
            canonical_url(url),
            callback=callback,
            errback=self.on_error,
            priority=priority,
            cb_kwargs={"source_name": source.name, "via": via},
            meta={"reached_as": url, "silkroad_page": callback == self.parse_page},
        )

    def source_for(self, url: str, default: str) -> Source | None:
        """The source a URL belongs to: the referring one first, else any that allows its host."""
        assert self.seeds is not None
        preferred = self.seeds.source(default)
        if in_scope(url, preferred.allowed_domains):
            return preferred
        for source in self.sources:
            if in_scope(url, source.allowed_domains):
                return source
        return None

    # -- callbacks -------------------------------------------------------------

    def parse_page(self, response: Response, source_name: str, via: str) -> Iterator[Any]:
        source = self.seeds.source(source_name)  # type: ignore[union-attr]
        if response.status == 304:
            yield self._page_item(response, source, via, body=None)
            return
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1").lower()
        if is_feed_type(content_type) or (
            "xml" in content_type and looks_like_feed(response.body)
        ):
            yield from self.parse_feed(response, source_name, via)
            return
        if not isinstance(response, TextResponse) or not (
            any(t in content_type for t in HTML_TYPES) or not content_type
        ):
            self.crawler.stats.inc_value("silkroad/skipped_not_html")
            return
        yield self._page_item(response, source, via, body=response.body)
        yield from self._follow_links(response, source)

    def _page_item(
        self, response: Response, source: Source, via: str, body: bytes | None
    ) -> PageItem:
        return PageItem(
            url=response.meta.get("reached_as", response.request.url),
            final_url=response.url,
            status=response.status,
            headers={
                k.decode("latin-1"): [v.decode("latin-1") for v in vs]
                for k, vs in response.headers.items()
            },
            body=body,
            fetched_at=utcnow(),
            source=source.name,
            language_hint=source.language,
            discovered_via=via,
            depth=response.meta.get("depth", 0),
            previous_digest=response.meta.get("silkroad_last_digest"),
        )

    def _follow_links(self, response: TextResponse, source: Source) -> Iterator[scrapy.Request]:
        profile = topic_profile()
        for href in response.xpath(
            "//link[@rel='alternate'][contains(@type,'rss') or contains(@type,'atom')]/@href"
        ).getall():
            url = response.urljoin(href)
            target = self.source_for(url, source.name)
            if target is not None:
                yield self._request(url, target, self.parse_feed, f"page:{response.url}", FEED_PRIORITY)
        for link in self.link_extractor.extract_links(response):
            target = self.source_for(link.url, source.name)
            if target is None:
                self.crawler.stats.inc_value("silkroad/links_off_scope")
                continue
            priority = link_priority(link.url, link.text or "", profile)
            yield self._request(link.url, target, self.parse_page, f"page:{response.url}", priority)

    def parse_feed(self, response: Response, source_name: str, via: str) -> Iterator[Any]:
        urls = feed_links(response.body, response.url)
        if not urls:
            self.crawler.stats.inc_value("silkroad/feeds_empty_or_broken")
        for url in urls:
            target = self.source_for(url, source_name)
            if target is not None:
                yield self._request(url, target, self.parse_page, f"feed:{response.url}",
                                    FEED_PRIORITY)

    def parse_sitemap(self, response: Response, source_name: str, via: str) -> Iterator[Any]:
        body = response.body
        if body[:2] == b"\x1f\x8b":
            from scrapy.utils.gz import gunzip

            max_size = self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
            try:
                body = gunzip(body, max_size=max_size)
            except Exception:  # noqa: BLE001 - any bad gzip is a broken sitemap
                log.warning("undecompressable sitemap %s", response.url)
                self.crawler.stats.inc_value("silkroad/sitemaps_broken")
                return
        kind, urls = sitemap_entries(body, response.url)
        if not kind:
            self.crawler.stats.inc_value("silkroad/sitemaps_broken")
        callback = self.parse_sitemap if kind == "sitemapindex" else self.parse_page
        for url in urls:
            target = self.source_for(url, source_name)
            if target is not None:
                yield self._request(url, target, callback, f"sitemap:{response.url}",
                                    FEED_PRIORITY)

    def parse_robots(self, response: Response, source_name: str, via: str) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            return
        for url in robots_sitemaps(response.text, response.url):
            target = self.source_for(url, source_name)
            if target is not None:
                yield self._request(url, target, self.parse_sitemap, f"robots:{response.url}",
                                    FEED_PRIORITY)

    def on_error(self, failure: Failure) -> None:
        self.crawler.stats.inc_value("silkroad/fetch_errors")
        request = getattr(failure, "request", None)
        log.info("fetch failed: %s (%s)", getattr(request, "url", "?"), failure.getErrorMessage())
