"""`silkroad crawl` and `silkroad demo`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from crawler.cli.common import check_db, console, db_option, display_url
from crawler.cli.progress import (
    CrawlProgress,
    WorkersProgress,
    print_summary,
    print_workers_summary,
)
from crawler.crawl_runner import CrawlReport, crawl_settings, run_crawl
from crawler.crawl_workers import WorkersReport, run_workers
from crawler.errors import UsageError
from crawler.seeds import DEFAULT_SEEDS_FILE, default_seeds_path, load_seeds
from storage.engine import resolve_db_url

seeds_option = click.option(
    "--seeds",
    "seeds",
    metavar="FILE",
    default=None,
    help=f"Seeds file (TOML) listing the sources to crawl [default: {DEFAULT_SEEDS_FILE}, "
         "else the copy shipped with the package].",
)
setting_option = click.option(
    "-s",
    "--set",
    "settings",
    metavar="NAME=VALUE",
    multiple=True,
    help="A Scrapy setting, as with `scrapy crawl -s` (repeatable), e.g. -s DOWNLOAD_DELAY=2.",
)


def parse_settings(pairs: tuple[str, ...]) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"-s wants NAME=VALUE, got {pair!r}")
        parsed[name.strip()] = value
    return parsed


def crawl_and_report(settings: object, db_url: str, *, quiet_logs: bool) -> CrawlReport:
    # Our own handler prints what the user asked for; Scrapy's would print it twice.
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")  # type: ignore[attr-defined]
    level = logging.WARNING if quiet_logs else logging.INFO
    settings.set("LOG_LEVEL", logging.getLevelName(level), priority="cmdline")  # type: ignore[attr-defined]
    for handler in logging.root.handlers:
        handler.setLevel(min(handler.level or level, level))
    logging.root.setLevel(level)
    progress = CrawlProgress(console)
    report = run_crawl(settings, on_start=progress.attach)
    print_summary(console, report, display_url(db_url))
    return report


@click.command("crawl")
@seeds_option
@db_option
@click.option("--max-pages", type=click.IntRange(min=1), metavar="N",
              help="Page budget: stop after N responses (CLOSESPIDER_PAGECOUNT).")
@click.option("--depth", type=click.IntRange(min=0), metavar="N",
              help="Follow links at most N hops from a seed (DEPTH_LIMIT; 0 = unlimited).")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Continue an interrupted crawl from its pending requests (see `silkroad "
                   "runs`), or start over from the seeds.")
@click.option("--workers", type=click.IntRange(min=1), metavar="N",
              help="Crawl with N worker processes sharing the session's frontier "
                   "(one site is still crawled by one worker at a time); --max-pages is "
                   "then for all of them together. More can join with `silkroad worker`.")
@setting_option
@click.option("--log", "show_log", is_flag=True, help="Show Scrapy's INFO log instead of progress.")
def crawl(seeds: str | None, db: str | None, max_pages: int | None, depth: int | None, resume: bool,
          workers: int | None, settings: tuple[str, ...], show_log: bool) -> None:
    """Crawl the seed sources once, archive what is on topic, print a summary.

    Exits 0 when the crawl completed (pages that failed are counted, not fatal).
    A crawl that was interrupted (Ctrl-C, SIGTERM, kill -9, power loss) is resumed
    by the next one from the requests it left pending in the database.

    \b
    Example:
      silkroad crawl --seeds seeds/sources.toml --max-pages 200 --depth 2
      silkroad crawl -s DOWNLOAD_DELAY=2 -s CONCURRENT_REQUESTS_PER_DOMAIN=1
      silkroad crawl --workers 4 --db postgresql://crawler@db.example/archive
    """
    db_url = resolve_db_url(db)
    check_db(db_url, for_writing=True)
    seeds_file = seeds or str(default_seeds_path())
    overrides = {"SILKROAD_RESUME": str(resume), **parse_settings(settings)}
    if workers is not None:
        report = crawl_with_workers(db_url, seeds_file, workers, resume=resume,
                                    max_pages=max_pages, depth=depth, overrides=overrides,
                                    show_log=show_log)
        sys.exit(0 if report.ok else 1)
    scrapy_settings = crawl_settings(
        seeds_file=seeds_file, db_url=db_url, max_pages=max_pages, depth=depth,
        overrides=overrides,
    )
    report = crawl_and_report(scrapy_settings, db_url, quiet_logs=not show_log)
    sys.exit(0 if report.ok else 1)


def crawl_with_workers(db_url: str, seeds_file: str, workers: int, *, resume: bool,
                       max_pages: int | None, depth: int | None, overrides: dict[str, str],
                       show_log: bool) -> WorkersReport:
    """Start the session and its worker processes; one summary when they are done."""
    load_seeds(seeds_file)  # a bad seeds file is one line here, not one per worker
    settings = crawl_settings(seeds_file=seeds_file, db_url=db_url, max_pages=max_pages,
                              depth=depth, overrides=overrides)
    passed = dict(overrides)
    if depth is not None:
        passed["DEPTH_LIMIT"] = str(depth)
    spinner = WorkersProgress(console)
    try:
        report = run_workers(
            db_url, seeds_file=str(Path(seeds_file).resolve()), workers=workers,
            resume=resume, fetch_robots=not settings.getbool("ROBOTSTXT_OBEY"),
            settings=passed, max_pages=max_pages, show_log=show_log,
            on_progress=spinner.update)
    finally:
        spinner.stop()
    print_workers_summary(console, report, display_url(db_url))
    return report
