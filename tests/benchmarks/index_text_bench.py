"""What it costs to prepare articles for the full-text index, per 1,000 articles.

The index is fed Python-transformed text (``storage.search.fts_text``: Han runs as
bigrams, Traditional characters folded to Simplified); this times that transform
for both engines' inputs (``index_row``: SQLite's ``fts_text``, PostgreSQL's
``search_text``) and the transform plus the insert into an in-memory FTS5 table
with the archive's tokenizer, on ``search_bench``'s synthetic articles (~3 KB,
English, Chinese and Russian mixed) and on the same articles with their Chinese
written in Traditional characters (converted once, before timing, with OpenCC
s2t).

Usage (from the repo root):
    python tests/benchmarks/index_text_bench.py
    python tests/benchmarks/index_text_bench.py --articles 2000 --repeat 5
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from storage.search.index import FTS_TOKENIZER, index_row  # noqa: E402
from tests.benchmarks.search_bench import ArticleMaker  # noqa: E402

Article = tuple[int, str, str]


def articles(count: int, seed: int) -> list[Article]:
    maker = ArticleMaker(seed)
    maker.total = count
    made = [maker.article(n) for n in range(1, count + 1)]
    return [(n, str(a["title"]), str(a["text"])) for n, a in enumerate(made, 1)]


def traditional(batch: list[Article]) -> list[Article]:
    from opencc import OpenCC

    convert = OpenCC("s2t").convert
    return [(n, convert(title), convert(body)) for n, title, body in batch]


def best_ms(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.process_time()
        work()
        times.append(time.process_time() - started)
    return min(times) * 1000


def transform(batch: list[Article], postgres: bool) -> Callable[[], object]:
    return lambda: [index_row(n, title, body, postgres) for n, title, body in batch]


def transform_and_insert(batch: list[Article]) -> Callable[[], object]:
    def run() -> None:
        db = sqlite3.connect(":memory:")
        db.execute(f"CREATE VIRTUAL TABLE f USING fts5(title, body, content='', "
                   f"tokenize='{FTS_TOKENIZER}')")
        db.executemany("INSERT INTO f(rowid, title, body) VALUES (:id, :title, :body)",
                       [index_row(n, title, body) for n, title, body in batch])
        db.close()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the best counts")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    mixed = articles(args.articles, args.seed)
    corpora = {"mixed (35% Simplified zh)": mixed, "same, zh in Traditional": traditional(mixed)}
    per = 1000 / args.articles
    print(f"{args.articles:,} articles, best of {args.repeat}; CPU ms per 1,000 articles")
    print(f"{'corpus':28} {'fts_text':>9} {'search_text':>12} {'fts_text+FTS5 insert':>21}")
    for name, batch in corpora.items():
        sqlite_ms = best_ms(transform(batch, False), args.repeat) * per
        pg_ms = best_ms(transform(batch, True), args.repeat) * per
        insert_ms = best_ms(transform_and_insert(batch), args.repeat) * per
        print(f"{name:28} {sqlite_ms:9.0f} {pg_ms:12.0f} {insert_ms:21.0f}")


if __name__ == "__main__":
    main()
