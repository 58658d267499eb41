"""Crawl workers sharing one archive and one frontier, on both backends, seen from the
sites' side (tests/counting_web.py counts every request and the most in flight):
a killed worker loses no page and costs at most one claim batch in all,
politeness holds per site summed over all workers, and no process of a crawl
outlives a kill -9 of its launcher."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.engine import make_engine
from storage.models import Article, CrawlRun, Fetch, FrontierEntry, Page
from tests.counting_web import CountingWeb, busiest_window, per_site_rates
from tests.support import FAST_CRAWL, REPO, run_cli
from tests.test_orphans import process_tree, seconds_until_gone

pytestmark = pytest.mark.slow

SITES, PAGES = 6, 340  # 2,046 pages with the home pages
WORKERS = 3
CLAIM_BATCH = 10
WEB_CRAWL = (*FAST_CRAWL, "-s", "DEPTH_LIMIT=0", "-s", f"SILKROAD_CLAIM_BATCH={CLAIM_BATCH}",
             "-s", "SILKROAD_EXTRACT_PROCESSES=1")


def start_cli(*args: str, log: Path) -> subprocess.Popen[bytes]:
    """`silkroad ARGS` in a session of its own (killed by process group), logging to LOG."""
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "crawler", *args], cwd=REPO,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"})


def query(db_url: str, read: Callable[[Session], Any]) -> Any:
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            return read(session)
    finally:
        engine.dispose()


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def content_hashes(db_url: str) -> set[str]:
    return set(query(db_url, lambda s: s.scalars(select(Article.content_hash)).all()))


@pytest.fixture(scope="module")
def web() -> Iterator[CountingWeb]:
    with CountingWeb(SITES, PAGES) as served:
        yield served


@pytest.fixture(scope="module")
def seeds(web: CountingWeb, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("workers") / "sources.toml"
    path.write_text(web.seeds_toml(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def one_process_hashes(web: CountingWeb, seeds: Path,
                       tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """What a single crawl process archives from the web: the reference."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('baseline') / 'archive.sqlite'}"
    done = run_cli("crawl", "--seeds", str(seeds), "--db", db_url, *WEB_CRAWL, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    hashes = content_hashes(db_url)
    assert len(hashes) == SITES * PAGES // 10
    return hashes


def test_a_worker_killed_mid_crawl_loses_nothing(web: CountingWeb, seeds: Path, db_url: str,
                                                 one_process_hashes: set[str],
                                                 tmp_path: Path) -> None:
    web.reset()
    log = tmp_path / "crawl.log"
    launcher = start_cli("crawl", "--workers", str(WORKERS), "--seeds", str(seeds),
                         "--db", db_url, *WEB_CRAWL, log=log)
    try:
        def fetched_by_every_worker() -> list[CrawlRun] | None:
            try:
                runs = query(db_url, lambda s: s.scalars(select(CrawlRun)).all())
                counts = query(db_url, lambda s: dict(s.execute(
                    select(Fetch.run_id, func.count()).group_by(Fetch.run_id)).all()))
            except Exception:  # noqa: BLE001 - the archive is still being created
                return None
            if len(runs) == WORKERS and sum(counts.values()) >= web.page_count // 4 \
                    and all(counts.get(run.id) for run in runs):
                return runs
            return None

        runs = wait_until(fetched_by_every_worker, 180, "every worker to store pages")
        victim = runs[1]
        os.killpg(victim.pid, signal.SIGKILL)  # the worker and its extraction process
        launcher.wait(timeout=240)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
    output = log.read_text(errors="replace")
    assert launcher.returncode == 0, output[-4000:]

    outcomes = query(db_url, lambda s: {run.id: run.outcome for run in
                                        s.scalars(select(CrawlRun))})
    assert outcomes[victim.id] == "interrupted"
    assert sorted(outcomes.values()) == ["interrupted", "ok", "ok"]
    stored = set(query(db_url, lambda s: s.scalars(select(Page.url)).all()))
    assert stored >= web.urls(), f"{len(web.urls() - stored)} pages lost"
    assert query(db_url, lambda s: s.scalar(select(func.count()).select_from(FrontierEntry))) == 0
    counts = web.fetch_counts()
    again = {url: n for url, n in counts.items() if n > 1}
    print(f"killed worker: {len(again)} of {len(counts)} pages fetched twice")
    # The killed worker held its share of the sites (2 of 6) and at most one claim batch of
    # their pages claimed and not stored, over both: those are fetched again, nothing else.
    assert len(again) <= CLAIM_BATCH, again
    assert max(counts.values()) <= 2
    assert content_hashes(db_url) == one_process_hashes
    assert "3 workers: runs" in output and "Crawl ok" in output


@pytest.fixture
def slow_web() -> Iterator[CountingWeb]:
    with CountingWeb(6, 24, on_topic_every=1000, latency=0.05, first_address=70) as served:
        yield served


def test_politeness_holds_per_site_over_all_workers(slow_web: CountingWeb, db_url: str,
                                                    tmp_path: Path) -> None:
    """Two workers from `crawl --workers 2`, a third joining with `silkroad worker`:
    each site sees at most 2 requests at once and at most 2 a second."""
    seeds = tmp_path / "sources.toml"
    seeds.write_text(slow_web.seeds_toml(), encoding="utf-8")
    polite = (*WEB_CRAWL, "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2", "-s", "DOWNLOAD_DELAY=0.5")
    launcher = start_cli("crawl", "--workers", "2", "--seeds", str(seeds), "--db", db_url,
                         *polite, log=tmp_path / "crawl.log")
    joined = None
    try:
        wait_until(lambda: sum(len(log.starts) for log in slow_web.logs.values()) >= 6, 120,
                   "the crawl to start")
        joined = start_cli("worker", "--db", db_url, *polite, log=tmp_path / "worker.log")
        launcher.wait(timeout=240)
        joined.wait(timeout=60)
    finally:
        for process in (launcher, joined):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    assert launcher.returncode == 0, (tmp_path / "crawl.log").read_text()[-3000:]
    assert joined.returncode == 0, (tmp_path / "worker.log").read_text()[-3000:]
    runs = query(db_url, lambda s: s.scalars(select(CrawlRun).order_by(CrawlRun.id)).all())
    assert len(runs) == 3 and len({run.session_id for run in runs}) == 1
    assert all(run.outcome == "ok" for run in runs)
    assert set(slow_web.fetch_counts()) == slow_web.urls()
    assert max(slow_web.fetch_counts().values()) == 1
    assert max(log.max_in_flight for log in slow_web.logs.values()) <= 2
    rates = per_site_rates(slow_web)
    print(f"most in flight per site {max(log.max_in_flight for log in slow_web.logs.values())}, "
          f"fastest site {max(rates.values()):.2f} req/s, "
          f"busiest 2 s {busiest_window(slow_web, 2.0)} requests")
    assert max(rates.values()) <= 2.0, rates
    assert busiest_window(slow_web, 2.0) <= 5


def test_max_pages_is_one_budget_for_all_the_workers(slow_web: CountingWeb, db_url: str,
                                                     tmp_path: Path) -> None:
    """`crawl --workers 2 --max-pages 40` fetches 40 pages in all (not 40 a worker) and
    stores every one it fetched; like one process reaching its budget, it is complete."""
    seeds = tmp_path / "sources.toml"
    seeds.write_text(slow_web.seeds_toml(), encoding="utf-8")
    budget = 40
    done = run_cli("crawl", "--workers", "2", "--max-pages", str(budget), "--seeds",
                   str(seeds), "--db", db_url, *WEB_CRAWL, timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    counts = slow_web.fetch_counts()
    assert len(counts) == budget and max(counts.values()) == 1, counts
    runs = query(db_url, lambda s: s.scalars(select(CrawlRun).order_by(CrawlRun.id)).all())
    assert [run.outcome for run in runs] == ["ok", "ok"]
    stored = set(query(db_url, lambda s: s.scalars(
        select(Page.url).where(~Page.url.endswith("/robots.txt"))).all()))
    assert stored == set(counts)
    assert "2 workers: runs" in done.stdout and "Crawl ok" in done.stdout


def test_sigterm_stops_the_workers_and_the_next_crawl_resumes(slow_web: CountingWeb,
                                                               db_url: str,
                                                               tmp_path: Path) -> None:
    seeds = tmp_path / "sources.toml"
    seeds.write_text(slow_web.seeds_toml(), encoding="utf-8")
    log = tmp_path / "crawl.log"
    launcher = start_cli("crawl", "--workers", "2", "--seeds", str(seeds), "--db", db_url,
                         *WEB_CRAWL, "-s", "DOWNLOAD_DELAY=0.5", log=log)
    try:
        wait_until(lambda: sum(len(log.starts) for log in slow_web.logs.values()) >= 20, 120,
                   "the workers to crawl")
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(timeout=30)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
    assert launcher.returncode == 1, log.read_text()[-3000:]
    stopped = query(db_url, lambda s: s.scalars(select(CrawlRun)).all())
    assert [run.outcome for run in stopped] == ["interrupted", "interrupted"]
    pending = query(db_url, lambda s: s.scalar(select(func.count()).select_from(FrontierEntry)
                                               .where(FrontierEntry.state == "pending")))
    assert pending > 0

    done = run_cli("crawl", "--workers", "2", "--seeds", str(seeds), "--db", db_url,
                   *WEB_CRAWL, timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    runs = query(db_url, lambda s: s.scalars(select(CrawlRun).order_by(CrawlRun.id)).all())
    assert [run.outcome for run in runs[2:]] == ["ok", "ok"]
    assert {run.session_id for run in runs} == {stopped[0].session_id}
    counts = slow_web.fetch_counts()
    assert set(counts) == slow_web.urls()
    # Stopped cleanly: only what was fetched and not yet stored when it stopped is fetched
    # again (a few per site).
    assert sum(counts.values()) - len(counts) <= 2 * len(slow_web.addresses), counts


def test_without_a_delay_a_site_still_gets_at_most_its_concurrency(db_url: str,
                                                                   tmp_path: Path) -> None:
    """Scrapy 2.19 lets about 15 requests to one site fly with DOWNLOAD_DELAY=0 whatever
    CONCURRENT_REQUESTS_PER_DOMAIN says; the frontier scheduler holds the cap itself."""
    with CountingWeb(4, 60, on_topic_every=1000, latency=0.05, first_address=80) as web:
        seeds = tmp_path / "sources.toml"
        seeds.write_text(web.seeds_toml(), encoding="utf-8")
        done = run_cli("crawl", "--workers", str(WORKERS), "--seeds", str(seeds), "--db",
                       db_url, *WEB_CRAWL, "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2",
                       timeout=240)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        assert set(web.fetch_counts()) == web.urls()
        assert max(log.max_in_flight for log in web.logs.values()) == 2


def test_kill_9_of_the_launcher_leaves_no_process_of_the_crawl(slow_web: CountingWeb,
                                                               tmp_path: Path) -> None:
    seeds = tmp_path / "sources.toml"
    seeds.write_text(slow_web.seeds_toml(), encoding="utf-8")
    db_url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    launcher = start_cli("crawl", "--workers", "2", "--seeds", str(seeds), "--db", db_url,
                         *WEB_CRAWL, "-s", "DOWNLOAD_DELAY=2", log=tmp_path / "crawl.log")
    tree: dict[int, str] = {}
    try:
        # Two workers, each with its extraction process and multiprocessing's tracker.
        wait_until(lambda: len(process_tree(launcher.pid)) >= 6
                   and sum(len(log.starts) for log in slow_web.logs.values()) >= 2, 120,
                   "the workers to crawl")
        tree = process_tree(launcher.pid)
        launcher.kill()
        launcher.wait(10)
        took = seconds_until_gone(tree, timeout=10)
        print(f"{len(tree)} processes of the crawl gone {took:.2f}s after kill -9")
    finally:
        for pid in tree:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
