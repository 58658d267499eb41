"""kill -9 at random moments: nothing half-written, and the next crawls finish the
work from the database frontier without duplicates or starting over."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.demo.loopback_web import LoopbackWeb
from tests.support import FAST_CRAWL, REPO, run_cli, run_crawl, write_seeds
from tests.synthetic_web import off_topic, on_topic, write_news_site

ARTICLES = 48
OFF_TOPIC = 24
pytestmark = pytest.mark.slow  # seven real crawls, five of them killed


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> LoopbackWeb:
    root = tmp_path_factory.mktemp("crashweb")
    articles = [on_topic(n) for n in range(ARTICLES)] + [off_topic(n) for n in range(OFF_TOPIC)]
    write_news_site(root / "site", articles, sections=4)
    (root / "web.toml").write_text(
        '[[sites]]\nname = "trade"\ndir = "site"\naddress = "127.0.0.41"\n', "utf-8")
    (root / "sources.toml").write_text(
        '[[sources]]\nname = "Trade Wire"\nurls = ["{{site:trade}}/"]\nlanguage = "en"\n', "utf-8")
    with LoopbackWeb.from_directory(root) as loopback:
        loopback.root = root  # type: ignore[attr-defined]
        yield loopback


def wait_until_crawling(path: Path, process: subprocess.Popen[bytes], limit: float = 60) -> None:
    """Kill moments are counted from the start of the crawl proper, not of the process
    (start-up takes longer on a loaded machine)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with sqlite3.connect(path) as conn:
                if conn.execute("SELECT count(*) FROM crawl_runs WHERE outcome = 'running'"
                                ).fetchone()[0]:
                    return
        except sqlite3.OperationalError:
            pass  # not migrated yet
        time.sleep(0.05)


def archive_state(path: Path) -> dict[str, object]:
    with sqlite3.connect(path) as conn:
        return {
            "integrity": conn.execute("PRAGMA integrity_check").fetchone()[0],
            "hashes": sorted(h for (h,) in conn.execute("SELECT content_hash FROM articles")),
            "urls": sorted(u for (u,) in conn.execute("SELECT url FROM sightings")),
            "orphans": conn.execute(
                """SELECT count(*) FROM articles a WHERE NOT EXISTS
                   (SELECT 1 FROM sightings s JOIN snapshots n ON n.id = s.snapshot_id
                    WHERE s.article_id = a.id)""").fetchone()[0],
        }


def test_five_kills_then_resume_equals_an_uninterrupted_crawl(web: LoopbackWeb,
                                                              tmp_path: Path) -> None:
    seeds = write_seeds(web, web.root / "sources.toml", tmp_path / "sources.toml")  # type: ignore[attr-defined]
    slow = ("-s", "DOWNLOAD_DELAY=0.03", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2",
            "-s", "SILKROAD_BATCH_SIZE=5")

    baseline = tmp_path / "baseline.sqlite"
    done = run_crawl(seeds, f"sqlite:///{baseline}", *slow)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = archive_state(baseline)
    assert len(expected["hashes"]) == ARTICLES  # type: ignore[arg-type]

    killed = tmp_path / "killed.sqlite"
    rng = random.Random(20250617)
    web.clear_requests()
    kills = 0
    for _ in range(5):
        process = subprocess.Popen(
            [sys.executable, "-m", "crawler", "crawl", "--seeds", str(seeds),
             "--db", f"sqlite:///{killed}", *FAST_CRAWL, *slow],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until_crawling(killed, process)
        time.sleep(rng.uniform(0.2, 2.5))
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the crawl and its extraction workers
            kills += 1
        process.wait()
        assert archive_state(killed)["integrity"] == "ok"
        assert archive_state(killed)["orphans"] == 0
    assert kills >= 3, "the crawl finished before it could be killed: make the web slower"

    listed = run_cli("runs", "--format", "json", "--db", f"sqlite:///{killed}")
    latest = json.loads(listed.stdout)[0]
    assert latest["pending"] > 0, latest  # what the next crawl will resume

    final = run_crawl(seeds, f"sqlite:///{killed}", *slow)
    assert final.returncode == 0, final.stderr[-2000:]
    state = archive_state(killed)
    assert state == expected | {"urls": state["urls"]}
    assert state["urls"] == expected["urls"]

    with sqlite3.connect(killed) as conn:
        runs = conn.execute("SELECT id, outcome, session_id FROM crawl_runs ORDER BY id").fetchall()
        left = conn.execute("SELECT count(*) FROM frontier WHERE state = 'pending'").fetchone()[0]
    assert runs[-1][1] == "ok" and left == 0
    assert [r[1] for r in runs[:-1]] == ["interrupted"] * (len(runs) - 1)
    assert len({r[2] for r in runs}) == 1, "every run continued the first one's session"
    # Resumed, not restarted: each article page was fetched about once overall.
    article_hits = [r for r in web.requests if "-trade-" in r.path]
    assert len(article_hits) <= ARTICLES + 5 * 8, len(article_hits)
