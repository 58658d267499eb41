"""The crawl scheduler: APScheduler 3 with its jobs stored in the archive database.

A restart finds the same jobs (explicit ids, ``replace_existing``); each run
is a child process (crawler.scheduling.scheduled_crawl); ``max_instances=1`` keeps two
crawls of one job from overlapping and ``coalesce`` folds a backlog of missed
runs into one. After each run the scheduler judges source health and warns
when a source turns unhealthy.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from crawler.errors import UsageError
from crawler.scheduling.scheduled_crawl import (
    CHILD_GRACE_SECONDS,
    RUNNING,
    CrawlJob,
    SchedulerStopping,
    abandoned_crawls,
    absolute_db_url,
    settle_orphaned_runs,
    stop_abandoned_crawl,
)
from crawler.scheduling.schedules import Schedule
from storage.engine import make_engine, session_factory
from storage.health import HealthPolicy, assess_archive
from storage.migrate import upgrade

log = logging.getLogger(__name__)

JOB_FUNC = "crawler.scheduling.scheduled_crawl:run_scheduled_crawl"
JOB_TABLE = "apscheduler_jobs"
MISFIRE_GRACE_SECONDS = 15 * 60


@dataclass(frozen=True)
class JobInfo:
    id: str
    name: str
    next_run_time: datetime | None
    seeds_file: str | None

    @classmethod
    def of(cls, job: Job) -> JobInfo:
        return cls(job.id, job.name, getattr(job, "next_run_time", None),
                   job.kwargs.get("seeds_file"))


@dataclass(frozen=True)
class JobSetup:
    action: str  # created | resumed | updated
    job: JobInfo


class _StoppableScheduler(BackgroundScheduler):
    """BackgroundScheduler that leaves its jobs alone once shut down.

    APScheduler 3.11 wakes its loop once more after ``shutdown`` and would hand
    a due job to the executor it has just closed: an error in the log, and the
    stored job moved past a run it never made.
    """

    def _process_jobs(self) -> float | None:
        if self.state == STATE_STOPPED:
            return None
        return super()._process_jobs()  # type: ignore[no-any-return]


class CrawlScheduler:
    """APScheduler's BackgroundScheduler with the archive as its job store."""

    def __init__(self, db_url: str, *, misfire_grace_time: int = MISFIRE_GRACE_SECONDS,
                 health_policy: HealthPolicy | None = None, max_parallel_jobs: int = 4) -> None:
        self.db_url = absolute_db_url(db_url)
        self.misfire_grace_time = misfire_grace_time
        self.health_policy = health_policy or HealthPolicy()
        self.engine: Engine = make_engine(self.db_url)
        upgrade(self.engine)
        self._reader: Engine = make_engine(self.db_url, readonly=True)
        self._scheduler = _StoppableScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.engine, tablename=JOB_TABLE)},
            executors={"default": ThreadPoolExecutor(max_parallel_jobs)},
        )
        self._scheduler.add_listener(
            self._on_job_event,
            EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES,
        )
        self._unhealthy: dict[str, tuple[str, ...]] = {}
        self._health_lock = threading.Lock()

    def open(self) -> None:
        """Start paused, so jobs can be read and set before anything runs."""
        RUNNING.reset()
        self._scheduler.start(paused=True)

    def close(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        self._reader.dispose()
        self.engine.dispose()

    def settle_orphans(self, *, grace: float = CHILD_GRACE_SECONDS) -> list[int]:
        """Stop the crawls a dead scheduler left running, then mark its runs interrupted.

        The crawls are stopped outside any transaction: a stopping crawl writes its
        last batch and closes its own run.
        """
        with session_factory(self.engine).begin() as session:
            abandoned = abandoned_crawls(session)
        for run_id, pid, started_at in abandoned:
            stop_abandoned_crawl(run_id, pid, started_at, grace=grace)
        with session_factory(self.engine).begin() as session:
            return settle_orphaned_runs(session)

    def jobs(self) -> list[JobInfo]:
        return [JobInfo.of(job) for job in self._scheduler.get_jobs()]

    def remove(self, job_id: str) -> bool:
        if self._scheduler.get_job(job_id) is None:
            return False
        self._scheduler.remove_job(job_id)
        return True

    def schedule_crawl(self, job: CrawlJob, schedule: Schedule | None) -> JobSetup:
        """Create the job, resume it as stored, or replace it when the schedule changed."""
        existing = self._scheduler.get_job(job.job_id)
        name = f"crawl {job.seeds_file} ({schedule.describe()})" if schedule else None
        if existing is not None and (schedule is None or (
                existing.name == name and existing.kwargs == job.kwargs()
                and str(existing.trigger) == str(schedule.trigger()))):
            return JobSetup("resumed", JobInfo.of(existing))
        if schedule is None:
            raise UsageError(f"no job {job.job_id} in the database and no schedule given: "
                             "use --every or --cron, or a schedule table in the seeds file")
        added = self._scheduler.add_job(
            JOB_FUNC, schedule.trigger(), id=job.job_id, name=name, kwargs=job.kwargs(),
            replace_existing=True, max_instances=1, coalesce=True,
            misfire_grace_time=self.misfire_grace_time,
        )
        stored = self._scheduler.get_job(added.id) or added
        return JobSetup("updated" if existing is not None else "created", JobInfo.of(stored))

    def run(self) -> None:
        self._baseline_health()
        self._scheduler.resume()

    def stop(self) -> list[int]:
        """Stop every crawl in progress, then the scheduler; returns the crawl pids stopped."""
        self._scheduler.pause()
        stopped = RUNNING.stop_all()
        self._scheduler.shutdown(wait=True)
        return stopped

    # -- events ------------------------------------------------------------------------

    def _on_job_event(self, event: JobEvent) -> None:
        if event.code == EVENT_JOB_EXECUTED:
            assert isinstance(event, JobExecutionEvent)
            result = event.retval or {}
            if result.get("outcome") == "skipped":
                return
            log.info("job %s: run %s %s (exit status %s) in %ss", event.job_id,
                     result.get("run_id"), result.get("outcome"), result.get("exit_status"),
                     result.get("seconds"))
            self.check_health()
        elif event.code == EVENT_JOB_ERROR:
            assert isinstance(event, JobExecutionEvent)
            if isinstance(event.exception, SchedulerStopping):
                log.info("job %s: not started, the scheduler is stopping", event.job_id)
                return
            log.error("job %s failed: %r; the scheduler carries on", event.job_id,
                      event.exception)
        elif event.code == EVENT_JOB_MISSED:
            log.warning("job %s: the run due at %s was missed (more than %ds late)",
                        event.job_id, event.scheduled_run_time, self.misfire_grace_time)
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            assert isinstance(event, JobSubmissionEvent)
            log.info("job %s: the run due at %s is skipped, the previous crawl still runs",
                        event.job_id, event.scheduled_run_times[-1])

    def _baseline_health(self) -> None:
        with self._health_lock:
            self._unhealthy = self._unhealthy_now()
        for source, problems in sorted(self._unhealthy.items()):
            log.warning("source %r is unhealthy: %s", source, "; ".join(problems))

    def check_health(self) -> dict[str, tuple[str, ...]]:
        """Warn about sources that turned unhealthy since the last check; return the new ones."""
        with self._health_lock:
            now = self._unhealthy_now()
            turned = {s: p for s, p in now.items() if s not in self._unhealthy}
            recovered = sorted(set(self._unhealthy) - set(now))
            self._unhealthy = now
        for source, problems in sorted(turned.items()):
            log.warning("source %r turned unhealthy: %s", source, "; ".join(problems))
        for source in recovered:
            log.info("source %r is healthy again", source)
        return turned

    def _unhealthy_now(self) -> dict[str, tuple[str, ...]]:
        with Session(self._reader) as session:
            report = assess_archive(session, self.health_policy)
        return {h.source: tuple(p.message for p in h.problems) for h in report if not h.healthy}
