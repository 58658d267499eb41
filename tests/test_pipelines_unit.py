"""The analyse and archive pipelines in process: items in, stored rows and drops out.

A crawler from ``scrapy.utils.test.get_crawler``, page analysis inline
(``SILKROAD_EXTRACT_PROCESSES=0``), a temporary SQLite archive, and the pipelines'
own lifecycle (open_spider, process_item, close_spider, spider_closed) driven on an
asyncio loop, as Scrapy 2.19 drives its async pipelines. No reactor, no download.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import Spider
from scrapy.utils.test import get_crawler
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.analysis.fingerprint import body_digest
from crawler.analysis.page_analysis import ARCHIVABLE, OFF_TOPIC
from crawler.extensions.archive_database import ArchiveDatabase
from crawler.extensions.frontier_recorder import FrontierRecorder
from crawler.extensions.run_record import RunRecord
from crawler.items import PageItem
from crawler.pipelines.analyse import AnalysePipeline
from crawler.pipelines.archive import ArchivePipeline, Duplicate, OffTopic, Revisit
from crawler.timeutil import utcnow
from storage.engine import make_engine
from storage.models import Article, CrawlRun, Page
from tests.support import FIXTURES
from tests.synthetic_web import article_page, off_topic

ARTICLE = (FIXTURES / "pages" / "article_en.html").read_bytes()
OFF_TOPIC_PAGE = article_page(off_topic(3)).encode("utf-8")
HTML = {"Content-Type": ["text/html; charset=utf-8"]}


class Spy(Spider):
    name = "unit"
    sources = ()


@pytest.fixture
def crawler(tmp_path: Path) -> Any:
    crawler = get_crawler(Spy, {"SILKROAD_EXTRACT_PROCESSES": 0,
                                "SILKROAD_DB": f"sqlite:///{tmp_path / 'archive.sqlite'}",
                                "SILKROAD_BATCH_SECONDS": 0.001})
    crawler.spider = Spy()
    crawler.engine = SimpleNamespace(_slot=None)  # an engine between spiders: nothing to wake
    return crawler


def page(url: str, body: bytes | None = ARTICLE, **fields: Any) -> PageItem:
    return PageItem(url=url, final_url=url, status=200 if body is not None else 304,
                    headers=HTML, body=body, fetched_at=utcnow(), source="News",
                    language_hint="en", discovered_via="seed", request_urls=[url], **fields)


async def through(pipelines: list[Any], items: list[Any]) -> list[Any]:
    """Each item through every pipeline in turn, concurrently: the item or the drop."""
    for pipeline in pipelines:
        pipeline.open_spider()

    async def one(item: Any) -> Any:
        try:
            for pipeline in pipelines:
                item = await pipeline.process_item(item)
        except Exception as exc:  # noqa: BLE001 - the drop is the outcome under test
            return exc
        return item
    try:
        return list(await asyncio.gather(*(one(item) for item in items)))
    finally:
        for pipeline in pipelines:
            result = pipeline.close_spider()
            if asyncio.iscoroutine(result):
                await result


def run(crawler: Any, items: list[Any]) -> list[Any]:
    """The items through analyse then archive; the run recorded as a crawl ends it."""
    analyse = AnalysePipeline.from_crawler(crawler)
    # The extensions built by hand, not from_crawler: RunRecord hooks the reactor's
    # shutdown, and no reactor runs here.
    database = ArchiveDatabase.open(crawler.settings["SILKROAD_DB"])
    record, frontier = RunRecord(crawler), FrontierRecorder()
    extensions = {ArchiveDatabase: database, RunRecord: record, FrontierRecorder: frontier}
    crawler.get_extension = extensions.get
    archive = ArchivePipeline(crawler, database, record, frontier, 50,
                              crawler.settings.getfloat("SILKROAD_BATCH_SECONDS"))
    try:
        outcomes = asyncio.run(through([analyse, archive], items))
        record.spider_closed(crawler.spider, "finished")
    finally:
        database.close()
    return outcomes


def count(crawler: Any, model: Any) -> int:
    engine = make_engine(crawler.settings["SILKROAD_DB"])
    try:
        with Session(engine) as session:
            return session.scalar(select(func.count()).select_from(model)) or 0
    finally:
        engine.dispose()


def test_analyse_runs_inline_and_scores_the_page(crawler: Any) -> None:
    analyse = AnalysePipeline.from_crawler(crawler)
    assert analyse.pool.processes == 0
    analyse.open_spider()
    item = asyncio.run(analyse.process_item(page("http://news.example/a")))
    analyse.close_spider()
    assert item.analysis.outcome == ARCHIVABLE
    assert "Khorgos" in item.analysis.article.title
    off = asyncio.run(analyse.process_item(page("http://news.example/s", body=OFF_TOPIC_PAGE)))
    assert off.analysis.outcome == OFF_TOPIC


def test_analyse_passes_bodiless_and_unchanged_pages_without_analysis(crawler: Any) -> None:
    analyse = AnalysePipeline.from_crawler(crawler)
    analyse.open_spider()
    not_modified = asyncio.run(analyse.process_item(page("http://news.example/a", body=None)))
    same = asyncio.run(analyse.process_item(
        page("http://news.example/a", previous_digest=body_digest(ARTICLE))))
    other = {"not": "a page"}
    assert asyncio.run(analyse.process_item(other)) is other
    assert not_modified.analysis is None and same.analysis is None and same.revisit
    assert crawler.stats.get_value("silkroad/revisits_same_digest") == 1


def test_an_on_topic_page_is_archived_and_becomes_an_article_item(crawler: Any) -> None:
    [out] = run(crawler, [page("http://news.example/business/khorgos-two-more-trains")])
    assert isinstance(out, dict), out
    assert out["url"] == "http://news.example/business/khorgos-two-more-trains"
    assert out["source"] == "News" and out["language"] == "en"
    assert "Khorgos" in out["title"] and out["id"]
    stats = crawler.stats
    assert stats.get_value("silkroad/pages_fetched") == 1
    assert stats.get_value("silkroad/articles_archived") == 1
    assert stats.get_value("silkroad/source/News/archived") == 1
    assert stats.get_value("silkroad/pages_new") == 1
    assert stats.get_value("silkroad/outcome") == "ok"
    assert count(crawler, Article) == 1
    engine = make_engine(crawler.settings["SILKROAD_DB"])
    with Session(engine) as session:
        crawl_run = session.scalars(select(CrawlRun)).one()
        assert crawl_run.outcome == "ok"
    engine.dispose()


def test_an_off_topic_page_is_kept_as_a_page_and_dropped_as_off_topic(crawler: Any) -> None:
    [out] = run(crawler, [page("http://news.example/sport/cup", body=OFF_TOPIC_PAGE)])
    assert isinstance(out, OffTopic), out
    assert crawler.stats.get_value("silkroad/off_topic") == 1
    assert crawler.stats.get_value("silkroad/source/News/off_topic") == 1
    assert count(crawler, Page) == 1 and count(crawler, Article) == 0


def test_the_same_article_at_another_address_is_a_duplicate(crawler: Any) -> None:
    first, second = run(crawler, [page("http://news.example/business/khorgos-two-more-trains"),
                                  page("http://mirror.example/business/khorgos-two-more-trains")])
    assert isinstance(first, dict), first
    assert isinstance(second, Duplicate), second
    assert crawler.stats.get_value("silkroad/duplicates") == 1
    assert crawler.stats.get_value("silkroad/articles_archived") == 1
    assert count(crawler, Article) == 1


def test_unchanged_pages_are_revisits(crawler: Any) -> None:
    url = "http://news.example/business/khorgos-two-more-trains"
    outs = run(crawler, [page(url, body=None), page(url, previous_digest=body_digest(ARTICLE))])
    assert [type(out) for out in outs] == [Revisit, Revisit], outs
    assert crawler.stats.get_value("silkroad/revisits_same_digest") == 1
    assert crawler.stats.get_value("silkroad/pages_fetched") == 2
    assert count(crawler, Article) == 0
