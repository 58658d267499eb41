"""A pool of worker processes for page analysis.

trafilatura is CPU-bound; run in the crawl process it blocks Scrapy's reactor
and the crawl runs at one core's speed. Workers load the topic profile once
and receive only the bytes and a few strings they need.

Workers are spawned, not forked from a fork server: a fork server would stay
alive for the whole crawl with its own copy of trafilatura (about 70 MB, little
of it shared once Python touches its objects) just to fork the workers once.

Workers end with the crawl process, even one killed by kill -9 (see
``crawler.parent_watch``); multiprocessing's resource tracker then follows, as
the last holders of its pipe are gone.

A worker imports the page analysis and nothing else: not the script that started
the crawl (``silkroad`` or ``scrapy``, whose imports are the whole CLI, SQLAlchemy,
Scrapy and Twisted), and not scipy (see ``crawler.analysis.near_duplicates``).
``tests/test_worker_memory.py`` holds a worker to 150 MB.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import types
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from functools import partial
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any, TypeVar

from crawler.analysis.page_analysis import PageAnalysis, analyse_page, topic_profile
from crawler.parent_watch import die_with_parent, watch_parent

log = logging.getLogger(__name__)

T = TypeVar("T")


def _warm_up(profile_path: str | None, threshold: float | None) -> None:
    topic_profile(profile_path, threshold)


def _start_worker(parent_pid: int, from_main_thread: bool, profile_path: str | None,
                  threshold: float | None) -> None:
    if from_main_thread:
        die_with_parent(signal.SIGKILL)
    watch_parent(parent_pid)
    _warm_up(profile_path, threshold)


class _SpawnWithoutMain(SpawnProcess):
    """A spawned process that does not import the parent's ``__main__`` again.

    Spawn runs the parent's main script in each child so that functions defined
    there can be unpickled. The pool sends none, and the script is the command
    line's entry point: importing it would cost each worker the whole CLI.
    """

    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            return SpawnProcess._Popen(process_obj)
        finally:
            sys.modules["__main__"] = main


class _LeanSpawnContext(SpawnContext):
    Process = _SpawnWithoutMain


class ExtractionPool:
    """Runs ``analyse_page`` in worker processes, or inline when ``processes == 0``."""

    def __init__(
        self,
        processes: int | None = None,
        *,
        profile_path: str | None = None,
        threshold: float | None = None,
        prefilter: bool = False,
    ) -> None:
        self.processes = (os.cpu_count() or 1) if processes is None else max(0, processes)
        self.profile_path = profile_path
        self.threshold = threshold
        self.prefilter = prefilter
        self._executor: Executor | None = None
        self._stopping: threading.Thread | None = None

    def start(self) -> None:
        if self.processes == 0 or self._executor is not None:
            topic_profile(self.profile_path, self.threshold)
            return
        context = _LeanSpawnContext()
        # Every worker is spawned here, by the warm-up below: the thread that runs this
        # is the one the workers' death signal follows.
        from_main_thread = threading.current_thread() is threading.main_thread()
        self._executor = ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=context,
            initializer=_start_worker,
            initargs=(os.getpid(), from_main_thread, self.profile_path, self.threshold),
        )
        # Start the workers now, before the crawl, so that the first pages do not wait
        # while each worker imports trafilatura.
        warm = [self._executor.submit(_warm_up, self.profile_path, self.threshold)
                for _ in range(self.processes)]
        for future in warm:
            future.result()
        log.info("page analysis in %d worker processes", self.processes)

    async def analyse(
        self, body: bytes, url: str, content_type: str | None, language_hint: str | None
    ) -> PageAnalysis:
        return await self.call(partial(
            analyse_page,
            body,
            url,
            content_type,
            language_hint=language_hint,
            profile_path=self.profile_path,
            threshold=self.threshold,
            pack=True,
            prefilter=self.prefilter,
        ))

    async def call(self, function: Callable[[], T]) -> T:
        """``function()`` in a worker (inline without workers); it must be importable by
        name, from a module other than ``__main__``."""
        if self._executor is None:
            return function()
        return await asyncio.get_running_loop().run_in_executor(self._executor, function)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the workers; without ``wait`` they are joined on a thread (see ``join``),
        so that a crawl's last pages are not recorded a quarter second late."""
        if self._executor is not None:
            executor, self._executor = self._executor, None
            self._stopping = threading.Thread(
                target=executor.shutdown, kwargs={"wait": True, "cancel_futures": True},
                name="extraction-pool-shutdown")
            self._stopping.start()
        if wait:
            self.join()

    def join(self) -> None:
        if self._stopping is not None:
            self._stopping.join()
            self._stopping = None
