"""Two crawls and a stream of searches on one SQLite file at once: no lost writes,
no "database is locked", no duplicates."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.demo.loopback_web import LoopbackWeb
from tests.support import FAST_CRAWL, REPO, run_cli, write_seeds
from tests.synthetic_web import off_topic, on_topic, write_news_site

ARTICLES = 30
pytestmark = pytest.mark.slow  # two real crawls at once


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> LoopbackWeb:
    root = tmp_path_factory.mktemp("concurrent")
    write_news_site(root / "a", [on_topic(n) for n in range(ARTICLES)]
                    + [off_topic(n) for n in range(10)], sections=3)
    # The second site reposts half of the first one's articles: shared content hashes.
    write_news_site(root / "b", [on_topic(n) for n in range(ARTICLES // 2, ARTICLES + 10)],
                    sections=2, seed=3)
    (root / "web.toml").write_text(
        '[[sites]]\nname = "a"\ndir = "a"\naddress = "127.0.0.71"\n'
        '[[sites]]\nname = "b"\ndir = "b"\naddress = "127.0.0.72"\n', "utf-8")
    (root / "sources.toml").write_text(
        '[[sources]]\nname = "A"\nurls = ["{{site:a}}/"]\n'
        '[[sources]]\nname = "B"\nurls = ["{{site:b}}/"]\n', "utf-8")
    with LoopbackWeb.from_directory(root) as loopback:
        loopback.root = root  # type: ignore[attr-defined]
        yield loopback


def test_two_crawls_and_searches_at_once(web: LoopbackWeb, tmp_path: Path) -> None:
    seeds = write_seeds(web, web.root / "sources.toml", tmp_path / "s.toml")  # type: ignore[attr-defined]
    db = tmp_path / "shared.sqlite"
    url = f"sqlite:///{db}"
    assert run_cli("db", "upgrade", "--db", url).returncode == 0
    small_batches = ("-s", "SILKROAD_BATCH_SIZE=2", "-s", "SILKROAD_BATCH_SECONDS=0.05")
    crawls = [
        subprocess.Popen([sys.executable, "-m", "crawler", "crawl", "--seeds", str(seeds),
                          "--db", url, "--no-resume", *FAST_CRAWL, *small_batches],
                         cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    searches = []
    while any(c.poll() is None for c in crawls) and len(searches) < 40:
        searches.append(run_cli("search", "China", "--format", "json", "--db", url))
    outputs = [c.communicate(timeout=240) for c in crawls]
    for crawl, (_out, err) in zip(crawls, outputs, strict=True):
        assert crawl.returncode == 0, err[-2000:]
        assert "locked" not in err
    assert searches, "the crawls ended before any search ran"
    for search in searches:
        assert search.returncode == 0, search.stderr
        assert "locked" not in search.stderr

    with sqlite3.connect(db) as conn:
        hashes = [h for (h,) in conn.execute("SELECT content_hash FROM articles")]
        runs = conn.execute("SELECT outcome FROM crawl_runs").fetchall()
        sighted = {u for (u,) in conn.execute("SELECT url FROM sightings")}
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    assert integrity == "ok"
    assert runs == [("ok",), ("ok",)]
    assert len(hashes) == len(set(hashes)) == ARTICLES + 10
    # Nothing lost: every on-topic page of both sites is a sighting.
    assert len(sighted) == ARTICLES + (ARTICLES // 2 + 10)
