"""Bounded work per document: link farms, huge robots.txt, sitemaps and feeds.

Unit tests call the spider's callbacks on responses built by hand; the crawl
tests run ``silkroad crawl`` on a loopback link farm (tests/link_farm_web.py),
whose every page carries 50,000 in-scope links to new pages.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import scrapy
from scrapy.exceptions import StopDownload
from scrapy.http import HtmlResponse, Request, Response, TextResponse
from scrapy.utils.test import get_crawler

import crawler.settings as shipped
from crawler.extensions.prompt_close import CrawlClosing, drain_downloader
from crawler.links.discovery import feed_links, robots_sitemaps, sitemap_entries
from crawler.middlewares.robots_size import RobotsTxtSizeMiddleware, first_lines
from crawler.spiders.seeds import SeedsSpider
from tests.hostile_server import can_bind
from tests.link_farm_web import ADDRESS, farm_page, farm_seeds, link_farm_web
from tests.support import REPO
from tests.test_hostile_web import tree_rss

SITE = "http://farm.test"
RSS_LIMIT = 1 << 30


def spider(tmp_path: Path, **settings: Any) -> SeedsSpider:
    seeds = tmp_path / "seeds.toml"
    seeds.write_text(f'[[sources]]\nname = "Farm"\nurls = ["{SITE}/"]\n', encoding="utf-8")
    values = {name: getattr(shipped, name) for name in dir(shipped)
              if name.isupper() and name != "TWISTED_REACTOR"}  # callbacks run without one
    values.update({"SILKROAD_DB": f"sqlite:///{tmp_path / 'a.sqlite'}", **settings})
    crawler = get_crawler(SeedsSpider, values)
    crawler.spider = SeedsSpider.from_crawler(crawler, seeds_file=str(seeds))
    return crawler.spider


def farm_response(links: int = 50_000) -> HtmlResponse:
    url = f"{SITE}/farm/0.html"
    body = farm_page(0, links).replace(
        b"</head>", b'<link rel="alternate" type="application/rss+xml" href="/feed.xml"></head>')
    return HtmlResponse(url, body=body, request=Request(url))


def followed(spider: SeedsSpider, response: Response, callback: str = "parse_page"
             ) -> list[scrapy.Request]:
    output = getattr(spider, callback)(response, source_name="Farm", via="seed")
    return [r for r in output if isinstance(r, scrapy.Request)]


# -- links per page ---------------------------------------------------------------------

def test_a_link_farm_page_yields_at_most_the_cap_in_document_order(tmp_path: Path) -> None:
    farm = spider(tmp_path)
    started = time.perf_counter()
    requests = followed(farm, farm_response())
    seconds = time.perf_counter() - started
    cap = shipped.SILKROAD_MAX_LINKS_PER_PAGE
    pages = [r.url for r in requests if r.meta["silkroad_kind"] == "page"]
    assert pages == [f"{SITE}/farm/{n}.html" for n in range(1, cap + 1)]
    assert [r.url for r in requests if r.meta["silkroad_kind"] == "feed"] == [f"{SITE}/feed.xml"]
    assert farm.crawler.stats.get_value("silkroad/links_dropped") == 50_000 - cap
    print(f"\none 50,000-link page on the reactor: {seconds * 1000:.0f} ms")


def test_a_page_within_the_cap_loses_nothing(tmp_path: Path) -> None:
    farm = spider(tmp_path, SILKROAD_MAX_LINKS_PER_PAGE=600)
    requests = followed(farm, farm_response(links=600))
    assert len([r for r in requests if r.meta["silkroad_kind"] == "page"]) == 600
    assert farm.crawler.stats.get_value("silkroad/links_dropped") is None


def test_the_page_tree_is_not_kept_on_the_response(tmp_path: Path) -> None:
    """The response lives until its page is stored; a farm page's tree is 45 MB."""
    response = farm_response(links=100)
    followed(spider(tmp_path), response)
    assert getattr(response, "_cached_selector", None) is None


# -- feeds, sitemaps, robots.txt ----------------------------------------------------------

def feed(entries: int) -> bytes:
    items = "".join(f"<item><link>{SITE}/a/{n}.html</link></item>" for n in range(entries))
    return f'<?xml version="1.0"?><rss><channel>{items}</channel></rss>'.encode()


def sitemap(entries: int) -> bytes:
    urls = "".join(f"<url><loc>{SITE}/a/{n}.html</loc></url>" for n in range(entries))
    return (f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{urls}</urlset>").encode()


def test_feed_and_sitemap_entries_are_capped_and_counted() -> None:
    found = feed_links(feed(30), SITE, limit=10)
    assert found == [f"{SITE}/a/{n}.html" for n in range(10)] and found.dropped == 20
    kind, urls = sitemap_entries(sitemap(30), SITE, limit=10)
    assert kind == "urlset" and len(urls) == 10 and urls.dropped == 20
    lines = robots_sitemaps("".join(f"Sitemap: /s{n}.xml\n" for n in range(30)), SITE, limit=10)
    assert len(lines) == 10 and lines.dropped == 20
    assert feed_links(feed(30), SITE) == [f"{SITE}/a/{n}.html" for n in range(30)]


def test_the_spider_follows_at_most_the_caps(tmp_path: Path) -> None:
    farm = spider(tmp_path, SILKROAD_MAX_FEED_ENTRIES=5, SILKROAD_MAX_SITEMAP_ENTRIES=7)
    feed_response = Response(f"{SITE}/feed.xml", body=feed(100),
                             request=Request(f"{SITE}/feed.xml"))
    assert len(followed(farm, feed_response, "parse_feed")) == 5
    compressed = gzip.compress(sitemap(100_000))
    sitemap_response = Response(f"{SITE}/sitemap.xml.gz", body=compressed,
                                request=Request(f"{SITE}/sitemap.xml.gz"))
    assert len(followed(farm, sitemap_response, "parse_sitemap")) == 7
    stats = farm.crawler.stats
    assert stats.get_value("silkroad/feed_entries_dropped") == 95
    assert stats.get_value("silkroad/sitemap_entries_dropped") == 100_000 - 7


def robots_middleware(limit: int = 1024) -> RobotsTxtSizeMiddleware:
    crawler = get_crawler(settings_dict={"SILKROAD_ROBOTSTXT_MAXSIZE": limit})
    return RobotsTxtSizeMiddleware.from_crawler(crawler)


def test_a_robots_txt_download_stops_at_the_limit() -> None:
    middleware = robots_middleware()
    robots = Request(f"{SITE}/robots.txt")
    middleware.process_request(robots)
    middleware.bytes_received(b"x" * 1000, robots)
    with pytest.raises(StopDownload) as stopped:
        middleware.bytes_received(b"x" * 100, robots)
    assert stopped.value.fail is False  # the part received is the robots.txt read
    page = Request(f"{SITE}/big.html")
    middleware.bytes_received(b"x" * 1_000_000, page)  # other downloads are not its business


def test_an_oversize_robots_txt_is_read_up_to_its_last_full_line() -> None:
    middleware = robots_middleware()
    rules = b"User-agent: *\nDisallow: /private/\n" + b"Disallow: /p/x\n" * 100_000
    robots = Request(f"{SITE}/robots.txt")
    response = middleware.process_response(robots, TextResponse(robots.url, body=rules))
    assert len(response.body) <= 1024 and response.body.endswith(b"Disallow: /p/x\n")
    assert response.body.startswith(b"User-agent: *\nDisallow: /private/\n")
    assert middleware.stats.get_value("silkroad/robots_truncated") == 1
    assert first_lines(b"Disallow: /a\nDisallow: /abc", 20) == b"Disallow: /a\n"


def test_shipped_settings_install_the_robots_limit() -> None:
    assert shipped.SILKROAD_ROBOTSTXT_MAXSIZE == 512 * 1024
    assert "crawler.middlewares.robots_size.RobotsTxtSizeMiddleware" in \
        shipped.DOWNLOADER_MIDDLEWARES


# -- closing promptly ------------------------------------------------------------------

class _Slot:
    def __init__(self, queue: list[tuple[Request, Any]]) -> None:
        from collections import deque
        self.queue = deque(queue)


def test_closing_fails_what_waits_in_the_download_queues() -> None:
    from twisted.internet.defer import Deferred
    waiting = [(Request(f"{SITE}/{n}.html"), Deferred()) for n in range(3)]
    failures: list[Any] = []
    for _, deferred in waiting:
        deferred.addErrback(failures.append)
    downloader = type("D", (), {"slots": {"farm.test": _Slot(waiting)}})()
    assert drain_downloader(downloader) == 3
    assert [f.check(CrawlClosing) for f in failures] == [CrawlClosing] * 3


def test_a_queued_download_already_cancelled_is_left_alone() -> None:
    """Scrapy cancels a queued download's deferred when its awaiting task is cancelled
    (the engine closing): failing it again raised AlreadyCalledError in a timed call."""
    from twisted.internet.defer import CancelledError, Deferred
    cancelled, waiting = Deferred(), Deferred()
    cancelled.addErrback(lambda f: f.trap(CancelledError))
    cancelled.cancel()
    failures: list[Any] = []
    waiting.addErrback(failures.append)
    queue = [(Request(f"{SITE}/a.html"), cancelled), (Request(f"{SITE}/b.html"), waiting)]
    downloader = type("D", (), {"slots": {"farm.test": _Slot(queue)}})()
    assert drain_downloader(downloader) == 1
    assert [f.check(CrawlClosing) for f in failures] == [CrawlClosing]


# -- the crawl ---------------------------------------------------------------------------

needs_loopback = pytest.mark.skipif(
    not Path("/proc/self/status").exists() or not can_bind(ADDRESS),
    reason="needs Linux /proc and the 127.0.0.0/8 loopback range")


def start_crawl(tmp_path: Path, web: Any, *extra: str) -> subprocess.Popen[str]:
    """`silkroad crawl` of the farm with the shipped settings (its delays included)."""
    seeds = farm_seeds(web, tmp_path / "seeds.toml")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "crawler", "crawl", "--seeds", str(seeds),
         "--db", f"sqlite:///{tmp_path / 'archive.sqlite'}", "--log", *extra],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


class Watch:
    """Peak RSS of the crawl's process tree, and its log, read as it comes."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.peak = 0
        self.lines: list[str] = []
        self.farm_pages = threading.Semaphore(0)
        threading.Thread(target=self._sample, daemon=True).start()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _sample(self) -> None:
        while self.process.poll() is None:
            self.peak = max(self.peak, tree_rss(self.process.pid))
            time.sleep(0.05)

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            if "entries past the cap not followed" in line:
                self.farm_pages.release()

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.reader.join(timeout=10)


@pytest.fixture
def farm() -> Iterator[Any]:
    web = link_farm_web().start()
    yield web
    web.stop()


@pytest.mark.slow
@needs_loopback
def test_a_link_farm_crawl_ends_in_time_and_memory(tmp_path: Path, farm: Any) -> None:
    started = time.monotonic()
    watch = Watch(start_crawl(tmp_path, farm, "--max-pages", "12"))
    returncode = watch.wait(timeout=240)  # generous: only a crawl that does not end fails
    seconds = time.monotonic() - started
    print(f"\nlink farm, --max-pages 12: {seconds:.1f} s, peak RSS of the process tree "
          f"{watch.peak / 2**20:.0f} MiB, {len(farm.hits('farm'))} requests served")
    assert returncode == 0, "".join(watch.lines[-40:])
    assert 0 < watch.peak < RSS_LIMIT, f"peak RSS {watch.peak / 2**20:.0f} MiB"
    with sqlite3.connect(tmp_path / "archive.sqlite") as db:
        outcome, stats = db.execute("SELECT outcome, stats FROM crawl_runs").fetchone()
    assert outcome == "ok"
    assert json.loads(stats)["silkroad/links_dropped"] >= 12 * 40_000
    # the budget closes the crawl: what waited behind the site's delay is not fetched
    assert len(farm.hits("farm", None)) <= 12 + 8


@pytest.mark.slow
@needs_loopback
def test_sigterm_stops_a_link_farm_crawl_promptly(tmp_path: Path, farm: Any) -> None:
    watch = Watch(start_crawl(tmp_path, farm))
    assert watch.farm_pages.acquire(timeout=120), "".join(watch.lines[-40:])
    assert watch.farm_pages.acquire(timeout=60), "".join(watch.lines[-40:])
    sent = time.monotonic()
    watch.process.send_signal(signal.SIGTERM)
    # Generous: a crawl that drained the farm instead would leave nothing pending.
    returncode = watch.wait(timeout=90)
    seconds = time.monotonic() - sent
    print(f"\nSIGTERM honoured in {seconds:.1f} s")
    print(f"exit status {returncode}")
    with sqlite3.connect(tmp_path / "archive.sqlite") as db:
        outcome, = db.execute("SELECT outcome FROM crawl_runs").fetchone()
        pending, = db.execute("SELECT count(*) FROM frontier WHERE state = 'pending'").fetchone()
    assert outcome == "interrupted"
    assert pending > 0  # what was not fetched is left for the resumed crawl
