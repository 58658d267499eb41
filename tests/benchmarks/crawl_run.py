"""Run `silkroad crawl` as a user would and measure it from outside and from its archive.

Outside: wall time, and the whole process tree's memory and CPU, polled.
Inside: the run's own start and finish (``crawl_runs``, written after the
worker pool is warm and after the last batch is stored) and every fetch's
timestamp (``fetches``), which give throughput without start-up costs.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tests.benchmarks.process_tree import ProcessTreeSampler, TreeSample

REPO = Path(__file__).resolve().parents[2]

# Our loopback server is no news site: no politeness delays (as tests/support.py FAST_CRAWL).
LOOPBACK_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
    "RETRY_TIMES": "1",
}


def epoch(stamp: str) -> float:
    """A naive-UTC time as SQLAlchemy stores it in SQLite, as a Unix time."""
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp()


@dataclass
class CrawlMeasurement:
    db_path: Path
    exit_code: int
    wall: float
    started: float  # when the command was launched (Unix time)
    run_started: float  # crawl_runs.started_at: pool warm, first request about to go
    run_finished: float  # crawl_runs.finished_at: last batch stored
    counts: dict[str, int]
    fetch_times: list[float]
    fetch_outcomes: list[str | None] = field(default_factory=list)  # in fetch order
    samples: list[TreeSample] = field(default_factory=list)
    peak_rss: int = 0
    peak_pss: int = 0
    cpu_seconds: float = 0.0
    peak_processes: int = 0

    @property
    def span(self) -> float:
        return self.run_finished - self.run_started

    @property
    def startup(self) -> float:
        return self.run_started - self.started

    @property
    def pages(self) -> int:
        return len(self.fetch_times)

    @property
    def crawl_cpu(self) -> float:
        """CPU seconds of the whole tree between the run's start and finish (no start-up)."""
        return self._cpu_at(self.run_finished) - self._cpu_at(self.run_started)

    @property
    def crawl_process_cpu(self) -> float:
        """CPU seconds of the crawl process alone (reactor, parsing, storage; no workers)."""
        return (self._cpu_at(self.run_finished, root=True)
                - self._cpu_at(self.run_started, root=True))

    def _cpu_at(self, moment: float, root: bool = False) -> float:
        before = [s.root_cpu if root else s.cpu for s in self.samples if s.at <= moment]
        return before[-1] if before else 0.0


def run_crawl(seeds: Path, db_path: Path, *, processes: int, depth: int,
              settings: Mapping[str, str] | None = None, log_file: Path,
              interval: float = 0.25, politeness: bool = False) -> CrawlMeasurement:
    """``politeness`` keeps the shipped delays (AutoThrottle, DOWNLOAD_DELAY)."""
    for stale in db_path.parent.glob(db_path.name + "*"):
        stale.unlink()
    overrides = {**({} if politeness else LOOPBACK_SETTINGS),
                 "SILKROAD_EXTRACT_PROCESSES": str(processes), **(settings or {})}
    command = [sys.executable, "-m", "crawler", "crawl", "--seeds", str(seeds),
               "--db", f"sqlite:///{db_path}", "--depth", str(depth)]
    for name, value in overrides.items():
        command += ["-s", f"{name}={value}"]
    with open(log_file, "w", encoding="utf-8") as log:
        started = time.time()
        process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        sampler = ProcessTreeSampler(process.pid, interval=interval).start()
        exit_code = process.wait()
        wall = time.time() - started
        sampler.stop()
    measurement = _read_archive(db_path, exit_code, wall, started)
    measurement.samples = sampler.samples
    measurement.peak_rss = sampler.peak_rss
    measurement.peak_pss = sampler.peak_pss
    measurement.cpu_seconds = sampler.cpu_seconds
    measurement.peak_processes = sampler.peak_processes
    return measurement


def _read_archive(db_path: Path, exit_code: int, wall: float, started: float
                  ) -> CrawlMeasurement:
    with sqlite3.connect(db_path) as db:
        row = db.execute(
            "SELECT started_at, finished_at, stats FROM crawl_runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is None or row[1] is None:
            raise RuntimeError(f"the crawl left no finished run in {db_path} (exit {exit_code})")
        stats = json.loads(row[2] or "{}")
        fetches = sorted((epoch(at), outcome) for at, outcome in db.execute(
            "SELECT fetched_at, outcome FROM fetches"))
    keys = ("fetched", "archived", "duplicates", "off_topic", "no_article", "errors")
    counts = {key: int(stats.get(key, 0) or 0) for key in keys}
    return CrawlMeasurement(db_path=db_path, exit_code=exit_code, wall=wall, started=started,
                            run_started=epoch(row[0]), run_finished=epoch(row[1]),
                            counts=counts, fetch_times=[at for at, _ in fetches],
                            fetch_outcomes=[outcome for _, outcome in fetches])
