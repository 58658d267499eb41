"""Helpers the test modules share: the repository's paths, the CLI in a subprocess, seeds.

Plain functions and constants live here, fixtures in conftest.py: a module imports what it
uses from here explicitly, and pytest alone discovers conftest.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from crawler.demo.loopback_web import LoopbackWeb

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
