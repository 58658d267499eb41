"""Two crawls of one web into one archive at once, and a stream of searches:
both runs end ok, no page is a store error, nothing is stored twice, and the archive
holds the same articles as one crawl into a fresh archive. On PostgreSQL the two
writers really write at the same moment; on SQLite they queue."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from crawler.demo.loopback_web import LoopbackWeb
from storage.engine import make_engine
from storage.models import Article, CrawlRun, Sighting
from tests.support import FAST_CRAWL, REPO, run_cli, run_crawl, write_seeds
from tests.synthetic_web import off_topic, on_topic, write_news_site

ARTICLES = 30
pytestmark = pytest.mark.slow  # three real crawls, two of them at once


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


def _archive(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            state = {
                "hashes": list(conn.scalars(select(Article.content_hash))),
                "sighted": set(conn.scalars(select(Sighting.url))),
                "runs": [(outcome, stats or {}) for outcome, stats in conn.execute(
                    select(CrawlRun.outcome, CrawlRun.stats).order_by(CrawlRun.id))],
            }
            if engine.dialect.name == "sqlite":
                state["integrity"] = conn.scalar(text("PRAGMA integrity_check"))
    finally:
        engine.dispose()
    return state


def test_two_crawls_at_once_archive_what_one_crawl_does(web: LoopbackWeb, db_url: str,
                                                        other_db_url: str,
                                                        tmp_path: Path) -> None:
    seeds = write_seeds(web, web.root / "sources.toml", tmp_path / "s.toml")  # type: ignore[attr-defined]
    alone = run_crawl(seeds, other_db_url)
    assert alone.returncode == 0, alone.stderr[-2000:]

    sqlite = db_url.startswith("sqlite")
    assert run_cli("db", "upgrade", "--db", db_url).returncode == 0
    small_batches = ("-s", "SILKROAD_BATCH_SIZE=2", "-s", "SILKROAD_BATCH_SECONDS=0.05")
    # With resuming on, as users crawl: neither may take the other's session.
    crawls = [
        subprocess.Popen([sys.executable, "-m", "crawler", "crawl", "--seeds", str(seeds),
                          "--db", db_url, *FAST_CRAWL, *small_batches],
                         cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    searches = []
    while any(c.poll() is None for c in crawls) and len(searches) < 40:
        searches.append(run_cli("search", "China", "--format", "json", "--db", db_url))
    outputs = [c.communicate(timeout=240) for c in crawls]
    for crawl, (_out, err) in zip(crawls, outputs, strict=True):
        assert crawl.returncode == 0, err[-2000:]
        assert "locked" not in err and "UniqueViolation" not in err
    assert searches, "the crawls ended before any search ran"
    for search in searches:
        assert search.returncode == 0, search.stderr
        assert "locked" not in search.stderr

    shared, reference = _archive(db_url), _archive(other_db_url)
    assert [outcome for outcome, _ in shared["runs"]] == ["ok", "ok"]
    assert [stats.get("silkroad/store_errors", 0) for _, stats in shared["runs"]] == [0, 0]
    assert len(shared["hashes"]) == len(set(shared["hashes"])) == ARTICLES + 10
    assert set(shared["hashes"]) == set(reference["hashes"])
    # Nothing lost: every on-topic page of both sites is a sighting.
    assert shared["sighted"] == reference["sighted"]
    assert len(shared["sighted"]) == ARTICLES + (ARTICLES // 2 + 10)
    if sqlite:
        assert shared["integrity"] == "ok"
