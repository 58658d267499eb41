"""One crawl of a hostile web: every trap at once, and still every good page archived.

Five loopback sites misbehave in all the ways sites we do not control do:
malformed HTML, lying charsets, binary and empty pages, 4xx/5xx/429 with and
without Retry-After, redirect loops and redirects off scope or into a private
network, a body that stalls and a server that never answers, a 40 MB page and
512 MiB gzip/deflate/brotli bombs, calendar and query-parameter traps, links
with every scheme but http, robots.txt that is malformed, fails or hangs,
broken feeds and sitemaps, XML entity bombs and external entities. Among them
sit eleven good articles. The crawl must exit 0, archive exactly those eleven,
keep its memory (the whole process tree) under 1 GiB, and never ask for what
it must not: robots-denied paths, other hosts, private addresses, entities.
"""

from __future__ import annotations

import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from crawler.analysis.snapshot_body import unpack_body
from crawler.links.urls import canonical_url
from tests.hostile_server import (
    HTML,
    Exchange,
    HostileWeb,
    brotli_bomb,
    can_bind,
    deflate_bomb,
    encoded,
    gzip_bomb,
    page,
    redirect,
    sequence,
    silent,
    stall,
    stream,
)
from tests.support import FAST_CRAWL, FIXTURES, REPO

ARTICLES = FIXTURES / "hostile"
ADDRESSES = {
    "news": "127.0.0.81", "slowrobots": "127.0.0.82", "brokenrobots": "127.0.0.83",
    "offsite": "127.0.0.84", "intranet": "127.0.0.85", "mapped": "127.0.0.86",
}
# Host names the crawl resolves through tests.hostile_server.MappedResolver.
MAPPED_HOST = "mapped.hostile.test"
INTRANET_HOST = "intranet.hostile.test"
BOMB_SIZE = 512 * 1024 * 1024
HUGE_SIZE = 40 * 1000 * 1000
RSS_LIMIT = 1024 * 1024 * 1024
DOWNLOAD_TIMEOUT = 3
RETRY_AFTER = 2
INTRANET_SECRET = "intranet-secret-7f3a"

# What Scrapy logs at ERROR level in this crawl, none of them a failure of ours.
EXPECTED_ERRORS = ("Gave up retrying", "/robots.txt took longer than")

pytestmark = [
    pytest.mark.slow,  # a real crawl of a hostile web, shared by the module
    pytest.mark.skipif(
        not Path("/proc/self/status").exists() or not can_bind("127.0.0.86"),
        reason="needs Linux /proc and the 127.0.0.0/8 loopback range"),
]


@dataclass(frozen=True)
class Good:
    """A good article: where it is served, and what the archive must hold for it."""

    site: str
    path: str
    title: str
    published: str
    language: str
    marker: str  # a phrase its stored text must contain, correctly decoded


GOOD = (
    Good("news", "/articles/gas-line-d.html", "Turkmen gas for China: work resumes on Line D",
         "2025-03-14", "en", "Central Asia–China gas pipeline"),
    Good("news", "/articles/khorgos-ru.html",
         "Хоргос наращивает перевалку грузов между Казахстаном и Китаем",
         "2025-04-02", "ru", "ширина колеи в Китае и Казахстане"),
    Good("news", "/articles/uz-trade-zh.html", "中国与乌兹别克斯坦农产品贸易快速增长",
         "2025-05-20", "zh", "冷链卡车经吉尔吉斯斯坦进入新疆"),
    Good("news", "/articles/almaty-urumqi.html",
         "Almaty–Ürümqi flights return to a daily schedule", "2025-06-11", "en",
         "Ürümqi’s wholesale markets"),
    Good("news", "/articles/solar-kyrgyzstan.html",
         "Chinese builders finish Kyrgyzstan’s largest solar park", "2025-02-08", "en",
         "Toktogul reservoir"),
    Good("news", "/articles/wheat-kazakhstan.html",
         "Kazakh wheat heads to China by rail in record volumes", "2025-07-19", "en",
         "Dostyk and Altynkol"),
    Good("news", "/articles/tajik-roads.html", "A new road links Dushanbe with the Chinese border",
         "2025-01-27", "en", "Kulma pass"),
    Good("news", "/articles/caspian-corridor.html",
         "China–Kazakhstan trains test the Middle Corridor across the Caspian", "2025-08-30",
         "en", "port of Aktau"),
    Good("slowrobots", "/summit-astana.html",
         "Leaders of China and Central Asia sign a friendship treaty in Astana", "2025-06-17",
         "en", "permanent good-neighbourliness"),
    Good("brokenrobots", "/ili-water.html",
         "Kazakhstan and China agree to share data on the Ili river", "2025-09-05", "en",
         "Lake Balkhash"),
    Good("mapped", "/dig.html", "Chinese equipment arrives for Uzbekistan’s copper expansion",
         "2025-10-12", "en", "Almalyk copper mine"),
)


def article(name: str) -> str:
    return (ARTICLES / name).read_text(encoding="utf-8")


# -- the web ---------------------------------------------------------------------------

NEWS_INDEX = """<html><head><title>Steppe Courier</title>
<body><div id=top><h1>Steppe Courier</h1><ul>
<li><a href="/articles/gas-line-d.html">Turkmen gas for China</a>
<li><a href=" /articles/gas-line-d.html#comments ">comments</a>
<li><a href="/articles/gas-line-d.html?utm_source=home&amp;fbclid=x1">shared</a>
<li><a href="/articles/khorgos-ru.html">Хоргос и Китай</a>
<li><a href="/articles/uz-trade-zh.html">中国与乌兹别克斯坦</a>
<li><a href="/articles/almaty-urumqi.html">Almaty–Ürümqi</a>
<li><a href="/articles/solar-kyrgyzstan.html">Kyrgyzstan solar with China</a>
<li><a href="/articles/wheat-kazakhstan.html">Kazakh wheat for China</a>
<li><a href="/binary.html">binary</a> <a href="/empty.html">empty</a>
<li><a href="/gone.html">404</a> <a href="/forbidden.html">403</a>
<li><a href="/broken.html">500</a> <a href="/overloaded.html">503 for an hour</a>
<li><a href="/loop-a">loop</a> <a href="/self">self</a>
<li><a href="/offsite-redirect">elsewhere</a> <a href="/to-intranet">intranet</a>
<li><a href="/to-file">file</a> <a href="/to-ftp">ftp</a> <a href="/to-data">data</a>
<li><a href="/calendar?month=2025-06">Calendar</a>
<li><a href="/search?q=china&amp;page=1">Search</a>
<li><a href="/huge.html">huge</a> <a href="/huge-unannounced.html">huge too</a>
<li><a href="/bomb-gzip.html">gz</a> <a href="/bomb-deflate.html">deflate</a>
    <a href="/bomb-br.html">br</a>
<li><a href="/stall.html">stall</a> <a href="/silent.html">silent</a>
<li><a href="/private/secret.html">China Kazakhstan private</a>
<li><a href="javascript:alert(document.cookie)">js</a>
    <a href="mailto:desk@example.com">mail</a> <a href="tel:+77000000000">tel</a>
    <a href="file:///etc/passwd">passwd</a> <a href="ftp://{{site:news}}/pub/">ftp</a>
    <a href="ftp://127.0.0.81/pub/">ftp2</a>
    <a href="data:text/html;base64,PGgxPkNoaW5hPC9oMT4=">data</a>
    <a href="http://[::1">bad ipv6</a> <a href="http:///nohost">no host</a>
    <a href="http://%zz/">bad escape</a> <a href="//">empty</a>
    <a href="http://127.0.0.81:99999/">bad port</a> <a href="ht!tp://x">bad scheme</a>
    <a href="/{long}">long</a>
    <a href="{{site:offsite}}/landing.html">offsite article</a>
    <a href="{{site:intranet}}/secret.html">intranet</a>
</ul></div></table></td>
<p>unclosed <b>bold <i>italic</p></div></div>
"""

MALFORMED_ROBOTS = """<html><body>Not a robots file</body></html>
\x00\x01garbage line with no colon
User-agent: *
Disallow: /private/
Disallow  /missing-colon/
Crawl-delay: banana
Sitemap: {{site:news}}/sitemap-xxe.xml
Sitemap: {{site:news}}/sitemap-bomb.xml.gz
Sitemap: not a url at all
"""

BILLION_LAUGHS_FEED = """<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title><link>{{site:news}}/articles/gas-line-d.html</link></item>
</channel></rss>
"""

XXE_FEED = """<?xml version="1.0"?>
<!DOCTYPE rss SYSTEM "{{site:news}}/evil.dtd" [
 <!ENTITY passwd SYSTEM "file:///etc/passwd">
 <!ENTITY leak SYSTEM "file://{leak_file}">
 <!ENTITY remote SYSTEM "{{site:news}}/remote-entity.xml">
]>
<rss version="2.0"><channel><title>&passwd;</title>
<item><title>&passwd;</title><link>&leak;</link></item>
<item><title>&remote;</title><link>{{site:news}}/articles/tajik-roads.html</link></item>
</channel></rss>
"""

XXE_SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE urlset [
 <!ENTITY leak SYSTEM "file://{leak_file}">
 <!ENTITY % dtd SYSTEM "{{site:news}}/evil.dtd"> %dtd;
]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>&leak;</loc></url>
<url><loc>{{site:news}}/articles/caspian-corridor.html</loc></url>
</urlset>
"""

BROKEN_FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>Truncated
<item><link>{{site:news}}/articles/almaty-urumqi.html</link></item><item><link>"""

BROKEN_SITEMAP = b"<?xml version='1.0'?><urlset><url><loc>\x00\xff\xfe\x89PNG\r\n\x1a\n" + bytes(64)

MAPPED_INDEX = f"""<html><head><title>Mapped Mining News</title></head><body>
<a href="/dig.html">Copper: China and Uzbekistan</a>
<a href="http://{INTRANET_HOST}:{{port}}/secret.html">China Uzbekistan intranet report</a>
<a href="{{{{site:intranet}}}}/secret.html">the same by address</a>
<a href="/to-intranet">moved</a>
</body></html>"""


def calendar(ex: Exchange) -> None:
    """An endless calendar: every month links to the month before and after."""
    year, month = (int(part) for part in ex.query.get("month", ["2025-06"])[0].split("-"))
    before = f"{year - (month == 1)}-{(month - 2) % 12 + 1:02d}"
    after = f"{year + (month == 12)}-{month % 12 + 1:02d}"
    body = (f"<html><body><h1>Events {year}-{month:02d}</h1>"
            f"<a href='/calendar?month={before}'>previous</a> "
            f"<a href='/calendar?month={after}'>next</a></body></html>")
    ex.send(200, body.encode(), {"Content-Type": HTML})


def search_trap(ex: Exchange) -> None:
    """Faceted search: two new pages per page, plus the same page under tracking and
    reordered parameters (which must all be one page to the crawler)."""
    number = int(ex.query.get("page", ["1"])[0])
    links = [f"/search?q=china&page={number + 1}&sort=new",
             f"/search?q=china&page={number + 1}&sort=old",
             f"/search?page={number}&q=china",
             f"/search?q=china&page={number}&utm_source=trap&utm_medium=x",
             f"/search?q=china&page={number}&fbclid=abc{number}"]
    body = "<html><body>" + "".join(f"<a href='{u.replace('&', '&amp;')}'>r</a>"
                                    for u in links) + "</body></html>"
    ex.send(200, body.encode(), {"Content-Type": HTML})


def build_web(leak_file: Path) -> HostileWeb:
    web = HostileWeb(ADDRESSES)
    rng = random.Random(20250614)
    news = {
        "/robots.txt": page(MALFORMED_ROBOTS, content_type="text/plain"),
        "/": page(NEWS_INDEX.replace("{long}", "a" * 5000)),
        "/articles/gas-line-d.html": page(article("gas-line-d.html")),
        "/articles/khorgos-ru.html": page(article("khorgos-ru.html").encode("cp1251"),
                                          content_type="text/html; charset=utf-8"),
        "/articles/uz-trade-zh.html": page(article("uz-trade-zh.html").encode("gbk"),
                                           content_type="text/html"),
        "/articles/almaty-urumqi.html": page(article("almaty-urumqi.html").encode("utf-8"),
                                             content_type="text/html; charset=iso-8859-1"),
        "/articles/solar-kyrgyzstan.html": sequence(
            page("<h1>Service unavailable</h1>", status=503),
            page(article("solar-kyrgyzstan.html"))),
        "/articles/wheat-kazakhstan.html": sequence(
            page("<h1>Slow down</h1>", status=429, headers={"Retry-After": str(RETRY_AFTER)}),
            page(article("wheat-kazakhstan.html"))),
        "/articles/tajik-roads.html": page(article("tajik-roads.html")),
        "/articles/caspian-corridor.html": page(article("caspian-corridor.html")),
        "/private/secret.html": page(article("caspian-corridor.html").replace("Aktau", "Kuryk")),
        "/binary.html": page(b"\x89PNG\r\n\x1a\n" + rng.randbytes(300_000)),
        "/empty.html": page(b""),
        "/forbidden.html": page("<h1>Forbidden</h1>", status=403),
        "/broken.html": page("<h1>Internal error</h1>", status=500),
        "/overloaded.html": page("<h1>Back in an hour</h1>", status=503,
                                 headers={"Retry-After": "3600"}),
        "/loop-a": redirect("/loop-b"),
        "/loop-b": redirect("{{site:news}}/loop-a"),
        "/self": redirect("/self", 301),
        "/offsite-redirect": redirect("{{site:offsite}}/landing.html"),
        "/to-intranet": redirect("{{site:intranet}}/admin"),
        "/to-file": redirect("file:///etc/passwd"),
        "/to-ftp": redirect("ftp://127.0.0.81/pub/"),
        "/to-data": redirect("data:text/html,<h1>China and Kazakhstan</h1>"),
        "/calendar": calendar,
        "/search": search_trap,
        "/huge.html": stream(HUGE_SIZE),
        "/huge-unannounced.html": stream(HUGE_SIZE, announce=False),
        "/bomb-gzip.html": encoded(gzip_bomb(BOMB_SIZE), "gzip"),
        "/bomb-deflate.html": encoded(deflate_bomb(BOMB_SIZE), "deflate"),
        "/bomb-br.html": encoded(brotli_bomb(BOMB_SIZE), "br"),
        "/stall.html": stall(article("tajik-roads.html").encode()[:2000], 100_000),
        "/silent.html": silent(),
        "/feed-broken.xml": page(BROKEN_FEED, content_type="application/rss+xml"),
        "/feed-laughs.xml": page(BILLION_LAUGHS_FEED, content_type="application/rss+xml"),
        "/feed-xxe.xml": page(XXE_FEED.replace("{leak_file}", str(leak_file)),
                              content_type="application/rss+xml"),
        "/sitemap-broken.xml": page(BROKEN_SITEMAP, content_type="application/xml"),
        "/sitemap-xxe.xml": page(XXE_SITEMAP.replace("{leak_file}", str(leak_file)),
                                 content_type="application/xml"),
        "/sitemap-bomb.xml.gz": page(gzip_bomb(BOMB_SIZE), content_type="application/x-gzip"),
        "/evil.dtd": page('<!ENTITY remote "dtd was fetched">', content_type="application/xml-dtd"),
        "/remote-entity.xml": page("remote entity was fetched", content_type="text/plain"),
    }
    for path, handler in news.items():
        web.route("news", path, handler)
    web.route("slowrobots", "/robots.txt", silent())
    web.route("slowrobots", "/summit-astana.html", page(article("summit-astana.html")))
    web.route("brokenrobots", "/robots.txt", page("<h1>Internal error</h1>", status=500))
    web.route("brokenrobots", "/ili-water.html", page(article("ili-water.html")))
    web.route("offsite", "/landing.html", page(article("wheat-kazakhstan.html")
                                               .replace("record volumes", "offsite volumes")))
    for path in ("/admin", "/secret.html"):
        web.route("intranet", path, page(f"<h1>China Kazakhstan {INTRANET_SECRET}</h1>"))
    web.route("mapped", "/", lambda ex: page(MAPPED_INDEX.replace("{port}", str(ex.web.port)))(ex))
    web.route("mapped", "/dig.html", page(article("copper-almalyk.html")))
    web.route("mapped", "/to-intranet",
              lambda ex: redirect(f"http://{INTRANET_HOST}:{ex.web.port}/admin")(ex))
    return web


SEEDS = """
[[sources]]
name = "Steppe Courier"
urls = ["{{site:news}}/"]
feeds = ["{{site:news}}/feed-broken.xml", "{{site:news}}/feed-laughs.xml",
         "{{site:news}}/feed-xxe.xml"]
sitemaps = ["{{site:news}}/sitemap-broken.xml"]

[[sources]]
name = "Slow Wire"
urls = ["{{site:slowrobots}}/summit-astana.html"]

[[sources]]
name = "Broken Robots Daily"
urls = ["{{site:brokenrobots}}/ili-water.html"]

[[sources]]
name = "Mapped Mining News"
urls = ["http://MAPPED:PORT/"]
allowed_domains = ["hostile.test"]
"""


# -- running and measuring the crawl -------------------------------------------------------

def tree_rss(root: int) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    children: dict[int, list[int]] = defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children[int(fields[1])].append(int(stat.parent.name))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, ()))
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


@dataclass
class MeasuredRun:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_tree_rss: int
    peak_single_rss: int


def run_measured(args: list[str], env: dict[str, str], timeout: float) -> MeasuredRun:
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "crawler", *args], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(process.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        done.set()
        sampler.join()
        if process.poll() is None:
            process.kill()
    return MeasuredRun(process.returncode, stdout, stderr, time.monotonic() - started, peak,
                       resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("hostile")
    leak_file = tmp / "leak.txt"
    web = build_web(leak_file).start()
    try:
        leak_file.write_text(web.base_url("news") + "/leaked-via-xxe.html\n")
        seeds = tmp / "sources.toml"
        seeds.write_text(web.render(SEEDS).replace("MAPPED", MAPPED_HOST)
                         .replace("PORT", str(web.port)), encoding="utf-8")
        db = tmp / "archive.sqlite"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200",
               "SILKROAD_TEST_DNS": f"{MAPPED_HOST}={ADDRESSES['mapped']},"
                                    f"{INTRANET_HOST}={ADDRESSES['intranet']}"}
        run = run_measured(
            ["crawl", "--seeds", str(seeds), "--db", f"sqlite:///{db}", *FAST_CRAWL,
             "-s", f"DOWNLOAD_TIMEOUT={DOWNLOAD_TIMEOUT}", "-s", "RETRY_TIMES=1",
             "-s", "TWISTED_DNS_RESOLVER=tests.hostile_server.MappedResolver"],
            env, timeout=240)  # the time bound: generous, so that only a hang fails
    finally:
        web.stop()
    print(f"\nhostile crawl: {run.seconds:.1f} s, peak RSS of the process tree "
          f"{run.peak_tree_rss / 2**20:.0f} MiB (largest single process "
          f"{run.peak_single_rss / 2**20:.0f} MiB)")
    yield {"run": run, "web": web, "db": db, "tmp": tmp}


def query(state: dict, sql: str, *args: object) -> list[tuple]:
    with sqlite3.connect(state["db"]) as conn:
        return conn.execute(sql, args).fetchall()


def url_of(state: dict, good: Good) -> str:
    if good.site == "mapped":
        return f"http://{MAPPED_HOST}:{state['web'].port}{good.path}"
    return state["web"].base_url(good.site) + good.path


def run_stats(state: dict) -> dict:
    return json.loads(query(state, "SELECT stats FROM crawl_runs ORDER BY id DESC LIMIT 1")[0][0])


# -- the crawl as a whole ---------------------------------------------------------------

def test_the_crawl_exits_0_in_bounded_time_and_memory(crawled: dict) -> None:
    run: MeasuredRun = crawled["run"]
    assert run.returncode == 0, run.stderr[-3000:]
    errors = [line for line in run.stderr.splitlines() if " ERROR " in line]
    unexpected = [line for line in errors if not any(p in line for p in EXPECTED_ERRORS)]
    assert not unexpected, unexpected
    assert not any(key.startswith(("spider_exceptions", "log_count/CRITICAL"))
                   for key in run_stats(crawled)), run_stats(crawled)
    assert 0 < run.peak_tree_rss < RSS_LIMIT, f"peak RSS {run.peak_tree_rss / 2**20:.0f} MiB"
    assert query(crawled, "SELECT outcome FROM crawl_runs") == [("ok",)]
    assert query(crawled, "PRAGMA integrity_check") == [("ok",)]


def test_exactly_the_good_articles_are_archived(crawled: dict) -> None:
    stored = {row[0]: row[1:] for row in query(
        crawled, "SELECT url, title, published, language, text FROM articles")}
    assert set(stored) == {url_of(crawled, good) for good in GOOD}
    for good in GOOD:
        title, published, language, text = stored[url_of(crawled, good)]
        assert (title, published[:10], language) == (good.title, good.published, good.language)
        assert good.marker in text and "\ufffd" not in text, good.path
        assert "filler filler" not in text


@pytest.mark.parametrize("path, outcome", [("/binary.html", "no_article"),
                                           ("/empty.html", "no_article")])
def test_binary_and_empty_pages_are_kept_as_pages_without_article(crawled: dict, path: str,
                                                                   outcome: str) -> None:
    url = crawled["web"].base_url("news") + path
    assert query(crawled, "SELECT last_status, last_outcome FROM pages WHERE url = ?", url) == [
        (200, outcome)]
    assert query(crawled, "SELECT count(*) FROM sightings s JOIN pages p ON p.id = s.page_id "
                          "WHERE p.url = ?", url) == [(0,)]


def test_only_http_pages_on_the_seeded_hosts_are_stored(crawled: dict) -> None:
    web = crawled["web"]
    hosts = (web.base_url("news"), web.base_url("slowrobots"), web.base_url("brokenrobots"),
             f"http://{MAPPED_HOST}:{web.port}")
    urls = [url for (url,) in query(crawled, "SELECT url FROM pages UNION "
                                             "SELECT url FROM snapshots UNION "
                                             "SELECT url FROM sightings")]
    assert urls and all(url.startswith(tuple(h + "/" for h in hosts)) for url in urls), urls
    statuses = {status for (status,) in query(crawled, "SELECT last_status FROM pages "
                                                       "WHERE last_outcome != 'robots'")}
    assert statuses == {200}  # robots.txt is stored whatever its status: it decided the crawl
    gas = [u for u in urls if "gas-line-d" in u]
    assert set(gas) == {web.base_url("news") + "/articles/gas-line-d.html"}


def test_nothing_from_etc_passwd_or_the_intranet_reaches_the_archive(crawled: dict) -> None:
    first_line = Path("/etc/passwd").read_text().splitlines()[0]
    texts = [value for row in query(crawled, "SELECT title, text, url FROM articles")
             for value in row if value]
    texts += [unpack_body(body).decode("utf-8", "replace")
              for (body,) in query(crawled, "SELECT body FROM snapshots")]
    texts += [headers for (headers,) in query(crawled, "SELECT headers FROM snapshots")]
    assert texts
    for leak in (first_line, INTRANET_SECRET, "dtd was fetched", "remote entity was fetched"):
        assert not any(leak in text for text in texts), leak


# -- what the servers saw -----------------------------------------------------------------

@pytest.mark.parametrize("site, path", [
    ("offsite", None), ("intranet", None),
    ("news", "/private/secret.html"),  # robots.txt, malformed, still says Disallow
    ("news", "/leaked-via-xxe.html"), ("news", "/evil.dtd"), ("news", "/remote-entity.xml"),
])
def test_never_requested(crawled: dict, site: str, path: str | None) -> None:
    assert crawled["web"].hits(site, path) == []


@pytest.mark.parametrize("path, times", [
    ("/broken.html", 2),  # RETRY_TIMES=1
    ("/overloaded.html", 1),  # Retry-After: 3600 is longer than we wait
    ("/stall.html", 2), ("/silent.html", 2),  # timeouts are retried once
    ("/huge.html", 1), ("/huge-unannounced.html", 1),
    ("/bomb-gzip.html", 1), ("/bomb-deflate.html", 1), ("/bomb-br.html", 1),
    ("/sitemap-bomb.xml.gz", 1), ("/feed-xxe.xml", 1), ("/sitemap-xxe.xml", 1),
    ("/feed-laughs.xml", 1), ("/feed-broken.xml", 1), ("/sitemap-broken.xml", 1),
    ("/self", 1), ("/loop-a", 1), ("/loop-b", 1),
    ("/to-intranet", 1), ("/offsite-redirect", 1),
])
def test_requested_as_often_as_it_should_be(crawled: dict, path: str, times: int) -> None:
    assert len(crawled["web"].hits("news", path)) == times


@pytest.mark.parametrize("path, wait", [
    ("/articles/wheat-kazakhstan.html", RETRY_AFTER),  # 429 with Retry-After
    ("/articles/solar-kyrgyzstan.html", 1.0),  # 503 without: back-off
])
def test_retries_wait(crawled: dict, path: str, wait: float) -> None:
    hits = crawled["web"].hits("news", path)
    assert len(hits) == 2
    assert hits[1].at - hits[0].at >= wait - 0.05


def test_robots_txt_that_fails_or_hangs_does_not_block_the_site(crawled: dict) -> None:
    assert len(crawled["web"].hits("slowrobots", "/robots.txt")) >= 2  # timed out, retried
    assert crawled["web"].hits("brokenrobots", "/robots.txt")
    assert crawled["web"].hits("slowrobots", "/summit-astana.html")


def test_traps_are_bounded_by_depth_and_url_canonicalisation(crawled: dict) -> None:
    web = crawled["web"]
    months = [h.query for h in web.hits("news", "/calendar")]
    assert 0 < len(months) <= 5 and len(set(months)) == len(months)  # DEPTH_LIMIT 3
    searches = [canonical_url("http://x/search?" + h.query) for h in web.hits("news", "/search")]
    assert 0 < len(searches) <= 7 and len(set(searches)) == len(searches)
    assert not any(k.startswith("utm_") or k == "fbclid"
                   for h in web.hits("news", "/search") for k, _ in parse_qsl(h.query))


def test_private_hosts_are_refused_even_by_name_and_through_redirects(crawled: dict) -> None:
    web = crawled["web"]
    assert web.hits("mapped", "/to-intranet")  # the redirect was fetched, its target not
    assert web.hits("intranet") == []
    stats = run_stats(crawled)
    assert stats["silkroad/ssrf_refused"] >= 2  # a link and a redirect to intranet.hostile.test
    assert stats["silkroad/off_scope_refused"] >= 2  # redirects to offsite and to 127.0.0.85
