"""Helpers the test modules share: the repository's paths, the CLI in a subprocess, seeds.

Plain functions and constants live here, fixtures in conftest.py: a module imports what it
uses from here explicitly, and pytest alone discovers conftest.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from crawler.demo.loopback_web import LoopbackWeb
from storage.archive import ArticleRecord, FetchRecord, record_fetch

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Loopback servers are ours: no politeness delays, quick batches.
FAST_CRAWL = (
    "-s", "AUTOTHROTTLE_ENABLED=False",
    "-s", "DOWNLOAD_DELAY=0",
    "-s", "SILKROAD_BATCH_SECONDS=0.2",
    "-s", "RETRY_TIMES=2",
)


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
    """A crawl of SEEDS into DB_URL at loopback speed."""
    return run_cli("crawl", "--seeds", str(seeds), "--db", db_url, *FAST_CRAWL, *extra,
                   timeout=timeout)


def write_seeds(web: LoopbackWeb, template: Path, dest: Path) -> Path:
    """A seeds file from TEMPLATE with the loopback web's addresses filled in."""
    dest.write_text(web.render(template.read_text(encoding="utf-8")), encoding="utf-8")
    return dest


def store_one_article(engine: Engine, *, title: str = "Rail deal",
                      author: str | None = None) -> None:
    """One page of source 'Steppe Wire' with one article, into a migrated archive."""
    with Session(engine) as session, session.begin():
        record_fetch(session, FetchRecord(
            page_url="http://wire.example/a", url="http://wire.example/a",
            final_url="http://wire.example/a", status=200, headers={}, body=b"<p>x</p>",
            fetched_at=datetime(2025, 1, 2, tzinfo=UTC), source="Steppe Wire",
            discovered_via="seed", encoding="utf-8",
        ), ArticleRecord(content_hash="a" * 64, text="China and Kazakhstan sign a rail deal.",
                         relevance=0.9, title=title, author=author, published="2025-01-02",
                         language="en", countries=("CN", "KZ"), themes=("transport",)),
            run_id=None, outcome="article")
