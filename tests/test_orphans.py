"""Processes that die with their parent: kill -9 of a crawl or of the scheduler leaves
nothing running (extraction workers, multiprocessing's resource tracker, crawl children).

The process trees are real: a crawl of a loopback web, the scheduler as a user runs it.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from crawler.cli.main import cli
from crawler.demo.loopback_web import LoopbackWeb
from crawler.offline import reprocess as reprocess_module
from crawler.scheduling.scheduled_crawl import (
    SCHEDULER_PID,
    crawl_in_progress,
    settle_orphaned_runs,
)
from crawler.scheduling.scheduler import CrawlScheduler
from crawler.timeutil import utcnow
from storage import runs
from storage.archive import FetchRecord, record_fetch, start_run
from storage.engine import make_engine, session_factory
from storage.models import CrawlRun, Page
from storage.runs import pid_alive, process_started_at, run_process_alive
from tests.support import FAST_CRAWL, FIXTURES, REPO, run_cli, write_seeds

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

SCHED_WEB = FIXTURES / "webs" / "sched"
# Slow enough that the kill lands while the crawl and its two workers run.
LONG_CRAWL = (*FAST_CRAWL, "-s", "DOWNLOAD_DELAY=3", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1",
              "-s", "SILKROAD_EXTRACT_PROCESSES=2")
# Generous: a scheduler's crawl gets several seconds' grace; only a survivor fails.
ORPHAN_DEADLINE = 60.0
# A crawl's own processes (extraction workers, resource tracker) die with it: the issue's
# bound, against a worker that once outlived its killed crawl by 22 minutes.
CRAWL_ORPHAN_DEADLINE = 10.0


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def process_tree(root: int) -> dict[int, str]:
    """The descendants of ``root``, each with its start time (to tell a reused pid)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found: dict[int, str] = {}
    todo = [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            if (fields := _stat(child)) is not None:
                found[child] = fields[19]
                todo.append(child)
    return found


def survivors(tree: dict[int, str]) -> list[str]:
    """Processes of ``tree`` still running (zombies are dead), with their command lines."""
    alive = []
    for pid, started in tree.items():
        fields = _stat(pid)
        if fields is not None and fields[19] == started and fields[0] != "Z":
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            alive.append(f"{pid}: {cmdline.decode(errors='replace')[:160]}")
    return alive


def wait_for(condition, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def seconds_until_gone(tree: dict[int, str], timeout: float = ORPHAN_DEADLINE) -> float:
    began = time.monotonic()
    deadline = began + timeout
    while survivors(tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = survivors(tree)
    assert not left, f"still running {timeout}s after the kill: {left}"
    return time.monotonic() - began


def _kill_tree(tree: dict[int, str]) -> None:
    for line in survivors(tree):
        try:
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def web() -> Iterator[LoopbackWeb]:
    with LoopbackWeb.from_directory(SCHED_WEB) as served:
        yield served


@pytest.fixture
def seeds(web: LoopbackWeb, tmp_path: Path) -> Path:
    return write_seeds(web, SCHED_WEB / "sources.toml", tmp_path / "sources.toml")


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "crawler", *args], cwd=REPO,
                                stdout=out, stderr=subprocess.STDOUT, env=env)


def _workers_up(root: int, at_least: int) -> dict[int, str] | None:
    """The tree once the crawl's workers and the resource tracker are running."""
    tree = process_tree(root)
    return tree if len(tree) >= at_least else None


@pytest.mark.slow
def test_kill_9_of_a_crawl_leaves_no_process_of_it(seeds: Path, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    log = tmp_path / "crawl.log"
    crawl = _start(["crawl", "--seeds", str(seeds), "--db", db_url, *LONG_CRAWL], log)
    tree: dict[int, str] = {}
    try:
        # Two extraction workers and multiprocessing's resource tracker.
        tree = wait_for(lambda: crawl.poll() is None and _workers_up(crawl.pid, 3), 120,
                        "the crawl's workers")
        assert crawl.poll() is None, log.read_text(errors="replace")[-3000:]
        tree = process_tree(crawl.pid)
        crawl.kill()
        crawl.wait(10)
        took = seconds_until_gone(tree, CRAWL_ORPHAN_DEADLINE)
        print(f"crawl's {len(tree)} descendants gone {took:.2f}s after kill -9")
    finally:
        if crawl.poll() is None:
            crawl.kill()
        _kill_tree(tree)


POOL_OWNER = """\
import sys, threading, time
from crawler.pipelines.extraction_pool import ExtractionPool
pool = ExtractionPool(2)
if sys.argv[1] == "thread":  # no death signal: the thread that spawned them ends first
    starter = threading.Thread(target=pool.start)
    starter.start()
    starter.join()
else:
    pool.start()
print("ready", flush=True)
time.sleep(300)
"""


@pytest.mark.slow
@pytest.mark.parametrize("started_from", ["main", "thread"])
def test_idle_workers_die_with_a_killed_owner(started_from: str, tmp_path: Path) -> None:
    """Workers blocked on their task pipe, as after a crawl's last page: the kernel's death
    signal ends them when the main thread spawned them, their watch thread otherwise."""
    script = tmp_path / "owner.py"
    script.write_text(POOL_OWNER, encoding="utf-8")
    owner = subprocess.Popen([sys.executable, str(script), started_from], cwd=REPO,
                             stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
    tree: dict[int, str] = {}
    try:
        assert owner.stdout is not None and owner.stdout.readline() == b"ready\n"
        tree = process_tree(owner.pid)
        assert len(tree) == 3  # two workers and the resource tracker
        owner.kill()
        owner.wait(10)
        took = seconds_until_gone(tree, CRAWL_ORPHAN_DEADLINE)
        print(f"workers started from the {started_from} thread gone {took:.2f}s after kill -9")
    finally:
        if owner.poll() is None:
            owner.kill()
        _kill_tree(tree)


def _outcomes(db_url: str) -> list[str]:
    engine = make_engine(db_url, readonly=True)
    with Session(engine) as session:
        outcomes = [run.outcome for run in session.scalars(select(CrawlRun))]
    engine.dispose()
    return outcomes


def _page_stored(db_url: str) -> bool:
    engine = make_engine(db_url, readonly=True)
    try:
        with Session(engine) as session:
            return session.scalar(select(Page.id).limit(1)) is not None
    except OperationalError:
        return False  # not created yet
    finally:
        engine.dispose()


@pytest.mark.slow
def test_kill_9_of_the_scheduler_leaves_no_process_of_it(seeds: Path, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    log = tmp_path / "schedule.log"
    # One download at a time, so that a stop drains in time and the crawl closes its run.
    scheduler = _start(["schedule", "--every", "2s", "--seeds", str(seeds), "--db", db_url,
                        *LONG_CRAWL, "-s", "CONCURRENT_REQUESTS=1"],
                       log)
    tree: dict[int, str] = {}
    try:
        # The crawl child, its two workers and its resource tracker.
        tree = wait_for(lambda: scheduler.poll() is None and _workers_up(scheduler.pid, 4), 120,
                        "the scheduled crawl and its workers")
        wait_for(lambda: _page_stored(db_url), 120, "the crawl to store a page")
        assert scheduler.poll() is None, log.read_text(errors="replace")[-3000:]
        tree = process_tree(scheduler.pid)
        scheduler.kill()
        scheduler.wait(10)
        took = seconds_until_gone(tree)
        print(f"scheduler's {len(tree)} descendants gone {took:.2f}s after kill -9")
        # Stopped as by the scheduler, the crawl closed its own run, or else the next
        # scheduler does.
        closed_by_crawl = _outcomes(db_url) == ["interrupted"]
        service = CrawlScheduler(db_url)
        try:
            service.settle_orphans()
        finally:
            service.close()
        print(f"the crawl closed its own run: {closed_by_crawl}")
        outcomes = _outcomes(db_url)
        assert outcomes == ["interrupted"], (outcomes, log.read_text(errors="replace")[-3000:])
    finally:
        if scheduler.poll() is None:
            scheduler.kill()
        _kill_tree(tree)


# -- which runs are still running -----------------------------------------------------------


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    assert not pid_alive(int(done.stdout))
    return int(done.stdout)


def test_a_reused_pid_does_not_keep_a_run_running(session: Session) -> None:
    """The run's crawl died long ago and its pid now belongs to another process (here,
    this test's): the run is settled and the next scheduled crawl is not blocked."""
    with session.begin():
        stale = start_run(session, trigger="schedule", seeds_file="/a.toml", pid=os.getpid())
        stale.started_at = utcnow() - timedelta(days=2)
        current = start_run(session, trigger="schedule", seeds_file="/b.toml", pid=os.getpid())
    with session.begin():
        assert crawl_in_progress(session, "/a.toml") is None
        assert settle_orphaned_runs(session) == []
    session.expire_all()
    assert session.get(CrawlRun, stale.id).outcome == "interrupted"  # type: ignore[union-attr]
    assert session.get(CrawlRun, current.id).outcome == "running"  # type: ignore[union-attr]


def test_process_start_time_tells_a_reused_pid() -> None:
    started = process_started_at(os.getpid())
    assert started is not None and abs(utcnow() - started) < timedelta(days=1)
    assert run_process_alive(os.getpid(), started)
    assert run_process_alive(os.getpid(), started + timedelta(seconds=5))
    assert not run_process_alive(os.getpid(), started - timedelta(hours=1))
    assert not run_process_alive(None, started)
    assert not run_process_alive(dead_pid(), utcnow())


def test_without_a_start_time_old_runs_are_dead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runs, "process_started_at", lambda pid: None)
    now = utcnow()
    assert run_process_alive(os.getpid(), now - timedelta(hours=20), now=now)
    assert not run_process_alive(os.getpid(), now - runs.MAX_RUN_AGE
                                 - timedelta(minutes=1), now=now)


def test_a_zombie_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        wait_for(lambda: (_stat(child.pid) or ["Z"])[0] == "Z", 30, "the child to exit")
        assert not pid_alive(child.pid)
    finally:
        child.wait()


# -- a new scheduler and the crawls a dead one left ------------------------------------------


def _sleeper(ready: Path) -> subprocess.Popen[bytes]:
    script = f"import time\nopen({str(ready)!r}, 'w').close()\ntime.sleep(120)"
    child = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    wait_for(ready.exists, 30, "the stand-in crawl to start")
    return child


@pytest.mark.parametrize("scheduler_alive", [False, True])
def test_a_new_scheduler_stops_the_crawl_a_dead_one_left(
        db_url: str, session: Session, tmp_path: Path, scheduler_alive: bool) -> None:
    crawl = _sleeper(tmp_path / "ready")
    try:
        with session.begin():
            run = start_run(session, trigger="schedule", seeds_file="/a.toml", pid=crawl.pid)
            run.stats = {SCHEDULER_PID: os.getppid() if scheduler_alive else dead_pid()}
        service = CrawlScheduler(db_url)
        try:
            settled = service.settle_orphans(grace=10)
        finally:
            service.close()
        session.expire_all()
        outcome = session.get(CrawlRun, run.id).outcome  # type: ignore[union-attr]
        if scheduler_alive:
            assert crawl.poll() is None and settled == [] and outcome == "running"
        else:
            assert crawl.wait(10) == -signal.SIGTERM
            assert settled == [run.id] and outcome == "interrupted"
    finally:
        if crawl.poll() is None:
            crawl.kill()
        crawl.wait()


# -- schedules that cannot run, archives that are not there ----------------------------------


@pytest.mark.slow  # a scheduler process each
@pytest.mark.parametrize(("args", "message"), [
    (("--every", "3000000d"), "duration '3000000d' is too long"),
    (("--every", "99999999999d"), "is too long"),
    (("--cron", "0 0 30 2 *"), "cron '0 0 30 2 *' never fires"),
    (("--cron", "0 0 31 4,6 *"), "never fires"),
])
def test_schedules_that_never_fire_are_refused_in_one_line(
        args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    seeds = tmp_path / "sources.toml"
    seeds.write_text('[[sources]]\nname = "A"\nurls = ["http://127.0.0.1:9/"]\n', encoding="utf-8")
    db = tmp_path / "archive.sqlite"
    # In a process of its own: a schedule accepted by mistake would idle for ever.
    result = run_cli("schedule", *args, "--seeds", str(seeds), "--db", str(db), timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert not db.exists()


@pytest.mark.parametrize("args", [("--list",), ("--remove", "crawl:/a.toml")])
def test_managing_jobs_of_a_missing_archive_creates_none(args: tuple[str, ...],
                                                         tmp_path: Path) -> None:
    db = tmp_path / "typo.sqlite"
    result = CliRunner().invoke(cli, ["schedule", *args, "--db", str(db)])
    assert result.exit_code == 2, result.output
    assert f"no archive at {db}" in result.stderr and result.stderr.count("\n") == 1
    assert not db.exists()


# -- reprocess alongside a crawl ---------------------------------------------------------------


def _transactions_held(db_url: str, observer: Engine | None) -> list[str]:
    """SQLite: whether a writer can take the write lock now. PostgreSQL: the other
    connections that sit in an open transaction (holding what they have read or locked)."""
    if observer is None:
        writer = sqlite3.connect(make_url(db_url).database, timeout=0, isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("ROLLBACK")
            return []
        except sqlite3.OperationalError as exc:
            return [str(exc)]
        finally:
            writer.close()
    with observer.connect() as conn:
        return list(conn.execute(text(
            "SELECT state || ': ' || query FROM pg_stat_activity WHERE datname = "
            "current_database() AND state LIKE 'idle in transaction%' "
            "AND pid <> pg_backend_pid()")).scalars())


def test_reprocess_analyses_with_no_write_lock_held(db_url: str, engine: Engine,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A crawl writing while `reprocess` extracts must not wait out the batch (and die with
    "database is locked"): during each analysis another connection can take the write lock."""
    pages = sorted((SCHED_WEB / "dostyk-dispatch").rglob("*.html"))
    with Session(engine) as session, session.begin():
        for number, page in enumerate(pages):
            url = f"http://dostyk.test/{number}"
            record_fetch(session, FetchRecord(
                page_url=url, url=url, final_url=url, status=200,
                headers={"Content-Type": ["text/html"]}, body=page.read_bytes(),
                fetched_at=datetime(2026, 1, 1, 10), source="Dostyk Dispatch"),
                None, run_id=None, outcome="no_article")
    locked: list[str] = []
    analyse = reprocess_module.analyse_page
    observer = make_engine(db_url) if db_url.startswith("postgresql") else None

    def analyse_while_a_crawl_writes(*args: Any, **kwargs: Any) -> Any:
        locked.extend(_transactions_held(db_url, observer))
        return analyse(*args, **kwargs)

    monkeypatch.setattr(reprocess_module, "analyse_page", analyse_while_a_crawl_writes)
    try:
        counts = reprocess_module.reprocess(session_factory(engine))
    finally:
        if observer is not None:
            observer.dispose()
    assert counts["pages"] == len(pages) >= 3
    assert locked == []
    assert counts["newly_archived"] >= 2  # the writes still happen, after the analysis
