"""Scrapy internals the crawler leans on: fail loudly when a Scrapy release changes them.

Private (underscore) Scrapy APIs in use, and who relies on them:

* ``ExecutionEngine._slot.nextcall.schedule()``: crawler/pipelines/archive.py,
  ``ArchivePipeline._wake_engine``, and crawler/frontier_scheduler.py, ``wake_engine``
  (requests claimed from the database frontier are handed out at once). Scrapy has no public call that makes the engine
  look for work now; without it a crawl that the scraper slot held back waits for
  the engine's 5 s heartbeat. At run time a missing API only logs a warning (once
  per crawl); these tests make it a failure here.
* ``ExecutionEngine._slot.closing``: crawler/extensions/prompt_close.py,
  ``PromptClose.check``. Scrapy has no public "the engine is closing"; without it a
  closing crawl fetches every request already queued in the downloader before it
  stops. At run time a missing API logs one warning; these tests fail here.

* ``scrapy.utils._compression`` (``_inflate``, ``_unbrotli``, ``_unzstd``,
  ``_DecompressionMaxSizeExceeded``): crawler/offline/warc_records.py decodes a WARC
  record's Content-Encoding with the same size-limited decoders the crawl's
  HttpCompressionMiddleware uses, so an imported bomb is cut where a crawled one is.
  A change there fails the import at start-up; these tests name it.

``RetryMiddleware._retry`` is no longer used: crawler/middlewares/backoff.py builds
retries with the public ``get_retry_request``, whose arguments are checked too.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest
import scrapy
from scrapy import Request, Spider
from scrapy.downloadermiddlewares.retry import RetryMiddleware, get_retry_request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.extensions.prompt_close import PromptClose
from crawler.middlewares.backoff import BackoffRetryMiddleware
from crawler.pipelines.archive import ArchivePipeline
from tests.support import REPO

WAKE = "ExecutionEngine._slot.nextcall.schedule() (crawler/pipelines/archive.py, _wake_engine)"
CLOSING = "ExecutionEngine._slot.closing (crawler/extensions/prompt_close.py, PromptClose.check)"


def _fail(api: str, what: str) -> str:
    return f"Scrapy {scrapy.__version__}: private API {api} {what}; update the code that uses it"


# -- ExecutionEngine._slot.nextcall.schedule(): crawler/pipelines/archive.py ------------------


def test_engine_slot_class_still_takes_a_nextcall() -> None:
    from scrapy.core import engine as scrapy_engine

    slot_class = getattr(scrapy_engine, "_Slot", None)
    assert slot_class is not None, _fail(WAKE, "changed: scrapy.core.engine._Slot is gone")
    params = inspect.signature(slot_class.__init__).parameters
    assert "nextcall" in params, _fail(
        WAKE, f"changed: _Slot.__init__{inspect.signature(slot_class.__init__)} "
              "takes no nextcall")


def test_call_later_once_schedule_takes_no_required_argument() -> None:
    from scrapy.utils.reactor import CallLaterOnce

    schedule = getattr(CallLaterOnce, "schedule", None)
    assert callable(schedule), _fail(WAKE, "changed: CallLaterOnce.schedule is gone")
    required = [
        p for p in list(inspect.signature(schedule).parameters.values())[1:]
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    assert not required, _fail(
        WAKE, f"changed: CallLaterOnce.schedule{inspect.signature(schedule)} needs arguments")


_LIVE_ENGINE_CHECK = textwrap.dedent("""
    import json, logging, sys
    from types import SimpleNamespace

    from scrapy import Spider, signals
    from scrapy.crawler import CrawlerProcess

    from crawler.extensions.prompt_close import PromptClose
    from crawler.pipelines.archive import ArchivePipeline

    warnings = []
    closing_warnings = []

    class Catch(logging.Handler):
        def __init__(self, into):
            super().__init__()
            self.into = into

        def emit(self, record):
            if record.levelno >= logging.WARNING:
                self.into.append(record.getMessage())

    logging.getLogger("crawler.pipelines.archive").addHandler(Catch(warnings))
    logging.getLogger("crawler.extensions.prompt_close").addHandler(Catch(closing_warnings))
    seen = {}

    class Nothing(Spider):
        name = "nothing"

        async def start(self):
            return
            yield

    def opened(spider):
        engine = spider.crawler.engine
        slot = getattr(engine, "_slot", None)
        nextcall = getattr(slot, "nextcall", None)
        seen["engine_has_slot"] = hasattr(engine, "_slot")
        seen["slot_is_set"] = slot is not None
        seen["nextcall_schedule_callable"] = callable(getattr(nextcall, "schedule", None))
        # The pipeline's own method, on the live engine.
        ArchivePipeline._wake_engine(SimpleNamespace(crawler=spider.crawler))
        seen["wake_warnings"] = list(warnings)
        seen["slot_has_closing"] = hasattr(slot, "closing")
        seen["closing_is_none_while_open"] = getattr(slot, "closing", "missing") is None
        PromptClose(spider.crawler).check()  # open, not closing: nothing to do

    def closed(spider):
        slot = getattr(spider.crawler.engine, "_slot", None)
        seen["closing_set_when_closed"] = getattr(slot, "closing", None) is not None
        PromptClose(spider.crawler).check()  # closing: drains the (empty) download queues
        seen["closing_warnings"] = list(closing_warnings)

    process = CrawlerProcess({"LOG_ENABLED": False, "TELNETCONSOLE_ENABLED": False,
                              "TWISTED_REACTOR":
                                  "twisted.internet.asyncioreactor.AsyncioSelectorReactor"})
    crawler = process.create_crawler(Nothing)
    crawler.signals.connect(opened, signal=signals.spider_opened)
    crawler.signals.connect(closed, signal=signals.spider_closed)
    process.crawl(crawler)
    process.start()
    print(json.dumps(seen))
""")


@pytest.fixture(scope="module")
def live_engine() -> dict[str, object]:
    """What a real (empty) crawl's engine showed, in a child process."""
    proc = subprocess.run([sys.executable, "-c", _LIVE_ENGINE_CHECK], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"child crawl failed:\n{proc.stderr[-3000:]}"
    lines = proc.stdout.strip().splitlines()
    assert lines, f"child crawl never opened its spider:\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1])  # type: ignore[no-any-return]


@pytest.mark.slow  # a real crawl in a child process
def test_a_live_engine_has_slot_nextcall_and_wake_engine_uses_it(
        live_engine: dict[str, object]) -> None:
    seen = live_engine
    assert seen.get("engine_has_slot"), _fail(WAKE, "is gone: the engine has no _slot")
    assert seen.get("slot_is_set"), _fail(WAKE, "changed: _slot is None once the spider is open")
    assert seen.get("nextcall_schedule_callable"), _fail(
        WAKE, "changed: engine._slot has no nextcall.schedule()")
    assert seen.get("wake_warnings") == [], seen.get("wake_warnings")


class _Pipeline:
    """Enough of an ArchivePipeline for _wake_engine."""

    def __init__(self, engine: object) -> None:
        self.crawler = SimpleNamespace(engine=engine)


def test_wake_engine_warns_once_when_the_private_api_is_gone(
        caplog: pytest.LogCaptureFixture) -> None:
    pipeline = _Pipeline(SimpleNamespace())  # an engine without _slot
    with caplog.at_level(logging.WARNING, logger="crawler.pipelines.archive"):
        ArchivePipeline._wake_engine(pipeline)  # type: ignore[arg-type]
        ArchivePipeline._wake_engine(pipeline)  # type: ignore[arg-type]
    warned = [r for r in caplog.records if "_slot.nextcall" in r.getMessage()]
    assert len(warned) == 1
    assert "crawler/pipelines/archive.py" in warned[0].getMessage()


def test_wake_engine_warns_when_the_slot_lost_its_nextcall(
        caplog: pytest.LogCaptureFixture) -> None:
    pipeline = _Pipeline(SimpleNamespace(_slot=SimpleNamespace()))
    with caplog.at_level(logging.WARNING, logger="crawler.pipelines.archive"):
        ArchivePipeline._wake_engine(pipeline)  # type: ignore[arg-type]
    assert any("_slot.nextcall" in r.getMessage() for r in caplog.records)


def test_wake_engine_is_quiet_between_spiders_and_wakes_an_open_one(
        caplog: pytest.LogCaptureFixture) -> None:
    woken: list[bool] = []
    open_engine = SimpleNamespace(
        _slot=SimpleNamespace(nextcall=SimpleNamespace(schedule=lambda: woken.append(True))))
    with caplog.at_level(logging.WARNING, logger="crawler.pipelines.archive"):
        ArchivePipeline._wake_engine(_Pipeline(SimpleNamespace(_slot=None)))  # type: ignore[arg-type]
        ArchivePipeline._wake_engine(_Pipeline(None))  # type: ignore[arg-type]
        ArchivePipeline._wake_engine(_Pipeline(open_engine))  # type: ignore[arg-type]
    assert woken == [True]
    assert not caplog.records


# -- ExecutionEngine._slot.closing: crawler/extensions/prompt_close.py ------------------------


def test_engine_slot_class_still_sets_closing() -> None:
    from scrapy.core import engine as scrapy_engine

    slot_class = getattr(scrapy_engine, "_Slot", None)
    assert slot_class is not None, _fail(CLOSING, "changed: scrapy.core.engine._Slot is gone")
    assert "self.closing" in inspect.getsource(slot_class.__init__), _fail(
        CLOSING, "changed: _Slot.__init__ no longer sets closing")


@pytest.mark.slow  # a real crawl in a child process
def test_a_live_engine_has_slot_closing_and_prompt_close_reads_it(
        live_engine: dict[str, object]) -> None:
    seen = live_engine
    assert seen.get("slot_has_closing"), _fail(CLOSING, "is gone: engine._slot has no closing")
    assert seen.get("closing_is_none_while_open"), _fail(
        CLOSING, "changed: closing is set while the spider is open")
    assert seen.get("closing_set_when_closed"), _fail(
        CLOSING, "changed: closing is still None once the spider closed")
    assert seen.get("closing_warnings") == [], seen.get("closing_warnings")


def _closing_engine(closing: object, queued: list[object]) -> SimpleNamespace:
    from collections import deque

    class Deferred:
        called = False

        def errback(self, failure: object) -> None:
            queued.append(failure)

    slot = SimpleNamespace(queue=deque([(Request("https://news.example/q"), Deferred())]))
    return SimpleNamespace(_slot=SimpleNamespace(closing=closing),
                           downloader=SimpleNamespace(slots={"news.example": slot}))


def test_prompt_close_warns_once_when_the_private_api_is_gone(
        caplog: pytest.LogCaptureFixture) -> None:
    for engine in (SimpleNamespace(), SimpleNamespace(_slot=SimpleNamespace())):
        extension = PromptClose(SimpleNamespace(engine=engine))
        with caplog.at_level(logging.WARNING, logger="crawler.extensions.prompt_close"):
            extension.check()
            extension.check()
        warned = [r for r in caplog.records if "_slot.closing" in r.getMessage()]
        assert len(warned) == 1
        assert "crawler/extensions/prompt_close.py" in warned[0].getMessage()
        caplog.clear()


def test_prompt_close_is_quiet_unless_closing_and_drains_a_closing_engine(
        caplog: pytest.LogCaptureFixture) -> None:
    failed: list[object] = []
    stats = get_crawler(Spider).stats
    with caplog.at_level(logging.WARNING, logger="crawler.extensions.prompt_close"):
        for engine in (None, SimpleNamespace(_slot=None), _closing_engine(None, failed)):
            PromptClose(SimpleNamespace(engine=engine, stats=stats)).check()
        assert failed == []
        PromptClose(SimpleNamespace(engine=_closing_engine(object(), failed), stats=stats)).check()
    assert len(failed) == 1
    assert stats.get_value("silkroad/unfetched_at_close") == 1
    assert not caplog.records


# -- RetryMiddleware: crawler/middlewares/backoff.py uses the public get_retry_request ----------


def test_get_retry_request_takes_the_arguments_backoff_passes() -> None:
    params = inspect.signature(get_retry_request).parameters
    wanted = {"spider", "reason", "max_retry_times", "priority_adjust", "give_up_log_level"}
    missing = wanted - set(params)
    assert not missing, (
        f"Scrapy {scrapy.__version__}: get_retry_request{inspect.signature(get_retry_request)} "
        f"lacks {sorted(missing)}, which crawler/middlewares/backoff.py passes")


def test_backoff_retries_without_the_private_retry_method(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(RetryMiddleware, "_retry", raising=False)
    crawler = get_crawler(Spider, {"RETRY_TIMES": 2, "SILKROAD_RETRY_BACKOFF": 0})
    crawler.spider = Spider("private-apis")
    crawler.spider._set_crawler(crawler)
    middleware = BackoffRetryMiddleware.from_crawler(crawler)

    def respond(request: Request) -> object:
        response = HtmlResponse(request.url, status=503, body=b"", request=request)
        return asyncio.run(middleware.process_response(request, response))

    first = respond(Request("https://news.example/a", priority=5))
    assert isinstance(first, Request) and first.meta["retry_times"] == 1
    assert first.priority == 5 + crawler.settings.getint("RETRY_PRIORITY_ADJUST")
    assert crawler.stats.get_value("retry/count") == 1
    # The per-request meta keys RetryMiddleware honours still apply.
    once = Request("https://news.example/b", meta={"max_retry_times": 0})
    assert not isinstance(respond(once), Request)
    assert crawler.stats.get_value("retry/max_reached") == 1
    retried = respond(Request("https://news.example/c"))
    assert isinstance(retried, Request)
    exc = asyncio.run(middleware.process_exception(retried, TimeoutError()))
    assert isinstance(exc, Request) and exc.meta["retry_times"] == 2


def test_size_limited_decoders_that_warc_import_uses_still_exist_and_cut() -> None:
    import gzip
    import zlib

    from scrapy.utils import _compression

    where = "crawler/offline/warc_records.py (_DECODERS)"
    for name in ("_inflate", "_unbrotli", "_unzstd", "_DecompressionMaxSizeExceeded"):
        assert hasattr(_compression, name), (
            f"Scrapy {scrapy.__version__}: private scrapy.utils._compression.{name} is gone; "
            f"{where} relies on it")
    from scrapy.utils.gz import gunzip

    bomb = zlib.compress(b"\0" * 2_000_000)
    with pytest.raises(_compression._DecompressionMaxSizeExceeded):
        _compression._inflate(bomb, max_size=100_000)
    assert _compression._inflate(zlib.compress(b"page"), max_size=100_000) == b"page"
    with pytest.raises(_compression._DecompressionMaxSizeExceeded):
        gunzip(gzip.compress(b"\0" * 2_000_000), max_size=100_000)
