"""Shared fixtures: a migrated temporary archive, the CLI in a subprocess, loopback webs.

Crawls run in a child process (as users run them): Scrapy's reactor cannot be
restarted inside one test process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from crawler.demo.loopback_web import LoopbackWeb
from storage.engine import make_engine
from storage.migrate import upgrade

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Loopback servers are ours: no politeness delays, quick batches.
FAST_CRAWL = (
    "-s", "AUTOTHROTTLE_ENABLED=False",
    "-s", "DOWNLOAD_DELAY=0",
    "-s", "SILKROAD_BATCH_SECONDS=0.2",
    "-s", "RETRY_TIMES=2",
)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'archive.sqlite'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as s:
        yield s


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 240,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `silkroad ARGS` as a user would, in a fresh process."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        cwd=cwd or REPO, capture_output=True, text=True, timeout=timeout, env=full_env,
    )


def run_crawl(seeds: Path, db_url: str, *extra: str, timeout: float = 240
              ) -> subprocess.CompletedProcess[str]:
    return run_cli("crawl", "--seeds", str(seeds), "--db", db_url, *FAST_CRAWL, *extra,
                   timeout=timeout)


def write_seeds(web: LoopbackWeb, template: Path, dest: Path) -> Path:
    dest.write_text(web.render(template.read_text(encoding="utf-8")), encoding="utf-8")
    return dest


@pytest.fixture
def cli():  # type: ignore[no-untyped-def]
    return run_cli
