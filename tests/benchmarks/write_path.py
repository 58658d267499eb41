"""The archive writer's cost per page: ``record_fetch`` in batches, as the writer thread
calls it, without Scrapy, extraction or HTTP.

Four kinds of page, timed apart (microseconds a page, the best of ``--repeat`` rounds,
each round into a fresh archive; CPU time of this process, which a loaded machine
disturbs less than the wall clock, and wall time):

* ``first``: a page's first fetch without an article (most pages of a crawl);
* ``article``: a new article (indexed, signed, banded, sighted);
* ``syndicated``: the same text at another URL (a duplicate: one more sighting);
* ``revisit``: the same bytes fetched again (no snapshot, sightings refreshed).

Usage (from the repo root):
    python -m tests.benchmarks.write_path --pages 2000
    python -m tests.benchmarks.write_path --db postgresql://silkroad@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from crawler.analysis.fingerprint import content_hash
from crawler.analysis.near_duplicates import signature
from crawler.analysis.page_analysis import ArticleRecord
from crawler.analysis.snapshot_body import pack_body
from storage.archive import FetchRecord, SourceCache, record_fetch
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.search.index import PG_TABLE

BATCH = 50
WORDS = ("Khorgos rail freight China Kazakhstan corridor Caspian ferry Almaty Urumqi grain "
         "terminal pipeline Tashkent customs tariff container wagon logistics Astana").split()
START = datetime(2026, 1, 1)


@dataclass(frozen=True)
class Page:
    fetch: FetchRecord
    article: ArticleRecord | None
    outcome: str


def _text(rng: random.Random) -> str:
    return " ".join(" ".join(rng.choice(WORDS) for _ in range(14)) + "." for _ in range(25))


def _page(url: str, body: bytes, when: datetime, source: str) -> FetchRecord:
    return FetchRecord(page_url=url, url=url, final_url=url, status=200,
                       headers={"Content-Type": ["text/html"]}, body=body, fetched_at=when,
                       source=source, discovered_via="bench", packed=pack_body(body))


def workload(pages: int, seed: int = 7) -> dict[str, list[Page]]:
    """The pages of each kind, built (and packed and signed) before any timing."""
    rng = random.Random(seed)
    kinds: dict[str, list[Page]] = {"first": [], "article": [], "syndicated": []}
    for n in range(pages):
        body = f"<html><body><p>{_text(rng)}</p><p>{n}</p></body></html>".encode()
        kinds["first"].append(Page(_page(f"http://site{n % 7}.test/list/{n}", body,
                                         START, f"Source {n % 7}"), None, "no_article"))
    for n in range(pages):
        text = _text(rng) + f" Story {n}."
        record = ArticleRecord(content_hash=content_hash(text), text=text, relevance=0.8,
                               title=f"Story {n}", language="en", published="2026-01-01",
                               countries=("CN", "KZ"), themes=("transport",),
                               minhash=signature(text))
        body = f"<html><body><article>{text}</article></body></html>".encode()
        kinds["article"].append(Page(_page(f"http://site{n % 7}.test/news/{n}", body, START,
                                           f"Source {n % 7}"), record, "article"))
        kinds["syndicated"].append(Page(_page(f"http://mirror{n % 3}.test/copy/{n}",
                                              body + b"<!-- mirror -->", START,
                                              f"Mirror {n % 3}"), record, "article"))
    later = START + timedelta(days=1)
    kinds["revisit"] = [Page(FetchRecord(**{**page.fetch.__dict__, "fetched_at": later}),
                             page.article, page.outcome) for page in kinds["article"]]
    return kinds


def _write(engine: Engine, pages: list[Page], sources: SourceCache) -> tuple[float, float]:
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(pages), BATCH):
        with Session(engine) as session, session.begin():
            for page in pages[start:start + BATCH]:
                record_fetch(session, page.fetch, page.article, run_id=None,
                             outcome=page.outcome, sources=sources)
    return time.process_time() - cpu, time.perf_counter() - started


def _fresh(db: str | None, workdir: Path, round_no: int) -> Engine:
    engine = make_engine(db or f"sqlite:///{workdir / f'bench{round_no}.sqlite'}")
    if db is not None:  # a PostgreSQL database given: empty it
        with engine.begin() as conn:
            conn.exec_driver_sql(
                f"DROP TABLE IF EXISTS {PG_TABLE}, article_bands, sightings, fetches, "
                "frontier, articles, pages, snapshots, sources, crawl_runs, "
                "apscheduler_jobs, alembic_version CASCADE")
    upgrade(engine)
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000, help="pages of each kind")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best one counts")
    parser.add_argument("--db", help="a PostgreSQL database to use (emptied!); "
                                     "default: a fresh SQLite file a round")
    args = parser.parse_args()
    kinds = workload(args.pages)
    best: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(args.repeat):
            engine = _fresh(args.db, Path(tmp), round_no)
            sources = SourceCache()
            for kind in ("first", "article", "syndicated", "revisit"):
                cpu, wall = _write(engine, kinds[kind], sources)
                old_cpu, old_wall = best.get(kind, (cpu, wall))
                best[kind] = (min(cpu, old_cpu), min(wall, old_wall))
            engine.dispose()
    print(f"{'':<11} {'cpu':>8} {'wall':>8}  (us/page)")
    for kind, (cpu, wall) in best.items():
        print(f"{kind:<11} {cpu / args.pages * 1e6:8.0f} {wall / args.pages * 1e6:8.0f}")


if __name__ == "__main__":
    main()
