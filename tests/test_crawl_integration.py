"""Acceptance: a crawl of an unseen multi-site loopback web, end to end.

The web (tests/fixtures/webs/multisite, described in its EXPECTED.toml) mixes
English, Chinese and Russian pages in UTF-8, GBK and windows-1251, a feed-only
and a sitemap-only article, a robots rule, an off-scope link, a syndicated
copy, off-topic pages, malformed HTML and a link trap. Each crawl runs once per
module, in a child process as users run it; the tests read the archive file
with plain sqlite3 and the servers' request log.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from crawler.demo.loopback_web import LoopbackWeb, RequestRecord
from crawler.links.urls import canonical_url
from tests.support import FAST_CRAWL, FIXTURES, REPO, run_crawl, write_seeds

WEB_DIR = FIXTURES / "webs" / "multisite"
DEPTH = 3
USER_AGENT_PREFIX = "SilkroadArchive/"
TABLES = ("articles", "sightings", "pages", "crawl_runs")
pytestmark = pytest.mark.slow  # real crawls, shared by the module


def _site_id(url: str) -> str:
    return url.replace("{{site:", "").replace("}}", ":")


_RAW_EXPECTED = tomllib.loads((WEB_DIR / "EXPECTED.toml").read_text(encoding="utf-8"))
ARCHIVED_KEYS = [entry["key"] for entry in _RAW_EXPECTED["archived"]]
NOT_ARCHIVED = [
    pytest.param(entry["url"], entry["outcome"], id=_site_id(entry["url"]))
    for entry in _RAW_EXPECTED["not_archived"]
]
CRAWLS = ("first_crawl", "second_crawl", "scrapy_crawl")


@dataclass(frozen=True)
class Crawl:
    """One finished crawl: how the process ended, what the servers saw, what the archive holds."""

    proc: subprocess.CompletedProcess[str]
    requests: list[RequestRecord]
    tables: dict[str, list[dict[str, Any]]]

    def rows(self, table: str) -> list[dict[str, Any]]:
        return self.tables[table]

    def article_for(self, url: str) -> dict[str, Any]:
        ids = {row["article_id"] for row in self.rows("sightings") if row["url"] == url}
        assert len(ids) == 1, f"{url} is sighted as articles {ids or 'none'}"
        (article_id,) = ids
        return next(row for row in self.rows("articles") if row["id"] == article_id)

    def page(self, url: str) -> dict[str, Any] | None:
        key = canonical_url(url)
        return next((row for row in self.rows("pages") if row["url"] == key), None)

    def requested(self, site: str) -> set[str]:
        return {record.path for record in self.requests if record.site == site}

    def content_hashes(self) -> set[str]:
        return {row["content_hash"] for row in self.rows("articles")}


def read_tables(db_path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tables the tests read; none when the crawl left no archive."""
    if not db_path.exists():
        return {table: [] for table in TABLES}
    with closing(sqlite3.connect(db_path)) as connection:
        connection.row_factory = sqlite3.Row
        return {table: [dict(row) for row in connection.execute(f"SELECT * FROM {table}")]
                for table in TABLES}


def folded(text: str) -> str:
    return " ".join(text.split())


def site_and_path(url: str, web: LoopbackWeb) -> tuple[str, str]:
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}"
    site = next(spec.name for spec in web.specs if web.base_url(spec.name) == base)
    return site, parts.path or "/"


# -- fixtures: the web and its three crawls, each run once ---------------------------

@pytest.fixture(scope="module")
def web() -> Iterator[LoopbackWeb]:
    with LoopbackWeb.from_directory(WEB_DIR) as running:
        yield running


@pytest.fixture(scope="module")
def expected(web: LoopbackWeb) -> dict[str, Any]:
    return tomllib.loads(web.render((WEB_DIR / "EXPECTED.toml").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("multisite")


@pytest.fixture(scope="module")
def seeds(web: LoopbackWeb, workdir: Path) -> Path:
    return write_seeds(web, WEB_DIR / "sources.toml", workdir / "sources.toml")


def _crawl(web: LoopbackWeb, db_path: Path,
           launch: Callable[[], subprocess.CompletedProcess[str]]) -> Crawl:
    web.clear_requests()
    proc = launch()
    return Crawl(proc, web.requests, read_tables(db_path))


@pytest.fixture(scope="module")
def first_crawl(web: LoopbackWeb, seeds: Path, workdir: Path) -> Crawl:
    db = workdir / "archive.sqlite"
    return _crawl(web, db, lambda: run_crawl(seeds, f"sqlite:///{db}", "--depth", str(DEPTH)))


@pytest.fixture(scope="module")
def second_crawl(first_crawl: Crawl, web: LoopbackWeb, seeds: Path, workdir: Path) -> Crawl:
    db = workdir / "archive.sqlite"
    return _crawl(web, db, lambda: run_crawl(seeds, f"sqlite:///{db}", "--depth", str(DEPTH)))


@pytest.fixture(scope="module")
def scrapy_crawl(first_crawl: Crawl, web: LoopbackWeb, seeds: Path, workdir: Path) -> Crawl:
    db = workdir / "scrapy.sqlite"
    command = [sys.executable, "-m", "scrapy", "crawl", "seeds",
               "-s", f"SEEDS_FILE={seeds}", "-s", f"SILKROAD_DB=sqlite:///{db}",
               "-s", f"DEPTH_LIMIT={DEPTH}", *FAST_CRAWL]
    return _crawl(web, db, lambda: subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=240))


@pytest.fixture
def crawl(request: pytest.FixtureRequest) -> Crawl:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


# -- the first crawl ----------------------------------------------------------------

def test_crawl_exits_zero_and_prints_summary(first_crawl: Crawl) -> None:
    out = first_crawl.proc.stdout
    assert first_crawl.proc.returncode == 0, first_crawl.proc.stderr[-3000:]
    assert "Crawl ok" in out
    assert re.search(rf"articles archived\s+{len(ARCHIVED_KEYS)}\b", out), out


def test_archives_exactly_the_relevant_pages(first_crawl: Crawl, expected: dict[str, Any]) -> None:
    wanted = {url for entry in expected["archived"] for url in entry["urls"]}
    sighted = {row["url"] for row in first_crawl.rows("sightings")}
    assert sighted == wanted
    assert len(first_crawl.rows("articles")) == len(expected["archived"])
    assert {row["url"] for row in first_crawl.rows("articles")} <= {
        canonical_url(url) for url in wanted}


def test_syndicated_copy_is_one_article_sighted_twice(first_crawl: Crawl,
                                                      expected: dict[str, Any]) -> None:
    (urls,) = [entry["urls"] for entry in expected["archived"] if len(entry["urls"]) > 1]
    assert len(urls) == 2
    article = first_crawl.article_for(urls[0])
    assert first_crawl.article_for(urls[1])["id"] == article["id"]
    sightings = [row["url"] for row in first_crawl.rows("sightings")
                 if row["article_id"] == article["id"]]
    assert sorted(sightings) == sorted(urls)


def _entry(expected: dict[str, Any], key: str) -> dict[str, Any]:
    return next(entry for entry in expected["archived"] if entry["key"] == key)


@pytest.mark.parametrize("key", ARCHIVED_KEYS)
def test_article_text_is_complete_and_clean(first_crawl: Crawl, expected: dict[str, Any],
                                            key: str) -> None:
    entry = _entry(expected, key)
    article = first_crawl.article_for(entry["urls"][0])
    text = folded(article["text"])
    for sentence in entry["sentences"]:
        assert folded(sentence) in text
    leaked = [word for word in expected["boilerplate"] if word.lower() in text.lower()]
    assert not leaked, f"page chrome in the text of {key}: {leaked}"


@pytest.mark.parametrize("key", ARCHIVED_KEYS)
def test_article_language_countries_and_date(first_crawl: Crawl, expected: dict[str, Any],
                                             key: str) -> None:
    entry = _entry(expected, key)
    article = first_crawl.article_for(entry["urls"][0])
    assert article["language"] == entry["language"]
    assert sorted(json.loads(article["countries"])) == sorted(entry["countries"])
    assert (article["published"] or "")[:10] == entry["published"]


def test_no_replacement_characters_anywhere(first_crawl: Crawl) -> None:
    damaged = [(row["url"], column) for row in first_crawl.rows("articles")
               for column in ("text", "title", "author", "description", "site_name")
               if "\ufffd" in (row[column] or "")]
    assert not damaged


@pytest.mark.parametrize(("url", "outcome"), NOT_ARCHIVED)
def test_fetched_page_that_is_no_article(first_crawl: Crawl, web: LoopbackWeb, url: str,
                                         outcome: str) -> None:
    url = web.render(url)
    page = first_crawl.page(url)
    assert page is not None, f"{url} was not stored as a page"
    assert page["last_outcome"] == outcome
    assert all(canonical_url(row["url"]) != page["url"] for row in first_crawl.rows("sightings"))


def test_links_that_are_not_pages_are_not_stored_as_pages(first_crawl: Crawl,
                                                          expected: dict[str, Any]) -> None:
    stored = {row["url"] for row in first_crawl.rows("pages")}
    assert not stored & {canonical_url(url) for url in expected["not_pages"]}
    assert all(url.startswith("http://") for url in stored)
    schemes = ("mailto:", "javascript:", "void(0)", "openSearch")
    assert not [r.path for r in first_crawl.requests if any(s in r.path for s in schemes)]


def test_link_trap_stops_at_the_depth_limit(first_crawl: Crawl, expected: dict[str, Any]) -> None:
    trap = expected["trap"]
    pattern = re.compile(re.escape(trap["path"]).replace(re.escape("{n}"), r"(\d+)") + "$")
    reached = {int(m.group(1)) for path in first_crawl.requested(trap["site"])
               if (m := pattern.match(path))}
    assert reached == set(range(1, expected["depth"] + 1))
    assert expected["depth"] < trap["pages"]


def test_crawl_run_is_recorded_with_its_counts(first_crawl: Crawl,
                                               expected: dict[str, Any]) -> None:
    (run,) = first_crawl.rows("crawl_runs")
    # robots.txt and redirects are stored too, and counted apart.
    kept = [page for page in first_crawl.rows("pages")
            if page["last_outcome"] in ("robots", "redirect")]
    pages = [page for page in first_crawl.rows("pages") if page not in kept]
    stats = json.loads(run["stats"]) if isinstance(run["stats"], str) else run["stats"]
    assert (stats.get("silkroad/robots_stored", 0)
            + stats.get("silkroad/redirects_stored", 0)) == len(kept) > 0
    assert run["outcome"] == "ok"
    assert run["exit_status"] == 0
    assert run["finished_at"] is not None
    assert run["articles_archived"] == len(expected["archived"])
    assert run["duplicates"] == sum(len(e["urls"]) - 1 for e in expected["archived"])
    assert run["pages_fetched"] == len(pages)
    assert run["off_topic"] == sum(page["last_outcome"] == "off_topic" for page in pages)
    assert run["errors"] == 0


# -- every crawl: politeness and scope ------------------------------------------------

@pytest.mark.parametrize("crawl", CRAWLS, indirect=True)
def test_never_requests_disallowed_or_off_scope_urls(crawl: Crawl, web: LoopbackWeb,
                                                     expected: dict[str, Any]) -> None:
    seen = {(r.site, r.path) for r in crawl.requests}
    assert ("en", "/robots.txt") in seen
    forbidden = expected["robots_disallowed"] + expected["off_scope"]
    assert not seen & {site_and_path(url, web) for url in forbidden}
    for site in expected["off_scope_sites"]:
        assert crawl.requested(site) == set()
    # Found and turned away by robots.txt, not merely missed.
    stats = json.loads(crawl.rows("crawl_runs")[-1]["stats"])
    assert stats.get("robotstxt/forbidden") == len(expected["robots_disallowed"])


@pytest.mark.parametrize("crawl", CRAWLS, indirect=True)
def test_every_request_sends_the_project_user_agent(crawl: Crawl) -> None:
    assert crawl.requests
    agents = {r.headers.get("User-Agent", "") for r in crawl.requests}
    assert all(agent.startswith(USER_AGENT_PREFIX) for agent in agents), agents


# -- a second crawl into the same archive --------------------------------------------

def test_second_crawl_adds_no_article(first_crawl: Crawl, second_crawl: Crawl) -> None:
    assert second_crawl.proc.returncode == 0, second_crawl.proc.stderr[-3000:]
    assert len(second_crawl.rows("articles")) == len(first_crawl.rows("articles"))
    assert second_crawl.content_hashes() == first_crawl.content_hashes()
    assert len(second_crawl.rows("sightings")) == len(first_crawl.rows("sightings"))
    first, second = second_crawl.rows("crawl_runs")
    assert first["id"] == first_crawl.rows("crawl_runs")[0]["id"]
    assert second["outcome"] == "ok"
    assert second["articles_archived"] == 0


# -- Scrapy's own command --------------------------------------------------------------

def test_scrapy_crawl_archives_the_same_articles(first_crawl: Crawl, scrapy_crawl: Crawl) -> None:
    assert scrapy_crawl.proc.returncode == 0, scrapy_crawl.proc.stderr[-3000:]
    assert scrapy_crawl.content_hashes() == first_crawl.content_hashes()
    assert ({row["url"] for row in scrapy_crawl.rows("sightings")}
            == {row["url"] for row in first_crawl.rows("sightings")})
