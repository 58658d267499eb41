"""Live crawl progress on the terminal, fed from the crawler's stats."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.status import Status
from twisted.internet import task

from crawler.crawl_runner import CrawlReport
from crawler.vocabulary import Stat

PROGRESS_KEYS = (
    ("pages_fetched", "pages"),
    ("articles_archived", "archived"),
    ("duplicates", "duplicates"),
    ("off_topic", "off-topic"),
)


class CrawlProgress:
    """Shows a one-line spinner with running counts while the crawl runs."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.status: Status | None = None
        self._loop: task.LoopingCall | None = None

    def attach(self, crawler: Any) -> None:
        from scrapy import signals

        if not self.console.is_terminal:
            return
        self.status = self.console.status("crawling…")
        crawler.signals.connect(self._start, signal=signals.spider_opened)
        crawler.signals.connect(self._stop, signal=signals.spider_closed)
        self._crawler = crawler

    def _start(self, spider: Any) -> None:
        assert self.status is not None
        self.status.start()
        self._loop = task.LoopingCall(self._update)
        self._loop.start(0.5)

    def _update(self) -> None:
        stats = self._crawler.stats
        parts = [f"{stats.get_value(Stat.named(key), 0)} {label}" for key, label in PROGRESS_KEYS]
        requests = stats.get_value("downloader/request_count", 0)
        assert self.status is not None
        self.status.update(f"crawling… {requests} requests · " + " · ".join(parts))

    def _stop(self, spider: Any, reason: str) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self.status is not None:
            self.status.stop()


class WorkersProgress:
    """The spinner of ``silkroad crawl --workers``, fed from the archive."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.status: Status | None = None

    def update(self, progress: Any) -> None:
        if not self.console.is_terminal:
            return
        if self.status is None:
            self.status = self.console.status("crawling…")
            self.status.start()
        self.status.update(f"crawling with {progress.workers} workers… {progress.fetched} pages "
                           f"· {progress.archived} archived · {progress.pending} pending")

    def stop(self) -> None:
        if self.status is not None:
            self.status.stop()


def print_summary(console: Console, report: CrawlReport, db_url: str) -> None:
    colour = "green" if report.ok else "red"
    console.print(
        f"[bold {colour}]Crawl {report.outcome}[/] (run {report.run_id}, {report.close_reason})"
        f" into {db_url}"
    )
    session_id = report.stats.get(Stat.SESSION_ID)
    if session_id and session_id != report.run_id:
        console.print(
            f"Resumed the interrupted crawl of run {session_id}: "
            f"{report.stats.get(Stat.RESUMED_PENDING, 0)} request(s) were pending, "
            f"{report.stats.get(Stat.RESUMED_DONE, 0)} already done."
        )
    print_counts(console, report)


def print_workers_summary(console: Console, report: Any, db_url: str) -> None:
    """One summary for the workers of ``silkroad crawl --workers``: their runs summed."""
    colour = "green" if report.ok else "red"
    runs = ", ".join(f"{run_id} {outcome}" for run_id, outcome in report.outcomes.items())
    console.print(f"[bold {colour}]Crawl {report.outcome}[/] (session {report.session_id}, "
                  f"{len(report.outcomes)} workers: runs {runs}) into {db_url}")
    print_counts(console, report)


def print_counts(console: Console, report: Any) -> None:
    """The counts of a report (a CrawlReport, or the workers' sum)."""
    rows = [
        ("requests", report.stats.get("downloader/request_count", 0)),
        ("pages fetched", report.count("pages_fetched")),
        ("  new / changed / unchanged",
         f"{report.count('pages_new')} / {report.count('pages_changed')} / "
         f"{report.count('pages_unchanged')}"),
        ("articles archived", report.count("articles_archived")),
        ("duplicates (new sightings)", report.count("duplicates")),
        ("off-topic pages", report.count("off_topic")),
        ("  of them not extracted", report.count("prefiltered")),
        ("pages without article", report.count("no_article")),
        ("robots.txt denials", report.stats.get("robotstxt/forbidden", 0)),
        ("HTTP errors (4xx/5xx)", report.count("http_errors")),
        ("fetch errors", report.count("fetch_errors")),
        ("analysis / store errors",
         f"{report.count('analysis_errors')} / {report.count('store_errors')}"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        console.print(f"  {name:<{width}}  {value}")
