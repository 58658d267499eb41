"""Processes that die with their parent: kill -9 of a crawl or of the scheduler leaves
nothing running (extraction workers, multiprocessing's resource tracker, crawl children).

The process trees are real: a crawl of a loopback web, the scheduler as a user runs it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.loopback_web import LoopbackWeb
from tests.conftest import FAST_CRAWL, FIXTURES, REPO, write_seeds

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

SCHED_WEB = FIXTURES / "webs" / "sched"
# Slow enough that the kill lands while the crawl and its two workers run.
LONG_CRAWL = (*FAST_CRAWL, "-s", "DOWNLOAD_DELAY=3", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1",
              "-s", "SILKROAD_EXTRACT_PROCESSES=2")
ORPHAN_DEADLINE = 10.0


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


def seconds_until_gone(tree: dict[int, str], timeout: float = 30) -> float:
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
        took = seconds_until_gone(tree)
        assert took < ORPHAN_DEADLINE, f"{took:.1f}s"
        print(f"crawl's {len(tree)} descendants gone {took:.2f}s after kill -9")
    finally:
        if crawl.poll() is None:
            crawl.kill()
        _kill_tree(tree)


@pytest.mark.slow
def test_kill_9_of_the_scheduler_leaves_no_process_of_it(seeds: Path, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    log = tmp_path / "schedule.log"
    scheduler = _start(["schedule", "--every", "2s", "--seeds", str(seeds), "--db", db_url,
                        *LONG_CRAWL], log)
    tree: dict[int, str] = {}
    try:
        # The crawl child, its two workers and its resource tracker.
        tree = wait_for(lambda: scheduler.poll() is None and _workers_up(scheduler.pid, 4), 120,
                        "the scheduled crawl and its workers")
        assert scheduler.poll() is None, log.read_text(errors="replace")[-3000:]
        tree = process_tree(scheduler.pid)
        scheduler.kill()
        scheduler.wait(10)
        took = seconds_until_gone(tree)
        assert took < ORPHAN_DEADLINE, f"{took:.1f}s"
        print(f"scheduler's {len(tree)} descendants gone {took:.2f}s after kill -9")
    finally:
        if scheduler.poll() is None:
            scheduler.kill()
        _kill_tree(tree)
