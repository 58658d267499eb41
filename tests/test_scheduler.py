"""The crawl scheduler: schedules, the persistent job store, child crawls, signals, concurrency.

The slow tests run `silkroad schedule` as a user would, against a real loopback
web, with real child crawls; nothing is mocked.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from crawler.cli.main import cli
from crawler.demo.loopback_web import LoopbackWeb
from crawler.errors import UsageError
from crawler.scheduling import scheduled_crawl
from crawler.scheduling.scheduled_crawl import (
    CrawlJob,
    RunningCrawls,
    SchedulerStopping,
    absolute_db_url,
    crawl_in_progress,
    pid_alive,
    settle_orphaned_runs,
    settle_run,
)
from crawler.scheduling.scheduler import JOB_FUNC, CrawlScheduler
from crawler.scheduling.schedules import Schedule, parse_duration
from crawler.vocabulary import NOT_PAGES
from storage.archive import finish_run, start_run
from storage.engine import make_engine
from storage.models import Article, CrawlRun, FrontierEntry, Page, Sighting, Snapshot
from tests.support import FAST_CRAWL, FIXTURES, REPO, run_cli, write_seeds

SCHED_WEB = FIXTURES / "webs" / "sched"
ARTICLE_TITLES = {
    "Dostyk's new wagon-exchange yard doubles grain trains to China",
    "Khorgos trade centre turnover rises as Kazakh shoppers return",
    "Tunnel crews reach the halfway mark on the China–Kyrgyzstan–Uzbekistan railway",
    "Uzbek cherries and grapes find Chinese buyers under new plant-health rules",
}
# A crawl that takes several seconds, so a signal or a second crawl lands in its middle.
SLOW_CRAWL = (*FAST_CRAWL, "-s", "DOWNLOAD_DELAY=1", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1")
STOP_DEADLINE = 60.0


@pytest.fixture(scope="module")
def web() -> Iterator[LoopbackWeb]:
    with LoopbackWeb.from_directory(SCHED_WEB) as served:
        yield served


@pytest.fixture
def seeds(web: LoopbackWeb, tmp_path: Path) -> Path:
    return write_seeds(web, SCHED_WEB / "sources.toml", tmp_path / "sources.toml")


class SchedulerProcess:
    """`silkroad schedule ARGS` in a child process, its output in a file the test can watch."""

    def __init__(self, log: Path, *args: str | Path) -> None:
        self.log = log
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "crawler", "schedule", *map(str, args)],
                cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, needle: str, timeout: float = 60) -> None:
        wait_until(lambda: needle in self.output() or self.proc.poll() is not None, timeout,
                   f"{needle!r} in the scheduler's output")
        assert needle in self.output(), self.output()[-3000:]

    def terminate(self, timeout: float = STOP_DEADLINE) -> None:
        """SIGTERM, and wait for the process to exit: its children get several seconds'
        grace, so the bound is generous and only a hang fails."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running {timeout}s after SIGTERM:\n"
                                 f"{self.output()[-3000:]}") from None
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def scheduler_process(tmp_path: Path) -> Iterator[Callable[..., SchedulerProcess]]:
    started: list[SchedulerProcess] = []

    def start(*args: str | Path) -> SchedulerProcess:
        process = SchedulerProcess(tmp_path / f"schedule-{len(started)}.log", *args)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def wait_until(condition: Callable[[], Any], timeout: float, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def crawl_runs(db_url: str) -> list[CrawlRun]:
    engine = make_engine(db_url, readonly=True)
    with Session(engine) as session:
        rows = list(session.scalars(select(CrawlRun).order_by(CrawlRun.id)))
    engine.dispose()
    return rows


def scheduled_run_in_progress(db_url: str) -> CrawlRun | None:
    return next((r for r in crawl_runs(db_url)
                 if r.trigger == "schedule" and r.outcome == "running" and r.pid), None)


def claimed_requests(db_url: str) -> int:
    """Links (not seeds) a crawl has claimed and not stored: queued in its downloader."""
    engine = make_engine(db_url, readonly=True)
    with Session(engine) as session:
        count = session.scalar(select(func.count()).select_from(FrontierEntry).where(
            FrontierEntry.claimed_by.is_not(None), FrontierEntry.state == "pending",
            FrontierEntry.depth > 0)) or 0
    engine.dispose()
    return count


def span(run: CrawlRun) -> tuple[datetime, datetime]:
    assert run.finished_at is not None, f"run {run.id} never finished"
    return run.started_at, run.finished_at


def overlap(one: CrawlRun, other: CrawlRun) -> bool:
    (start1, end1), (start2, end2) = span(one), span(other)
    return start1 < end2 and start2 < end1


def assert_never_two_at_once(runs: list[CrawlRun]) -> None:
    spans = sorted(span(run) for run in runs)
    for (_, finished), (started, _) in zip(spans, spans[1:], strict=False):
        assert finished <= started, f"runs overlap: {spans}"


def assert_archive_consistent(db_url: str) -> None:
    """Nothing half-written: every reference resolves and every article was sighted."""
    engine = make_engine(db_url, readonly=True)
    with Session(engine) as session:
        if engine.dialect.name == "sqlite":  # PostgreSQL checks every foreign key as it goes
            assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert session.execute(text("PRAGMA foreign_key_check")).all() == []
        snapshot_ids = set(session.scalars(select(Snapshot.id)))
        pointers = set(session.scalars(select(Page.last_snapshot_id)))
        assert pointers - {None} <= snapshot_ids
        unsighted = session.scalars(
            select(Article.id).where(~Article.id.in_(select(Sighting.article_id)))).all()
        assert unsighted == []
    engine.dispose()


def article_titles(db_url: str) -> list[str]:
    engine = make_engine(db_url, readonly=True)
    with Session(engine) as session:
        titles = [t or "" for t in session.scalars(select(Article.title))]
        hashes = session.scalar(select(func.count(func.distinct(Article.content_hash))))
    engine.dispose()
    assert hashes == len(titles)
    return titles


# -- schedules ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text_", "seconds"), [
    ("90s", 90), ("30m", 1800), ("6h", 21600), ("1d", 86400), ("1h30m", 5400),
    (" 2H ", 7200), ("1.5h", 5400), ("1m 30s", 90),
])
def test_parse_duration(text_: str, seconds: int) -> None:
    assert parse_duration(text_) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text_", ["", "6", "h", "6x", "-5m", "0s", "0.5s", "6h-", "six hours"])
def test_parse_duration_rejects(text_: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text_)


@pytest.mark.parametrize(("kwargs", "trigger"), [
    ({"every": "20s"}, "interval[0:00:20]"),
    ({"every": "6h"}, "interval[6:00:00]"),
    ({"cron": "0 */6 * * *"}, "cron[month='*', day='*', day_of_week='*', hour='*/6', minute='0']"),
    ({"cron": " 30   4 * * 1-5 "}, "cron[month='*', day='*', "
                                  "day_of_week='mon,tue,wed,thu,fri', hour='4', minute='30']"),
])
def test_schedule_triggers(kwargs: dict[str, str], trigger: str) -> None:
    schedule = Schedule.parse(**kwargs)
    assert schedule is not None
    assert str(schedule.trigger()) == trigger


@pytest.mark.parametrize(("weekdays", "fires_on"), [
    ("1", {"Monday"}), ("0", {"Sunday"}), ("7", {"Sunday"}), ("sun", {"Sunday"}),
    ("1-5", {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}),
    ("5-7", {"Friday", "Saturday", "Sunday"}), ("6,0", {"Saturday", "Sunday"}),
    ("*/3", {"Sunday", "Wednesday", "Saturday"}), ("mon-wed", {"Monday", "Tuesday", "Wednesday"}),
])
def test_cron_weekdays_count_from_sunday_as_crontab_does(weekdays: str, fires_on: set[str]
                                                        ) -> None:
    """APScheduler 3 counts weekdays from Monday; a crontab line must mean what cron means."""
    schedule = Schedule.parse(cron=f"0 12 * * {weekdays}")
    assert schedule is not None
    trigger = schedule.trigger()
    when, days = datetime(2026, 1, 1, tzinfo=UTC), set()
    for _ in range(14):
        when = trigger.get_next_fire_time(None, when + timedelta(minutes=1))
        days.add(when.strftime("%A"))
    assert days == fires_on


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"cron": "0 12 * * 8"}, "not a cron expression"),
    ({"cron": "0 12 * * fri-mon"}, "not a cron expression"),
    ({"every": "6h", "cron": "0 * * * *"}, "not both"),
    ({"cron": "0 */6 * *"}, "not a cron expression"),
    ({"cron": "61 * * * *"}, "not a cron expression"),
    ({"every": "soon"}, "not a duration"),
])
def test_schedule_rejects(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Schedule.parse(**kwargs)


@pytest.mark.parametrize(("table", "expected"), [
    ({}, None),
    ({"every": "6h"}, Schedule("every", "6h")),
    ({"cron": "0 */6 * * *"}, Schedule("cron", "0 */6 * * *")),
])
def test_schedule_from_seeds_table(table: dict[str, Any], expected: Schedule | None) -> None:
    assert Schedule.from_table(table, "seeds.toml") == expected


@pytest.mark.parametrize(("table", "message"), [
    ({"every": "6h", "cron": "0 * * * *"}, "not both"),
    ({"evry": "6h"}, "unknown key"),
    ({"every": 6}, "must be a string"),
    ({"every": "6 hours"}, "not a duration"),
])
def test_schedule_table_errors_name_the_file(table: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        Schedule.from_table(table, "seeds.toml")
    assert "seeds.toml" in str(caught.value)


@pytest.mark.parametrize(("args", "message"), [
    (("--every", "6x"), "not a duration"),
    (("--every", "6h", "--cron", "0 * * * *"), "not both"),
    (("--cron", "every day"), "not a cron expression"),
    ((), "no schedule given"),  # neither flags, nor [schedule], nor a stored job
])
def test_schedule_command_rejects_bad_input_in_one_line(args: tuple[str, ...], message: str,
                                                        seeds: Path, db_url: str) -> None:
    result = CliRunner().invoke(cli, ["schedule", *args, "--seeds", str(seeds), "--db", db_url])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_schedule_comes_from_the_seeds_file(seeds: Path, db_url: str) -> None:
    seeds.write_text(seeds.read_text(encoding="utf-8") + '\n[schedule]\nevery = "soon"\n',
                     encoding="utf-8")
    result = CliRunner().invoke(cli, ["schedule", "--seeds", str(seeds), "--db", db_url])
    assert result.exit_code == 2
    assert f"{seeds}: schedule table: not a duration" in result.stderr


# -- jobs in the archive database ---------------------------------------------------------


def test_crawl_job_is_absolute_and_runs_as_a_scheduled_child(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    monkeypatch.chdir(tmp_path)
    job = CrawlJob.create("sources.toml", "archive.sqlite", ["DOWNLOAD_DELAY=2"])
    assert job.seeds_file == str(tmp_path / "sources.toml")
    assert job.db_url == f"sqlite:///{tmp_path / 'archive.sqlite'}"
    assert job.job_id == f"crawl:{tmp_path / 'sources.toml'}"
    argv = job.argv(7)
    assert argv[:4] == [sys.executable, "-m", "crawler", "crawl"]
    # The archive goes through the environment: argv is public and a URL may hold a password.
    assert "--db" not in argv and job.env() == {"SILKROAD_DB": job.db_url}
    # Ours come last, so a user's -s cannot relabel the run.
    assert argv[-6:] == ["-s", "DOWNLOAD_DELAY=2", "-s", "SILKROAD_TRIGGER=schedule",
                         "-s", "SILKROAD_RUN_ID=7"]


@pytest.mark.parametrize(("url", "database"), [
    ("archive.sqlite", "{tmp}/archive.sqlite"),
    ("sqlite:///archive.sqlite", "{tmp}/archive.sqlite"),
    ("sqlite:///{tmp}/other.sqlite", "{tmp}/other.sqlite"),
    ("sqlite:///{tmp}/odd: name%.sqlite", "{tmp}/odd: name%.sqlite"),
    ("sqlite:///:memory:", ":memory:"),
])
def test_absolute_db_url(url: str, database: str, tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    absolute = absolute_db_url(url.format(tmp=tmp_path))
    assert make_url(absolute).database == database.format(tmp=tmp_path)


def test_job_store_creates_resumes_and_updates_the_job(tmp_path: Path, db_url: str) -> None:
    seeds_file = tmp_path / "sources.toml"
    job = CrawlJob.create(str(seeds_file), db_url)

    def setup(schedule: Schedule | None, job: CrawlJob = job) -> tuple[str, Any]:
        service = CrawlScheduler(db_url)
        service.open()
        try:
            result = service.schedule_crawl(job, schedule)
            return result.action, result.job
        finally:
            service.close()

    action, created = setup(Schedule("every", "1h"))
    assert action == "created"
    assert created.id == f"crawl:{seeds_file}" and "every 1h" in created.name
    action, resumed = setup(Schedule("every", "1h"))
    assert action == "resumed" and resumed.next_run_time == created.next_run_time
    action, resumed = setup(None)
    assert action == "resumed" and resumed.next_run_time == created.next_run_time
    action, updated = setup(Schedule("cron", "0 */6 * * *"))
    assert action == "updated" and "cron" in updated.name
    action, updated = setup(Schedule("cron", "0 */6 * * *"),
                            CrawlJob.create(str(seeds_file), db_url, ["DOWNLOAD_DELAY=3"]))
    assert action == "updated"

    engine = make_engine(db_url, readonly=True)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars().all()
    engine.dispose()
    assert rows == [f"crawl:{seeds_file}"]

    service = CrawlScheduler(db_url)
    service.open()
    try:
        stored = service._scheduler.get_job(job.job_id)
        assert stored.func_ref == JOB_FUNC
        assert (stored.max_instances, stored.coalesce) == (1, True)
        assert stored.misfire_grace_time > 0
        assert stored.kwargs["settings"] == ["DOWNLOAD_DELAY=3"]
        assert service.remove(job.job_id) and not service.remove(job.job_id)
        assert service.jobs() == []
    finally:
        service.close()


def test_list_and_remove_stored_jobs(seeds: Path, db_url: str) -> None:
    service = CrawlScheduler(db_url)
    service.open()
    service.schedule_crawl(CrawlJob.create(str(seeds), db_url), Schedule("every", "1h"))
    service.close()
    job_id = f"crawl:{seeds.resolve()}"

    def schedule(*args: str) -> Any:
        return CliRunner().invoke(cli, ["schedule", *args, "--db", db_url],
                                  env={"COLUMNS": "300"})

    listed = schedule("--list")
    assert listed.exit_code == 0 and f"{job_id}: every 1h, next run at" in listed.stdout
    removed = schedule("--remove", job_id)
    assert removed.exit_code == 0 and f"Removed job {job_id}." in removed.stdout
    assert schedule("--remove", job_id).exit_code == 1
    assert "No scheduled jobs in the database." in schedule("--list").stdout


def test_resume_without_a_stored_job_needs_a_schedule(tmp_path: Path, db_url: str) -> None:
    service = CrawlScheduler(db_url)
    service.open()
    try:
        with pytest.raises(UsageError, match="no schedule given"):
            service.schedule_crawl(CrawlJob.create(str(tmp_path / "s.toml"), db_url), None)
    finally:
        service.close()


def test_the_scheduler_warns_once_when_a_source_turns_unhealthy(
        engine: Any, db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    def crawled(*sources: str) -> None:
        with Session(engine) as session, session.begin():
            run = start_run(session, trigger="schedule", seeds_file="/s.toml")
            finish_run(session, run.id, outcome="ok", exit_status=0, counts={}, stats={
                f"silkroad/source/{name}/{key}": 3 for name in sources
                for key in ("fetched", "archived")})

    crawled("Steppe", "Caravan")
    service = CrawlScheduler(db_url)
    service.open()
    try:
        service.run()
        assert service.check_health() == {}
        crawled("Steppe")
        crawled("Steppe")
        with caplog.at_level("WARNING", logger="crawler.scheduling.scheduler"):
            turned = service.check_health()
            assert service.check_health() == {}  # said once, not after every run
        assert list(turned) == ["Caravan"]
        assert [r.getMessage() for r in caplog.records] == [
            "source 'Caravan' turned unhealthy: no page fetched in the last 2 runs "
            "(it used to fetch 3)"]
    finally:
        service.stop()
        service.close()


# -- run rows a child could not close -----------------------------------------------------


@pytest.mark.parametrize(("child_outcome", "returncode", "stopping", "outcome"), [
    ("running", -signal.SIGKILL, False, "interrupted"),  # killed: OOM killer, kill -9
    ("running", -signal.SIGTERM, True, "interrupted"),  # stopped before Scrapy's handlers
    ("running", 2, False, "failed"),  # a bad seeds file: the crawl never began
    ("running", 1, True, "interrupted"),
    ("running", None, False, "interrupted"),  # never launched
    ("ok", 0, False, "ok"),  # the child closed its own row: left as it is
    ("interrupted", 1, True, "interrupted"),
    ("failed", 1, False, "failed"),
])
def test_settle_run(session: Session, child_outcome: str, returncode: int | None,
                    stopping: bool, outcome: str) -> None:
    with session.begin():
        run = start_run(session, trigger="schedule")
        if child_outcome != "running":
            finish_run(session, run.id, outcome=child_outcome, exit_status=0, counts={"fetched": 3},
                       stats={"close_reason": "finished"})
    with session.begin():
        assert settle_run(session, run.id, returncode, stopping=stopping) == outcome
    session.expire_all()
    stored = session.get(CrawlRun, run.id)
    assert stored is not None
    assert (stored.outcome, stored.exit_status) == (outcome, returncode)
    assert stored.finished_at is not None
    if child_outcome == "running":
        assert "without closing its run" in stored.stats["close_reason"]
    else:
        assert stored.pages_fetched == 3 and stored.stats["close_reason"] == "finished"


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    assert not pid_alive(int(done.stdout))
    return int(done.stdout)


def test_settle_orphaned_runs_only_touches_scheduled_runs_whose_crawl_is_gone(
        session: Session) -> None:
    with session.begin():
        orphan = start_run(session, trigger="schedule", seeds_file="/a.toml", pid=dead_pid())
        never_launched = start_run(session, trigger="schedule", seeds_file="/a.toml")
        never_launched.started_at -= timedelta(minutes=5)
        launching = start_run(session, trigger="schedule", seeds_file="/a.toml")
        alive = start_run(session, trigger="schedule", seeds_file="/a.toml", pid=os.getpid())
        manual = start_run(session, trigger="manual", pid=dead_pid())
        elsewhere = start_run(session, trigger="schedule", seeds_file="/b.toml", pid=dead_pid())
    with session.begin():
        assert settle_orphaned_runs(session, "/a.toml") == [orphan.id, never_launched.id]
    with session.begin():
        assert settle_orphaned_runs(session) == [elsewhere.id]
    session.expire_all()
    outcomes = {run.id: run.outcome for run in session.scalars(select(CrawlRun))}
    assert outcomes == {orphan.id: "interrupted", never_launched.id: "interrupted",
                        launching.id: "running", alive.id: "running", manual.id: "running",
                        elsewhere.id: "interrupted"}


@pytest.mark.parametrize(("pid", "age_minutes", "busy"), [
    ("alive", 0, True), ("dead", 0, False), (None, 0, True), (None, 5, False),
])
def test_a_crawl_in_progress_in_any_process_blocks_the_next(
        session: Session, pid: str | None, age_minutes: int, busy: bool) -> None:
    """Across scheduler processes (one killed, or two on one archive) runs never overlap."""
    with session.begin():
        pids = {"alive": os.getpid(), "dead": dead_pid(), None: None}
        run = start_run(session, trigger="schedule", seeds_file="/a.toml", pid=pids[pid])
        run.started_at -= timedelta(minutes=age_minutes)
        start_run(session, trigger="manual", seeds_file="/a.toml", pid=os.getpid())
    with session.begin():
        found = crawl_in_progress(session, "/a.toml")
        assert (found is not None and found.id == run.id) is busy
        assert crawl_in_progress(session, "/other.toml") is None
    session.expire_all()
    stored = session.get(CrawlRun, run.id)
    assert stored is not None
    assert stored.outcome == ("running" if busy else "interrupted")


# -- stopping children --------------------------------------------------------------------

OBEDIENT = "import time\nprint('up', flush=True)\ntime.sleep(60)"
STUBBORN = ("import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "signal.signal(signal.SIGINT, signal.SIG_IGN)\nprint('up', flush=True)\n"
            "time.sleep(60)")
INTERRUPTIBLE = ("import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                 "print('up', flush=True)\ntime.sleep(60)")


@pytest.mark.parametrize(("script", "returncode", "signals", "force_seconds"), [
    (OBEDIENT, -signal.SIGTERM, [signal.SIGTERM], 60.0),
    # SIGINT after the grace period; however slowly the child then exits, no SIGKILL.
    (INTERRUPTIBLE, -signal.SIGINT, [signal.SIGTERM, signal.SIGINT], 60.0),
    (STUBBORN, -signal.SIGKILL, [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], 0.5),
])
def test_stop_all_escalates_from_sigterm_to_sigkill(
        script: str, returncode: int, signals: list[int], force_seconds: float,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The order of the signals is the contract; how fast a child dies is the machine's."""
    monkeypatch.setattr(scheduled_crawl, "CHILD_FORCE_SECONDS", force_seconds)
    sent: list[int] = []
    send = scheduled_crawl._signal

    def recorded(child: subprocess.Popen[bytes], signum: int, *, group: bool = False) -> None:
        sent.append(signum)
        send(child, signum, group=group)

    monkeypatch.setattr(scheduled_crawl, "_signal", recorded)
    ready = tmp_path / "ready"
    running = RunningCrawls()
    child = running.launch(1, [sys.executable, "-c",
                               script.replace("print('up', flush=True)",
                                              f"open({str(ready)!r}, 'w').close()")])
    wait_until(ready.exists, 60, "the child to install its handlers")
    began = time.monotonic()
    assert running.stop_all(grace=0.5) == [child.pid]
    took = time.monotonic() - began
    assert child.wait(60) == returncode
    assert sent == signals
    if signal.SIGKILL not in signals:  # stop_all returned once the child was gone
        assert took < force_seconds / 2
    with pytest.raises(SchedulerStopping):
        running.launch(2, [sys.executable, "-c", "pass"])


# -- real schedules, real crawls ----------------------------------------------------------


@pytest.mark.slow
def test_schedule_every_20s_acceptance(seeds: Path, db_url: str, scheduler_process: Any) -> None:
    """Two or more runs, never overlapping, a manual crawl alongside, SIGTERM, restart."""
    # Full speed: on a loaded machine a crawl of even this small web may take 15 s. The
    # manual crawl starts with the scheduled one, so their crawling overlaps all the same.
    args = ("--every", "20s", "--seeds", seeds, "--db", db_url, *FAST_CRAWL)
    scheduler = scheduler_process(*args)
    scheduler.wait_for("Scheduler running")
    assert f"Created job crawl:{seeds.resolve()}: every 20s, next run at" in scheduler.output()

    wait_until(lambda: scheduled_run_in_progress(db_url), 45, "the first scheduled crawl")
    manual = run_cli("crawl", "--seeds", str(seeds), "--db", db_url, *FAST_CRAWL, timeout=120)
    assert manual.returncode == 0, manual.stderr[-3000:]
    assert "locked" not in manual.stdout + manual.stderr

    def completed() -> int:
        return sum(r.trigger == "schedule" and r.outcome == "ok" for r in crawl_runs(db_url))

    # Generous: on a loaded machine one crawl may outlast the interval.
    wait_until(lambda: completed() >= 2, 180, "a second completed scheduled run")
    scheduler.terminate()
    assert scheduler.proc.returncode == 0, scheduler.output()[-3000:]
    output = scheduler.output()
    assert "Traceback" not in output and "locked" not in output, output[-3000:]

    runs = crawl_runs(db_url)
    scheduled = [run for run in runs if run.trigger == "schedule"]
    assert len([run for run in scheduled if run.outcome == "ok"]) >= 2
    assert {run.outcome for run in scheduled} <= {"ok", "interrupted"}
    assert_never_two_at_once(scheduled)
    [by_hand] = [run for run in runs if run.trigger == "manual"]
    assert by_hand.outcome == "ok" and by_hand.exit_status == 0
    assert any(overlap(run, by_hand) for run in scheduled if run.outcome == "ok"), \
        "the manual crawl ran alone"
    assert sorted(article_titles(db_url)) == sorted(ARTICLE_TITLES)
    assert_archive_consistent(db_url)

    again = scheduler_process(*args)
    again.wait_for("Scheduler running")
    assert f"Resuming job crawl:{seeds.resolve()} from the database: every 20s, next run at" \
        in again.output()
    again.terminate()
    assert again.proc.returncode == 0

    listed = run_cli("runs", "--format", "json", "--limit", "100", "--db", db_url)
    assert listed.returncode == 0, listed.stderr
    records = json.loads(listed.stdout)
    assert [r["id"] for r in records] == [run.id for run in reversed(crawl_runs(db_url))]
    for record in records:
        assert record["trigger"] in ("schedule", "manual")
        assert record["outcome"] in ("ok", "interrupted")
        assert set(record["counts"]) == {"fetched", "archived", "duplicates", "off_topic",
                                         "errors"}
    first_ok = min((r for r in records if r["outcome"] == "ok"), key=lambda r: r["id"])
    assert first_ok["counts"]["fetched"] == 9
    assert first_ok["sources"]["Dostyk Dispatch"]["fetched"] == 4
    assert sum(r["counts"]["archived"] for r in records) == len(ARTICLE_TITLES)


@pytest.mark.slow
@pytest.mark.parametrize(("settings", "close_reason"), [
    # Scrapy's graceful shutdown finishes the downloads already queued: one here.
    (("-s", "CONCURRENT_REQUESTS=1", "-s", "DOWNLOAD_DELAY=1.5"), "shutdown"),
    # Requests queued behind a 10 s delay, with Scrapy's own drain (the prompt close
    # off), cannot finish in time: SIGINT forces Scrapy out, and the child still
    # records its run as it goes (crawler/extensions/run_record.py).
    (("-s", "DOWNLOAD_DELAY=10", "-s", "SILKROAD_PROMPT_CLOSE=False"), "forced shutdown"),
], ids=["graceful", "forced"])
def test_sigterm_stops_the_crawl_in_progress(settings: tuple[str, ...], close_reason: str,
                                             web: LoopbackWeb, seeds: Path, db_url: str,
                                             scheduler_process: Any) -> None:
    scheduler = scheduler_process("--every", "2s", "--seeds", seeds, "--db", db_url,
                                  *SLOW_CRAWL, *settings)
    scheduler.wait_for("Scheduler running")
    requests_before = len(web.requests)
    run = wait_until(lambda: scheduled_run_in_progress(db_url), 30, "a scheduled crawl")
    wait_until(lambda: len(web.requests) >= requests_before + 3, 30, "the crawl to fetch pages")
    wait_until(lambda: claimed_requests(db_url) >= 1, 30, "links handed to the downloader")

    scheduler.terminate()
    assert scheduler.proc.returncode == 0, scheduler.output()[-3000:]
    [stopped] = crawl_runs(db_url)
    assert stopped.id == run.id
    assert stopped.outcome == "interrupted"
    # Scrapy exits 1 after a shutdown; a forced one may need SIGKILL on a busy machine.
    assert stopped.exit_status in (1, -signal.SIGKILL)
    assert stopped.stats["close_reason"].startswith(close_reason)
    assert stopped.finished_at is not None
    assert not pid_alive(run.pid)
    assert_archive_consistent(db_url)
    output = scheduler.output()
    assert f"run {run.id} starting" in output and "Scheduler stopped in" in output
    assert "Traceback" not in output


@pytest.mark.slow
def test_killed_and_failing_crawls_are_recorded_and_the_schedule_goes_on(
        seeds: Path, db_url: str, scheduler_process: Any) -> None:
    scheduler = scheduler_process("--every", "2s", "--seeds", seeds, "--db", db_url,
                                  *SLOW_CRAWL)
    scheduler.wait_for("Scheduler running")
    good_seeds = seeds.read_text(encoding="utf-8")

    victim = wait_until(lambda: scheduled_run_in_progress(db_url), 30, "a scheduled crawl")
    time.sleep(1.5)
    seeds.write_text("[[sources]]\nname = \n", encoding="utf-8")  # the next crawl fails
    os.killpg(victim.pid, signal.SIGKILL)  # the OOM killer takes the crawl and its workers

    def settled(outcome: str) -> CrawlRun | None:
        return next((r for r in crawl_runs(db_url) if r.outcome == outcome), None)

    killed = wait_until(lambda: settled("interrupted"), 20, "the killed run to be settled")
    assert (killed.id, killed.exit_status) == (victim.id, -signal.SIGKILL)
    assert "without closing its run" in killed.stats["close_reason"]
    failed = wait_until(lambda: settled("failed"), 30, "a failed run")
    assert failed.exit_status == 2 and failed.id > killed.id
    seeds.write_text(good_seeds, encoding="utf-8")
    recovered = wait_until(lambda: settled("ok"), 60, "a successful run after the failure")
    assert recovered.id > failed.id

    scheduler.terminate()
    assert scheduler.proc.returncode == 0, scheduler.output()[-3000:]
    runs = crawl_runs(db_url)
    assert "running" not in {run.outcome for run in runs}
    assert_never_two_at_once(runs)
    assert "Traceback" not in scheduler.output()


@pytest.mark.slow
def test_two_crawls_into_one_fresh_archive_at_once(seeds: Path, db_url: str) -> None:
    """Two writers on one SQLite file: no "database is locked", no write lost, nothing twice."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-m", "crawler", "crawl", "--seeds", str(seeds), "--db", db_url,
            *FAST_CRAWL]
    crawls = [subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [crawl.communicate(timeout=180) for crawl in crawls]
    for crawl, (out, err) in zip(crawls, outputs, strict=True):
        assert crawl.returncode == 0, err[-3000:]
        assert "locked" not in out + err
    first, second = crawl_runs(db_url)
    assert (first.outcome, second.outcome) == ("ok", "ok")
    assert overlap(first, second)
    assert sorted(article_titles(db_url)) == sorted(ARTICLE_TITLES)
    assert first.articles_archived + second.articles_archived == len(ARTICLE_TITLES)
    engine = make_engine(db_url, readonly=True)
    with Session(engine) as session:
        # Content pages; robots.txt responses are stored as pages of their own outcome.
        assert session.scalar(select(func.count()).select_from(Page)
                              .where(Page.last_outcome.not_in(list(NOT_PAGES)))) == 9
    engine.dispose()
    assert_archive_consistent(db_url)


# -- one scheduler per archive -------------------------------------------------------------


def started_runs(scheduler: SchedulerProcess) -> set[int]:
    """The runs a scheduler fired, as its log says ("run N starting")."""
    return {int(found) for found in re.findall(r"run (\d+) starting", scheduler.output())}


@pytest.mark.slow
def test_one_scheduler_per_archive_and_a_standby_takes_over_from_a_killed_one(
        seeds: Path, db_url: str, scheduler_process: Any) -> None:
    """A second scheduler refuses, a third waits on standby; every firing is one crawl, of
    the active scheduler; kill -9 of it and the standby takes over and fires the job."""
    args = ("--every", "3s", "--seeds", seeds, "--db", db_url, *FAST_CRAWL)
    first = scheduler_process(*args)
    first.wait_for("Scheduler running")
    refused = run_cli("schedule", *map(str, args), timeout=60)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"another scheduler runs on this archive (silkroad schedule pid {first.proc.pid} " \
        in refused.stderr and refused.stderr.count("\n") == 1, refused.stderr
    standby = scheduler_process(*args, "--standby")
    standby.wait_for(f"Standby: another scheduler runs on this archive (silkroad schedule "
                     f"pid {first.proc.pid} ")

    def finished() -> list[CrawlRun]:
        return [run for run in crawl_runs(db_url) if run.finished_at is not None]

    wait_until(lambda: len(finished()) >= 2, 120, "two scheduled crawls")
    assert {run.id for run in crawl_runs(db_url)} <= started_runs(first)
    assert started_runs(standby) == set() and "Taking over" not in standby.output()
    assert_never_two_at_once(finished())

    first.kill()  # kill -9: its crawl child stops itself, the standby settles the rest
    standby.wait_for("Taking over: the other scheduler stopped.", 30)
    standby.wait_for("Scheduler running", 60)
    wait_until(lambda: any(run.finished_at for run in crawl_runs(db_url)
                           if run.id in started_runs(standby)),
               120, "a crawl fired by the scheduler that took over")
    standby.terminate()
    assert standby.proc.returncode == 0, standby.output()[-3000:]
    runs = crawl_runs(db_url)
    assert "running" not in {run.outcome for run in runs}
    assert started_runs(first).isdisjoint(started_runs(standby))
    assert {run.id for run in runs} == started_runs(first) | started_runs(standby)
    assert_never_two_at_once(runs)
    # Not "no Traceback": a crawl stopped mid-shutdown may log one of Twisted's own
    # (seen once in 11 runs, in the crawl child); the scheduler's part is the exit status.
