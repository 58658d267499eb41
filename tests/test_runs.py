"""Crawl runs: one dead-run policy for every caller, stored words that never change,
and one crawl that opens and migrates its archive once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from crawler.scheduling.scheduled_crawl import settle_orphaned_runs
from crawler.timeutil import utcnow
from crawler.vocabulary import ArticleState, PageOutcome, PageState, RunOutcome, Stat, Trigger
from storage import runs
from storage.frontier import PendingRequest, add_pending
from storage.models import CrawlRun
from storage.runs import (
    LAUNCH_GRACE,
    finish_run,
    resumable_session,
    run_is_dead,
    settle_dead_runs,
    start_run,
)
from tests.support import REPO


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_stored_words_keep_their_values() -> None:
    assert [o.value for o in PageOutcome] == [
        "article", "off_topic", "no_article", "revisit", "error", "store_error", "robots",
        "redirect"]
    assert [o.value for o in RunOutcome] == [
        "running", "ok", "failed", "interrupted", "partial"]
    assert [t.value for t in Trigger] == ["manual", "schedule", "demo", "import", "reprocess"]
    assert [s.value for s in PageState] == ["new", "changed", "unchanged", "error"]
    assert [s.value for s in ArticleState] == ["new", "duplicate", "revisit"]
    assert Stat.source("CGTN", "fetched") == "silkroad/source/CGTN/fetched"
    assert Stat.pages(PageState.NEW) == "silkroad/pages_new"
    assert f"{RunOutcome.OK}" == "ok" and RunOutcome.OK == "ok"


def test_a_run_without_a_pid_is_dead_only_after_the_launch_grace(session: Session) -> None:
    launching = start_run(session, trigger=Trigger.SCHEDULE, seeds_file="/a.toml")
    assert not run_is_dead(launching)
    assert run_is_dead(launching, now=launching.started_at + LAUNCH_GRACE)


def test_a_launched_run_starts_when_its_process_adopts_it(session: Session) -> None:
    """A launcher's row predates its child's start-up; the run starts when the child
    takes it over, as a run the crawl process made itself does."""
    launched = start_run(session, trigger=Trigger.MANUAL)
    launched.started_at -= timedelta(seconds=30)
    made_at = launched.started_at
    adopted = runs.adopt_run(session, launched.id, None)
    assert adopted.started_at > made_at + timedelta(seconds=29)
    assert adopted.heartbeat_at == adopted.started_at
    assert not run_is_dead(adopted)


def test_a_reused_pid_does_not_keep_a_run_alive(session: Session) -> None:
    run = start_run(session, trigger=Trigger.MANUAL, pid=os.getpid())
    assert not run_is_dead(run)
    run.started_at = utcnow() - timedelta(days=1)  # this process started long after the run
    assert run_is_dead(run)
    assert not run_is_dead(start_run(session, trigger=Trigger.MANUAL, pid=os.getpid()))
    assert run_is_dead(start_run(session, trigger=Trigger.MANUAL, pid=dead_pid()))


def test_a_manual_crawl_leaves_a_scheduled_run_being_launched_alone(session: Session) -> None:
    """The scheduler writes its run row before its child has a pid: a manual crawl that
    starts in that gap (resumable_session settles dead runs) must not close it."""
    launching = start_run(session, trigger=Trigger.SCHEDULE, seeds_file="/a.toml")
    gone = start_run(session, trigger=Trigger.MANUAL, pid=dead_pid())
    assert resumable_session(session) is None
    assert (launching.outcome, gone.outcome) == (RunOutcome.RUNNING, RunOutcome.INTERRUPTED)
    assert settle_orphaned_runs(session) == []


def test_a_session_whose_pid_was_reused_is_resumed(session: Session) -> None:
    interrupted = start_run(session, trigger=Trigger.MANUAL, pid=os.getpid())
    interrupted.started_at = utcnow() - timedelta(hours=2)  # then a reboot reused its pid
    add_pending(session, interrupted.id, [PendingRequest("http://127.0.0.1/a", "page", "A")])
    assert resumable_session(session) == interrupted.id
    assert interrupted.outcome == RunOutcome.INTERRUPTED


def test_settling_names_the_reason_when_asked(session: Session) -> None:
    run = start_run(session, trigger=Trigger.SCHEDULE, seeds_file="/a.toml", pid=dead_pid())
    finished = start_run(session, trigger=Trigger.SCHEDULE, seeds_file="/a.toml", pid=dead_pid())
    finish_run(session, finished.id, outcome=RunOutcome.OK, exit_status=0, counts={},
               stats={})
    assert settle_dead_runs(session, trigger=Trigger.SCHEDULE, close_reason="gone") == [run.id]
    session.flush()
    stored = session.get(CrawlRun, run.id)
    assert stored is not None and stored.stats["close_reason"] == "gone"
    assert session.get(CrawlRun, finished.id).outcome == "ok"  # type: ignore[union-attr]


def test_a_run_of_another_machine_is_judged_by_its_heartbeat(session: Session) -> None:
    """Its pid means nothing here: a live worker elsewhere is neither interrupted nor
    resumed a second time; one silent for REMOTE_SILENCE is dead."""
    remote = start_run(session, trigger=Trigger.MANUAL, pid=dead_pid())
    remote.hostname = "crawler-2.example"
    add_pending(session, remote.id, [PendingRequest("http://127.0.0.1/a", "page", "A")])
    assert not run_is_dead(remote)
    assert settle_dead_runs(session) == []
    assert resumable_session(session) is None
    assert remote.outcome == RunOutcome.RUNNING
    remote.heartbeat_at = utcnow() - runs.REMOTE_SILENCE - timedelta(seconds=1)
    assert run_is_dead(remote)
    assert resumable_session(session) == remote.id
    assert remote.outcome == RunOutcome.INTERRUPTED
    local = start_run(session, trigger=Trigger.MANUAL, pid=dead_pid())
    assert local.hostname == runs.this_host() and run_is_dead(local)  # pid, not heartbeat


def test_two_crawls_starting_at_once_do_not_both_resume_one_session(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        left = start_run(session, trigger=Trigger.MANUAL, pid=dead_pid())
        add_pending(session, left.id, [PendingRequest("http://a.test/next", "page", "A")])
        left.outcome = RunOutcome.INTERRUPTED
        left_id = left.id
    resumed: list[int | None] = []
    barrier = threading.Barrier(2)

    def start_crawl() -> None:
        barrier.wait(30)
        with Session(engine) as session, session.begin():
            session_id = resumable_session(session)
            time.sleep(0.3)  # the other crawl decides meanwhile, unless it waits for this one
            start_run(session, trigger=Trigger.MANUAL, pid=os.getpid(), session_id=session_id)
            resumed.append(session_id)

    crawls = [threading.Thread(target=start_crawl) for _ in range(2)]
    for crawl in crawls:
        crawl.start()
    for crawl in crawls:
        crawl.join(60)
    assert sorted(resumed, key=str) == sorted([left_id, None], key=str)


def test_liveness_reads_the_process_start_time_from_this_module(monkeypatch: pytest.MonkeyPatch,
                                                                session: Session) -> None:
    run = start_run(session, trigger=Trigger.MANUAL, pid=os.getpid())
    monkeypatch.setattr(runs, "process_started_at", lambda pid: utcnow() + timedelta(hours=1))
    assert run_is_dead(run)


COUNT_OPENS = textwrap.dedent("""
    import sys
    import storage.engine as engine_module, storage.migrate as migrate_module
    opened, migrated = [], []
    make_engine, upgrade = engine_module.make_engine, migrate_module.upgrade
    engine_module.make_engine = lambda *a, **k: opened.append(k.get("readonly", False)) \\
        or make_engine(*a, **k)
    migrate_module.upgrade = lambda *a, **k: migrated.append(1) or upgrade(*a, **k)
    from crawler.cli.main import cli
    try:
        cli(sys.argv[1:], prog_name="silkroad")
    except SystemExit as exit:
        print("OPENED", sorted(opened), "MIGRATED", len(migrated), "EXIT", exit.code)
""")


@pytest.mark.slow
def test_one_crawl_opens_its_archive_once_and_migrates_it_once(db_url: str,
                                                               tmp_path: Path) -> None:
    """A writer and a read-only reader (the resume and conditional requests), one migration;
    there were three or four engines and two migrations. On PostgreSQL `crawl` first asks
    the server whether the database is usable (an engine disposed at once)."""
    from crawler.demo.loopback_web import LoopbackWeb, demo_web_dir

    web_dir = demo_web_dir()
    with LoopbackWeb.from_directory(web_dir).start() as web:
        seeds = tmp_path / "sources.toml"
        seeds.write_text(web.render((web_dir / "sources.toml").read_text("utf-8")), "utf-8")
        done = subprocess.run(
            [sys.executable, "-c", COUNT_OPENS, "crawl", "--seeds", str(seeds), "--db",
             db_url, "-s", "DOWNLOAD_DELAY=0",
             "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "SILKROAD_EXTRACT_PROCESSES=0"],
            capture_output=True, text=True, timeout=240, cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)})
    opened = "[False, False, True]" if db_url.startswith("postgresql") else "[False, True]"
    assert f"OPENED {opened} MIGRATED 1 EXIT 0" in done.stdout, done.stderr[-3000:]
