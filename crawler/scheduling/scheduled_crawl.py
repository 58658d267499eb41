"""One scheduled crawl: a child ``silkroad crawl`` process and its run row.

Scrapy's reactor cannot be restarted in one process, and a child can be
stopped gracefully (SIGTERM) or, as a last resort, killed without harming the
scheduler. The parent creates the run's ``crawl_runs`` row before the child
starts and passes its id down (``SILKROAD_RUN_ID``), so a child that dies
without closing its row is still accounted for. Jobs are stored by reference
(``crawler.scheduling.scheduled_crawl:run_scheduled_crawl``), which is why the running
children live in a module-level registry: it is the one thing a stored job
and the stopping scheduler can both reach.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

import crawler
from crawler.parent_watch import PARENT_PID_ENV
from crawler.vocabulary import Trigger
from storage.engine import make_engine, parse_db_url, session_factory, sqlite_file
from storage.models import CrawlRun
from storage.runs import (
    LAUNCH_GRACE,
    close_unfinished_run,
    pid_alive,
    record_launch,
    run_process_alive,
    running_runs,
    settle_dead_runs,
    start_run,
)

__all__ = ["pid_alive"]  # kept here for callers that know it from this module

log = logging.getLogger(__name__)

SCHEDULE_TRIGGER = Trigger.SCHEDULE
# A stop must end within 10 s: SIGTERM lets Scrapy close the spider and write
# its last batch; SIGINT next forces Scrapy's unclean shutdown; SIGKILL last.
CHILD_GRACE_SECONDS = 6.0
CHILD_FORCE_SECONDS = 1.5
CHILD_KILL_SECONDS = 1.0
# A run row without a pid younger than this is a child being launched (storage.runs).
LAUNCH_SECONDS = int(LAUNCH_GRACE.total_seconds())
SCHEDULER_PID = "scheduler_pid"
DB_URL_ENV = "SILKROAD_DB"


def absolute_db_url(url: str) -> str:
    """A stored job must find the archive again whatever the scheduler's working folder."""
    parsed = parse_db_url(url)
    path = sqlite_file(parsed)
    if path is not None:
        parsed = parsed.set(database=str(path.resolve()))
    return parsed.render_as_string(hide_password=False)


@dataclass(frozen=True)
class CrawlJob:
    """What a scheduled crawl runs: a seeds file into an archive, with Scrapy settings."""

    seeds_file: str
    db_url: str
    settings: tuple[str, ...] = ()

    @classmethod
    def create(cls, seeds_file: str, db_url: str, settings: Sequence[str] = ()) -> CrawlJob:
        return cls(str(Path(seeds_file).expanduser().resolve()), absolute_db_url(db_url),
                   tuple(settings))

    @property
    def job_id(self) -> str:
        return f"crawl:{self.seeds_file}"

    def kwargs(self) -> dict[str, Any]:
        return {"seeds_file": self.seeds_file, "db_url": self.db_url,
                "settings": list(self.settings)}

    def env(self) -> dict[str, str]:
        """The archive reaches the child through its environment, not its argv, which
        anyone on the machine can read (ps): a PostgreSQL URL may carry a password."""
        return {DB_URL_ENV: self.db_url}

    def argv(self, run_id: int) -> list[str]:
        argv = [sys.executable, "-m", "crawler", "crawl", "--seeds", self.seeds_file]
        for setting in self.settings:
            argv += ["-s", setting]
        return argv + ["-s", f"SILKROAD_TRIGGER={SCHEDULE_TRIGGER}",
                       "-s", f"SILKROAD_RUN_ID={run_id}"]


class SchedulerStopping(Exception):
    """A crawl was due while the scheduler was stopping: it is not started."""


class RunningCrawls:
    """The crawl children of this process, so that a stop request reaches them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._stopping = False
        self._hurry = threading.Event()

    def reset(self) -> None:
        with self._lock:
            self._stopping = False
            self._hurry.clear()

    @property
    def stopping(self) -> bool:
        return self._stopping

    def launch(self, run_id: int, argv: list[str], extra_env: dict[str, str] | None = None,
               *, stdout: int | None = None) -> subprocess.Popen[bytes]:
        env = {**os.environ, **(extra_env or {})}
        root = str(Path(crawler.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        env[PARENT_PID_ENV] = str(os.getpid())  # the child stops if this process dies
        with self._lock:
            if self._stopping:
                raise SchedulerStopping(f"run {run_id} not started: the scheduler is stopping")
            # A session of its own: a terminal's Ctrl-C reaches the scheduler only, which
            # then sends the child exactly one SIGTERM (two would force Scrapy's unclean exit).
            child = subprocess.Popen(argv, env=env, start_new_session=True, stdout=stdout)
            self._children[run_id] = child
        return child

    def forget(self, run_id: int) -> None:
        with self._lock:
            self._children.pop(run_id, None)

    def hurry(self) -> None:
        """A second stop request: skip the rest of the grace period."""
        self._hurry.set()

    def stop_all(self, grace: float = CHILD_GRACE_SECONDS) -> list[int]:
        """Stop every child: SIGTERM, then SIGINT, then SIGKILL. Returns the pids signalled."""
        with self._lock:
            self._stopping = True
            children = list(self._children.values())
        live = [child for child in children if child.poll() is None]
        for child in live:
            log.info("stopping crawl process %d (SIGTERM)", child.pid)
            _signal(child, signal.SIGTERM)
        live = self._wait(live, grace)
        for child in live:
            log.warning("crawl process %d still running after %.1fs: SIGINT", child.pid, grace)
            _signal(child, signal.SIGINT)
        live = self._wait(live, CHILD_FORCE_SECONDS)
        for child in live:
            log.warning("crawl process %d still running: SIGKILL", child.pid)
            _signal(child, signal.SIGKILL, group=True)
        self._wait(live, CHILD_KILL_SECONDS)
        return [child.pid for child in children]

    def _wait(self, children: list[subprocess.Popen[bytes]], seconds: float
              ) -> list[subprocess.Popen[bytes]]:
        deadline = time.monotonic() + seconds
        while children and time.monotonic() < deadline and not self._hurry.is_set():
            children = [child for child in children if child.poll() is None]
            time.sleep(0.05)
        return [child for child in children if child.poll() is None]


def _signal(child: subprocess.Popen[bytes], signum: int, *, group: bool = False) -> None:
    try:
        if group:
            os.killpg(child.pid, signum)
        else:
            child.send_signal(signum)
    except ProcessLookupError:
        pass


RUNNING = RunningCrawls()


def run_scheduled_crawl(seeds_file: str, db_url: str, settings: Sequence[str] = ()
                        ) -> dict[str, Any]:
    """The stored job: one crawl in a child process, its run row settled whatever happens."""
    job = CrawlJob(seeds_file, db_url, tuple(settings))
    if RUNNING.stopping:
        raise SchedulerStopping("the scheduler is stopping")
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    started = time.monotonic()
    try:
        with sessions.begin() as session:
            busy = crawl_in_progress(session, seeds_file)
            if busy is None:
                run_id = start_run(session, trigger=SCHEDULE_TRIGGER, seeds_file=seeds_file).id
        if busy is not None:
            log.warning("scheduled crawl of %s skipped: run %d (pid %s) is still crawling it",
                        seeds_file, busy.id, busy.pid)
            return {"run_id": None, "outcome": "skipped", "exit_status": None, "seconds": 0.0}
        log.info("scheduled crawl of %s: run %d starting", seeds_file, run_id)
        try:
            child = RUNNING.launch(run_id, job.argv(run_id), job.env())
        except BaseException:
            with sessions.begin() as session:
                settle_run(session, run_id, None, stopping=RUNNING.stopping)
            raise
        try:
            with sessions.begin() as session:
                # So that a later scheduler can tell when this one died and left the crawl.
                record_launch(session, run_id, child.pid, {SCHEDULER_PID: os.getpid()})
            returncode = child.wait()
            if returncode < 0:
                # Killed by a signal: its extraction workers may have outlived it.
                _signal(child, signal.SIGKILL, group=True)
        finally:
            RUNNING.forget(run_id)
        with sessions.begin() as session:
            outcome = settle_run(session, run_id, returncode, stopping=RUNNING.stopping)
    finally:
        engine.dispose()
    return {"run_id": run_id, "outcome": outcome, "exit_status": returncode,
            "seconds": round(time.monotonic() - started, 2)}


def settle_run(session: Session, run_id: int, returncode: int | None, *, stopping: bool) -> str:
    """Record the child's exit status; close the row if the child could not."""
    return close_unfinished_run(session, run_id, returncode, stopping=stopping)


def crawl_in_progress(session: Session, seeds_file: str) -> CrawlRun | None:
    """A scheduled crawl of this seeds file that is still running, in any process.

    ``max_instances`` only guards one scheduler process; this check, made in the
    same write transaction that creates the next run, also covers a crawl left
    running by a scheduler that was killed, or a second scheduler on the archive.
    """
    settle_orphaned_runs(session, seeds_file)
    running = running_runs(session, trigger=SCHEDULE_TRIGGER, seeds_file=seeds_file)
    return running[0] if running else None


def settle_orphaned_runs(session: Session, seeds_file: str | None = None) -> list[int]:
    """Scheduled runs left ``running`` whose crawl is gone (a scheduler was killed): interrupted."""
    orphans = settle_dead_runs(
        session, trigger=SCHEDULE_TRIGGER, seeds_file=seeds_file,
        close_reason="its crawl process is gone (the scheduler was stopped without closing "
                     "the run)")
    for run_id in orphans:
        log.warning("run %d was left running by a scheduler that stopped: marked interrupted",
                    run_id)
    return orphans


def abandoned_crawls(session: Session) -> list[tuple[int, int, datetime]]:
    """(run id, pid, started at) of scheduled crawls still running whose scheduler is gone."""
    found = []
    for run in running_runs(session, trigger=SCHEDULE_TRIGGER):
        scheduler = (run.stats or {}).get(SCHEDULER_PID)
        if (run.pid is None or not isinstance(scheduler, int) or scheduler == os.getpid()
                or run_process_alive(scheduler, run.started_at)
                or not run_process_alive(run.pid, run.started_at)):
            continue
        found.append((run.id, run.pid, run.started_at))
    return found


def stop_abandoned_crawl(run_id: int, pid: int, started_at: datetime, *,
                         grace: float = CHILD_GRACE_SECONDS) -> None:
    """Stop a crawl a dead scheduler left: SIGTERM (it closes its run), then SIGKILL to its
    process group (its workers too) if it has not ended after ``grace`` seconds."""
    log.warning("run %d: its scheduler is gone but crawl process %d still runs: stopping it",
                run_id, pid)
    for signum, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, CHILD_KILL_SECONDS)):
        try:
            if signum == signal.SIGKILL and os.getpgid(pid) == pid:
                os.killpg(pid, signum)
            else:
                os.kill(pid, signum)
        except (ProcessLookupError, PermissionError) as exc:
            log.warning("run %d: could not signal crawl process %d: %s", run_id, pid, exc)
            return
        deadline = time.monotonic() + wait
        while run_process_alive(pid, started_at):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        else:
            return
