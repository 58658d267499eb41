"""`silkroad schedule`, `runs` and `health`: crawls that keep the archive current."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

import click
from rich import box
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from crawler.cli.common import console, db_option, open_archive
from crawler.cli.crawl_cmd import seeds_option, setting_option
from crawler.errors import ArchiveBusy, UsageError
from crawler.scheduling.scheduled_crawl import RUNNING, CrawlJob
from crawler.scheduling.scheduler import CrawlScheduler, JobInfo
from crawler.scheduling.schedules import Schedule
from crawler.seeds import default_seeds_path, load_seeds
from crawler.timeutil import isoformat_utc
from crawler.vocabulary import RunOutcome
from storage.archive_lock import ArchiveLock
from storage.engine import resolve_db_url, sqlite_file
from storage.frontier import pending_counts
from storage.health import SourceHealth, assess_archive, source_counts
from storage.models import CrawlRun

COUNT_COLUMNS = (
    ("fetched", "pages_fetched"),
    ("archived", "articles_archived"),
    ("duplicates", "duplicates"),
    ("off_topic", "off_topic"),
    ("errors", "errors"),
)
LOCK_CHECK_SECONDS = 10.0  # how soon a scheduler whose lock broke stops
SERVICE_LOGGERS = ("crawler.scheduling.scheduler", "crawler.scheduling.scheduled_crawl",
                   "storage.health")
format_option = click.option("--format", "fmt", type=click.Choice(["table", "json"]),
                             default="table", show_default=True, help="Output format.")


# -- schedule --------------------------------------------------------------------------


@click.command("schedule")
@click.option("--every", metavar="DURATION",
              help="Crawl at this interval: 90s, 30m, 6h, 1d or combined (1h30m).")
@click.option("--cron", metavar="EXPR", help='Crawl on a cron expression, e.g. "0 */6 * * *".')
@seeds_option
@db_option
@setting_option
@click.option("--list", "list_jobs", is_flag=True,
              help="List the jobs stored in the database, then exit.")
@click.option("--remove", "remove_job", metavar="JOB_ID", help="Remove a stored job, then exit.")
@click.option("--standby", is_flag=True,
              help="If another scheduler runs on this archive, wait and take over when it "
                   "stops (default: refuse, exit status 2).")
def schedule(every: str | None, cron: str | None, seeds: str | None, db: str | None,
             settings: tuple[str, ...], list_jobs: bool, remove_job: str | None,
             standby: bool) -> None:
    """Run crawls on a schedule until stopped (Ctrl-C or SIGTERM).

    The job is stored in the archive database, so starting the scheduler again
    resumes it; a new --every/--cron replaces it. Without either, the schedule
    comes from the seeds file's [schedule] table (every = "6h" or cron = "0 */6 * * *"),
    else the stored job is resumed. Each crawl runs in a child process and is
    recorded in `silkroad runs`; a stop ends the crawl in progress cleanly and
    marks its run interrupted.

    One scheduler runs per archive: a second one refuses (exit status 2), or with
    --standby waits and takes over when the first stops or dies, on this machine or
    another (a PostgreSQL advisory lock; on SQLite a lock file next to the archive).

    \b
    Example:
      silkroad schedule --every 6h --seeds seeds/sources.toml
      silkroad schedule --cron "30 */4 * * *" -s DOWNLOAD_DELAY=2
      silkroad schedule --every 6h --standby   # a spare, on a second machine
      silkroad schedule --list
    """
    db_url = resolve_db_url(db)
    if list_jobs or remove_job:
        _manage_jobs(db_url, remove_job)
        return
    requested = Schedule.parse(cron=cron, every=every)
    seeds = seeds or str(default_seeds_path())
    seeds_file = load_seeds(seeds)
    if requested is None:
        requested = Schedule.from_table(seeds_file.schedule, str(seeds_file.path))
    job = CrawlJob.create(seeds, db_url, settings)
    open_archive(db_url).dispose()  # a mistaken --db is one line, before the service starts
    service = CrawlScheduler(db_url)
    lock = None
    try:
        lock = _claim_the_archive(service.engine, standby)
        if lock is not None:
            _serve(service, lock, job, requested)
    finally:
        service.close()
        if lock is not None:
            lock.release()


def _claim_the_archive(engine: Engine, standby: bool) -> ArchiveLock | None:
    """The archive's schedule lock; None when stopped while on standby."""
    lock = ArchiveLock(engine, "schedule")
    if lock.try_acquire():
        return lock
    holder = lock.holder() or "another silkroad schedule"
    if not standby:
        raise ArchiveBusy(f"another scheduler runs on this archive ({holder}): stop it, "
                          "or start this one with --standby to take over when it stops")
    console.print(f"Standby: another scheduler runs on this archive ({holder}); "
                  "waiting to take over.", markup=False)
    stop = threading.Event()
    previous = _install_stop_handlers(stop)
    try:
        if not lock.wait(stop):
            console.print("Standby stopped.")
            return None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    console.print("Taking over: the other scheduler stopped.")
    return lock


def _serve(service: CrawlScheduler, lock: ArchiveLock, job: CrawlJob,
           requested: Schedule | None) -> None:
    service.open()
    setup = service.schedule_crawl(job, requested)
    verb = {"created": "Created job", "updated": "Updated job",
            "resumed": "Resuming job"}[setup.action]
    where = " from the database" if setup.action == "resumed" else ""
    console.print(f"{verb} {setup.job.id}{where}: {_describe(setup.job)}", markup=False)
    for other in service.jobs():
        if other.id != setup.job.id:
            console.print(f"Also in the database: job {other.id}: {_describe(other)}",
                          markup=False)
    _show_scheduler_logs()
    orphans = service.settle_orphans()
    if orphans:
        console.print(f"Marked runs {', '.join(map(str, orphans))} interrupted "
                      "(left running by a scheduler that stopped).")

    stop = threading.Event()
    previous = _install_stop_handlers(stop)
    try:
        service.run()
        console.print("Scheduler running; stop it with Ctrl-C or SIGTERM.")
        checked = time.monotonic()
        lost = False
        while not stop.wait(0.2):
            if time.monotonic() - checked >= LOCK_CHECK_SECONDS:
                checked = time.monotonic()
                if lost := not lock.alive():
                    break
        console.print("Stopping: ending the crawl in progress, if any…")
        began = time.monotonic()
        stopped = service.stop()
        console.print(f"Scheduler stopped in {time.monotonic() - began:.1f}s"
                      + (f" (stopped crawl process {', '.join(map(str, stopped))})."
                         if stopped else "."))
        if lost:
            raise ArchiveBusy("lost the archive's schedule lock (its database connection "
                              "broke): stopped, so that a standby can take over alone")
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _manage_jobs(db_url: str, remove_job: str | None) -> None:
    path = sqlite_file(db_url)
    if path is not None and not path.is_file():
        raise UsageError(f"no archive at {path}: check --db (nothing to list or remove)")
    # Never creates an archive (a PostgreSQL database without one is an error too).
    open_archive(db_url, readonly=True).dispose()
    service = CrawlScheduler(db_url)
    service.open()
    try:
        if remove_job:
            if not service.remove(remove_job):
                click.echo(f"No job {remove_job} in the database.", err=True)
                sys.exit(1)
            console.print(f"Removed job {remove_job}.", markup=False)
        jobs = service.jobs()
    finally:
        service.close()
    if not jobs:
        console.print("No scheduled jobs in the database.")
    for job in jobs:
        console.print(f"{job.id}: {_describe(job)}", markup=False)


def _describe(job: JobInfo) -> str:
    name = job.name.rsplit("(", 1)[-1].rstrip(")") if "(" in job.name else job.name
    when = (job.next_run_time.isoformat(timespec="seconds") if job.next_run_time
            else "never (paused)")
    return f"{name}, next run at {when}"


def _show_scheduler_logs() -> None:
    """A service's log is its output: runs starting and ending, sources turning unhealthy."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in SERVICE_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        logger.propagate = False


def _install_stop_handlers(stop: threading.Event) -> dict[int, Any]:
    def request_stop(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            RUNNING.hurry()
        stop.set()

    return {signum: signal.signal(signum, request_stop)
            for signum in (signal.SIGTERM, signal.SIGINT)}


# -- runs and health ---------------------------------------------------------------------


def run_record(run: CrawlRun, pending: dict[int, int] | None = None) -> dict[str, Any]:
    """A run as `silkroad runs --format json` shows it."""
    stats = run.stats or {}
    took = ((run.finished_at - run.started_at).total_seconds()
            if run.finished_at is not None else None)
    return {
        "id": run.id,
        "trigger": run.trigger,
        "outcome": run.outcome,
        "exit_status": run.exit_status,
        "started_at": isoformat_utc(run.started_at),
        "finished_at": isoformat_utc(run.finished_at),
        "duration_seconds": None if took is None else round(took, 2),
        "close_reason": stats.get("close_reason"),
        "seeds_file": run.seeds_file,
        "pid": run.pid,
        "counts": {name: getattr(run, column) or 0 for name, column in COUNT_COLUMNS},
        "sources": source_counts(stats),
        "session_id": run.session_id,
        # Requests an interrupted crawl left; the next `silkroad crawl` resumes them.
        "pending": (pending or {}).get(run.session_id or run.id, 0)
        if run.outcome != "ok" else 0,
    }


def _runs_table(records: list[dict[str, Any]]) -> Table:
    table = Table(title="Crawl runs", title_justify="left", box=box.SIMPLE_HEAD, padding=0)
    for column in ("run", "trigger", "started UTC", "took", "outcome", "exit"):
        table.add_column(column, no_wrap=True,
                         justify="right" if column in ("run", "took", "exit") else "left")
    for column in ("pages", "new", "dups", "off", "err", "pending"):
        table.add_column(column, justify="right", no_wrap=True)
    colours = {RunOutcome.OK: "green", RunOutcome.FAILED: "red",
               RunOutcome.INTERRUPTED: "yellow", RunOutcome.RUNNING: "cyan"}
    for record in records:
        took = record["duration_seconds"]
        outcome = record["outcome"]
        table.add_row(
            str(record["id"]), record["trigger"],
            (record["started_at"] or "").replace("T", " ")[:16],
            "" if took is None else _duration(took),
            f"[{colours.get(outcome, 'white')}]{outcome}[/]",
            "" if record["exit_status"] is None else str(record["exit_status"]),
            *(str(record["counts"][name]) for name, _ in COUNT_COLUMNS),
            str(record["pending"] or ""),
        )
    return table


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def _health_table(report: list[SourceHealth]) -> Table:
    table = Table(title="Source health", title_justify="left", box=box.SIMPLE_HEAD, padding=0)
    for column in ("source", "status", "runs", "last run", "pages", "new", "problems"):
        table.add_column(column, justify="right" if column in ("runs", "last run", "pages", "new")
                         else "left", no_wrap=column != "problems", overflow="fold")
    for health in report:
        status = "[green]ok[/]" if health.healthy else "[bold red]UNHEALTHY[/]"
        table.add_row(escape(health.source), status, str(health.runs), str(health.last_run_id),
                      str(health.latest.get("fetched", 0)), str(health.latest.get("archived", 0)),
                      escape("\n".join(p.message for p in health.problems)))
    return table


def _source_names(seeds: str | None) -> list[str] | None:
    """The sources a health report is limited to; read before the archive is opened, so a
    mistake in the seeds file is the error a user sees."""
    return None if seeds is None else [s.name for s in load_seeds(seeds).sources]


def _health_report(session: Session, sources: list[str] | None) -> list[SourceHealth]:
    return assess_archive(session, sources=sources)


def _print_health(report: list[SourceHealth]) -> None:
    if not report:
        console.print("No source has been crawled yet.")
        return
    console.print(_health_table(report))
    unhealthy = [h.source for h in report if not h.healthy]
    console.print(f"{len(unhealthy)} of {len(report)} source(s) unhealthy"
                  + (f": {', '.join(unhealthy)}" if unhealthy else "."), markup=False)


health_seeds_option = click.option(
    "--seeds", "health_seeds", metavar="FILE", default=None,
    help="Judge only the sources of this seeds file (default: every source crawled).")
strict_option = click.option("--strict", is_flag=True,
                             help="Exit with status 1 when any source is unhealthy.")


@click.command("runs")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, metavar="N",
              help="Show the N latest runs.")
@format_option
@click.option("--health", "with_health", is_flag=True, help="Also judge each source's health.")
@health_seeds_option
@strict_option
@db_option
def runs(limit: int, fmt: str, with_health: bool, health_seeds: str | None, strict: bool,
         db: str | None) -> None:
    """List crawl runs, newest first: trigger, outcome, exit status and counts.

    Every crawl has a run, scheduled or manual. JSON adds per-source counts.
    "pending" is the work an interrupted crawl left: the next `silkroad crawl`
    resumes it (or `silkroad crawl --no-resume` starts over from the seeds).

    \b
    Example:
      silkroad runs --limit 10
      silkroad runs --format json | jq '.[] | select(.outcome != "ok")'
      silkroad runs --health
    """
    sources = _source_names(health_seeds)
    engine = open_archive(db, readonly=True)
    with Session(engine) as session:
        pending = pending_counts(session)
        records = [run_record(run, pending) for run in session.scalars(
            select(CrawlRun).order_by(CrawlRun.id.desc()).limit(limit))]
        report = _health_report(session, sources) if with_health else None
    engine.dispose()
    if fmt == "json":
        payload: Any = records if report is None else {
            "runs": records, "health": [h.as_dict() for h in report]}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        if records:
            console.print(_runs_table(records))
        else:
            console.print("No crawl runs yet.")
        if report is not None:
            _print_health(report)
    _exit_for(report, strict)


@click.command("health")
@format_option
@health_seeds_option
@strict_option
@db_option
def health(fmt: str, health_seeds: str | None, strict: bool, db: str | None) -> None:
    """Judge each source from its latest runs and flag the ones that went wrong.

    A source is unhealthy when nothing could be fetched from it, or most of its
    requests failed (4xx/5xx, robots.txt denials, network errors), for 2 runs in a
    row; when 3 runs in a row found no new article where earlier runs did; or
    when most of its pages yield no article text or most new articles no date.

    \b
    Example:
      silkroad health
      silkroad health --strict --format json   # exit 1 when a source is unhealthy
    """
    sources = _source_names(health_seeds)
    engine = open_archive(db, readonly=True)
    with Session(engine) as session:
        report = _health_report(session, sources)
    engine.dispose()
    if fmt == "json":
        click.echo(json.dumps([h.as_dict() for h in report], ensure_ascii=False, indent=2))
    else:
        _print_health(report)
    _exit_for(report, strict)


def _exit_for(report: list[SourceHealth] | None, strict: bool) -> None:
    if strict and report is not None and any(not h.healthy for h in report):
        sys.exit(1)
