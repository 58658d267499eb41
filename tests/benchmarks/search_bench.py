"""Search, index-size and export benchmark on a synthetic archive.

Builds N articles (~3 KB of UTF-8 each; English, Chinese and Russian mixed,
Zipf-distributed vocabularies with topical words such as pipeline, 铁路,
газопровод), indexes them through ``storage.search.index``, then reports:

* search latency p50 / p95 of ``search_articles`` (limit 20, snippets
  included) for one-term, two-term and phrase queries, with and without filters;
* the index size against the raw text size: on SQLite the FTS tables
  (``dbstat``), as built and after an FTS ``optimize``; on PostgreSQL
  ``pg_total_relation_size`` of ``article_search`` (table, TOAST and GIN index),
  after the build's ``VACUUM ANALYZE``;
* export throughput and peak RSS of ``python -m crawler export`` over ~10% and
  100% of the archive (memory should not grow with the archive).

``--db`` takes an SQLite path or URL, or a ``postgresql://`` URL of an empty
database (which is left filled; ``--reuse`` measures it again).

Usage (from the repo root):
    python tests/benchmarks/search_bench.py --articles 100000
    python tests/benchmarks/search_bench.py --articles 20000 --db /tmp/bench.sqlite --keep
    python tests/benchmarks/search_bench.py --articles 100000 --db postgresql://u@host/bench
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from storage.engine import is_postgres, make_engine, parse_db_url  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.records import ArticleFilter  # noqa: E402
from storage.search.index import index_rows  # noqa: E402
from storage.search.query import parse_query  # noqa: E402
from storage.search.ranked import ranked_ids_query, search_articles  # noqa: E402

TARGET_BYTES = 3000
BATCH = 2000
COUNTRIES = ("KZ", "KG", "TJ", "TM", "UZ")
THEMES = ("energy", "transport", "trade", "diplomacy", "finance", "culture", "security")
SOURCES = ("Steppe Wire", "Caravan Daily", "Oxus Review", "丝路观察", "新疆日报网", "亚欧新闻",
           "Степь Новости", "Евразия Сегодня", "Central Asia Monitor", "中亚财经", "Голос Азии",
           "Pamir Post")
FIRST_DAY = date(2016, 1, 1)
DAYS = 3650

EN_COMMON = ("the of and to in a is that for on with as by at from it was be are this has "
             "have which an said its will were their not but also more been new after "
             "between over two year would other last first into government officials "
             "minister country countries region regional president state states week "
             "agreement project projects plan cooperation talks meeting development").split()
EN_TOPIC = {
    "energy": "gas pipeline pipelines oil field fields energy supply exports line Galkynysh "
              "power hydropower grid uranium".split(),
    "transport": "railway railways rail freight train trains corridor route container "
                 "Khorgos port logistics transit road".split(),
    "trade": "trade exports imports tariff market customs goods billion growth investment "
             "border".split(),
    "diplomacy": "summit leaders visit Astana Beijing Xi Tokayev Mirziyoyev declaration "
                 "partnership strategic".split(),
    "finance": "loan loans bank banks credit debt yuan financing bonds".split(),
    "culture": "students university culture festival language exchange tourism".split(),
    "security": "security border terrorism military exercise drills police".split(),
}
ZH_COMMON = ("的 了 和 在 是 与 对 将 为 也 等 中国 合作 发展 国家 地区 表示 进行 项目 建设 "
             "经济 我们 双方 推动 加强 领域 重要 今年 已经 不断 相关 方面 进一步 全面").split()
ZH_TOPIC = {
    "energy": "天然气 管道 天然气管道 能源 石油 电力 水电站 铀矿 输气 气田".split(),
    "transport": "铁路 中吉乌铁路 中欧班列 货运 口岸 霍尔果斯 物流 公路 过境 运输".split(),
    "trade": "贸易 出口 进口 关税 市场 海关 商品 投资 增长 亿美元".split(),
    "diplomacy": "中亚 峰会 元首 会晤 阿斯塔纳 宣言 伙伴关系 战略 中国—中亚 访问".split(),
    "finance": "贷款 银行 信贷 债务 人民币 融资 债券 亚投行".split(),
    "culture": "留学生 大学 文化 艺术节 语言 交流 旅游 鲁班工坊".split(),
    "security": "安全 边境 反恐 军事 演习 警务 上合组织".split(),
}
RU_COMMON = ("и в на с по что не для из о к как его это был также года было которые при "
             "между после страны стран регион президент министр соглашение проект "
             "сотрудничество развитие правительство встреча заявил").split()
RU_TOPIC = {
    "energy": "газ газопровод газопровода нефть месторождение энергетика поставки нитка "
              "электроэнергия ГЭС уран".split(),
    "transport": "железная дорога железной дороги поезд поезда грузов маршрут контейнерный "
                 "Хоргос транзит логистика".split(),
    "trade": "торговля экспорт импорт пошлины рынок таможня товаров инвестиции рост "
             "миллиардов".split(),
    "diplomacy": "саммит лидеры визит Астана Пекин Токаев Мирзиёев декларация партнерство "
                 "стратегическое".split(),
    "finance": "кредит кредиты банк банки долг юань финансирование облигации".split(),
    "culture": "студенты университет культура фестиваль язык обмен туризм".split(),
    "security": "безопасность граница терроризм учения полиция ШОС".split(),
}
CJK_POOL = [chr(c) for c in range(0x4E00, 0x4E00 + 2500)]
CYRILLIC_SYLLABLES = [c + v for c in "бвгджзклмнпрстфхцчшщ" for v in "аеиоуыяю"]
LATIN_SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"]


@dataclass(frozen=True)
class Language:
    code: str
    common: list[str]
    topics: dict[str, list[str]]
    tail: list[str]
    joiner: str
    stop: str
    share: float


def zipf_weights(n: int, exponent: float = 1.07) -> list[float]:
    total, cumulative = 0.0, []
    for rank in range(1, n + 1):
        total += 1 / rank ** exponent
        cumulative.append(total)
    return cumulative


def pseudo_words(rng: random.Random, syllables: list[str], count: int, low: int,
                 high: int) -> list[str]:
    words = {"".join(rng.choices(syllables, k=rng.randint(low, high))) for _ in range(count)}
    return sorted(words)


def languages(rng: random.Random) -> list[Language]:
    return [
        Language("en", EN_COMMON, EN_TOPIC, pseudo_words(rng, LATIN_SYLLABLES, 40_000, 2, 4),
                 " ", ". ", 0.40),
        Language("zh", ZH_COMMON, ZH_TOPIC, pseudo_words(rng, CJK_POOL, 40_000, 1, 3),
                 "", "。", 0.35),
        Language("ru", RU_COMMON, RU_TOPIC, pseudo_words(rng, CYRILLIC_SYLLABLES, 40_000, 2, 4),
                 " ", ". ", 0.25),
    ]


class ArticleMaker:
    """Deterministic synthetic articles; a topic's words are frequent in its articles."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.languages = languages(self.rng)
        self.shares = [lang.share for lang in self.languages]
        self.vocab = {lang.code: lang.common + lang.tail for lang in self.languages}
        self.weights = {code: zipf_weights(len(words)) for code, words in self.vocab.items()}

    def sentence(self, lang: Language, topic_words: list[str]) -> str:
        rng = self.rng
        words = rng.choices(self.vocab[lang.code], cum_weights=self.weights[lang.code],
                            k=rng.randint(8, 18))
        for _ in range(rng.randint(1, 3)):
            words.insert(rng.randrange(len(words)), rng.choice(topic_words))
        if lang.code == "zh":
            return "".join(words) + "，" + "".join(rng.choices(self.vocab["zh"], k=4)) + lang.stop
        return lang.joiner.join(words).capitalize() + lang.stop

    def article(self, number: int) -> dict[str, object]:
        rng = self.rng
        lang = rng.choices(self.languages, weights=self.shares)[0]
        themes = rng.sample(THEMES, rng.randint(1, 2))
        topic_words = [w for theme in themes for w in lang.topics[theme]]
        parts, size = [], 0
        while size < TARGET_BYTES:
            sentence = self.sentence(lang, topic_words)
            parts.append(sentence)
            size += len(sentence.encode())
        body = ("" if lang.code == "zh" else " ").join(parts)
        title = self.sentence(lang, topic_words)[:80]
        day = FIRST_DAY + timedelta(days=number * DAYS // max(self.total, 1))
        return {
            "title": title, "text": body, "language": lang.code, "themes": themes,
            "countries": ["CN", *rng.sample(COUNTRIES, rng.randint(1, 3))],
            "source": rng.randrange(len(SOURCES)) + 1, "published": day.isoformat(),
        }

    total = 1


def build(db_url: str, count: int, seed: int) -> tuple[int, float]:
    """Fill the archive; returns (raw text bytes, seconds)."""
    engine = make_engine(db_url)
    upgrade(engine)
    maker = ArticleMaker(seed)
    maker.total = count
    started, text_bytes = time.perf_counter(), 0
    now = datetime(2026, 1, 1)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (id, name, created_at) VALUES (:id, :name, :t)"),
                     [{"id": i + 1, "name": name, "t": now} for i, name in enumerate(SOURCES)])
    for first in range(1, count + 1, BATCH):
        numbers = range(first, min(first + BATCH, count + 1))
        articles = [maker.article(n) for n in numbers]
        text_bytes += sum(len(a["title"].encode()) + len(a["text"].encode())  # type: ignore[union-attr]
                          for a in articles)
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO pages (id, url, source_id, first_seen_at, last_fetched_at, "
                "last_status) VALUES (:id, :url, :source, :t, :t, 200)"),
                [{"id": n, "url": f"https://news{a['source']}.example/{n}", "source": a["source"],
                  "t": now} for n, a in zip(numbers, articles, strict=True)])
            conn.execute(text(
                "INSERT INTO articles (id, content_hash, url, title, published, language, text, "
                "source_id, page_id, relevance, countries, themes, first_seen_at, last_seen_at) "
                "VALUES (:id, :hash, :url, :title, :published, :language, :text, :source, :id, "
                "0.7, :countries, :themes, :t, :t)"),
                [{"id": n, "hash": f"{n:064x}", "url": f"https://news{a['source']}.example/{n}",
                  "title": a["title"], "published": a["published"], "language": a["language"],
                  "text": a["text"], "source": a["source"], "countries": json.dumps(a["countries"]),
                  "themes": json.dumps(a["themes"]), "t": now}
                 for n, a in zip(numbers, articles, strict=True)])
            conn.execute(text(
                "INSERT INTO sightings (article_id, page_id, url, first_seen_at, last_seen_at, "
                "times_seen) VALUES (:id, :id, :url, :t, :t, 1)"),
                [{"id": n, "url": f"https://news{a['source']}.example/{n}", "t": now}
                 for n, a in zip(numbers, articles, strict=True)])
            index_rows(conn, [(n, a["title"], a["text"])  # type: ignore[misc]
                              for n, a in zip(numbers, articles, strict=True)])
        print(f"\r  built {numbers[-1]:,} / {count:,}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    if engine.dialect.name == "postgresql":  # what autovacuum does to a live archive
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return text_bytes, time.perf_counter() - started


QUERIES = {
    "1 term": ["pipeline", "铁路", "газопровод", "Khorgos", "中亚"],
    "2 terms": ["gas pipeline", "中亚 铁路", "газопровод нефть", "railway freight",
                "天然气 管道"],
    "phrase": ['"gas pipeline"', '"中吉乌铁路"', '"железная дорога"', '"container train"',
               '"中欧班列"'],
}
FILTERS = {
    "no filter": lambda query: ArticleFilter(),
    "--country TM": lambda query: ArticleFilter(country="TM"),
    "--lang L --since": lambda query: ArticleFilter(language=query_language(query),
                                                    since=date(2022, 1, 1)),
}


def query_language(query: str) -> str:
    if any("\u4e00" <= ch <= "\u9fff" for ch in query):
        return "zh"
    return "ru" if any("\u0400" <= ch <= "\u04ff" for ch in query) else "en"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def measure_search(db_url: str, repeat: int) -> list[tuple[object, ...]]:
    """Per (query kind, filter): wall p50/p95, CPU p95, and p95 of the ranking SQL alone."""
    engine = make_engine(db_url, readonly=True)
    dialect = engine.dialect.name
    rows: list[tuple[object, ...]] = []
    with Session(engine) as session:
        for kind, queries in QUERIES.items():
            for label, make_filter in FILTERS.items():
                wall, cpu, sql, hits = [], [], [], 0
                for query in queries:
                    filters, parsed = make_filter(query), parse_query(query)
                    search_articles(session, parsed, filters)  # warm the page cache
                    for _ in range(repeat):
                        started, started_cpu = time.perf_counter(), time.process_time()
                        found = search_articles(session, parsed, filters)
                        wall.append((time.perf_counter() - started) * 1000)
                        cpu.append((time.process_time() - started_cpu) * 1000)
                        started = time.perf_counter()
                        session.execute(ranked_ids_query(parsed, filters, dialect).limit(20)).all()
                        sql.append((time.perf_counter() - started) * 1000)
                    hits += len(found)
                rows.append((kind, label, f"{statistics.median(wall):.1f}",
                             f"{percentile(wall, 0.95):.1f}", f"{percentile(cpu, 0.95):.1f}",
                             f"{percentile(sql, 0.95):.1f}", hits // len(queries)))
    engine.dispose()
    return rows


def pg_sizes(db_url: str) -> tuple[int, int, int]:
    """(article_search with TOAST and index, its GIN index alone, whole database) bytes."""
    engine = make_engine(db_url)
    with engine.connect() as conn:
        total, gin, database = conn.execute(text(
            "SELECT pg_total_relation_size('article_search'), "
            "pg_relation_size('ix_article_search_document'), "
            "pg_database_size(current_database())")).one()
    engine.dispose()
    return int(total), int(gin), int(database)


def index_sizes(path: Path, optimize: bool) -> tuple[int, int]:
    """(FTS index bytes, whole file bytes), optionally after merging all index segments."""
    db = sqlite3.connect(path, isolation_level=None)
    if optimize:
        db.execute("INSERT INTO articles_fts(articles_fts) VALUES ('optimize')")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    [(fts,)] = db.execute("SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'articles_fts%'")
    [(pages,)] = db.execute("PRAGMA page_count")
    [(page_size,)] = db.execute("PRAGMA page_size")
    db.close()
    return int(fts), int(pages) * int(page_size)


def run_export(db_url: str, until: str | None) -> tuple[int, float, float] | None:
    """(records, seconds, peak RSS MB) of one `silkroad export` child process; None
    when it fails."""
    args = [sys.executable, "-m", "crawler", "export", "--format", "jsonl", "--db", db_url]
    if until:
        args += ["--until", until]
    started = time.perf_counter()
    process = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    records = sum(1 for _ in process.stdout)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        print(f"export failed with status {process.returncode}", file=sys.stderr)
        return None
    return records, elapsed, usage.ru_maxrss / 1024


def table(title: str, header: tuple[str, ...], rows: Iterator[tuple[object, ...]] | list) -> None:
    cells = [tuple(str(c) for c in header)] + [tuple(str(c) for c in row) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print("  " + "  ".join(cell.rjust(w) if n and i >= 2 else cell.ljust(w)
                               for i, (cell, w) in enumerate(zip(row, widths, strict=True))))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000, help="archive size")
    parser.add_argument("--repeat", type=int, default=10, help="timed runs per query")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", help="build here (an SQLite path or URL, or a postgresql:// "
                                     "URL of an empty database) instead of a temporary file")
    parser.add_argument("--keep", action="store_true", help="keep the built archive")
    parser.add_argument("--reuse", action="store_true", help="--db already holds the archive")
    parser.add_argument("--no-export", action="store_true", help="skip the export runs")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="silkroad-bench-")
    parsed = parse_db_url(args.db or str(Path(folder) / "bench.sqlite"))
    postgres = is_postgres(parsed)
    path = None if postgres else Path(parsed.database or "")
    db_url = parsed.render_as_string(hide_password=False)
    print(f"archive: {parsed} ({args.articles:,} articles)", file=sys.stderr)
    if args.reuse:
        with make_engine(db_url).connect() as conn:
            text_bytes = int(conn.execute(text(
                "SELECT SUM(octet_length(title) + octet_length(text)) FROM articles" if postgres
                else "SELECT SUM(LENGTH(CAST(title AS BLOB)) + LENGTH(CAST(text AS BLOB))) "
                     "FROM articles")).scalar_one())
        build_seconds = float("nan")
    else:
        if path is not None and path.exists():
            raise SystemExit(f"{path} exists: remove it or pass --reuse")
        text_bytes, build_seconds = build(db_url, args.articles, args.seed)

    search_rows = measure_search(db_url, args.repeat)
    if postgres:
        index_built, gin, file_built = pg_sizes(db_url)
    else:
        assert path is not None
        index_built, file_built = index_sizes(path, optimize=False)
    cutoff = (FIRST_DAY + timedelta(days=DAYS // 10)).isoformat()
    exports = [] if args.no_export else [run_export(db_url, cutoff), run_export(db_url, None)]
    if not postgres:
        assert path is not None
        fts_optimized, _ = index_sizes(path, optimize=True)

    engine_name = "PostgreSQL" if postgres else f"SQLite {sqlite3.sqlite_version}"
    print(f"\nSynthetic archive: {args.articles:,} articles, {text_bytes / 1e6:,.1f} MB of text "
          f"(title + body, UTF-8), {'database' if postgres else 'file'} "
          f"{file_built / 1e6:,.1f} MB, built in {build_seconds:,.0f} s; {engine_name}")
    table("Search latency, search_articles(limit=20) with snippets, warm cache "
          f"({args.repeat} runs x {len(QUERIES['1 term'])} queries per row; "
          "SQL = the ranked, filtered id query alone)",
          ("query", "filters", "p50 ms", "p95 ms", "p95 CPU ms", "p95 SQL ms", "hits/query"),
          search_rows)
    if postgres:
        table("Full-text index size (article_search: table, TOAST and GIN index)",
              ("index", "", "MB", "x text"),
              [("pg_total_relation_size", "", f"{index_built / 1e6:,.1f}",
                f"{index_built / text_bytes:.2f}"),
               ("of which the GIN index", "", f"{gin / 1e6:,.1f}", f"{gin / text_bytes:.2f}")])
    else:
        table("Full-text index size", ("index", "", "MB", "x text"),
              [("as built", "", f"{index_built / 1e6:,.1f}", f"{index_built / text_bytes:.2f}"),
               ("after optimize", "", f"{fts_optimized / 1e6:,.1f}",
                f"{fts_optimized / text_bytes:.2f}")])
    if exports:
        table("Export (python -m crawler export --format jsonl > pipe)",
              ("scope", "", "articles", "seconds", "articles/s", "peak RSS MB"),
              [(name, "", "failed", "", "", "") if run is None else
               (name, "", f"{run[0]:,}", f"{run[1]:.1f}", f"{run[0] / run[1]:,.0f}",
                f"{run[2]:.0f}")
               for name, run in zip((f"--until {cutoff}", "all"), exports, strict=True)])
    if path is not None and not args.keep and not args.db:
        path.unlink()
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
