"""The seeds spider's callbacks in process, on hand-built responses (Scrapy's own habit).

No download, no reactor: a crawler from ``scrapy.utils.test.get_crawler``, a spider
from its ``from_crawler``, and responses built around the requests the spider made.
What comes out is checked: requests (URL, callback, priority, cb_kwargs, meta),
page items, stats, and the URLs reported done to the frontier.
"""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler.extensions.prompt_close import CrawlClosing
from crawler.items import PageItem
from crawler.signals import frontier_done
from crawler.spiders.seeds import FEED_PRIORITY, SEED_PRIORITY, SeedsSpider
from storage.frontier import PendingRequest

NEWS = "http://news.example"
WIRE = "http://wire.example"
SEEDS = f"""
[[sources]]
name = "News"
urls = ["{NEWS}/"]
language = "en"
feeds = ["{NEWS}/rss.xml"]
sitemaps = ["{NEWS}/sitemap.xml"]

[[sources]]
name = "Wire"
urls = ["{WIRE}/start"]
"""
HTML = {"Content-Type": "text/html; charset=utf-8"}


@pytest.fixture
def make_spider(tmp_path: Path) -> Any:
    """A spider as a crawl's ``from_crawler`` builds it; ``done`` collects frontier_done."""
    seeds = tmp_path / "seeds.toml"
    seeds.write_text(SEEDS, encoding="utf-8")

    def make(**settings: Any) -> SeedsSpider:
        crawler = get_crawler(SeedsSpider, {"SEEDS_FILE": str(seeds), **settings})
        spider = SeedsSpider.from_crawler(crawler)
        spider.done = []  # type: ignore[attr-defined]
        crawler.signals.connect(lambda urls: spider.done.extend(urls),  # type: ignore[attr-defined]
                                signal=frontier_done, weak=False)
        return spider
    return make


@pytest.fixture
def spider(make_spider: Any) -> SeedsSpider:
    return make_spider()  # type: ignore[no-any-return]


def request_for(spider: SeedsSpider, url: str, callback: Any, source: str = "News",
                via: str = "seed", **meta: Any) -> Request:
    """The request the spider itself would make for ``url``."""
    made = spider._request(url, spider.seeds.source(source), callback, via)  # type: ignore[union-attr]
    assert made is not None
    made.meta.update(meta)
    return made


def call(request: Request, response: Response) -> list[Any]:
    """Run a request's callback on a response, as Scrapy's scraper would."""
    return list(request.callback(response, **request.cb_kwargs))


def html_response(request: Request, body: str, status: int = 200,
                  headers: dict[str, str] | None = None) -> HtmlResponse:
    return HtmlResponse(request.url, status=status, body=body.encode("utf-8"),
                        headers=headers or HTML, request=request)


async def start_requests(spider: SeedsSpider) -> list[Request]:
    return [request async for request in spider.start()]


# -- start -------------------------------------------------------------------------------


def test_start_seeds_every_source_with_its_callback_and_one_robots_per_host(
        spider: SeedsSpider) -> None:
    requests = asyncio.run(start_requests(spider))
    by_url = {r.url: r for r in requests}
    assert list(by_url) == [f"{NEWS}/", f"{NEWS}/rss.xml", f"{NEWS}/sitemap.xml",
                            f"{NEWS}/robots.txt", f"{WIRE}/start", f"{WIRE}/robots.txt"]
    expected = {f"{NEWS}/": spider.parse_page, f"{NEWS}/rss.xml": spider.parse_feed,
                f"{NEWS}/sitemap.xml": spider.parse_sitemap,
                f"{NEWS}/robots.txt": spider.parse_robots}
    for url, callback in expected.items():
        assert by_url[url].callback == callback
    for request in requests:
        assert request.priority == SEED_PRIORITY
        assert request.errback == spider.on_error
        assert request.cb_kwargs["via"] == "seed"
        assert request.meta["reached_as"] == request.url
    assert by_url[f"{WIRE}/start"].cb_kwargs["source_name"] == "Wire"
    assert by_url[f"{NEWS}/"].meta["silkroad_page"] is True
    assert by_url[f"{NEWS}/rss.xml"].meta == {
        "reached_as": f"{NEWS}/rss.xml", "silkroad_page": False, "silkroad_kind": "feed"}


def test_start_leaves_robots_to_scrapy_when_it_obeys_them(make_spider: Any) -> None:
    spider = make_spider(ROBOTSTXT_OBEY=True)
    urls = [r.url for r in asyncio.run(start_requests(spider))]
    assert not [url for url in urls if url.endswith("/robots.txt")]


def test_a_worker_joining_a_session_leaves_the_seeds_to_its_launcher(make_spider: Any) -> None:
    assert asyncio.run(start_requests(make_spider(SILKROAD_SESSION_ID=7))) == []


def test_frontier_entries_become_the_requests_the_spider_would_make(spider: SeedsSpider) -> None:
    made = request_for(spider, f"{NEWS}/a.html", spider.parse_page, via=f"feed:{NEWS}/rss.xml")
    entry = PendingRequest(made.url, "page", "News", via=f"feed:{NEWS}/rss.xml",
                           reached_as=made.url, priority=made.priority, depth=2)
    rebuilt = spider.request_for(entry)
    assert rebuilt is not None
    assert (rebuilt.url, rebuilt.callback, rebuilt.errback, rebuilt.cb_kwargs) == (
        made.url, made.callback, made.errback, made.cb_kwargs)
    assert rebuilt.meta == {**made.meta, "depth": 2}
    assert spider.request_for(PendingRequest(made.url, "page", "Gone")) is None
    assert spider.request_for(PendingRequest(made.url, "video", "News")) is None


# -- parse_page ---------------------------------------------------------------------------


PAGE = f"""<html><head><title>News</title></head><body>
<a href="/2024/05/china-kazakhstan-pipeline-deal.html">China and Kazakhstan sign pipeline deal</a>
<a href="/tag/sports?page=2">More sports</a>
<a href="{WIRE}/story">A wire story</a>
<a href="https://elsewhere.example/x">Off scope</a>
<link rel="alternate" type="application/rss+xml" href="/feed.xml">
</body></html>"""


def test_parse_page_follows_links_in_scope_then_yields_the_page(spider: SeedsSpider) -> None:
    request = request_for(spider, f"{NEWS}/", spider.parse_page, depth=1)
    out = call(request, html_response(request, PAGE))
    requests, items = out[:-1], out[-1:]
    assert all(isinstance(r, Request) for r in requests)
    assert isinstance(items[0], PageItem)
    by_url = {r.url: r for r in requests}
    article = f"{NEWS}/2024/05/china-kazakhstan-pipeline-deal.html"
    assert set(by_url) == {f"{NEWS}/feed.xml", article, f"{NEWS}/tag/sports?page=2",
                           f"{WIRE}/story"}
    feed = by_url[f"{NEWS}/feed.xml"]
    assert feed.callback == spider.parse_feed and feed.priority == FEED_PRIORITY
    story = by_url[article]
    assert story.callback == spider.parse_page
    assert story.cb_kwargs == {"source_name": "News", "via": f"page:{NEWS}/"}
    # Topic-focused: the on-topic article outranks a pagination page of sports.
    assert story.priority > by_url[f"{NEWS}/tag/sports?page=2"].priority
    # A link to another source's host is that source's.
    assert by_url[f"{WIRE}/story"].cb_kwargs["source_name"] == "Wire"
    assert spider.crawler.stats.get_value("silkroad/links_off_scope") == 1
    item = items[0]
    assert (item.url, item.final_url, item.status, item.source) == (f"{NEWS}/", f"{NEWS}/", 200,
                                                                    "News")
    assert item.language_hint == "en" and item.discovered_via == "seed"
    assert item.body == PAGE.encode() and item.request_urls == [f"{NEWS}/"]
    assert item.headers["Content-Type"] == ["text/html; charset=utf-8"]
    assert spider.done == []  # a page item: the archive reports it done once stored


def test_a_link_met_again_is_not_requested_again(spider: SeedsSpider) -> None:
    """Pages repeat their site's links; the frontier keeps the first request for a URL,
    so the spider builds none for a link it has followed (or ruled out) before."""
    first = request_for(spider, f"{NEWS}/", spider.parse_page, depth=1)
    call(first, html_response(first, PAGE))
    again = request_for(spider, f"{NEWS}/more", spider.parse_page, depth=1)
    page = PAGE.replace("</body>", '<a href="/2024/06/new-corridor.html">New</a></body>')
    out = call(again, html_response(again, page))
    assert [r.url for r in out if isinstance(r, Request)] == [f"{NEWS}/2024/06/new-corridor.html"]
    assert isinstance(out[-1], PageItem)
    assert spider.crawler.stats.get_value("silkroad/links_off_scope") == 1


def test_parse_page_unfocused_gives_links_no_topic_priority(make_spider: Any) -> None:
    spider = make_spider(SILKROAD_FOCUSED_CRAWL=False)
    request = request_for(spider, f"{NEWS}/", spider.parse_page)
    pages = [r for r in call(request, html_response(request, PAGE))
             if isinstance(r, Request) and r.callback == spider.parse_page]
    assert pages and {r.priority for r in pages} == {0}


def test_parse_page_at_the_depth_limit_yields_only_the_page(make_spider: Any) -> None:
    spider = make_spider(DEPTH_LIMIT=2)
    request = request_for(spider, f"{NEWS}/", spider.parse_page, depth=2)
    out = call(request, html_response(request, PAGE))
    assert len(out) == 1 and isinstance(out[0], PageItem)


def test_parse_page_caps_links_per_page(make_spider: Any) -> None:
    spider = make_spider(SILKROAD_MAX_LINKS_PER_PAGE=3)
    links = "".join(f'<a href="/a/{n}.html">Story {n}</a>' for n in range(10))
    request = request_for(spider, f"{NEWS}/", spider.parse_page)
    out = call(request, html_response(request, f"<html><body>{links}</body></html>"))
    assert [r.url for r in out if isinstance(r, Request)] == [f"{NEWS}/a/{n}.html"
                                                             for n in range(3)]
    assert spider.crawler.stats.get_value("silkroad/links_dropped") == 7


def test_parse_page_skips_what_is_not_html(spider: SeedsSpider) -> None:
    request = request_for(spider, f"{NEWS}/report.pdf", spider.parse_page)
    response = Response(request.url, body=b"%PDF-1.4", request=request,
                        headers={"Content-Type": "application/pdf"})
    assert call(request, response) == []
    assert spider.crawler.stats.get_value("silkroad/skipped_not_html") == 1
    assert spider.done == [f"{NEWS}/report.pdf"]


def test_parse_page_of_a_304_is_a_bodiless_page_item(spider: SeedsSpider) -> None:
    request = request_for(spider, f"{NEWS}/a.html", spider.parse_page,
                          silkroad_last_digest="abc")
    [item] = call(request, HtmlResponse(request.url, status=304, request=request))
    assert isinstance(item, PageItem)
    assert item.status == 304 and item.body is None and item.previous_digest == "abc"


def test_parse_page_after_a_redirect_names_both_urls(spider: SeedsSpider) -> None:
    request = request_for(spider, f"{NEWS}/old", spider.parse_page,
                          redirect_urls=[f"{NEWS}/old"])
    request = request.replace(url=f"{NEWS}/new")
    [item] = [o for o in call(request, html_response(request, "<p>moved</p>"))
              if isinstance(o, PageItem)]
    assert item.url == f"{NEWS}/old" and item.final_url == f"{NEWS}/new"
    assert item.request_urls == [f"{NEWS}/old", f"{NEWS}/new"]


RSS = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>
<item><title>One</title><link>{NEWS}/one.html</link></item>
<item><title>Two</title><link>{NEWS}/two.html</link></item>
<item><title>Out</title><link>https://elsewhere.example/three.html</link></item>
</channel></rss>"""


def test_parse_page_hands_a_feed_to_parse_feed(spider: SeedsSpider) -> None:
    request = request_for(spider, f"{NEWS}/news", spider.parse_page)
    response = XmlResponse(request.url, body=RSS.encode(), request=request,
                           headers={"Content-Type": "application/rss+xml"})
    urls = [r.url for r in call(request, response)]
    assert urls == [f"{NEWS}/one.html", f"{NEWS}/two.html"]
    assert spider.done == [f"{NEWS}/news"]


# -- feeds, sitemaps, robots -----------------------------------------------------------------


def test_parse_feed_follows_entries_in_scope_and_reports_the_feed_done(
        spider: SeedsSpider) -> None:
    request = request_for(spider, f"{NEWS}/rss.xml", spider.parse_feed)
    out = call(request, XmlResponse(request.url, body=RSS.encode(), request=request))
    assert [r.url for r in out] == [f"{NEWS}/one.html", f"{NEWS}/two.html"]
    for r in out:
        assert r.callback == spider.parse_page and r.priority == FEED_PRIORITY
        assert r.cb_kwargs == {"source_name": "News", "via": f"feed:{NEWS}/rss.xml"}
    assert spider.done == [f"{NEWS}/rss.xml"]


def test_parse_feed_caps_and_counts_entries(make_spider: Any) -> None:
    spider = make_spider(SILKROAD_MAX_FEED_ENTRIES=1)
    request = request_for(spider, f"{NEWS}/rss.xml", spider.parse_feed)
    out = call(request, XmlResponse(request.url, body=RSS.encode(), request=request))
    assert [r.url for r in out] == [f"{NEWS}/one.html"]
    assert spider.crawler.stats.get_value("silkroad/feed_entries_dropped") >= 1


def test_parse_feed_counts_a_broken_feed(spider: SeedsSpider) -> None:
    request = request_for(spider, f"{NEWS}/rss.xml", spider.parse_feed)
    assert call(request, XmlResponse(request.url, body=b"<rss", request=request)) == []
    assert spider.crawler.stats.get_value("silkroad/feeds_empty_or_broken") == 1
    assert spider.done == [f"{NEWS}/rss.xml"]


SITEMAP_INDEX = f"""<?xml version="1.0"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{NEWS}/sitemap-1.xml.gz</loc></sitemap></sitemapindex>"""
URLSET = f"""<?xml version="1.0"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>{NEWS}/a.html</loc></url><url><loc>{WIRE}/b.html</loc></url></urlset>"""


def test_parse_sitemap_follows_an_index_to_sitemaps_and_a_urlset_to_pages(
        spider: SeedsSpider) -> None:
    index = request_for(spider, f"{NEWS}/sitemap.xml", spider.parse_sitemap)
    [child] = call(index, XmlResponse(index.url, body=SITEMAP_INDEX.encode(), request=index))
    assert child.url == f"{NEWS}/sitemap-1.xml.gz" and child.callback == spider.parse_sitemap
    assert child.cb_kwargs["via"] == f"sitemap:{NEWS}/sitemap.xml"
    gzipped = Response(child.url, body=gzip.compress(URLSET.encode()), request=child)
    pages = call(child, gzipped)
    assert [(r.url, r.cb_kwargs["source_name"]) for r in pages] == [
        (f"{NEWS}/a.html", "News"), (f"{WIRE}/b.html", "Wire")]
    assert all(r.callback == spider.parse_page and r.priority == FEED_PRIORITY for r in pages)
    assert spider.done == [f"{NEWS}/sitemap.xml", f"{NEWS}/sitemap-1.xml.gz"]


def test_parse_sitemap_counts_a_broken_one(spider: SeedsSpider) -> None:
    request = request_for(spider, f"{NEWS}/sitemap.xml", spider.parse_sitemap)
    bad_gzip = Response(request.url, body=b"\x1f\x8bnot gzip", request=request)
    assert call(request, bad_gzip) == []
    assert spider.crawler.stats.get_value("silkroad/sitemaps_broken") == 1


def test_parse_robots_follows_its_sitemaps(spider: SeedsSpider) -> None:
    request = request_for(spider, f"{NEWS}/robots.txt", spider.parse_robots)
    body = f"User-agent: *\nDisallow: /private\nSitemap: {NEWS}/sitemap-news.xml\n" \
           "Sitemap: https://elsewhere.example/sitemap.xml\n"
    response = TextResponse(request.url, body=body.encode(), encoding="utf-8", request=request)
    [sitemap] = call(request, response)
    assert sitemap.url == f"{NEWS}/sitemap-news.xml" and sitemap.callback == spider.parse_sitemap
    assert sitemap.cb_kwargs == {"source_name": "News", "via": f"robots:{NEWS}/robots.txt"}
    assert spider.done == [f"{NEWS}/robots.txt"]


def test_robots_parsed_crawls_the_sitemaps_scrapy_read(spider: SeedsSpider) -> None:
    crawled: list[Request] = []
    spider.crawler.engine = SimpleNamespace(crawl=crawled.append)  # type: ignore[assignment]
    parser = SimpleNamespace(rp=SimpleNamespace(sitemaps=[f"{NEWS}/s1.xml", "/s2.xml"]))
    seed = request_for(spider, f"{NEWS}/deep/page", spider.parse_page)
    spider.robots_parsed(parser, seed)
    assert [r.url for r in crawled] == [f"{NEWS}/s1.xml", f"{NEWS}/s2.xml"]
    assert crawled[0].cb_kwargs["via"] == f"robots:{NEWS}/robots.txt"
    crawled.clear()
    spider.robots_parsed(parser, Request(f"{NEWS}/x"))  # not a request of a known source
    assert crawled == []


# -- on_error --------------------------------------------------------------------------------


def failure_of(exc: Exception, request: Request) -> Failure:
    failure = Failure(exc)
    failure.request = request  # type: ignore[attr-defined]
    return failure


def test_on_error_counts_by_kind_and_source_and_reports_the_url_done(
        spider: SeedsSpider) -> None:
    request = request_for(spider, f"{NEWS}/a.html", spider.parse_page)
    response = HtmlResponse(request.url, status=503, request=request)
    spider.on_error(failure_of(HttpError(response), request))
    spider.on_error(failure_of(IgnoreRequest("robots"), request))
    spider.on_error(failure_of(ConnectionRefusedError("refused"), request))
    stats = spider.crawler.stats
    for kind in ("http_errors", "robots_denied", "fetch_errors"):
        assert stats.get_value(f"silkroad/{kind}") == 1
        assert stats.get_value(f"silkroad/source/News/{kind}") == 1
    assert spider.done == [request.url] * 3


def test_on_error_leaves_a_request_dropped_at_close_pending(spider: SeedsSpider) -> None:
    request = request_for(spider, f"{NEWS}/a.html", spider.parse_page)
    spider.on_error(failure_of(CrawlClosing("closing"), request))
    assert spider.done == []
    assert not [k for k in spider.crawler.stats.get_stats() if k.startswith("silkroad/")]
