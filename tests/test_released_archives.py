"""Archives made by an earlier release keep working after the code moved.

``tests/fixtures/archives/scheduled-by-0f93133.sqlite`` was made by the release at
commit 0f93133 (before the folders were reorganised) with
``silkroad schedule --every 6h --seeds /tmp/oldjob/sources.toml``: its job store
holds the job function by that release's path, ``crawler.scheduled_crawl:run_scheduled_crawl``.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import cli
from crawler.scheduling.scheduled_crawl import run_scheduled_crawl
from crawler.scheduling.scheduler import CrawlScheduler
from storage.migrate import current_revision, head_revision
from tests.support import FIXTURES

OLD_ARCHIVE = FIXTURES / "archives" / "scheduled-by-0f93133.sqlite"
OLD_JOB = "crawl:/tmp/oldjob/sources.toml"


@pytest.fixture
def old_archive(tmp_path: Path) -> Path:
    copy = tmp_path / "archive.sqlite"
    shutil.copyfile(OLD_ARCHIVE, copy)
    return copy


def test_the_fixture_holds_the_old_job_path() -> None:
    with sqlite3.connect(OLD_ARCHIVE) as conn:
        (state,) = conn.execute("SELECT job_state FROM apscheduler_jobs").fetchone()
    assert b"crawler.scheduled_crawl:run_scheduled_crawl" in state


def test_a_job_stored_by_the_old_release_is_restored(old_archive: Path) -> None:
    scheduler = CrawlScheduler(f"sqlite:///{old_archive}")
    try:
        scheduler.open()
        jobs = scheduler._scheduler.get_jobs()  # unpickling resolves the stored path
        assert [job.id for job in jobs] == [OLD_JOB]
        assert jobs[0].func is run_scheduled_crawl
        assert current_revision(scheduler.engine) == head_revision()
    finally:
        scheduler.close()


def test_schedule_list_shows_the_old_job(old_archive: Path) -> None:
    result = CliRunner().invoke(cli, ["schedule", "--list", "--db", str(old_archive)])
    assert result.exit_code == 0, result.output
    assert OLD_JOB in result.output
