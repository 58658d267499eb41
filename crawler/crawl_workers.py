"""``silkroad crawl --workers N``: one crawl session, N worker processes on this machine.

The launcher opens the session (or the interrupted one it resumes), writes the
seeds' start requests into its frontier and a ``crawl_runs`` row for each worker,
then starts each worker as a child ``silkroad worker`` that adopts its row
(``SILKROAD_RUN_ID``) and watches its parent. The workers share the session's
frontier through the archive (crawler/frontier_scheduler.py): no queue of our
own between the processes, and more workers can join from other machines with
``silkroad worker``. Children run in sessions of their own: a terminal's Ctrl-C
reaches the launcher only, which then stops each worker once, cleanly.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crawler.scheduling.scheduled_crawl import RunningCrawls, absolute_db_url, settle_run
from crawler.seeds import load_seeds
from crawler.spiders.seed_requests import seed_entries
from crawler.vocabulary import RunOutcome, Stat, Trigger
from storage.engine import make_engine, session_factory
from storage.frontier import PENDING, add_pending, close_session, state_counts
from storage.migrate import upgrade
from storage.models import Article, CrawlRun, Fetch
from storage.runs import resumable_session, run_counts, start_run

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5


@dataclass(frozen=True)
class SessionPlan:
    session_id: int
    run_ids: tuple[int, ...]
    resumed: bool


@dataclass(frozen=True)
class Progress:
    fetched: int
    archived: int
    pending: int
    workers: int


@dataclass(frozen=True)
class WorkersReport:
    session_id: int
    outcome: str
    outcomes: dict[int, str]
    stats: dict[str, Any]  # the workers' run stats, numbers summed

    def count(self, key: str) -> int:
        return int(self.stats.get(Stat.named(key), 0) or 0)

    @property
    def ok(self) -> bool:
        return self.outcome == RunOutcome.OK


def open_session(sessions: sessionmaker[Session], *, seeds_file: str, workers: int,
                 resume: bool, fetch_robots: bool, trigger: str = Trigger.MANUAL
                 ) -> SessionPlan:
    """The session (new, or the interrupted one), its seeds in the frontier (the
    frontier keeps one row per URL: a resumed session's done seeds stay done), and
    one run row per worker, all in one transaction."""
    sources = load_seeds(seeds_file).sources
    with sessions.begin() as session:
        resumed = resumable_session(session) if resume else None
        first = start_run(session, trigger=trigger, seeds_file=seeds_file, session_id=resumed)
        session_id = first.session_id or first.id
        runs = [first] + [start_run(session, trigger=trigger, seeds_file=seeds_file,
                                    session_id=session_id) for _ in range(workers - 1)]
        add_pending(session, session_id, seed_entries(sources, fetch_robots=fetch_robots))
        return SessionPlan(session_id, tuple(run.id for run in runs), resumed is not None)


def worker_argv(db_url: str, plan: SessionPlan, run_id: int, seeds_file: str,
                settings: dict[str, str], *, show_log: bool = False) -> list[str]:
    argv = [sys.executable, "-m", "crawler", "worker", "--db", absolute_db_url(db_url),
            "--session", str(plan.session_id), "--seeds", seeds_file,
            *(["--log"] if show_log else [])]
    for name, value in {**settings, "SILKROAD_RUN_ID": str(run_id)}.items():
        argv += ["-s", f"{name}={value}"]
    return argv


def progress(session: Session, plan: SessionPlan) -> Progress:
    ids = list(plan.run_ids)
    fetched = session.scalar(select(func.count()).select_from(Fetch)
                             .where(Fetch.run_id.in_(ids))) or 0
    archived = session.scalar(select(func.count()).select_from(Article)
                              .where(Article.first_run_id.in_(ids))) or 0
    running = session.scalar(select(func.count()).select_from(CrawlRun)
                             .where(CrawlRun.id.in_(ids),
                                    CrawlRun.outcome == RunOutcome.RUNNING)) or 0
    return Progress(fetched, archived, state_counts(session, plan.session_id)[PENDING], running)


def summarise(session: Session, plan: SessionPlan) -> WorkersReport:
    """One report for the session's runs of this launch: their stats summed, ok when
    each worker completed, or the session did although one was stopped or killed."""
    runs = [session.get(CrawlRun, run_id) for run_id in plan.run_ids]
    totals: dict[str, Any] = {}
    outcomes: dict[int, str] = {}
    for run in runs:
        if run is None:
            continue
        outcomes[run.id] = run.outcome
        stats = dict(run.stats or {})
        if Stat.PAGES_FETCHED not in stats:  # killed before it could count: the archive can
            stored = run_counts(session, run.id)
            stats[Stat.PAGES_FETCHED] = stored["fetched"]
            stats[Stat.ARTICLES_ARCHIVED] = stored["archived"]
        for key, value in stats.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                totals[key] = totals.get(key, 0) + value
    pending = state_counts(session, plan.session_id)[PENDING]
    values = set(outcomes.values())
    if values == {RunOutcome.OK} or (not pending and RunOutcome.FAILED not in values
                                     and RunOutcome.OK in values):
        outcome = RunOutcome.OK
    elif RunOutcome.FAILED in values:
        outcome = RunOutcome.FAILED
    else:
        outcome = RunOutcome.INTERRUPTED
    if outcome == RunOutcome.OK and not pending:
        close_session(session, plan.session_id)
    return WorkersReport(plan.session_id, outcome, outcomes, totals)


@contextmanager
def _stop_on_signals(on_stop: Callable[[], None]) -> Iterator[None]:
    """SIGINT/SIGTERM stop the workers once (a second one skips the grace period)."""
    previous = {}

    def handler(signum: int, _frame: Any) -> None:
        on_stop()

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def run_workers(db_url: str, *, seeds_file: str, workers: int, resume: bool,
                fetch_robots: bool, settings: dict[str, str], max_pages: int | None = None,
                show_log: bool = False,
                on_progress: Callable[[Progress], None] | None = None) -> WorkersReport:
    """Open the session, start the workers, wait for them, report on them.

    ``max_pages`` is one page budget for the workers together (each claims what is
    left of it in the frontier: crawler/frontier_scheduler.py), not one per worker.

    A worker's own summary is not shown (its stdout is dropped); its warnings and
    errors, or its whole log with ``show_log``, go to this process's stderr."""
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        sessions = session_factory(engine)
        plan = open_session(sessions, seeds_file=seeds_file, workers=workers, resume=resume,
                            fetch_robots=fetch_robots)
        if plan.resumed:
            log.warning("resuming the interrupted crawl session %d", plan.session_id)
        if max_pages is not None:
            settings = {**settings, "SILKROAD_PAGE_BUDGET": str(max_pages),
                        "SILKROAD_PAGE_BUDGET_RUNS": ",".join(map(str, plan.run_ids))}
        children = RunningCrawls()
        stops = [0]

        def stop() -> None:
            stops[0] += 1
            if stops[0] > 1:
                children.hurry()

        launched = []
        with _stop_on_signals(stop):
            for run_id in plan.run_ids:
                argv = worker_argv(db_url, plan, run_id, seeds_file, settings,
                                   show_log=show_log)
                child = children.launch(run_id, argv, stdout=subprocess.DEVNULL)
                launched.append((run_id, child))
                with sessions.begin() as session:
                    run = session.get(CrawlRun, run_id)
                    if run is not None:
                        run.pid = child.pid
            while any(child.poll() is None for _, child in launched):
                if stops[0]:
                    children.stop_all()
                    break
                if on_progress is not None:
                    with sessions() as session:
                        on_progress(progress(session, plan))
                time.sleep(POLL_SECONDS)
        with sessions.begin() as session:
            for run_id, child in launched:
                returncode = child.wait()
                if returncode < 0:  # killed: its extraction workers may have outlived it
                    _kill_group(child.pid)
                settle_run(session, run_id, returncode, stopping=bool(stops[0]))
        with sessions.begin() as session:
            return summarise(session, plan)
    finally:
        engine.dispose()


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
