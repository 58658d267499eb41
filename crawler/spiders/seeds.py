"""The `seeds` spider: crawl the sources of a seeds file, within their hosts.

It only discovers and fetches; what a page holds is decided by the pipelines.
Which request is fetched when, and by which crawl process, is the frontier
scheduler's (crawler/frontier_scheduler.py): it builds requests from the
session's frontier rows with :meth:`SeedsSpider.request_for`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gunzip
from twisted.python.failure import Failure

from crawler.analysis.page_analysis import profile_settings, topic_profile
from crawler.analysis.topic import TopicProfile
from crawler.extensions.prompt_close import CrawlClosing
from crawler.items import PageItem
from crawler.links.discovery import (
    feed_links,
    is_feed_type,
    looks_like_feed,
    robots_sitemaps,
    sitemap_entries,
)
from crawler.links.link_priority import link_priority
from crawler.links.seen_urls import SeenUrls
from crawler.links.source_scope import SourceScope
from crawler.links.urls import canonical_url
from crawler.seeds import DEFAULT_SEEDS_FILE, SeedsFile, Source, load_seeds
from crawler.signals import frontier_done
from crawler.spiders.page_links import BoundedLinkExtractor
from crawler.spiders.seed_requests import FEED_PRIORITY, SEED_PRIORITY, seed_entries
from crawler.timeutil import utcnow
from crawler.vocabulary import Stat
from storage.frontier import PendingRequest

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
__all__ = ["FEED_PRIORITY", "SEED_PRIORITY", "SeedsSpider"]


class SeedsSpider(scrapy.Spider):
    name = "seeds"

    def __init__(self, *args: Any, seeds_file: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seeds_file_arg = seeds_file
        self.seeds: SeedsFile | None = None
        self.link_extractor = BoundedLinkExtractor(1000, unique=True, strip=True)
        self.max_feed_entries = 1000
        self.max_sitemap_entries = 5000
        self.focused = True
        self.scope = SourceScope(())
        self.depth_limit = 0
        self.robots_via_middleware = False
        self.profile: TopicProfile | None = None
        self._linked = SeenUrls()

    @classmethod
    def update_settings(cls, settings: Any) -> None:
        """An honest User-Agent naming whoever runs the crawl (SILKROAD_CONTACT_URL)."""
        super().update_settings(settings)
        template = settings.get("USER_AGENT_TEMPLATE")
        user_agent_priority = settings.getpriority("USER_AGENT") or 0
        contact_priority = settings.getpriority("SILKROAD_CONTACT_URL") or 0
        if template and contact_priority > user_agent_priority:
            settings.set("USER_AGENT", template.format(contact=settings["SILKROAD_CONTACT_URL"]),
                         priority=contact_priority)

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> SeedsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        path = spider._seeds_file_arg or crawler.settings.get("SEEDS_FILE") or DEFAULT_SEEDS_FILE
        spider.seeds = load_seeds(path)
        spider.focused = crawler.settings.getbool("SILKROAD_FOCUSED_CRAWL", True)
        spider.scope = SourceScope(spider.seeds.sources)
        if spider.focused:  # loaded before the first response, not while it waits on the reactor
            spider.profile = topic_profile(*profile_settings(crawler.settings))
        spider.depth_limit = crawler.settings.getint("DEPTH_LIMIT")
        spider.link_extractor = BoundedLinkExtractor(
            crawler.settings.getint("SILKROAD_MAX_LINKS_PER_PAGE", 1000), unique=True, strip=True)
        spider.link_extractor.remember_links()
        spider.max_feed_entries = crawler.settings.getint("SILKROAD_MAX_FEED_ENTRIES", 1000)
        spider.max_sitemap_entries = crawler.settings.getint("SILKROAD_MAX_SITEMAP_ENTRIES", 5000)
        spider.robots_via_middleware = crawler.settings.getbool("ROBOTSTXT_OBEY")
        if spider.robots_via_middleware:
            crawler.signals.connect(spider.robots_parsed, signal=signals.robots_parsed)
        return spider

    @property
    def sources(self) -> tuple[Source, ...]:
        assert self.seeds is not None
        return self.seeds.sources

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """The seeds, unless this crawl joins a session whose launcher wrote them into the
        frontier (``SILKROAD_SESSION_ID``); a resumed session has them already, and the
        frontier keeps one row per URL."""
        if self.crawler.settings.get("SILKROAD_SESSION_ID"):
            return
        for entry in seed_entries(self.sources, fetch_robots=not self.robots_via_middleware):
            if request := self.request_for(entry):
                yield request

    def request_for(self, entry: PendingRequest) -> scrapy.Request | None:
        """The request for a frontier entry; None when this seeds file has no such source
        (a session started with another one) or the kind is unknown."""
        callback = self._callbacks().get(entry.kind)
        if callback is None or self.seeds is None or not self._known(entry.source):
            return None
        meta: dict[str, Any] = {"reached_as": entry.reached_as or entry.url,
                                "silkroad_page": entry.kind == "page",
                                "silkroad_kind": entry.kind}
        if entry.depth:
            meta["depth"] = entry.depth
        return scrapy.Request(entry.url, callback=callback, errback=self.on_error,
                              priority=entry.priority,
                              cb_kwargs={"source_name": entry.source, "via": entry.via},
                              meta=meta)

    def _known(self, name: str) -> bool:
        return any(source.name == name for source in self.sources)

    def _callbacks(self) -> dict[str, Any]:
        return {"page": self.parse_page, "feed": self.parse_feed,
                "sitemap": self.parse_sitemap, "robots": self.parse_robots}

    def _request(
        self,
        url: str,
        source: Source,
        callback: Any,
        via: str,
        priority: int = 0,
    ) -> scrapy.Request:
        """A request for ``url``; the frontier drops it if the session has it already."""
        target = canonical_url(url)
        kind = next(k for k, cb in self._callbacks().items() if cb == callback)
        return scrapy.Request(
            target,
            callback=callback,
            errback=self.on_error,
            priority=priority,
            cb_kwargs={"source_name": source.name, "via": via},
            meta={"reached_as": url, "silkroad_page": kind == "page", "silkroad_kind": kind},
        )

    def _handled(self, response: Response) -> None:
        """Tell the frontier a response that produced no page item is dealt with."""
        self.crawler.signals.send_catch_log(frontier_done, urls=_request_urls(response))

    def source_for(self, url: str, default: str) -> Source | None:
        """The source a URL belongs to: the referring one first, else any that allows its host."""
        return self.scope.source_for(url, default)  # type: ignore[return-value]

    def _links_wanted(self, response: Response) -> bool:
        """False at the depth limit, where Scrapy's DepthMiddleware would drop every link."""
        return not self.depth_limit or response.meta.get("depth", 0) < self.depth_limit

    # -- callbacks -------------------------------------------------------------
    # Each yields its new requests before its page item, and reports responses
    # without an item as handled last: the frontier must see a page's links
    # before the page itself counts as done.

    def parse_page(self, response: Response, source_name: str, via: str) -> Iterator[Any]:
        source = self.seeds.source(source_name)  # type: ignore[union-attr]
        if response.status == 304:
            yield self._page_item(response, source, via, body=None)
            return
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
        if is_feed_type(content_type) or (
            "xml" in content_type and looks_like_feed(response.body)
        ):
            yield from self.parse_feed(response, source_name, via)
            return
        if not isinstance(response, TextResponse) or not (
            any(t in content_type for t in HTML_TYPES) or not content_type
        ):
            self.crawler.stats.inc_value(Stat.SKIPPED_NOT_HTML)
            self._handled(response)
            return
        if self._links_wanted(response):
            yield from self._follow_links(response, source)
        yield self._page_item(response, source, via, body=response.body)

    def _page_item(
        self, response: Response, source: Source, via: str, body: bytes | None
    ) -> PageItem:
        return PageItem(
            url=response.meta.get("reached_as") or response.url,
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
            previous_digest=response.meta.get("silkroad_last_digest"),
            request_urls=_request_urls(response),
        )

    def _follow_links(self, response: TextResponse, source: Source) -> Iterator[scrapy.Request]:
        profile = self.profile
        via = f"page:{response.url}"
        links, hrefs, dropped = self.link_extractor.page_links(response)
        self._count_dropped("links_dropped", dropped, response.url)
        for href in hrefs:
            url = response.urljoin(href)
            if self._first_sighting(url) and (target := self.source_for(url, source.name)) and (
                request := self._request(url, target, self.parse_feed, via, FEED_PRIORITY)
            ):
                yield request
        for link in links:
            if not self._first_sighting(link.url):
                continue
            target = self.source_for(link.url, source.name)
            if target is None:
                self.crawler.stats.inc_value(Stat.LINKS_OFF_SCOPE)
                continue
            priority = (0 if profile is None
                        else link_priority(link.url, link.text or "", profile))
            if request := self._request(link.url, target, self.parse_page, via, priority):
                yield request

    def _first_sighting(self, url: str) -> bool:
        """Whether this process meets the link for the first time. A page repeats most
        of its site's links (navigation, lists of stories), and the frontier keeps the
        first request for a URL only: building, ranking and passing a request through
        the middlewares for every repeat cost a crawl worker more than fetching a page."""
        return self._linked.first(url)

    def _count_dropped(self, counter: str, dropped: int, url: str) -> None:
        if dropped > 0:
            self.crawler.stats.inc_value(Stat.named(counter), dropped)
            log.info("%s: %d entries past the cap not followed", url, dropped)

    def _follow_all(self, urls: list[str], source_name: str, callback: Any, via: str
                    ) -> Iterator[scrapy.Request]:
        for url in urls:
            target = self.source_for(url, source_name)
            if target is not None and (
                request := self._request(url, target, callback, via, FEED_PRIORITY)
            ):
                yield request

    def parse_feed(self, response: Response, source_name: str, via: str) -> Iterator[Any]:
        urls = feed_links(response.body, response.url, self.max_feed_entries)
        self._count_dropped("feed_entries_dropped", urls.dropped, response.url)
        if not urls:
            self.crawler.stats.inc_value(Stat.FEEDS_EMPTY_OR_BROKEN)
        yield from self._follow_all(urls, source_name, self.parse_page, f"feed:{response.url}")
        self._handled(response)

    def parse_sitemap(self, response: Response, source_name: str, via: str) -> Iterator[Any]:
        body = response.body
        if body[:2] == b"\x1f\x8b":
            try:
                body = gunzip(body, max_size=self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
            except Exception:  # noqa: BLE001 - any bad gzip is a broken sitemap
                log.warning("undecompressable sitemap %s", response.url)
                body = b""
        kind, urls = sitemap_entries(body, response.url, self.max_sitemap_entries)
        self._count_dropped("sitemap_entries_dropped", urls.dropped, response.url)
        if not kind:
            self.crawler.stats.inc_value(Stat.SITEMAPS_BROKEN)
        callback = self.parse_sitemap if kind == "sitemapindex" else self.parse_page
        yield from self._follow_all(urls, source_name, callback, f"sitemap:{response.url}")
        self._handled(response)

    def parse_robots(self, response: Response, source_name: str, via: str) -> Iterator[Any]:
        if isinstance(response, TextResponse):
            urls = robots_sitemaps(response.text, response.url, self.max_sitemap_entries)
            self._count_dropped("sitemap_entries_dropped", urls.dropped, response.url)
            yield from self._follow_all(urls, source_name, self.parse_sitemap,
                                        f"robots:{response.url}")
        self._handled(response)

    def robots_parsed(self, robotparser: Any, request: scrapy.Request) -> None:
        """Follow the ``Sitemap:`` lines of a robots.txt Scrapy fetched to obey it."""
        parts = urlsplit(request.url)
        robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
        source_name = request.cb_kwargs.get("source_name")
        if source_name is None or not self._known(source_name):
            return
        urls = robots_sitemap_urls(robotparser, robots_url)
        self._count_dropped("sitemap_entries_dropped",
                            len(urls) - self.max_sitemap_entries, robots_url)
        for sitemap in self._follow_all(urls[:self.max_sitemap_entries], source_name,
                                        self.parse_sitemap, f"robots:{robots_url}"):
            self.crawler.engine.crawl(sitemap)

    def on_error(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = getattr(request, "url", "?")
        source = request.cb_kwargs.get("source_name") if request is not None else None
        if failure.check(CrawlClosing):
            return  # still pending in the frontier: a resumed crawl fetches it
        # HttpError (4xx/5xx) is a subclass of IgnoreRequest: check it first.
        if failure.check(HttpError):
            kind = "http_errors"
            log.info("HTTP error: %s (%s)", url, failure.getErrorMessage())
        elif failure.check(IgnoreRequest):
            kind = "robots_denied"  # Scrapy counts these too (robotstxt/forbidden)
            log.debug("not fetched: %s (%s)", url, failure.getErrorMessage())
        else:
            kind = "fetch_errors"
            log.info("fetch failed: %s (%s)", url, failure.getErrorMessage())
        self.crawler.stats.inc_value(Stat.named(kind))
        if source:
            self.crawler.stats.inc_value(Stat.source(source, kind))
        if request is not None:
            # Failed work is done for this session; the next fresh crawl tries again.
            self.crawler.signals.send_catch_log(frontier_done, urls=[request.url])


def robots_sitemap_urls(robotparser: Any, robots_url: str) -> list[str]:
    """The sitemaps a parsed robots.txt names, whichever of Scrapy's parsers read it."""
    parsed = getattr(robotparser, "rp", None)
    if callable(getattr(parsed, "site_maps", None)):  # urllib.robotparser
        found = parsed.site_maps() or []
    else:  # Protego (Scrapy's default), robotexclusionrulesparser
        found = getattr(parsed, "sitemaps", None) or []
    return [urljoin(robots_url, url.strip()) for url in found if url.strip()]


def _request_urls(response: Response) -> list[str]:
    """Every URL the request for this response was scheduled under (redirects too)."""
    request = response.request
    return [*response.meta.get("redirect_urls", []), *([request.url] if request else [])]
