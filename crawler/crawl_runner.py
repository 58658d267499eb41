"""Run one crawl of the `seeds` spider in this process and report how it went.

Used by `silkroad crawl` and `silkroad demo`. Scrapy's reactor cannot be
restarted, so this runs once per process (the scheduler starts a child
process per crawl).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from crawler.parent_watch import watch_parent_from_env
from crawler.seeds import load_seeds
from crawler.vocabulary import RunOutcome, Stat
from storage.engine import resolve_db_url

# A scheduled crawl whose scheduler died stops as the scheduler would stop it (see
# crawler.scheduling.scheduled_crawl): SIGTERM, SIGINT 6 s later, SIGKILL 1.5 s after that; with its
# workers' own watch, all of it is gone within 10 s.
ORPHANED_STOP = ((signal.SIGTERM, 6.0), (signal.SIGINT, 1.5))


@dataclass(frozen=True)
class CrawlReport:
    run_id: int | None
    outcome: str
    close_reason: str
    stats: dict[str, Any]

    def count(self, key: str) -> int:
        return int(self.stats.get(Stat.named(key), 0) or 0)

    @property
    def ok(self) -> bool:
        return self.outcome == RunOutcome.OK


def crawl_settings(
    *,
    seeds_file: str,
    db_url: str | None,
    max_pages: int | None = None,
    depth: int | None = None,
    overrides: Mapping[str, str] | None = None,
) -> Any:
    """Project settings plus the command line's choices; -s overrides win last."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    settings.set("SEEDS_FILE", seeds_file, priority="cmdline")
    settings.set("SILKROAD_DB", resolve_db_url(db_url), priority="cmdline")
    if max_pages is not None:
        settings.set("CLOSESPIDER_PAGECOUNT", max_pages, priority="cmdline")
    if depth is not None:
        settings.set("DEPTH_LIMIT", depth, priority="cmdline")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    return settings


def run_crawl(settings: Any, *, on_start: Callable[[Any], None] | None = None) -> CrawlReport:
    """Validate inputs (one-line errors), crawl to completion, return the report.

    The archive is opened and migrated by the crawler's ArchiveDatabase extension as
    the crawler is set up, before the reactor runs: an archive that cannot be opened
    raises here, as a bad seeds file does, and nothing is fetched.
    """
    watch_parent_from_env(ORPHANED_STOP)
    load_seeds(settings.get("SEEDS_FILE"))

    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(settings)
    crawler = process.create_crawler("seeds")
    if on_start is not None:
        on_start(crawler)
    setting_up, set_up_failures = [True], []

    def set_up_failed(failure: Any) -> Any:
        if not setting_up[0]:
            return failure
        set_up_failures.append(failure)
        return None

    process.crawl(crawler).addErrback(set_up_failed)
    setting_up[0] = False
    if set_up_failures:
        set_up_failures[0].raiseException()
    process.start()
    stats = dict(crawler.stats.get_stats()) if crawler.stats else {}
    return CrawlReport(
        run_id=stats.get(Stat.RUN_ID),
        outcome=str(stats.get(Stat.OUTCOME, RunOutcome.FAILED)),
        close_reason=str(stats.get("finish_reason", "unknown")),
        stats=stats,
    )
