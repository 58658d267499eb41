"""Scrapy internals the crawler leans on: fail loudly when a Scrapy release changes them.

Private (underscore) Scrapy APIs in use, and who relies on them:

* ``ExecutionEngine._slot.nextcall.schedule()``: crawler/pipelines/archive.py,
  ``ArchivePipeline._wake_engine``. Scrapy has no public call that makes the engine
  look for work now; without it a crawl that the scraper slot held back waits for
  the engine's 5 s heartbeat. At run time a missing API only logs a warning (once
  per crawl); these tests make it a failure here.

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

from crawler.middlewares.backoff import BackoffRetryMiddleware
from crawler.pipelines.archive import ArchivePipeline
from tests.support import REPO

WAKE = "ExecutionEngine._slot.nextcall.schedule() (crawler/pipelines/archive.py, _wake_engine)"


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

    from crawler.pipelines.archive import ArchivePipeline

    warnings = []

    class Catch(logging.Handler):
        def emit(self, record):
            if record.levelno >= logging.WARNING and record.name == "crawler.pipelines.archive":
                warnings.append(record.getMessage())

    logging.getLogger("crawler.pipelines.archive").addHandler(Catch())
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

    process = CrawlerProcess({"LOG_ENABLED": False, "TELNETCONSOLE_ENABLED": False,
                              "TWISTED_REACTOR":
                                  "twisted.internet.asyncioreactor.AsyncioSelectorReactor"})
    crawler = process.create_crawler(Nothing)
    crawler.signals.connect(opened, signal=signals.spider_opened)
    process.crawl(crawler)
    process.start()
    print(json.dumps(seen))
""")


@pytest.mark.slow  # a real crawl in a child process
def test_a_live_engine_has_slot_nextcall_and_wake_engine_uses_it() -> None:
    proc = subprocess.run([sys.executable, "-c", _LIVE_ENGINE_CHECK], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"child crawl failed:\n{proc.stderr[-3000:]}"
    lines = proc.stdout.strip().splitlines()
    assert lines, f"child crawl never opened its spider:\n{proc.stderr[-3000:]}"
    seen = json.loads(lines[-1])
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
