from __future__ import annotations

import pytest

from crawler.links.source_scope import SourceScope
from crawler.links.urls import canonical_url, host_key, is_http_url, page_identity
from crawler.seeds import Source


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://Example.com/a?b=2&a=1#top", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?utm_source=x&utm_medium=y&id=3", "https://example.com/a?id=3"),
        ("https://example.com/a?fbclid=abc&gclid=def", "https://example.com/a"),
        ("http://example.com/a b", "http://example.com/a%20b"),
        ("https://news.cgtn.com/news/2025-06-19/x/p.html", "https://news.cgtn.com/news/2025-06-19/x/p.html"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


@pytest.mark.parametrize(
    ("url", "allowed", "expected"),
    [
        ("http://127.0.0.2:8000/a", ("127.0.0.2",), True),
        ("http://127.0.0.2:8000/a", ("127.0.0.2:8000",), True),
        ("http://127.0.0.2:9000/a", ("127.0.0.2:8000",), False),
        ("http://127.0.0.22/a", ("127.0.0.2",), False),
        ("http://127.0.0.3/a", ("127.0.0.2",), False),
        ("https://world.gmw.cn/x", ("gmw.cn",), True),
        ("https://evilgmw.cn/x", ("gmw.cn",), False),
        ("mailto:a@gmw.cn", ("gmw.cn",), False),
        ("javascript:alert(1)", ("gmw.cn",), False),
        ("file:///etc/passwd", ("gmw.cn",), False),
        ("ftp://gmw.cn/x", ("gmw.cn",), False),
    ],
)
def test_scope_compares_hosts_exactly(url: str, allowed: tuple[str, ...], expected: bool) -> None:
    scope = SourceScope([Source(name="site", urls=("https://seed.example/",),
                                allowed_domains=allowed)])
    assert (scope.source_for(url) is not None) is expected


def test_host_key_keeps_non_default_ports() -> None:
    assert host_key("http://127.0.0.2:8000/x") == "127.0.0.2:8000"
    assert host_key("https://Example.com:443/x") == "example.com"


@pytest.mark.parametrize("url", ["data:text/html,hi", "http://", "not a url", "//x/y"])
def test_non_http_urls(url: str) -> None:
    assert not is_http_url(url)


@pytest.mark.parametrize(
    ("final", "declared", "identity"),
    [
        ("https://news.cgtn.com/news/x/p.html", "https://news.cgtn.com/news/x/index.html",
         "https://news.cgtn.com/news/x/index.html"),
        ("https://news.cgtn.com/news/x/share_amp.html?utm_source=tw",
         "https://news.cgtn.com/news/x/index.html", "https://news.cgtn.com/news/x/index.html"),
        ("https://a.com/story?id=1", "https://other.com/story", "https://a.com/story?id=1"),
        ("https://a.com/2025/06/story.html", "https://a.com/", "https://a.com/2025/06/story.html"),
        ("https://a.com/story#x", None, "https://a.com/story"),
        ("https://a.com/story", "javascript:void(0)", "https://a.com/story"),
    ],
)
def test_page_identity(final: str, declared: str | None, identity: str) -> None:
    assert page_identity(final, declared) == identity


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://a.com/news?id=7&PHPSESSID=abc123", "https://a.com/news?id=7"),
        ("https://a.com/news;jsessionid=F00D?id=7", "https://a.com/news?id=7"),
        ("https://a.com/list?sid=99&page=2", "https://a.com/list?page=2"),
    ],
)
def test_session_ids_are_dropped(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical
