"""The crawl's row in ``crawl_runs``: started (or resumed) when the crawl opens,
finished with its outcome and counts when it closes, however it closes.

A second Ctrl-C stops the reactor without ``spider_closed``; the run then ends
``interrupted`` with what was stored, not ``running`` with zero counts.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from scrapy import signals
from sqlalchemy.exc import SQLAlchemyError

from crawler.extensions.archive_database import ArchiveDatabase, archive_database
from crawler.vocabulary import RunOutcome, Stat, Trigger
from storage.frontier import DONE, PENDING, close_session, state_counts
from storage.models import CrawlRun
from storage.runs import (
    adopt_run,
    finish_run,
    resumable_session,
    run_counts,
    running_runs,
    start_run,
)

log = logging.getLogger(__name__)

STORE_FAILURES_KEPT = 50  # pages that could not be stored, named with their reason in the run

# The run's columns, from the crawl's stats.
COUNTED_STATS = {
    "fetched": Stat.PAGES_FETCHED,
    "archived": Stat.ARTICLES_ARCHIVED,
    "duplicates": Stat.DUPLICATES,
    "off_topic": Stat.OFF_TOPIC,
    "prefiltered": Stat.PREFILTERED,
    "no_article": Stat.NO_ARTICLE,
    "revisits": Stat.REVISITS,
    "new_pages": Stat.PAGES_NEW,
    "changed_pages": Stat.PAGES_CHANGED,
    "unchanged_pages": Stat.PAGES_UNCHANGED,
}
ERROR_STATS = (Stat.ANALYSIS_ERRORS, Stat.FETCH_ERRORS, Stat.HTTP_ERRORS, Stat.STORE_ERRORS)


class RunRecord:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.database: ArchiveDatabase | None = None
        self.run_id = 0  # set when started
        self.session_id = 0
        self.store_failures: list[dict[str, str]] = []
        self._finished = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> RunRecord:
        record = cls(crawler)
        crawler.signals.connect(record.ensure_started, signal=signals.spider_opened)
        crawler.signals.connect(record.spider_closed, signal=signals.spider_closed)
        from twisted.internet import reactor

        reactor.addSystemEventTrigger("before", "shutdown", record.settle_unfinished_run)
        return record

    def ensure_started(self) -> None:
        """Start the run, or join the row a launcher made (``SILKROAD_RUN_ID``), in the
        session a launcher of workers names (``SILKROAD_SESSION_ID``), else resuming an
        interrupted session when ``SILKROAD_RESUME``. The scheduler and the archive
        pipeline call this when they open, where an error stops the crawl (a signal
        handler's is only logged)."""
        if self.run_id:
            return
        self.database = archive_database(self.crawler)
        settings = self.crawler.settings
        preset = settings.get("SILKROAD_RUN_ID")
        joined = settings.getint("SILKROAD_SESSION_ID") or None
        with self.database.sessions.begin() as session:
            if joined is not None:
                if session.get(CrawlRun, joined) is None:
                    raise ValueError(f"SILKROAD_SESSION_ID={joined}: no such crawl session")
                resumed = joined
            else:
                resumed = (resumable_session(session) if settings.getbool("SILKROAD_RESUME")
                           else None)
            if preset:
                run = adopt_run(session, int(preset), resumed)
            else:
                run = start_run(
                    session,
                    trigger=settings.get("SILKROAD_TRIGGER", Trigger.MANUAL),
                    seeds_file=str(settings.get("SEEDS_FILE")),
                    pid=os.getpid(),
                    session_id=resumed,
                )
            self.run_id, self.session_id = run.id, run.session_id
            left = state_counts(session, self.session_id) if resumed else None
        self.stats.set_value(Stat.RUN_ID, self.run_id)
        self.stats.set_value(Stat.SESSION_ID, self.session_id)
        if left is not None and joined is None:
            self.stats.set_value(Stat.RESUMED_PENDING, left[PENDING])
            self.stats.set_value(Stat.RESUMED_DONE, left[DONE])
            log.warning("resuming the interrupted crawl of run %d: %d request(s) pending, "
                        "%d done", resumed, left[PENDING], left[DONE])

    def note_store_failure(self, url: str, reason: str) -> None:
        """A page that could not be stored, named in the run (the first few)."""
        if len(self.store_failures) < STORE_FAILURES_KEPT:
            self.store_failures.append({"url": url, "reason": reason})

    def spider_closed(self, spider: Any, reason: str) -> None:
        if not self.run_id:
            return
        outcome = run_outcome(reason, self.stats.get_value(Stat.BATCH_FAILURES, 0))
        self.stats.set_value(Stat.OUTCOME, str(outcome))  # plain in Scrapy's stats dump
        self._finished = True  # whatever happens here, the shutdown trigger has nothing to do
        self._finish(outcome, reason)

    def _finish(self, outcome: str, reason: str, *, forced: bool = False) -> None:
        assert self.database is not None
        counts = {name: self.stats.get_value(key, 0) for name, key in COUNTED_STATS.items()}
        counts["errors"] = sum(self.stats.get_value(key, 0) for key in ERROR_STATS)
        stats: dict[str, Any] = {
            k: v for k, v in self.stats.get_stats().items()
            if isinstance(v, int | float | str) and not k.startswith(Stat.RUN_ID)
        }
        stats["close_reason"] = reason
        if self.store_failures:
            stats[Stat.STORE_FAILURES] = self.store_failures
        with self.database.sessions.begin() as session:
            if forced:  # batches may have committed after their counts last reached the stats
                for name, stored in run_counts(session, self.run_id).items():
                    counts[name] = max(counts[name], stored)
            stats.update(counts)
            finish_run(session, self.run_id, outcome=outcome,
                       exit_status=0 if outcome == RunOutcome.OK else 1, counts=counts,
                       stats=stats)
            # The last worker of a session that completed drops its frontier; while
            # another still crawls, the frontier is its dupefilter.
            if outcome == RunOutcome.OK and not running_runs(session,
                                                             session_id=self.session_id):
                close_session(session, self.session_id)

    def settle_unfinished_run(self) -> None:
        """Reactor shutdown before spider_closed ran (a forced, second Ctrl-C)."""
        if self._finished or self.database is None or not self.run_id:
            return
        self._finished = True
        log.warning("forced shutdown: recording run %d as interrupted", self.run_id)
        self.database.stop_writing(cancel=True)
        self.stats.set_value(Stat.OUTCOME, str(RunOutcome.INTERRUPTED))
        try:
            self._finish(RunOutcome.INTERRUPTED, "forced shutdown", forced=True)
        except SQLAlchemyError:
            log.exception("could not record the end of run %d", self.run_id)


def run_outcome(close_reason: str, batch_failures: int) -> RunOutcome:
    """How a crawl ended, from Scrapy's close reason.

    A batch that could not be written lost pages that the next crawl must resume, so
    it fails the run; a page that could not be stored alone was recorded as an error
    and does not (else its session would be resumed, and fail, for ever).
    """
    if batch_failures:
        return RunOutcome.FAILED
    if close_reason == "finished" or close_reason.startswith("closespider_"):
        return RunOutcome.OK
    if close_reason == "shutdown":
        return RunOutcome.INTERRUPTED
    return RunOutcome.FAILED
