"""One bad page never costs the archive its batch, its run or its later crawls:
malformed canonical URLs fall back to the fetched URL, a page that still cannot be
stored is rolled back alone and recorded, failing sessions are given up, a database
that keeps failing stops the crawl, and a forced shutdown still ends the run."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from lxml.html import fromstring
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from crawler.analysis.extraction import declared_canonical_url
from crawler.demo.loopback_web import LoopbackWeb
from crawler.extensions.archive_database import ArchiveDatabase
from crawler.extensions.frontier_recorder import FrontierRecorder, FrontierWrites
from crawler.extensions.run_record import RunRecord, run_outcome
from crawler.items import PageItem
from crawler.links.urls import is_http_url, page_identity
from crawler.pipelines.archive import BATCH_FAILURE_LIMIT, ArchivePipeline, _Pending
from storage.archive import STORE_ERROR, FetchRecord, is_database_failure, record_fetch
from storage.engine import make_engine
from storage.frontier import PendingRequest, add_pending
from storage.migrate import upgrade
from storage.models import Article, CrawlRun, Fetch, FrontierEntry, Page, Source
from storage.runs import FAILED_RUNS_LIMIT, resumable_session, start_run
from tests.support import FAST_CRAWL, REPO, run_crawl, write_seeds
from tests.synthetic_web import article_page, off_topic, on_topic, write_news_site

MALFORMED = [
    "http://127.0.0.91:abc/story",
    "https://127.0.0.91:{{port}}/x",  # a CMS template left unfilled
    "http://127.0.0.91:181020/story",  # port out of range
    "http://127.0.0.91:1:2/story",
    "http://127.0.0.91:-1/story",
    "http://[zz]/story",
    "http://[::1/story",
]
FETCHED = "http://127.0.0.91:8080/news/story.html"


# -- URL helpers ------------------------------------------------------------------------


@pytest.mark.parametrize("url", MALFORMED)
def test_a_malformed_url_is_no_http_url(url: str) -> None:
    assert not is_http_url(url)


@pytest.mark.parametrize("url", MALFORMED)
def test_a_malformed_declared_canonical_falls_back_to_the_fetched_url(url: str) -> None:
    assert page_identity(FETCHED, url) == FETCHED


@pytest.mark.parametrize("url", MALFORMED)
def test_declared_canonical_url_skips_a_malformed_one(url: str) -> None:
    broken_link = fromstring(f"<html><head><link rel='canonical' href='{url}'>"
                             "<meta property='og:url' content='/news/good.html'></head>"
                             "<body><p>x</p></body></html>")
    assert declared_canonical_url(broken_link, FETCHED) == "http://127.0.0.91:8080/news/good.html"
    broken_og = fromstring(f"<html><head><meta property='og:url' content='{url}'></head>"
                           "<body><p>x</p></body></html>")
    assert declared_canonical_url(broken_og, FETCHED) is None


def test_a_good_declared_canonical_is_still_used() -> None:
    assert page_identity(FETCHED + "?utm_source=x", "http://127.0.0.91:8080/news/s") \
        == "http://127.0.0.91:8080/news/s"


# -- the writer: one page in its own savepoint ---------------------------------------------


def _pipeline(engine: Engine) -> ArchivePipeline:
    crawler: Any = SimpleNamespace(settings=Settings({"STATS_DUMP": False}), spider=None,
                                   engine=None)
    crawler.stats = MemoryStatsCollector(crawler)
    database = ArchiveDatabase(str(engine.url), engine)
    run = RunRecord(crawler)
    run.database = database
    with database.sessions.begin() as session:
        run.run_id = run.session_id = start_run(session, trigger="manual").id
    return ArchivePipeline(crawler, database, run, FrontierRecorder(), batch_size=50,
                           batch_seconds=0.05)


def _item(n: int, source: str, **changes: Any) -> PageItem:
    url = f"http://127.0.0.91:8080/news/{n}.html"
    fields: dict[str, Any] = dict(
        url=url, final_url=url, status=200, headers={"Content-Type": ["text/html"]},
        body=f"<html><body><p>page {n}</p></body></html>".encode(),
        fetched_at=datetime(2025, 6, 1, tzinfo=UTC).replace(tzinfo=None), source=source,
        request_urls=[url],
    )
    fields.update(changes)
    return PageItem(**fields)


def _write(pipeline: ArchivePipeline, items: list[PageItem]) -> list[Any]:
    results, _, _conflicts = pipeline._write_batch(
        [_Pending(item, None) for item in items])  # type: ignore[arg-type]
    for item, result in zip(items, results, strict=True):
        pipeline._count(item, result)
    return results


def test_a_page_that_cannot_be_stored_is_rolled_back_alone(engine: Engine) -> None:
    pipeline = _pipeline(engine)
    with pipeline.database.sessions.begin() as session:
        pipeline._sources.preload(session, [("Known", "en")])
    # Not JSON-serialisable headers fail inside the first-fetch fast path, after the page
    # row was inserted; its source is new, so the savepoint also drops a new source row.
    poison = _item(2, "New", headers={"X-Bad": [b"\xff"]})
    results = _write(pipeline, [_item(1, "Known"), poison, _item(3, "New"), _item(4, "Known")])

    assert [r.error is None for r in results] == [True, False, True, True]
    assert results[1].error == "TypeError: Object of type bytes is not JSON serializable"
    with Session(engine) as session:
        stored = {url: outcome for url, outcome
                  in session.execute(select(Page.url, Page.last_outcome))}
        assert stored[poison.url] == STORE_ERROR
        assert len(stored) == 4
        poison_fetch = session.scalar(select(Fetch).join(Page).where(Page.url == poison.url))
        assert poison_fetch is not None and poison_fetch.outcome == STORE_ERROR
        assert poison_fetch.snapshot_id is None
        new_source = session.scalar(select(Source.id).where(Source.name == "New"))
        page3 = session.scalar(select(Page).where(Page.url == _item(3, "New").url))
        assert page3 is not None and page3.source_id == new_source
        assert page3.last_snapshot_id is not None
    stats = pipeline.crawler.stats
    assert stats.get_value("silkroad/store_errors") == 1
    assert stats.get_value("silkroad/source/New/store_errors") == 1
    assert stats.get_value("silkroad/pages_new") == 3
    assert pipeline.run.store_failures == [{"url": poison.url, "reason": results[1].error}]


def test_a_batch_deadlocked_with_another_writer_is_written_again(pg_url: str) -> None:
    """PostgreSQL: another writer holds page 2 and waits for page 1, which the batch holds
    while it waits for page 2. The batch is the deadlock's victim (the other one waits
    longer before it looks); it is written again, whole, and nothing counts as an error."""
    engine = make_engine(pg_url)
    upgrade(engine)
    pipeline = _pipeline(engine)
    first, second = _item(1, "Known"), _item(2, "Known")

    def other_writer(ready: threading.Event) -> None:
        with Session(engine) as other, other.begin():
            other.execute(text("SET LOCAL deadlock_timeout = '60s'"))
            _store_raw(other, second)
            ready.set()
            deadline = time.monotonic() + 60
            while not _lock_waits(engine) and time.monotonic() < deadline:
                time.sleep(0.02)
            _store_raw(other, first)  # waits for the batch: a deadlock

    ready = threading.Event()
    thread = threading.Thread(target=other_writer, args=(ready,))
    thread.start()
    try:
        assert ready.wait(30)
        results, _, conflicts = pipeline._write_batch(
            [_Pending(first, None), _Pending(second, None)])  # type: ignore[arg-type]
    finally:
        thread.join(60)
    assert [r.error for r in results] == [None, None]
    assert conflicts == 1
    with Session(engine) as session:
        assert sorted(session.scalars(select(Page.url))) == [first.url, second.url]
        assert len(session.scalars(select(Fetch.id)).all()) == 4  # each writer logged both
    engine.dispose()


def _store_raw(session: Session, item: PageItem) -> None:
    record_fetch(session, FetchRecord(page_url=item.url, url=item.url, final_url=item.url,
                                      status=200, headers={}, body=item.body,
                                      fetched_at=item.fetched_at),
                 None, run_id=None, outcome="no_article")


def _lock_waits(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND wait_event_type = 'Lock'"))


def test_a_malformed_canonical_page_is_stored_under_its_fetched_url(engine: Engine) -> None:
    pipeline = _pipeline(engine)
    analysed = [_item(n, "Known", analysis=SimpleNamespace(
        canonical_url=url, outcome="no_article", encoding="utf-8", packed_body=None,
        article=None, extracted=True)) for n, url in enumerate(MALFORMED)]
    results = _write(pipeline, [*analysed, _item(99, "Known")])
    assert all(r.error is None and r.page_state == "new" for r in results)
    with Session(engine) as session:
        urls = set(session.scalars(select(Page.url)))
    assert urls == {item.url for item in analysed} | {_item(99, "Known").url}


def test_a_lost_batch_gives_its_frontier_entries_back(engine: Engine) -> None:
    pipeline = _pipeline(engine)
    scheduled = PendingRequest("http://127.0.0.91:8080/next.html", "page", "Known")
    writes = FrontierWrites([scheduled], [], ["http://127.0.0.91:8080/robots.txt"])
    pipeline.frontier.restore(writes)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE fetches")  # every write now fails: no such table
    with pytest.raises(DatabaseError):
        _write(pipeline, [_item(1, "Known")])
    assert pipeline.frontier.take() == writes


def test_only_database_wide_errors_fail_the_whole_batch() -> None:
    orig = Exception("x")
    assert is_database_failure(OperationalError("INSERT", {}, orig))  # locked, disk full
    assert is_database_failure(DatabaseError("INSERT", {}, orig))  # corrupt file
    assert not is_database_failure(IntegrityError("INSERT", {}, orig))
    assert not is_database_failure(ValueError("Port out of range 0-65535"))


def test_a_whole_batch_failure_fails_the_run_but_one_bad_page_does_not() -> None:
    assert run_outcome("finished", 0) == "ok"
    assert run_outcome("store_failed", 0) == "failed"
    assert run_outcome("finished", 1) == "failed"
    assert run_outcome("shutdown", 0) == "interrupted"


def test_batches_failing_in_a_row_close_the_spider(engine: Engine) -> None:
    pipeline = _pipeline(engine)
    reasons: list[str] = []

    async def close_spider_async(*, reason: str) -> None:
        reasons.append(reason)

    pipeline.crawler.engine = SimpleNamespace(spider=object(),
                                              close_spider_async=close_spider_async)

    async def fail_batches() -> None:
        for _ in range(BATCH_FAILURE_LIMIT - 1):
            pipeline._batch_failed()
        await asyncio.sleep(0)
        assert reasons == []
        pipeline._batch_failed()
        await asyncio.sleep(0)

    asyncio.run(fail_batches())
    assert reasons == ["store_failed"]


# -- sessions that keep failing ---------------------------------------------------------


def _failed_session(session: Session, failed_runs: int) -> int:
    first = start_run(session, trigger="manual")
    add_pending(session, first.id, [PendingRequest("http://127.0.0.91/poison", "page", "S")])
    runs = [first] + [start_run(session, trigger="manual", session_id=first.id)
                      for _ in range(failed_runs - 1)]
    for run in runs:
        run.outcome = "failed"
    session.flush()
    return first.id


def test_a_session_that_failed_less_often_is_resumed(session: Session) -> None:
    session_id = _failed_session(session, FAILED_RUNS_LIMIT - 1)
    assert resumable_session(session) == session_id


def test_a_session_that_keeps_failing_is_given_up(session: Session) -> None:
    session_id = _failed_session(session, FAILED_RUNS_LIMIT)
    assert resumable_session(session) is None
    left = session.scalars(select(FrontierEntry).where(FrontierEntry.session_id == session_id))
    assert list(left) == []


# -- crawls -----------------------------------------------------------------------------


def _poisoned(page: str, declared: str, *, og: bool) -> str:
    tag = (f"<meta property='og:url' content='{declared}'>" if og
           else f"<link rel='canonical' href='{declared}'>")
    return page.replace("<head>", "<head>" + tag, 1)


@pytest.fixture
def two_sources(tmp_path: Path) -> Any:
    """Source A whose article pages each carry a malformed canonical or og:url (on and off
    topic), and source B with plain articles."""
    root = tmp_path / "web"
    kinds = [("http://127.0.0.91:abc/story", False), ("https://127.0.0.91:{{port}}/x", True),
             ("http://127.0.0.91:181020/story", False), ("{{site:a}}:2/story", True),
             ("http://127.0.0.91:-1/story", False), ("http://[zz]/story", True)]
    a_on = [on_topic(n) for n in range(len(kinds))]
    a_off = [off_topic(n) for n in range(len(kinds))]
    write_news_site(root / "a", a_on + a_off, sections=2)
    for articles in (a_on, a_off):
        for article, (declared, og) in zip(articles, kinds, strict=True):
            path = root / "a" / "news" / f"2025-05-{article.day:02d}-{article.slug}.html"
            path.write_text(_poisoned(article_page(article), declared, og=og), "utf-8")
    b_on = [on_topic(n) for n in range(20, 26)]
    write_news_site(root / "b", b_on + [off_topic(20)], sections=2)
    (root / "web.toml").write_text(
        '[[sites]]\nname = "a"\ndir = "a"\naddress = "127.0.0.91"\n'
        '[[sites]]\nname = "b"\ndir = "b"\naddress = "127.0.0.92"\n', "utf-8")
    (root / "sources.toml").write_text(
        '[[sources]]\nname = "Poisoned"\nurls = ["{{site:a}}/"]\nlanguage = "en"\n'
        '[[sources]]\nname = "Plain"\nurls = ["{{site:b}}/"]\nlanguage = "en"\n', "utf-8")
    with LoopbackWeb.from_directory(root) as web:
        yield web, root, len(a_on), len(b_on)


def _archive(db_url: str) -> dict[str, Any]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return {
                "articles": set(conn.scalars(select(Article.url))),
                "runs": [(outcome,) for outcome in conn.scalars(
                    select(CrawlRun.outcome).order_by(CrawlRun.id))],
                "pages": set(conn.scalars(select(Page.url))),
                "stats": list(conn.scalars(select(CrawlRun.stats).order_by(CrawlRun.id))),
            }
    finally:
        engine.dispose()


@pytest.mark.slow
def test_malformed_canonicals_cost_no_article_in_any_crawl(two_sources: Any, db_url: str,
                                                           tmp_path: Path) -> None:
    web, root, a_articles, b_articles = two_sources
    seeds = write_seeds(web, root / "sources.toml", tmp_path / "sources.toml")

    first = run_crawl(seeds, db_url)
    assert first.returncode == 0, first.stderr[-3000:]
    state = _archive(db_url)
    assert state["runs"] == [("ok",)]
    a_base, b_base = web.base_url("a"), web.base_url("b")
    assert len([u for u in state["articles"] if u.startswith(a_base)]) == a_articles
    assert len([u for u in state["articles"] if u.startswith(b_base)]) == b_articles
    poisoned_pages = [u for u in state["pages"] if u.startswith(a_base + "/news/")]
    assert len(poisoned_pages) == 2 * a_articles  # on and off topic, under their fetched URLs
    assert state["stats"][0].get("silkroad/store_errors", 0) == 0

    # Source B keeps publishing: the next crawl archives its new article too.
    new = on_topic(40)
    web.set_override("b", "/news/fresh.html", body=article_page(new))
    web.set_override("b", "/", body="<html><body><a href='/section0.html'>0</a> "
                     "<a href='/section1.html'>1</a> <a href='/news/fresh.html'>new</a>"
                     "</body></html>")
    second = run_crawl(seeds, db_url)
    assert second.returncode == 0, second.stderr[-3000:]
    state = _archive(db_url)
    assert state["runs"] == [("ok",), ("ok",)]
    assert b_base + "/news/fresh.html" in state["articles"]
    assert len(state["articles"]) == a_articles + b_articles + 1


@pytest.fixture
def slow_site(tmp_path: Path) -> Any:
    root = tmp_path / "web"
    write_news_site(root / "site", [on_topic(n) for n in range(40)], sections=4)
    (root / "web.toml").write_text(
        '[[sites]]\nname = "trade"\ndir = "site"\naddress = "127.0.0.93"\n', "utf-8")
    (root / "sources.toml").write_text(
        '[[sources]]\nname = "Trade Wire"\nurls = ["{{site:trade}}/"]\nlanguage = "en"\n',
        "utf-8")
    with LoopbackWeb.from_directory(root) as web:
        yield web, root


@pytest.mark.slow
def test_a_second_ctrl_c_still_ends_the_run_with_its_counts(slow_site: Any, db_url: str,
                                                             tmp_path: Path) -> None:
    web, root = slow_site
    seeds = write_seeds(web, root / "sources.toml", tmp_path / "sources.toml")
    reader = make_engine(db_url, readonly=True)
    articles_stored = select(func.count()).select_from(Article)
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler", "crawl", "--seeds", str(seeds),
         "--db", db_url, *FAST_CRAWL, "-s", "DOWNLOAD_DELAY=0.2",
         "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1", "-s", "SILKROAD_BATCH_SIZE=2"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        stored = 0
        while stored < 3 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
            try:
                with reader.connect() as conn:
                    stored = conn.scalar(articles_stored) or 0
            except DatabaseError:
                pass  # not created or not migrated yet
        assert stored >= 3, "the crawl stored nothing to count"
        process.send_signal(signal.SIGINT)
        time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    with reader.connect() as conn:
        runs = conn.execute(select(CrawlRun.outcome, CrawlRun.pages_fetched,
                                   CrawlRun.articles_archived)).all()
        archived = conn.scalar(articles_stored)
    reader.dispose()
    assert len(runs) == 1, output[-3000:]
    outcome, fetched, articles = runs[0]
    assert outcome == "interrupted", output[-3000:]
    assert articles == archived >= 3
    assert fetched >= articles
