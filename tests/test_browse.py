"""`silkroad browse` end to end: the real command serving a small archive, searched in Chinese.

One server for the module, on the search corpus plus a story told three times
(a revised version at the same address, a near-duplicate repost elsewhere): its
JSON API and pages are checked over HTTP, and what a reader sees at 1400x1000
in headless Chromium (Debian's ``chromium`` and ``fonts-noto-cjk``, which
``.ci/run`` installs), screenshots kept under the test's tmp_path.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from crawler.analysis.fingerprint import content_hash
from crawler.analysis.near_duplicates import signature
from crawler.browse import reading
from crawler.browse.plugin import archive_match
from crawler.cli.main import cli as silkroad
from storage.archive import ArticleRecord, FetchRecord, SourceCache, record_fetch, start_run
from storage.engine import make_engine
from storage.migrate import upgrade
from tests import postgres_cluster
from tests.browser import CHROMIUM, CHROMIUM_FLAGS, Chromium, png_rows
from tests.conftest import BACKENDS
from tests.search_corpus import BY_KEY, DOCS, store
from tests.support import REPO

NEEDS_CHROMIUM = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Chromium is not installed (.ci/run installs Debian's chromium)")
INTERNAL_TABLES = ("article_bands", "frontier", "host_leases", "alembic_version")
COTTON = (
    "Cotton growers in the Sughd region of Tajikistan sell more of their harvest to "
    "spinning mills owned by Chinese companies.",
    "The mills, built near Khujand over the past five years, pay in advance and collect "
    "the bales themselves.",
    "Farmers say this spares them the long wait for state buyers, who paid late in three "
    "of the last five seasons.",
    "Economists in Dushanbe warn that the country still exports most of its cotton as "
    "fibre rather than as yarn or cloth.",
    "A new industrial park in Kulob is meant to change that, with Chinese partners "
    "promising looms as well as spindles.",
    "Officials expect the park to employ four thousand people when it opens next spring.",
    "Water remains the constraint: the canals that feed the fields were dug in the "
    "nineteen-sixties and lose much of what they carry.",
    "A Chinese lender has offered credit to line the main canal, and the government is "
    "studying the terms.",
    "Growers hope the lining will let them plant earlier and harvest before the rains.",
    "For now the bales keep moving east, by truck over the Kulma pass.",
)
STORY = {  # key: (url, source, title, paragraphs, fetched, near-duplicate search)
    "cotton": ("http://steppe-wire.test/cotton", "Steppe Wire",
               "Tajik cotton finds buyers in Chinese-owned mills", COTTON,
               "2026-01-05T09:00:00", True),
    "cotton-revised": ("http://steppe-wire.test/cotton", "Steppe Wire",
                       "Tajik cotton finds buyers in Chinese-owned mills (corrected)",
                       (*COTTON, "Correction: an earlier version misstated the jobs at Kulob."),
                       "2026-01-07T09:00:00", False),
    "cotton-repost": ("http://caravan-daily.test/tajik-cotton", "Caravan Daily",
                      "Chinese mills buy Tajik cotton", (*COTTON[:4],
                      "The park in Kulob will also dye and print cloth.", *COTTON[5:],
                      "Reporting by our correspondent."), "2026-01-06T09:00:00", True),
}


@dataclass(frozen=True)
class Server:
    base: str  # http://127.0.0.1:PORT/DBNAME
    db_file: Path | None  # None: a PostgreSQL archive, served as a snapshot
    digest_before: str
    ids: dict[str, int]

    @property
    def root(self) -> str:
        return self.base.rsplit("/", 1)[0]

    @property
    def path(self) -> str:
        return "/" + self.base.rsplit("/", 1)[1]


def store_story(session: Session) -> dict[str, int]:
    """The cotton story as a crawl stores it: revised in place, reposted elsewhere."""
    ids: dict[str, int] = {}
    sources = SourceCache()
    with session.begin():
        run = start_run(session, trigger="manual")
        for key, (url, source, title, paragraphs, when, sign) in STORY.items():
            text = "\n".join(paragraphs)
            fetch = FetchRecord(
                page_url=url, url=url, final_url=url, status=200,
                headers={"Content-Type": ["text/html; charset=utf-8"]},
                body=f"<html><h1>{title}</h1><p>{text}</p></html>".encode(),
                fetched_at=datetime.fromisoformat(when), source=source)
            article = ArticleRecord(
                content_hash=content_hash(text), text=text, relevance=0.7, title=title,
                language="en", published=when[:10], countries=("CN", "TJ"),
                themes=("trade",), site_name=source,
                minhash=signature(text) if sign else None)
            result = record_fetch(session, fetch, article, run_id=run.id, outcome="article",
                                  sources=sources)
            assert result.article_id is not None
            ids[key] = result.article_id
    return ids


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=20) as response:
        return json.loads(response.read())


def wait_until_serving(url: str, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"browse exited early: {process.stderr.read()}")  # type: ignore[union-attr]
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError(f"browse did not answer at {url} within {timeout}s")


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The archive served by `silkroad browse`; on PostgreSQL, through its SQLite snapshot."""
    db_file: Path | None = None
    if request.param == "postgresql":
        admin = str(request.getfixturevalue("postgres_server"))
        db_url = postgres_cluster.create_database(admin)
        request.addfinalizer(lambda: postgres_cluster.drop_database(admin, db_url))
    else:
        db_file = tmp_path_factory.mktemp("browse") / "silkroad.sqlite"
        db_url = f"sqlite:///{db_file}"
    engine = make_engine(db_url)
    upgrade(engine)
    with Session(engine) as session:
        ids = store(session)
        ids.update(store_story(session))
    engine.dispose()
    digest = file_digest(db_file) if db_file else ""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler", "browse", "--db", db_url, "--port", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        root = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{root}/-/versions.json", process)
        [database] = get_json(f"{root}/-/databases.json")  # type: ignore[misc]
        yield Server(f"{root}/{database['name']}", db_file, digest, ids)
    finally:
        process.terminate()
        process.wait(timeout=20)


def search_titles(server: Server, query: str) -> set[str]:
    url = f"{server.base}/articles.json?" + urlencode(
        {"_search": query, "_shape": "array", "_col": "title"})
    return {row["title"] for row in get_json(url)}  # type: ignore[union-attr]


def titles(*keys: str) -> set[str]:
    return {BY_KEY[key].title for key in keys}


@pytest.mark.parametrize("query, expected", [
    ("中亚", titles(*(d.key for d in DOCS if "中亚" in d.title + d.text))),
    ("中亞", titles(*(d.key for d in DOCS if "中亚" in d.title + d.text))),  # Traditional
    ("中吉乌铁路", titles("cku-rail")),
    ("吉乌铁", titles("cku-rail")),
    ("RAILWAYS", titles("kz-rail")),
    ('"gas pipeline"', titles("tm-gas")),
    ("pipeline NOT Turkmenistan", titles("uz-water")),
    ("газопровод", titles("ru-gas")),
    ('"gas pipeline', titles("tm-gas", "uz-water")),  # lenient box: unclosed quote, words
])
def test_search_box_query(server: Server, query: str, expected: set[str]) -> None:
    assert search_titles(server, query) == expected


def test_search_box_and_not_excludes(server: Server) -> None:
    assert archive_match("China AND NOT Kazakhstan") == '("China" NOT "Kazakhstan")'
    found = search_titles(server, "China AND NOT Kazakhstan")
    assert found == titles("tm-gas") and not any("Kazakhstan" in t for t in found)


def test_ranked_search_query_has_highlighted_snippets(server: Server) -> None:
    rows = get_json(f"{server.base}/search.json?" + urlencode({"q": "铁路", "_shape": "array"}))
    [row] = rows  # type: ignore[misc]
    assert row["title"] == BY_KEY["cku-rail"].title and "**铁路**" in row["snippet"]


def test_facets_and_labels_come_from_the_shipped_metadata(server: Server) -> None:
    data = get_json(f"{server.base}/articles.json?_labels=on")
    facets = data["facet_results"]  # type: ignore[index]
    assert {"language", "countries", "source_id"} <= set(facets)
    languages = {item["value"]: item["count"] for item in facets["language"]["results"]}
    assert languages == {"en": 4 + len(STORY), "zh": 3, "ru": 2}
    sources = {item["label"] for item in facets["source_id"]["results"]}
    assert "丝路观察" in sources


def test_archive_is_served_read_only(server: Server) -> None:
    request = urllib.request.Request(
        f"{server.base}.json?" + urlencode({"sql": "delete from articles"}))
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=20)
    assert len(search_titles(server, "cotton")) == len(STORY)
    if server.db_file is not None:
        assert file_digest(server.db_file) == server.digest_before


@pytest.mark.parametrize("db, message", [
    ("sqlite:///{tmp}/missing.sqlite", "no archive at"),
    ("sqlite:///{tmp}/no/such/folder/a.sqlite", "does not exist"),
    ("sqlite:///:memory:", "needs an archive file"),
])
def test_browse_without_an_archive_exits_2(tmp_path: Path, db: str, message: str) -> None:
    result = CliRunner().invoke(silkroad, ["browse", "--db", db.format(tmp=tmp_path)])
    assert result.exit_code == 2 and message in result.stderr


def render(url: str, profile: Path) -> str:
    result = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@NEEDS_CHROMIUM
def test_chinese_search_in_a_real_browser(server: Server, tmp_path: Path) -> None:
    dom = render(f"{server.base}/articles?_search={quote('中吉乌')}", tmp_path / "profile")
    assert BY_KEY["cku-rail"].title in dom
    assert BY_KEY["summit"].title not in dom and BY_KEY["tm-gas"].title not in dom
    assert "1 article where search matches" in dom
    dom = render(f"{server.base}/articles?_search={quote('中亚')}", tmp_path / "profile")
    assert BY_KEY["cku-rail"].title in dom and BY_KEY["summit"].title in dom
    assert BY_KEY["aiib"].title not in dom


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to drop CAP_DAC_OVERRIDE")
def test_an_archive_on_read_only_storage_is_served(tmp_path: Path) -> None:
    """Root without the capabilities that ignore permissions sees the archive and its
    folder read-only, as any user of read-only media does: Datasette's mode=ro
    would need to create the -shm, so browse serves it immutable."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="silkroad-ro-browse-"))
    db_file = folder / "silkroad.sqlite"
    engine = make_engine(f"sqlite:///{db_file}")
    upgrade(engine)
    with Session(engine) as session:
        store(session)
    engine.dispose()
    db_file.chmod(0o444)
    folder.chmod(0o555)
    digest, port = file_digest(db_file), free_port()
    process = subprocess.Popen(
        ["setpriv", "--bounding-set=-dac_override,-dac_read_search", sys.executable,
         "-m", "crawler", "browse", "--db", str(db_file), "--port", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)},
    )
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/-/versions.json", process)
        rows = get_json(f"http://127.0.0.1:{port}/silkroad/articles.json?_shape=array&_col=title")
        assert {row["title"] for row in rows} == {doc.title for doc in DOCS}  # type: ignore[union-attr]
        page = get_html(f"http://127.0.0.1:{port}/silkroad/articles/1")
        assert "Where and when it was seen" in page  # storage.show through immutable=1
        assert file_digest(db_file) == digest
        assert [p.name for p in folder.iterdir()] == ["silkroad.sqlite"]
    finally:
        process.terminate()
        process.wait(timeout=20)
        folder.chmod(0o755)
        shutil.rmtree(folder)


def get_html(url: str) -> str:
    with urllib.request.urlopen(url, timeout=20) as response:
        return response.read().decode("utf-8")


def items_of(page: str) -> list[str]:
    """The reading list's entries, as HTML chunks."""
    return page.split('<article class="sr-item"')[1:]


def item_for(page: str, title: str) -> str:
    [item] = [chunk for chunk in items_of(page) if f">{html.escape(title)}</a>" in chunk]
    return item


ALL_TITLES = {doc.title for doc in DOCS} | {story[2] for story in STORY.values()}


def test_home_page_leads_to_the_articles_and_hides_internal_tables(server: Server) -> None:
    home = get_html(server.root + "/")
    read = home.index(f'href="{server.path}/articles">Read the articles</a>')
    assert f"{len(ALL_TITLES)} articles" in home
    assert read < home.index(f'href="{server.path}/sightings"')
    assert all(f"/{name}" not in home for name in INTERNAL_TABLES)
    tables = {table["name"]: table["hidden"]
              for table in get_json(f"{server.base}.json")["tables"]}  # type: ignore[index]
    assert tables["articles"] is False and tables["sightings"] is False
    assert all(tables[name] for name in INTERNAL_TABLES if name in tables)
    assert {"article_bands", "frontier", "host_leases"} <= set(tables)


def test_articles_read_as_a_list_of_titles_dates_sources_and_countries(server: Server) -> None:
    page = get_html(f"{server.base}/articles")
    assert "<title>Articles</title>" in page and len(items_of(page)) == len(ALL_TITLES)
    for doc in DOCS:
        item = item_for(page, doc.title)
        assert f'href="{server.path}/articles/{server.ids[doc.key]}"' in item
        assert f">{doc.published}</time>" in item and f">{doc.source}</span>" in item
        assert all(f'sr-country" title="country">{code}</span>' in item for code in doc.countries)
    cotton = item_for(page, STORY["cotton"][2])
    assert COTTON[0] in cotton and COTTON[-1] not in page  # a lead, not the whole text
    assert BY_KEY["kz-rail"].text[:40] in page
    assert content_hash(BY_KEY["kz-rail"].text) not in page
    newest_first = [chunk.split('">', 2)[2].split("</a>")[0] for chunk in items_of(page)[:2]]
    assert newest_first == [STORY["cotton-revised"][2], STORY["cotton-repost"][2]]


def test_datasettes_own_table_stays_a_click_away(server: Server) -> None:
    page = get_html(f"{server.base}/articles?_view=table")
    assert 'class="rows-and-columns"' in page and "content_hash" in page


def test_an_article_page_reads_like_an_article_with_its_provenance(server: Server) -> None:
    ids = server.ids
    page = get_html(f"{server.base}/articles/{ids['cotton']}")
    assert f"<title>{STORY['cotton'][2]} · Silkroad Archive</title>" in page
    assert all(f"<p>{html.escape(paragraph)}</p>" in page for paragraph in COTTON)
    assert f'href="{STORY["cotton"][0]}"' in page
    assert "first seen <time>2026-01-05T09:00:00Z" in page
    assert f'href="{server.path}/snapshots/' in page and "this text was extracted from it" in page
    versions = page.split('class="sr-facts sr-versions"')[1].split("</section>")[0]
    assert f'href="{server.path}/articles/{ids["cotton-revised"]}"' in versions
    assert "(this text)" in versions
    duplicates = page.split('class="sr-facts sr-duplicates"')[1].split("</section>")[0]
    assert f'href="{server.path}/articles/{ids["cotton-repost"]}"' in duplicates
    assert "% alike" in duplicates
    repost = get_html(f"{server.base}/articles/{ids['cotton-repost']}")
    assert "A near-duplicate" in repost and f"/articles/{ids['cotton']}" in repost
    data = get_json(f"{server.base}/articles/{ids['cotton']}.json?_shape=array")
    assert data[0]["title"] == STORY["cotton"][2]  # type: ignore[index]


def test_the_search_box_ranks_matches_with_highlighted_snippets(server: Server) -> None:
    listing = get_html(f"{server.base}/articles")
    assert f'action="{server.path}/search"' in listing and 'name="q"' in listing
    ranked = get_json(f"{server.base}/search.json?" + urlencode({"q": "中亚", "_shape": "array"}))
    titles = [row["title"] for row in ranked]  # type: ignore[union-attr]
    assert len(titles) == 2
    page = get_html(f"{server.base}/search?" + urlencode({"q": "中亚"}))
    shown = [item_for(page, title) for title in titles]
    assert [page.index(item) for item in shown] == sorted(page.index(item) for item in shown)
    assert all("<mark>中亚</mark>" in item for item in shown)
    assert "most relevant first" in page
    assert "<title>中亚 · Search · Silkroad Archive</title>" in page


ARTICLE_ITEMS_JS = """[...document.querySelectorAll('.sr-item')].map(item => {
  const box = item.getBoundingClientRect(), link = item.querySelector('h2 a');
  const text = selector => [...item.querySelectorAll(selector)].map(node => node.innerText);
  return {title: link.innerText, href: link.getAttribute('href'), top: box.top,
          bottom: box.bottom, titleFits: link.scrollWidth <= link.clientWidth + 1,
          date: text('time')[0] || null, source: text('.sr-source')[0] || null,
          countries: text('.sr-country'), marks: text('mark')};
})"""
ARTICLE_PAGE_JS = """({
  h1: document.querySelector('h1').innerText,
  h1Top: document.querySelector('h1').getBoundingClientRect().top,
  bodyWidth: document.querySelector('.sr-body').getBoundingClientRect().width,
  firstParagraphTop: document.querySelector('.sr-body p').getBoundingClientRect().top,
  paragraphs: [...document.querySelectorAll('.sr-body p')].map(p => p.innerText),
  pageWidth: document.documentElement.scrollWidth,
  seen: [...document.querySelectorAll('.sr-provenance a.sr-url')].map(a => a.href),
})"""


def assert_not_blank(png: bytes) -> None:
    width, height, rows = png_rows(png)
    assert (width, height) == (1400, 1000)
    assert len(set(rows)) > 100, "the screenshot is (nearly) blank"


def cjk_font_installed() -> bool:
    found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True)
    return bool(found.stdout.strip())


@pytest.mark.slow
@NEEDS_CHROMIUM
def test_what_a_reader_sees_at_1400_by_1000(server: Server, tmp_path: Path) -> None:
    with Chromium(tmp_path / "profile", width=1400, height=1000) as browser:
        browser.open(f"{server.base}/articles")
        assert_not_blank(browser.screenshot(tmp_path / "articles.png"))
        items = browser.evaluate(ARTICLE_ITEMS_JS)
        assert {item["title"] for item in items} == ALL_TITLES
        above_the_fold = [item for item in items if item["bottom"] <= 1000]
        assert len(above_the_fold) >= 6, items[:8]
        assert all(item["bottom"] - item["top"] < 160 for item in items)
        assert all(item["titleFits"] and item["date"] and item["source"] and item["countries"]
                   for item in items)

        browser.open(f"{server.base}/articles/{server.ids['cotton']}")
        assert_not_blank(browser.screenshot(tmp_path / "article.png"))
        article = browser.evaluate(ARTICLE_PAGE_JS)
        assert browser.evaluate("document.title") == f"{STORY['cotton'][2]} · Silkroad Archive"
        assert article["h1"] == STORY["cotton"][2] and article["h1Top"] < 150
        assert article["paragraphs"] == list(COTTON) and article["firstParagraphTop"] < 600
        assert article["bodyWidth"] <= 720 and article["pageWidth"] <= 1400
        assert STORY["cotton"][0] in article["seen"]

        browser.open(f"{server.base}/search?" + urlencode({"q": "中亚"}))
        assert_not_blank(browser.screenshot(tmp_path / "search-zhongya.png"))
        ranked = get_json(f"{server.base}/search.json?"
                          + urlencode({"q": "中亚", "_shape": "array"}))
        items = browser.evaluate(ARTICLE_ITEMS_JS)
        assert [item["title"] for item in items] == [row["title"] for row in ranked]  # type: ignore[union-attr]
        assert all("中亚" in item["marks"] and item["bottom"] <= 1000 for item in items)
        if cjk_font_installed():
            fonts = browser.fonts(".sr-item h2 a")
            assert any("CJK" in font for font in fonts), fonts


@pytest.mark.parametrize("text, description, expected", [
    ("One.\nTwo.", None, "One. Two."),
    ("One.\nTwo.", "A summary.", "A summary."),
    ("word " * 100, None, ("word " * 48).strip() + "…"),
    ("中" * 300, None, "中" * 240 + "…"),
], ids=["paragraphs", "summary", "cut-at-a-word", "cut-in-chinese"])
def test_a_list_entry_leads_with_the_summary_or_the_opening(
        text: str, description: str | None, expected: str) -> None:
    assert reading.lead(text, description) == expected


def test_reading_helpers_escape_what_they_do_not_mark() -> None:
    assert reading.marked("a **<b>中亚</b>** c") == "a <mark>&lt;b&gt;中亚&lt;/b&gt;</mark> c"
    assert reading.paragraphs(" first \n\n second\n") == ["first", "second"]
    assert reading.json_list('["CN", "KZ"]') == ["CN", "KZ"] and reading.json_list(None) == []
    assert reading.standfirst("Summary here.", "Summary here.\nBody.") is None
    assert reading.standfirst("A different summary.", "Body.") == "A different summary."
    assert reading.label({"value": 3, "label": "丝路观察"}) == "丝路观察"
