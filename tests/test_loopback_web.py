"""The loopback web over real HTTP, and the bundled demo web against its EXPECTED.toml."""

from __future__ import annotations

import email.utils
import errno
import re
import socket
import time
import tomllib
import unicodedata
import urllib.error
import urllib.request
import urllib.robotparser
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import trafilatura

from crawler.demo.loopback_web import LoopbackWeb, SiteSpec, demo_web_dir

DEMO = demo_web_dir()
WEB_SITES = tomllib.loads((DEMO / "web.toml").read_text("utf-8"))["sites"]
SOURCE_SITES = ("steppe-herald", "silk-road-observer", "eurasia-vestnik")
RAW_EXPECTED = tomllib.loads((DEMO / "EXPECTED.toml").read_text("utf-8"))
ARTICLE_IDS = [article["urls"][0].split("}}")[1] for article in RAW_EXPECTED["articles"]]

GBK_PAGE = "/zhongya/2025/07/22/zhong-ji-wu-tielu-shanqu.html"
CP1251_PAGE = "/ekonomika/2025/11/12/kazakhstanskoe-zerno-kitay.html"
CJK = re.compile(r"[\u4e00-\u9fff]")
COUNTRY_NAMES = {
    "CN": r"China|Chinese|中国|Кита|КНР",
    "KZ": r"Kazakh|哈萨克斯坦|Казахст",
    "KG": r"Kyrgyz|吉尔吉斯|Кыргыз",
    "TJ": r"Tajik|塔吉克斯坦|Таджик",
    "TM": r"Turkmen|土库曼|Туркмен",
    "UZ": r"Uzbek|乌兹别克|Узбек",
}
CENTRAL_ASIA = r"Central Asia|中亚|Центральн\w+ Ази"


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _KeepRedirects)


@dataclass
class Fetched:
    status: int
    headers: Message
    body: bytes


def fetch(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> Fetched:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with OPENER.open(request, timeout=10) as response:
            return Fetched(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Fetched(error.code, error.headers, error.read())


def text_of(fetched: Fetched) -> str:
    charset = fetched.headers.get_content_charset()
    if charset is None:
        head = fetched.body[:1024].decode("ascii", "replace")
        declared = re.search(r'charset="?([\w-]+)', head)
        charset = declared.group(1) if declared else "utf-8"
    return fetched.body.decode(charset)


def extracted(url: str) -> str:
    text = trafilatura.extract(text_of(fetch(url)), url=url)
    assert text, f"trafilatura finds no text at {url}"
    return " ".join(unicodedata.normalize("NFKC", text).split())


def extra_loopback_available() -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.2", 0))
        except OSError:
            return False
    return True


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.meta: dict[str, str] = {}
        self.canonical: str | None = None
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "a" and "href" in values:
            self.hrefs.append(values["href"])
        elif tag == "meta" and "property" in values:
            self.meta[values["property"]] = values.get("content", "")
        elif tag == "link" and values.get("rel") == "canonical":
            self.canonical = values["href"]
        elif tag == "html":
            self.lang = values.get("lang")


def parse_page(url: str) -> _Links:
    parser = _Links()
    parser.feed(text_of(fetch(url)))
    return parser


@pytest.fixture(scope="module")
def demo_web() -> Iterator[LoopbackWeb]:
    with LoopbackWeb.from_directory(DEMO) as web:
        yield web


@pytest.fixture(scope="module")
def expected(demo_web: LoopbackWeb) -> dict[str, Any]:
    return tomllib.loads(demo_web.render((DEMO / "EXPECTED.toml").read_text("utf-8")))


@pytest.fixture
def small_web(tmp_path: Path) -> Iterator[LoopbackWeb]:
    """Two tiny sites whose _site.toml uses every kind of rule."""
    first, second = tmp_path / "first", tmp_path / "second"
    (first / "docs").mkdir(parents=True)
    second.mkdir()
    (first / "index.html").write_text("<p>home of {{site:first}}, see {{site:second}}</p>")
    (first / "docs" / "index.html").write_text("<p>docs</p>")
    (first / "page.html").write_text("<p>original page</p>")
    (first / "typed.html").write_text("<p>typed</p>")
    (first / "soft404.html").write_text("<p>gone, but a body anyway</p>")
    (first / "fresh.html").write_text("<p>never cached</p>")
    (first / "dated.html").write_text("<p>dated</p>")
    (first / "data.json").write_text('{"home": "{{site:first}}"}')
    (first / "_site.toml").write_text("""
[paths."/typed.html"]
content_type = "text/html; charset=koi8-r"
headers = { "X-Extra" = "1", "Link" = "<{{site:second}}/>; rel=alternate" }
[paths."/soft404.html"]
status = 404
[paths."/moved.html"]
status = 302
location = "{{site:second}}/landing.html"
[paths."/fresh.html"]
etag = false
[paths."/dated.html"]
last_modified = 2025-06-17T08:00:00Z
[redirects]
"/old.html" = "/page.html"
""")
    (second / "index.html").write_text("<p>second</p>")
    sites = [SiteSpec("first", first, "127.0.0.2"), SiteSpec("second", second, "127.0.0.3")]
    with LoopbackWeb(sites) as web:
        yield web


# ---------------------------------------------------------------- serving

@pytest.mark.parametrize("site", [entry["name"] for entry in WEB_SITES])
def test_every_site_serves_its_home_page_at_its_own_base_url(demo_web: LoopbackWeb,
                                                             site: str) -> None:
    base = demo_web.base_url(site)
    response = fetch(base + "/")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    address = next(entry["address"] for entry in WEB_SITES if entry["name"] == site)
    assert urlsplit(base).hostname == (address if extra_loopback_available() else "127.0.0.1")
    assert not base.endswith("/")


@pytest.mark.skipif(not extra_loopback_available(), reason="only 127.0.0.1 on this system")
def test_sites_share_one_port_on_distinct_addresses(demo_web: LoopbackWeb) -> None:
    parts = [urlsplit(demo_web.base_url(entry["name"])) for entry in WEB_SITES]
    assert len({part.port for part in parts}) == 1
    assert len({part.hostname for part in parts}) == len(WEB_SITES)


def test_without_the_wanted_address_sites_fall_back_to_distinct_ports(tmp_path: Path) -> None:
    with socket.socket() as probe:
        try:
            probe.bind(("192.0.2.1", 0))
            pytest.skip("192.0.2.1 is assigned to this machine")
        except OSError as exc:
            assert exc.errno == errno.EADDRNOTAVAIL
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "index.html").write_text(f"<p>{name}</p>")
    sites = [SiteSpec("a", tmp_path / "a", "192.0.2.1"), SiteSpec("b", tmp_path / "b", "192.0.2.2")]
    with LoopbackWeb(sites) as web:
        parts = [urlsplit(web.base_url(name)) for name in ("a", "b")]
        assert {part.hostname for part in parts} == {"127.0.0.1"}
        assert parts[0].port != parts[1].port
        assert fetch(web.base_url("b") + "/").body == b"<p>b</p>"


def test_a_taken_explicit_port_is_an_error(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        web = LoopbackWeb([SiteSpec("a", tmp_path, "127.0.0.1")], port=port)
        with pytest.raises(OSError) as caught:
            web.start()
        assert caught.value.errno == errno.EADDRINUSE


def test_stop_closes_the_sites(tmp_path: Path) -> None:
    web = LoopbackWeb([SiteSpec("a", tmp_path, "127.0.0.1")]).start()
    base = web.base_url("a")
    web.stop()
    with pytest.raises(urllib.error.URLError):
        OPENER.open(base + "/", timeout=5)
    with pytest.raises(RuntimeError):
        web.base_url("a")


@pytest.mark.parametrize("path", [
    "/no-such-page.html",
    "/news/no-such-section/",
    "/_site.toml",
    "/static/../_site.toml",
    "/%2e%2e/web.toml",
    "/%2E%2E/%2E%2E/README.md",
    "/.git/config",
])
def test_unknown_and_private_paths_are_an_html_404(demo_web: LoopbackWeb, path: str) -> None:
    response = fetch(demo_web.base_url("steppe-herald") + path)
    assert response.status == 404
    assert response.headers["Content-Type"].startswith("text/html")
    assert b"Not Found" in response.body
    assert int(response.headers["Content-Length"]) == len(response.body)


def test_a_folder_without_slash_redirects_to_its_index(small_web: LoopbackWeb) -> None:
    response = fetch(small_web.base_url("first") + "/docs")
    assert (response.status, response.headers["Location"]) == (301, "/docs/")
    assert fetch(small_web.base_url("first") + "/docs/").body == b"<p>docs</p>"


def test_placeholders_become_base_urls(small_web: LoopbackWeb) -> None:
    first, second = small_web.base_url("first"), small_web.base_url("second")
    assert fetch(first + "/").body.decode() == f"<p>home of {first}, see {second}</p>"
    assert fetch(first + "/data.json").body.decode() == f'{{"home": "{first}"}}'
    assert small_web.render("{{site:second}}/x {{site:first}}") == f"{second}/x {first}"
    with pytest.raises(KeyError):
        small_web.render("{{site:nowhere}}/")


def _served_text_files() -> list[tuple[str, str]]:
    files = []
    for site in SOURCE_SITES:
        for path in sorted((DEMO / site).rglob("*")):
            relative = path.relative_to(DEMO / site).as_posix()
            if path.suffix in (".html", ".xml", ".txt") and not relative.startswith("_"):
                files.append((site, "/" + relative.removesuffix("index.html")))
    return files


@pytest.mark.parametrize(("site", "path"), _served_text_files())
def test_every_demo_file_is_served_with_placeholders_rendered(demo_web: LoopbackWeb, site: str,
                                                              path: str) -> None:
    response = fetch(demo_web.base_url(site) + path)
    assert response.status == 200
    assert b"{{site:" not in response.body
    if path.endswith((".html", "/")):
        assert demo_web.base_url(site).encode() in response.body  # the canonical link at least


@pytest.mark.parametrize(("site", "path", "content_type"), [
    ("steppe-herald", "/feed.xml", "application/rss+xml; charset=utf-8"),
    ("steppe-herald", "/robots.txt", "text/plain; charset=utf-8"),
    ("steppe-herald", "/static/site.css", "text/css; charset=utf-8"),
    ("silk-road-observer", "/sitemap.xml", "application/xml"),
    ("silk-road-observer", GBK_PAGE, "text/html"),
    ("eurasia-vestnik", CP1251_PAGE, "text/html; charset=windows-1251"),
    ("eurasia-vestnik", "/politika/", "text/html; charset=utf-8"),
])
def test_content_type_follows_extension_or_site_rule(demo_web: LoopbackWeb, site: str, path: str,
                                                      content_type: str) -> None:
    assert fetch(demo_web.base_url(site) + path).headers["Content-Type"] == content_type


def test_gbk_page_is_transcoded_on_the_wire(demo_web: LoopbackWeb) -> None:
    response = fetch(demo_web.base_url("silk-road-observer") + GBK_PAGE)
    with pytest.raises(UnicodeDecodeError):
        response.body.decode("utf-8")
    text = response.body.decode("gbk")
    assert '<meta charset="gbk">' in text
    assert "中吉乌铁路建设进入山区攻坚阶段" in text
    assert "charset" not in response.headers["Content-Type"]
    source = (DEMO / "silk-road-observer" / GBK_PAGE.lstrip("/")).read_text("utf-8")
    assert text == demo_web.render(source)


def test_windows_1251_page_declares_its_charset_only_in_the_header(demo_web: LoopbackWeb) -> None:
    response = fetch(demo_web.base_url("eurasia-vestnik") + CP1251_PAGE)
    with pytest.raises(UnicodeDecodeError):
        response.body.decode("utf-8")
    text = response.body.decode("windows-1251")
    assert "Казахстанское зерно всё активнее идёт в Китай" in text
    assert "charset" not in text.lower()


def test_site_rules_set_headers_status_and_location(small_web: LoopbackWeb) -> None:
    first, second = small_web.base_url("first"), small_web.base_url("second")
    typed = fetch(first + "/typed.html")
    assert typed.headers["Content-Type"] == "text/html; charset=koi8-r"
    assert typed.headers["X-Extra"] == "1"
    assert typed.headers["Link"] == f"<{second}/>; rel=alternate"
    soft = fetch(first + "/soft404.html")
    assert (soft.status, soft.body) == (404, b"<p>gone, but a body anyway</p>")
    moved = fetch(first + "/moved.html")
    assert (moved.status, moved.headers["Location"]) == (302, f"{second}/landing.html")
    old = fetch(first + "/old.html")
    assert (old.status, old.headers["Location"]) == (301, "/page.html")
    fresh = fetch(first + "/fresh.html")
    assert fresh.status == 200
    assert fresh.headers["ETag"] is None and fresh.headers["Last-Modified"] is None
    assert fetch(first + "/dated.html").headers["Last-Modified"] == "Tue, 17 Jun 2025 08:00:00 GMT"


def test_redirect_of_the_demo_web_points_at_the_article(demo_web: LoopbackWeb,
                                                        expected: dict[str, Any]) -> None:
    article = next(a for a in expected["articles"] if "redirected_from" in a)
    response = fetch(article["redirected_from"])
    assert response.status == 301
    assert urljoin(article["redirected_from"], response.headers["Location"]) == article["urls"][0]


# ---------------------------------------------------------------- conditional requests

def test_conditional_get_answers_304_until_the_page_changes(demo_web: LoopbackWeb) -> None:
    url = demo_web.base_url("steppe-herald") + "/news/"
    first = fetch(url)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert email.utils.parsedate_to_datetime(modified).timestamp() <= time.time() + 1

    by_etag = fetch(url, {"If-None-Match": etag})
    assert (by_etag.status, by_etag.body, by_etag.headers["ETag"]) == (304, b"", etag)
    assert fetch(url, {"If-None-Match": f'"other", W/{etag}'}).status == 304
    assert fetch(url, {"If-Modified-Since": modified}).status == 304
    assert fetch(url, {"If-None-Match": '"other"'}).status == 200
    # If-None-Match decides alone when both are sent (RFC 9110 13.2.2)
    assert fetch(url, {"If-None-Match": '"other"', "If-Modified-Since": modified}).status == 200
    assert fetch(url, {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}).status == 200
    assert fetch(url, {"If-Modified-Since": "not a date"}).status == 200


def test_head_sends_the_headers_of_get_without_a_body(demo_web: LoopbackWeb) -> None:
    url = demo_web.base_url("silk-road-observer") + GBK_PAGE
    get, head = fetch(url), fetch(url, method="HEAD")
    assert head.status == 200 and head.body == b""
    assert int(head.headers["Content-Length"]) == len(get.body)
    assert head.headers["ETag"] == get.headers["ETag"]


def test_set_override_changes_a_page_until_cleared(small_web: LoopbackWeb) -> None:
    url = small_web.base_url("first") + "/page.html"
    before = fetch(url)
    small_web.set_override("first", "/page.html", body="<p>revised by {{site:second}}</p>")
    after = fetch(url)
    assert after.body.decode() == f"<p>revised by {small_web.base_url('second')}</p>"
    assert after.headers["ETag"] != before.headers["ETag"]
    assert (email.utils.parsedate_to_datetime(after.headers["Last-Modified"])
            > email.utils.parsedate_to_datetime(before.headers["Last-Modified"]))
    revalidated = fetch(url, {"If-None-Match": before.headers["ETag"],
                              "If-Modified-Since": before.headers["Last-Modified"]})
    assert revalidated.status == 200
    assert fetch(url, {"If-None-Match": after.headers["ETag"]}).status == 304

    small_web.set_override("first", "/page.html", body="<p>second revision</p>")
    again = fetch(url)
    assert (email.utils.parsedate_to_datetime(again.headers["Last-Modified"])
            > email.utils.parsedate_to_datetime(after.headers["Last-Modified"]))

    small_web.clear_override("first", "/page.html")
    restored = fetch(url)
    assert (restored.body, restored.headers["ETag"]) == (before.body, before.headers["ETag"])


@pytest.mark.parametrize(("override", "status", "body", "header"), [
    ({"status": 500}, 500, b"<p>original page</p>", None),
    ({"status": 404}, 404, b"<p>original page</p>", None),
    ({"headers": {"X-Test": "yes"}}, 200, b"<p>original page</p>", ("X-Test", "yes")),
    ({"headers": {"Content-Type": "text/plain"}}, 200, b"<p>original page</p>",
     ("Content-Type", "text/plain")),
    ({"body": b"\xff\xfe raw"}, 200, b"\xff\xfe raw", None),
])
def test_set_override_of_status_headers_or_raw_bytes(small_web: LoopbackWeb,
                                                     override: dict[str, Any], status: int,
                                                     body: bytes,
                                                     header: tuple[str, str] | None) -> None:
    small_web.set_override("first", "/page.html", **override)
    response = fetch(small_web.base_url("first") + "/page.html")
    assert (response.status, response.body) == (status, body)
    if header:
        assert response.headers[header[0]] == header[1]


def test_set_override_can_add_a_page_and_rejects_unknown_sites(small_web: LoopbackWeb) -> None:
    url = small_web.base_url("second") + "/new/article.html"
    assert fetch(url).status == 404
    small_web.set_override("second", "/new/article.html", body="<p>breaking</p>")
    response = fetch(url)
    assert (response.status, response.body) == (200, b"<p>breaking</p>")
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    small_web.set_override("second", "/busy.html", status=503, headers={"Retry-After": "120"})
    busy = fetch(small_web.base_url("second") + "/busy.html")
    assert (busy.status, busy.headers["Retry-After"]) == (503, "120")
    with pytest.raises(KeyError):
        small_web.set_override("nowhere", "/", body="x")


# ---------------------------------------------------------------- request log

def test_request_log_records_method_path_headers_and_status(small_web: LoopbackWeb) -> None:
    first = small_web.base_url("first")
    fetch(first + "/?utm=1", {"User-Agent": "SilkroadTest/1.0 (+probe)"})
    fetch(first + "/missing.html", {"If-None-Match": '"abc"'})
    fetch(small_web.base_url("second") + "/", method="HEAD")
    records = small_web.requests
    assert [(r.site, r.method, r.path, r.status) for r in records] == [
        ("first", "GET", "/?utm=1", 200),
        ("first", "GET", "/missing.html", 404),
        ("second", "HEAD", "/", 200),
    ]
    assert records[0].headers["User-Agent"] == "SilkroadTest/1.0 (+probe)"
    assert records[1].headers["If-None-Match"] == '"abc"'
    assert [r.path for r in small_web.requests_for("second")] == ["/"]
    small_web.clear_requests()
    assert small_web.requests == []


# ---------------------------------------------------------------- the demo web's content

@pytest.mark.parametrize("site", SOURCE_SITES)
def test_each_source_has_robots_txt(demo_web: LoopbackWeb, site: str) -> None:
    response = fetch(demo_web.base_url(site) + "/robots.txt")
    assert response.status == 200
    assert "User-agent: *" in response.body.decode()


def test_robots_txt_protects_the_private_page_and_announces_the_sitemap(
        demo_web: LoopbackWeb, expected: dict[str, Any]) -> None:
    robots = urllib.robotparser.RobotFileParser()
    robots_txt = fetch(demo_web.base_url("steppe-herald") + "/robots.txt").body.decode()
    robots.parse(robots_txt.splitlines())
    protected = expected["robots_protected"]["url"]
    assert not robots.can_fetch("SilkroadArchive", protected)
    assert fetch(protected).status == 200  # it exists: only robots.txt keeps a crawler out
    for article in expected["articles"]:
        for url in article["urls"]:
            if url.startswith(demo_web.base_url("steppe-herald")):
                assert robots.can_fetch("SilkroadArchive", url)
    observer = demo_web.base_url("silk-road-observer")
    robots_lines = fetch(observer + "/robots.txt").body.decode().splitlines()
    assert f"Sitemap: {observer}/sitemap.xml" in robots_lines


def test_sources_toml_renders_to_seeds_on_the_source_sites(demo_web: LoopbackWeb) -> None:
    seeds = tomllib.loads(demo_web.render((DEMO / "sources.toml").read_text("utf-8")))
    assert [source["language"] for source in seeds["sources"]] == ["en", "zh", "ru"]
    for source, site in zip(seeds["sources"], SOURCE_SITES, strict=True):
        for url in source["urls"] + source.get("feeds", []) + source.get("sitemaps", []):
            assert url.startswith(demo_web.base_url(site) + "/")
            assert fetch(url).status == 200


def test_expected_pages_exist(expected: dict[str, Any]) -> None:
    urls = [url for article in expected["articles"] for url in article["urls"]]
    urls += [page["url"] for page in expected["off_topic"]]
    urls += expected["listings"]["urls"]
    urls += [expected["robots_protected"]["url"], expected["off_scope"]["url"]]
    assert len(urls) == len(set(urls))
    assert {url: fetch(url).status for url in urls} == {url: 200 for url in urls}
    totals = expected["totals"]
    assert totals["articles"] == len(expected["articles"])
    assert totals["article_urls"] == sum(len(a["urls"]) for a in expected["articles"])
    assert totals["off_topic"] == len(expected["off_topic"])


@pytest.mark.parametrize("index", range(len(ARTICLE_IDS)), ids=ARTICLE_IDS)
def test_relevant_article_is_long_dated_and_names_exactly_its_countries(
        expected: dict[str, Any], index: int) -> None:
    article = expected["articles"][index]
    for url in article["urls"]:
        text = extracted(url)
        cjk = len(CJK.findall(text))
        words = len(re.findall(r"\w+", CJK.sub(" ", text)))
        assert words >= 250 or cjk >= 400, (words, cjk)
        assert words <= 600 and cjk <= 900, (words, cjk)
        named = {code for code, names in COUNTRY_NAMES.items()
                 if re.search(names, text, re.IGNORECASE)}
        assert named == set(article["countries"])
        page = parse_page(url)
        # The page says zh-CN; the archive's tag for it is zh-Hans (same language).
        assert page.lang is not None
        assert page.lang.split("-")[0] == article["language"].split("-")[0]
        assert page.canonical == url
        assert page.meta["article:published_time"][:10] == article["published"].isoformat()
        assert page.meta["og:type"] == "article"


@pytest.mark.parametrize("index", range(len(RAW_EXPECTED["off_topic"])),
                         ids=[page["url"].split("}}")[1] for page in RAW_EXPECTED["off_topic"]])
def test_off_topic_article_does_not_pair_china_with_central_asia(expected: dict[str, Any],
                                                                 index: int) -> None:
    text = extracted(expected["off_topic"][index]["url"])
    assert len(text) >= 300
    about_china = re.search(COUNTRY_NAMES["CN"], text, re.IGNORECASE)
    about_region = re.search("|".join([CENTRAL_ASIA] + [COUNTRY_NAMES[c] for c in
                                                        ("KZ", "KG", "TJ", "TM", "UZ")]),
                             text, re.IGNORECASE)
    assert not (about_china and about_region)


def test_syndicated_article_has_identical_text_under_different_chrome(
        expected: dict[str, Any]) -> None:
    syndicated = [a for a in expected["articles"] if a.get("syndicated")]
    assert len(syndicated) == 1
    original, copy = syndicated[0]["urls"]
    assert urlsplit(original).netloc != urlsplit(copy).netloc
    assert fetch(original).body != fetch(copy).body
    assert extracted(original) == extracted(copy)


def test_demo_search_terms_hit_exactly_the_listed_articles(expected: dict[str, Any]) -> None:
    search = expected["search"]
    for term, hits, pattern in [
        (search["zh"], search["zh_hits"], re.escape(search["zh"])),
        (search["en"], search["en_hits"], rf"\b{re.escape(search['en'])}\b"),
    ]:
        found = [a["urls"][0] for a in expected["articles"]
                 if re.search(pattern, extracted(a["urls"][0]), re.IGNORECASE)]
        assert found == hits, term
    assert any(GBK_PAGE in url for url in search["zh_hits"])


def _crawl_links(start: list[str], host: str, robots: urllib.robotparser.RobotFileParser
                 ) -> tuple[set[str], dict[str, list[str]]]:
    """Every page reachable by in-host links from ``start``, and each page's outgoing links."""
    seen, queue, links = set(start), list(start), {}
    while queue:
        url = queue.pop()
        response = fetch(url)
        if response.status in (301, 302):
            target = urljoin(url, response.headers["Location"])
            if target not in seen:
                seen.add(target)
                queue.append(target)
            continue
        if not response.headers["Content-Type"].startswith("text/html"):
            continue
        parser = _Links()
        parser.feed(text_of(response))
        links[url] = [urljoin(url, href).split("#")[0] for href in parser.hrefs]
        for target in links[url]:
            if (urlsplit(target).netloc == host and target not in seen
                    and robots.can_fetch("SilkroadArchive", target)):
                seen.add(target)
                queue.append(target)
    return seen, links


def test_discovery_paths_of_the_demo_web(demo_web: LoopbackWeb, expected: dict[str, Any]) -> None:
    seeds = tomllib.loads(demo_web.render((DEMO / "sources.toml").read_text("utf-8")))
    reachable: set[str] = set()
    links: dict[str, list[str]] = {}
    for source in seeds["sources"]:
        host = urlsplit(source["urls"][0]).netloc
        robots = urllib.robotparser.RobotFileParser()
        robots.parse(fetch(f"http://{host}/robots.txt").body.decode().splitlines())
        found, page_links = _crawl_links(source["urls"], host, robots)
        reachable |= found
        links |= page_links
    all_links = {target for targets in links.values() for target in targets}

    feed = ET.fromstring(fetch(demo_web.base_url("steppe-herald") + "/feed.xml").body)
    feed_links = {item.findtext("link") for item in feed.iter("item")}
    sitemap = ET.fromstring(fetch(demo_web.base_url("silk-road-observer") + "/sitemap.xml").body)
    sitemap_links = {loc.text for loc in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")}

    for article in expected["articles"]:
        if article["found_via"] == "links":
            assert set(article["urls"]) <= reachable, article["title"]
        else:
            assert not set(article["urls"]) & all_links, article["title"]
            announced = feed_links if article["found_via"] == "feed" else sitemap_links
            assert set(article["urls"]) <= announced, article["title"]
    assert {page["url"] for page in expected["off_topic"]} <= reachable
    assert set(expected["listings"]["urls"]) <= reachable

    protected, off_scope = expected["robots_protected"], expected["off_scope"]
    assert protected["url"] in links[protected["linked_from"]]
    assert off_scope["url"] in links[off_scope["linked_from"]]
    source_hosts = {urlsplit(s["urls"][0]).netloc for s in seeds["sources"]}
    assert urlsplit(off_scope["url"]).netloc not in source_hosts
    assert off_scope["url"].startswith(demo_web.base_url(off_scope["site"]) + "/")
