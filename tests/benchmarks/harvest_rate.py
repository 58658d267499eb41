"""Focused crawling against breadth-first: harvest rate under a page budget.

Harvest rate = on-topic articles archived / pages fetched. The synthetic web has
a minority of on-topic articles, scattered at random over its section pages;
both crawls get the same budget (CLOSESPIDER_PAGECOUNT).

    python tests/benchmarks/harvest_rate.py [--articles 300] [--on-topic 0.12] [--budget 80]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from crawler.demo.loopback_web import LoopbackWeb  # noqa: E402
from tests.support import run_crawl, write_seeds  # noqa: E402
from tests.synthetic_web import off_topic, on_topic, write_news_site  # noqa: E402

BREADTH_FIRST = (
    "-s", "SILKROAD_FOCUSED_CRAWL=False",
    "-s", "DEPTH_PRIORITY=1",
    "-s", "SCHEDULER_DISK_QUEUE=scrapy.squeues.PickleFifoDiskQueue",
    "-s", "SCHEDULER_MEMORY_QUEUE=scrapy.squeues.FifoMemoryQueue",
)


def build_web(root: Path, articles: int, share: float, sections: int) -> tuple[int, int]:
    relevant = max(1, round(articles * share))
    pages = ([on_topic(n) for n in range(relevant)]
             + [off_topic(n) for n in range(articles - relevant)])
    write_news_site(root / "site", pages, sections=sections)
    (root / "web.toml").write_text(
        '[[sites]]\nname = "wire"\ndir = "site"\naddress = "127.0.0.61"\n', "utf-8")
    (root / "sources.toml").write_text(
        '[[sources]]\nname = "Wire"\nurls = ["{{site:wire}}/"]\nlanguage = "en"\n', "utf-8")
    return relevant, articles - relevant


def harvest(seeds: Path, db: Path, budget: int, *extra: str) -> tuple[int, int]:
    result = run_crawl(seeds, f"sqlite:///{db}", "--max-pages", str(budget),
                       "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2", "-s", "CONCURRENT_REQUESTS=2",
                       *extra, timeout=600)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-2000:])
    with sqlite3.connect(db) as conn:
        archived = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        fetched = conn.execute("SELECT count(*) FROM pages WHERE last_outcome IS NULL OR "
                               "last_outcome NOT IN ('robots', 'redirect')").fetchone()[0]
    return archived, fetched


def measure(articles: int, share: float, budget: int, sections: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        relevant, _ = build_web(root, articles, share, sections)
        with LoopbackWeb.from_directory(root) as web:
            seeds = write_seeds(web, root / "sources.toml", root / "seeds.toml")
            focused = harvest(seeds, root / "focused.sqlite", budget)
            breadth = harvest(seeds, root / "breadth.sqlite", budget, *BREADTH_FIRST)
    return {
        "relevant": relevant,
        "focused_archived": focused[0], "focused_fetched": focused[1],
        "focused_rate": focused[0] / max(1, focused[1]),
        "breadth_archived": breadth[0], "breadth_fetched": breadth[1],
        "breadth_rate": breadth[0] / max(1, breadth[1]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--on-topic", type=float, default=0.12)
    parser.add_argument("--budget", type=int, default=80)
    parser.add_argument("--sections", type=int, default=10)
    args = parser.parse_args()
    figures = measure(args.articles, args.on_topic, args.budget, args.sections)
    print(f"web: {args.articles} articles, {figures['relevant']} on topic, "
          f"{args.sections} sections; budget {args.budget} pages")
    print(f"{'ordering':<14}{'archived':>10}{'pages':>8}{'harvest rate':>15}")
    for name in ("focused", "breadth"):
        print(f"{name:<14}{figures[name + '_archived']:>10}{figures[name + '_fetched']:>8}"
              f"{figures[name + '_rate']:>15.3f}")
    ratio = figures["focused_rate"] / max(figures["breadth_rate"], 1e-9)
    print(f"focused / breadth-first: {ratio:.2f}x")


if __name__ == "__main__":
    main()
