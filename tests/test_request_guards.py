"""The downloader middlewares that guard every request: SSRF, source scope, retry back-off.

The decisions are tested here request by request; tests/test_hostile_web.py
checks the same guards end to end in a real crawl (redirects included).
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler

from crawler.links.source_scope import SourceScope
from crawler.middlewares import backoff
from crawler.middlewares.backoff import (
    BackoffRetryMiddleware,
    backoff_seconds,
    retry_after_seconds,
)
from crawler.middlewares.scope import OffScope, SourceScopeMiddleware
from crawler.middlewares.ssrf import (
    SsrfGuardMiddleware,
    SsrfRefused,
    is_public_address,
    literal_address,
    named_hosts,
)
from crawler.seeds import Source


class Stats:
    """Just enough of Scrapy's stats collector to count."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def inc_value(self, key: str, count: float = 1, start: float = 0) -> None:
        self.values[key] = self.values.get(key, start) + count


class FakeDNS:
    """A resolver that answers from a table and remembers what it was asked."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def __call__(self, host: str) -> Sequence[str]:
        self.asked.append(host)
        return self.table.get(host, [])


def source(*urls: str, allowed: tuple[str, ...] = ()) -> Source:
    from crawler.links.urls import host_key

    return Source(name=urls[0], urls=tuple(urls),
                  allowed_domains=allowed or tuple(sorted({host_key(u) for u in urls})))


# -- SSRF ---------------------------------------------------------------------------------

@pytest.mark.parametrize("address, public", [
    ("8.8.8.8", True), ("93.184.216.34", True), ("2001:4860:4860::8888", True),
    ("::ffff:8.8.8.8", True),
    ("127.0.0.1", False), ("127.0.0.53", False), ("10.1.2.3", False), ("172.16.0.1", False),
    ("192.168.1.1", False), ("169.254.169.254", False), ("100.64.0.1", False),
    ("0.0.0.0", False), ("255.255.255.255", False), ("224.0.0.1", False), ("198.18.0.1", False),
    ("::1", False), ("::", False), ("fe80::1", False), ("fe80::1%eth0", False),
    ("fc00::1", False), ("::ffff:127.0.0.1", False), ("::ffff:169.254.169.254", False),
    ("not an address", False),
])
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(address) is public


@pytest.mark.parametrize("host, address", [
    ("127.0.0.1", "127.0.0.1"), ("127.1", "127.0.0.1"), ("2130706433", "127.0.0.1"),
    ("0x7f.0.0.1", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("017700000001", "127.0.0.1"),
    ("::1", "::1"), ("::ffff:10.0.0.1", "::ffff:a00:1"),
    ("example.com", None), ("cafe.be", None), ("1e100.net", None), ("123.example", None),
])
def test_literal_address_reads_every_numeric_form(host: str, address: str | None) -> None:
    assert literal_address(host) == address


def check(guard: SsrfGuardMiddleware, url: str) -> str | None:
    return asyncio.run(guard.check(url))


PUBLIC_SEEDS = named_hosts([source("https://news.example/world/")])


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://127.0.0.1:6379/", "http://[::1]:8080/admin",
    "http://169.254.169.254/latest/meta-data/", "http://2130706433/", "http://0x7f.1/",
    "http://10.0.0.5/", "http://192.168.0.1/router", "http://[::ffff:127.0.0.1]/",
    "http://evil.example/", "http://rebind.example:8080/",  # names that resolve privately
    "http://nowhere.example/",  # resolves to nothing
    "file:///etc/passwd", "ftp://news.example/pub/", "data:text/html,<h1>x</h1>",
    "gopher://127.0.0.1:70/", "http:///nohost",
])
def test_a_public_seed_never_leads_to_a_private_or_non_http_target(url: str) -> None:
    dns = FakeDNS({"evil.example": ["10.0.0.5"], "rebind.example": ["127.0.0.1"]})
    assert check(SsrfGuardMiddleware(PUBLIC_SEEDS, Stats(), dns), url) is not None


@pytest.mark.parametrize("url", ["https://news.example/a", "https://cdn.example/b",
                                 "http://93.184.216.34/", "http://[2001:4860:4860::8888]/"])
def test_public_targets_pass(url: str) -> None:
    dns = FakeDNS({"news.example": ["93.184.216.34"], "cdn.example": ["151.101.1.1"]})
    assert check(SsrfGuardMiddleware(PUBLIC_SEEDS, Stats(), dns), url) is None


def test_numeric_hosts_and_named_hosts_need_no_dns() -> None:
    dns = FakeDNS({})
    guard = SsrfGuardMiddleware(named_hosts([source("http://127.0.0.51:8080/")]), Stats(), dns)
    for url in ("http://127.0.0.51:8080/a", "http://127.0.0.53:8080/", "http://2130706433/"):
        check(guard, url)
    assert dns.asked == []


@pytest.mark.parametrize("url, allowed", [
    ("http://127.0.0.51:8080/news/1.html", True),  # the seed's own host
    ("http://127.0.0.51:8080/robots.txt", True),
    ("http://127.0.0.51:9090/", False),  # the same address, a port the seeds do not name
    ("http://127.0.0.53:8080/", False),  # a private neighbour of a private seed
    ("http://localhost:8080/", False),
    ("http://intranet.example/", True),  # named in allowed_domains, resolves privately
    ("http://wiki.intranet.example/", False),  # a subdomain is not named
    ("http://93.184.216.34/", True),  # public is always fine
])
def test_private_hosts_named_in_the_seeds_are_the_only_private_hosts(url: str,
                                                                      allowed: bool) -> None:
    sources = [source("http://127.0.0.51:8080/"),
               source("http://intranet.example/start", allowed=("intranet.example",))]
    dns = FakeDNS({"intranet.example": ["10.1.1.1"], "wiki.intranet.example": ["10.1.1.2"],
                   "localhost": ["127.0.0.1"]})
    guard = SsrfGuardMiddleware(named_hosts(sources), Stats(), dns)
    assert (check(guard, url) is None) is allowed


def test_a_refused_request_is_ignored_and_counted() -> None:
    stats = Stats()
    guard = SsrfGuardMiddleware(PUBLIC_SEEDS, stats, FakeDNS({"evil.example": ["10.0.0.5"]}))
    redirected = Request("http://evil.example/admin",
                         meta={"redirect_urls": ["https://news.example/go"]})
    with pytest.raises(SsrfRefused) as refused:
        asyncio.run(guard.process_request(redirected))
    assert isinstance(refused.value, IgnoreRequest)
    assert "10.0.0.5" in str(refused.value)
    assert stats.values == {"silkroad/ssrf_refused": 1}
    assert asyncio.run(guard.process_request(Request("https://news.example/a"))) is None


def test_the_guard_reads_the_seeds_from_the_spider_and_can_be_switched_off() -> None:
    crawler = get_crawler(Spider, {"SILKROAD_SSRF_GUARD": True})
    guard = SsrfGuardMiddleware.from_crawler(crawler)
    crawler.spider = type("Seeded", (), {"sources": (source("http://127.0.0.51:8080/"),)})()
    assert guard.allowed_hosts == {"127.0.0.51:8080"}
    from scrapy.exceptions import NotConfigured

    with pytest.raises(NotConfigured):
        SsrfGuardMiddleware.from_crawler(get_crawler(Spider, {"SILKROAD_SSRF_GUARD": False}))


def test_project_settings_download_only_http() -> None:
    settings = get_project_settings()
    handlers = settings.getdict("DOWNLOAD_HANDLERS")
    assert all(handlers.get(scheme, "on") is None for scheme in ("file", "ftp", "data", "s3"))
    middlewares = settings.getdict("DOWNLOADER_MIDDLEWARES")
    ours = {path.rsplit(".", 1)[1]: order for path, order in middlewares.items() if order}
    # Scope and SSRF before robots.txt (100), so a refused host never sees a robots request.
    assert ours["SourceScopeMiddleware"] < 100 and ours["SsrfGuardMiddleware"] < 100
    assert middlewares["scrapy.downloadermiddlewares.retry.RetryMiddleware"] is None


# -- scope ----------------------------------------------------------------------------------

SCOPE_SOURCES = [source("https://news.example/", allowed=("news.example",)),
                 source("https://feeds.example/rss", allowed=("news.example",))]


@pytest.mark.parametrize("url, inside", [
    ("https://news.example/a", True), ("http://www.news.example/b", True),
    ("https://feeds.example/other.xml", True),  # a seed's host, though not in allowed_domains
    ("https://sub.feeds.example/", False), ("https://elsewhere.example/", False),
    ("https://news.example.evil/", False), ("file:///etc/passwd", False),
    ("ftp://news.example/", False), ("javascript:alert(1)", False),
])
def test_source_scope(url: str, inside: bool) -> None:
    assert SourceScope(SCOPE_SOURCES).allows(url) is inside


def _in_scope_by_scan(url: str, allowed_domains: tuple[str, ...]) -> bool:
    """The scan the crawl used before SourceScope, kept as the oracle for its rules."""
    from crawler.links.urls import host_key, is_http_url, is_ip_literal

    if not is_http_url(url):
        return False
    key = host_key(url)
    host = key.split(":")[0] if ":" in key and not key.startswith("[") else key
    for allowed in allowed_domains:
        if ":" in allowed:
            if key == allowed:
                return True
        elif host == allowed or (not is_ip_literal(allowed) and host.endswith("." + allowed)):
            return True
    return False


def _source_for_by_scan(sources: list[Source], url: str, preferred: str) -> Source | None:
    """The rule the indexed scope must keep: preferred source first, else file order."""
    first = next(s for s in sources if s.name == preferred)
    if _in_scope_by_scan(url, first.allowed_domains):
        return first
    return next((s for s in sources if _in_scope_by_scan(url, s.allowed_domains)), None)


def test_indexed_source_for_agrees_with_a_scan_of_every_source() -> None:
    sources = [
        source("https://gmw.cn/", allowed=("gmw.cn",)),
        source("https://world.gmw.cn/", allowed=("world.gmw.cn",)),
        source("http://127.0.0.2:8000/", allowed=("127.0.0.2:8000",)),
        source("http://127.0.0.2:9000/", allowed=("127.0.0.2",)),
        source("http://127.0.0.3/", allowed=("127.0.0.3",)),
        source("https://news.example/", allowed=("news.example", "127.0.0.3")),
    ]
    urls = ["https://gmw.cn/a", "https://world.gmw.cn/b", "https://x.world.gmw.cn/c",
            "https://evilgmw.cn/", "http://127.0.0.2:8000/a", "http://127.0.0.2:9000/a",
            "http://127.0.0.2/a", "http://127.0.0.22/", "http://127.0.0.3:81/x",
            "https://WWW.News.Example/Case", "https://news.example.evil/", "mailto:a@gmw.cn",
            "ftp://gmw.cn/x", "javascript:void(0)", "http://[::1]:8000/", "http://:80/",
            "http://127.0.0.2:99999/bad-port"]
    scope = SourceScope(sources)
    checked = 0
    for url in urls:
        for preferred in sources:
            expected = _source_for_by_scan(sources, url, preferred.name)
            assert scope.source_for(url, preferred.name) is expected, (url, preferred.name)
            checked += expected is not None
    assert checked > 20  # most URLs belong somewhere: the comparison is not vacuous


def test_an_off_scope_redirect_is_ignored_even_when_retried() -> None:
    stats = Stats()
    crawler = get_crawler(Spider)
    middleware = SourceScopeMiddleware.from_crawler(crawler)
    middleware.stats = stats
    crawler.spider = type("Seeded", (), {"sources": tuple(SCOPE_SOURCES)})()
    redirected = Request("https://tracker.example/x", dont_filter=True,
                         meta={"redirect_urls": ["https://news.example/go"], "retry_times": 1})
    with pytest.raises(OffScope):
        middleware.process_request(redirected)
    middleware.process_request(Request("https://news.example/ok"))  # in scope: no exception
    assert stats.values == {"silkroad/off_scope_refused": 1}


# -- retry back-off -------------------------------------------------------------------------

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("header, seconds", [
    (b"2", 2.0), (" 120 ", 120.0), ("0", 0.0),
    (email.utils.format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
    (email.utils.format_datetime(NOW - timedelta(hours=1), usegmt=True), 0.0),
    ("soon", None), ("-5", None), ("", None), (None, None),
])
def test_retry_after_seconds(header: bytes | str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, now=NOW) == seconds


@pytest.mark.parametrize("attempt, seconds", [(1, 1.0), (2, 2.0), (3, 4.0), (9, 60.0)])
def test_backoff_doubles_up_to_a_limit(attempt: int, seconds: float) -> None:
    assert backoff_seconds(attempt, 1.0, 60.0) == seconds


def retry_middleware(**settings: object) -> BackoffRetryMiddleware:
    crawler = get_crawler(Spider, {"RETRY_TIMES": 2, **settings})
    crawler.spider = Spider("guards")
    crawler.spider._set_crawler(crawler)
    return BackoffRetryMiddleware.from_crawler(crawler)


@pytest.fixture
def asked_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays the middleware asks to sleep (and sleeps): exact, unlike the wall clock."""
    asked: list[float] = []
    real_sleep = backoff.sleep

    async def sleep(delay: float) -> None:
        asked.append(delay)
        await real_sleep(delay)

    monkeypatch.setattr(backoff, "sleep", sleep)
    return asked


def respond(middleware: BackoffRetryMiddleware, request: Request, status: int,
            headers: dict[str, str] | None = None) -> tuple[object, float]:
    response = HtmlResponse(request.url, status=status, headers=headers or {}, body=b"",
                            request=request)
    started = time.monotonic()
    result = asyncio.run(middleware.process_response(request, response))
    return result, time.monotonic() - started


@pytest.mark.slow  # waits the 1 s the server asks for
def test_a_429_is_retried_after_its_retry_after() -> None:
    middleware = retry_middleware()
    result, waited = respond(middleware, Request("https://news.example/a"), 429,
                             {"Retry-After": "1"})
    assert isinstance(result, Request) and result.meta["retry_times"] == 1
    assert waited >= 0.95


def test_without_retry_after_the_wait_doubles(asked_waits: list[float]) -> None:
    middleware = retry_middleware(SILKROAD_RETRY_BACKOFF=0.1)
    first, waited_first = respond(middleware, Request("https://news.example/a"), 503)
    second, waited_second = respond(middleware, first, 503)  # type: ignore[arg-type]
    assert isinstance(second, Request) and second.meta["retry_times"] == 2
    assert asked_waits == [0.1, 0.2]
    assert waited_first >= 0.09 and waited_second >= 0.19
    given_up, _ = respond(middleware, second, 503)  # type: ignore[arg-type]
    assert not isinstance(given_up, Request)


def test_a_retry_after_longer_than_we_wait_is_not_retried_now(asked_waits: list[float]
                                                              ) -> None:
    middleware = retry_middleware(SILKROAD_RETRY_BACKOFF_MAX=30)
    result, _ = respond(middleware, Request("https://news.example/a"), 503,
                        {"Retry-After": "3600"})
    assert not isinstance(result, Request) and asked_waits == []
    assert middleware.crawler.stats.get_value("silkroad/retry_after_too_long") == 1


@pytest.mark.parametrize("status", [200, 404, 403])
def test_other_statuses_pass_through(status: int) -> None:
    result, _ = respond(retry_middleware(), Request("https://news.example/a"), status,
                        {"Retry-After": "5"})
    assert not isinstance(result, Request) and getattr(result, "status", None) == status
