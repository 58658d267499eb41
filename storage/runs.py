"""Crawl runs (``crawl_runs``): starting, finishing, resuming, and telling a dead one.

Every module that creates, closes or judges a run does it here, so that one
policy decides when a run left ``running`` is dead:

- It runs on another machine (``hostname``) and has sent no heartbeat for
  ``REMOTE_SILENCE`` (crawl workers renew ``heartbeat_at`` every few seconds):
  a pid means nothing here for a process over there.
- It runs on this machine and its pid is gone, or names a process that
  started well after the run's row was written (after a kill -9 or a reboot
  the pid is handed to someone else sooner or later; trusting it would keep
  the run ``running`` for ever, and block every resume and every scheduled
  crawl of its seeds). Where the start time cannot be read (no /proc), a run
  older than ``MAX_RUN_AGE`` is dead.
- It has no pid and is older than ``LAUNCH_GRACE``: a scheduler writes the row
  first and the pid once its child started, so a younger one is being launched.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session

from crawler.timeutil import utcnow
from crawler.vocabulary import NOT_PAGES, RunOutcome, Trigger
from storage.frontier import PENDING, close_session
from storage.models import Article, CrawlRun, Fetch, FrontierEntry
from storage.upsert import dialect_name

log = logging.getLogger(__name__)

# A crawl child starts this long after its run row at most (slow disk, loaded machine).
START_TOLERANCE = timedelta(seconds=60)
MAX_RUN_AGE = timedelta(days=3)
# A run row without a pid younger than this is a crawl being launched, not a dead one.
LAUNCH_GRACE = START_TOLERANCE
FAILED_RUNS_LIMIT = 3  # runs of one session that ended failed before its frontier is given up
RESUME_LOCK_KEY = 0x53494C4B  # PostgreSQL advisory lock: one crawl at a time picks its session
# A run of another machine without a heartbeat for this long is dead (workers beat every 5 s).
REMOTE_SILENCE = timedelta(seconds=60)


def this_host() -> str:
    """The name runs of this machine are recorded under (``crawl_runs.hostname``)."""
    return socket.gethostname()


# -- lifecycle ------------------------------------------------------------------------


def start_run(
    session: Session,
    *,
    trigger: str,
    seeds_file: str | None = None,
    pid: int | None = None,
    session_id: int | None = None,
) -> CrawlRun:
    """A new crawl_runs row of this machine; ``session_id`` names the session it
    continues or joins."""
    now = utcnow()
    run = CrawlRun(trigger=trigger, started_at=now, outcome=RunOutcome.RUNNING,
                   seeds_file=seeds_file, pid=pid, stats={}, session_id=session_id,
                   hostname=this_host(), heartbeat_at=now)
    session.add(run)
    session.flush()
    if run.session_id is None:
        run.session_id = run.id
    return run


def adopt_run(session: Session, run_id: int, resumed: int | None) -> CrawlRun:
    """The row a launcher created for this crawl (``SILKROAD_RUN_ID``), joined to the
    session it resumes (a launcher of workers set the session already). The run starts
    now, as a run this process made itself would: a launcher's row predates the child's
    start-up, and a worker's pages per second should not count it."""
    run = session.get(CrawlRun, run_id)
    if run is None:
        raise ValueError(f"SILKROAD_RUN_ID={run_id}: no such crawl run")
    run.session_id = resumed or run.session_id or run.id
    now = utcnow()
    run.hostname, run.heartbeat_at, run.started_at = this_host(), now, now
    return run


def heartbeat(session: Session, run_id: int) -> None:
    """The run's process is alive (how runs of other machines are judged)."""
    session.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(heartbeat_at=utcnow()))


def session_runs(session: Session, session_id: int) -> list[CrawlRun]:
    """Every run of a crawl session, oldest first."""
    return list(session.scalars(select(CrawlRun).where(CrawlRun.session_id == session_id)
                                .order_by(CrawlRun.id)))


def record_launch(session: Session, run_id: int, pid: int, extra_stats: dict[str, Any]) -> None:
    """The launched crawl's pid (and what its launcher wants to find again) on its row."""
    run = session.get(CrawlRun, run_id)
    if run is not None:
        run.pid = pid
        run.stats = {**(run.stats or {}), **extra_stats}


def run_counts(session: Session, run_id: int) -> dict[str, int]:
    """What a run stored, counted in the archive: pages fetched and articles archived."""
    return {
        "fetched": session.scalar(select(func.count()).select_from(Fetch)
                                  .where(Fetch.run_id == run_id, or_(
                                      Fetch.outcome.is_(None),
                                      Fetch.outcome.not_in(NOT_PAGES)))) or 0,
        "archived": session.scalar(select(func.count()).select_from(Article)
                                   .where(Article.first_run_id == run_id)) or 0,
    }


def finish_run(
    session: Session,
    run_id: int,
    *,
    outcome: str,
    exit_status: int | None,
    counts: dict[str, int],
    stats: dict[str, Any],
) -> None:
    run = session.get(CrawlRun, run_id)
    if run is None:
        return
    run.finished_at = utcnow()
    run.outcome = outcome
    run.exit_status = exit_status
    run.pages_fetched = counts.get("fetched", 0)
    run.articles_archived = counts.get("archived", 0)
    run.duplicates = counts.get("duplicates", 0)
    run.off_topic = counts.get("off_topic", 0)
    run.errors = counts.get("errors", 0)
    run.stats = stats


def close_unfinished_run(session: Session, run_id: int, returncode: int | None, *,
                         stopping: bool) -> str:
    """Record a crawl process's exit status; close its row if the process could not.

    A process killed before Scrapy's shutdown finished leaves its row
    ``running``: it was interrupted when we (or a signal) stopped it, and
    failed otherwise. The exit status is the process's; a negative one is the
    signal that ended it.
    """
    run = session.get(CrawlRun, run_id)
    if run is None:
        return RunOutcome.FAILED
    if run.outcome == RunOutcome.RUNNING:
        killed = returncode is None or returncode < 0
        run.outcome = RunOutcome.INTERRUPTED if stopping or killed else RunOutcome.FAILED
        run.finished_at = utcnow()
        run.stats = {**(run.stats or {}),
                     "close_reason": f"crawl process ended without closing its run "
                                     f"(exit status {returncode})"}
        log.warning("run %d: crawl process exited with status %s before closing its run; "
                    "marked %s", run_id, returncode, run.outcome)
    run.exit_status = returncode
    return run.outcome


# -- queries --------------------------------------------------------------------------


def running_runs(session: Session, *, trigger: str | None = None,
                 seeds_file: str | None = None, session_id: int | None = None
                 ) -> list[CrawlRun]:
    """Runs still marked ``running``, oldest first, of one trigger, seeds file or crawl
    session if named."""
    query = select(CrawlRun).where(CrawlRun.outcome == RunOutcome.RUNNING)
    if trigger is not None:
        query = query.where(CrawlRun.trigger == trigger)
    if seeds_file is not None:
        query = query.where(CrawlRun.seeds_file == seeds_file)
    if session_id is not None:
        query = query.where(CrawlRun.session_id == session_id)
    return list(session.scalars(query.order_by(CrawlRun.id)))


def latest_runs(session: Session, limit: int, *, outcomes: frozenset[str] | None = None,
                exclude_triggers: frozenset[str] = frozenset()) -> list[CrawlRun]:
    """The newest runs first, of the given outcomes, leaving out some triggers."""
    query = select(CrawlRun)
    if outcomes is not None:
        query = query.where(CrawlRun.outcome.in_(outcomes))
    if exclude_triggers:
        query = query.where(CrawlRun.trigger.not_in(exclude_triggers))
    return list(session.scalars(query.order_by(CrawlRun.id.desc()).limit(limit)))


# -- the dead-run policy -------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs (it may be someone else's); a zombie does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    except (OverflowError, ValueError):
        return False
    return not _zombie(pid)


def _zombie(pid: int, proc: Path = Path("/proc")) -> bool:
    try:
        return (proc / str(pid) / "stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _boot_time(proc: Path) -> float | None:
    try:
        for line in (proc / "stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def process_started_at(pid: int, proc: Path = Path("/proc")) -> datetime | None:
    """When the process started, naive UTC as the archive stores times; None if unknown."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
        # The command name may hold spaces and parentheses: fields follow the last ')'.
        ticks = int(stat.rpartition(")")[2].split()[19])
        per_second = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    boot = _boot_time(proc)
    if boot is None:
        return None
    return datetime.fromtimestamp(boot + ticks / per_second, UTC).replace(tzinfo=None)


def run_process_alive(pid: int | None, started_at: datetime, *,
                      now: datetime | None = None) -> bool:
    """Whether the run's crawl process still runs: the pid exists, and is not a later
    process that reused it (judged by its start time, else by the run's age)."""
    if pid is None or not pid_alive(pid):
        return False
    process_start = process_started_at(pid)
    if process_start is not None:
        return process_start <= started_at + START_TOLERANCE
    return (now or utcnow()) - started_at <= MAX_RUN_AGE


def run_is_dead(run: CrawlRun, *, now: datetime | None = None) -> bool:
    """The one policy: a ``running`` run whose crawl process is gone (see the module)."""
    now = now or utcnow()
    if run.hostname is not None and run.hostname != this_host():
        return (run.heartbeat_at or run.started_at) <= now - REMOTE_SILENCE
    if run.pid is None:
        return run.started_at <= now - LAUNCH_GRACE
    return not run_process_alive(run.pid, run.started_at, now=now)


def settle_dead_runs(session: Session, *, trigger: str | None = None,
                     seeds_file: str | None = None, session_id: int | None = None,
                     close_reason: str | None = None) -> list[int]:
    """Runs still marked running whose crawl is dead become interrupted; their ids.

    ``close_reason`` is recorded in the run's stats when given.
    """
    now = utcnow()
    dead = [run for run in running_runs(session, trigger=trigger, seeds_file=seeds_file,
                                        session_id=session_id)
            if run_is_dead(run, now=now)]
    for run in dead:
        run.outcome = RunOutcome.INTERRUPTED
        run.finished_at = run.finished_at or now
        if close_reason is not None:
            run.stats = {**(run.stats or {}), "close_reason": close_reason}
    return [run.id for run in dead]


# -- resuming -----------------------------------------------------------------------


def resumable_session(session: Session) -> int | None:
    """The session to continue: the latest run's session left work, and no live crawl
    is continuing it already (one of several workers may have ended ``ok`` on its
    page budget while the others were interrupted).

    A session whose runs keep failing (the same requests breaking every resume) is
    given up after ``FAILED_RUNS_LIMIT`` failed runs: its frontier is dropped and the
    next crawl starts again from the seeds, instead of resuming into the same failure.
    """
    _one_crawl_at_a_time(session)
    settle_dead_runs(session)
    latest = session.scalar(
        select(CrawlRun).where(CrawlRun.outcome != RunOutcome.RUNNING,
                               CrawlRun.trigger != Trigger.IMPORT)
        .order_by(CrawlRun.id.desc()).limit(1)
    )
    if latest is None:
        return None
    session_id = latest.session_id or latest.id
    busy = session.scalar(
        select(func.count()).select_from(CrawlRun)
        .where(CrawlRun.outcome == RunOutcome.RUNNING, CrawlRun.session_id == session_id)
    )
    if busy:
        return None
    failed = session.scalar(
        select(func.count()).select_from(CrawlRun)
        .where(CrawlRun.session_id == session_id, CrawlRun.outcome == RunOutcome.FAILED)
    ) or 0
    if failed >= FAILED_RUNS_LIMIT:
        log.warning("crawl session %d failed %d times: giving up its pending requests and "
                    "starting again from the seeds", session_id, failed)
        close_session(session, session_id)
        return None
    left = session.scalar(
        select(func.count()).select_from(FrontierEntry)
        .where(FrontierEntry.session_id == session_id, FrontierEntry.state == PENDING)
    )
    return session_id if left else None


def _one_crawl_at_a_time(session: Session) -> None:
    """Two crawls starting at once must not both continue the same session (both would
    find it left alone). On SQLite the writer's ``BEGIN IMMEDIATE`` already queues them;
    on PostgreSQL a lock held until the caller commits the run it starts does."""
    if dialect_name(session) == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RESUME_LOCK_KEY})
