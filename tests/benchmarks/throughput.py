"""Throughput benchmark: how close a crawl comes to what extraction alone allows.

Measures, in one run and with the same number of worker processes:

(a) ceiling: bare trafilatura over the corpus pages (the issue's reference
    call, JSON with metadata) in 1 and N processes, docs/s; next to it, the
    product's own per-page work (``analyse_page``: decode, extract, score, hash);
(b) end to end: the corpus served on loopback (one host per original site,
    an index page linking its articles), crawled by ``silkroad crawl`` into a
    fresh SQLite file: pages/s, CPU, peak RSS/PSS of the whole process tree,
    and the ratio to (a); as shipped, and with the topic prefilter off, so
    that every page is extracted as in (a) (the corpus is off topic, and the
    prefilter skips most of it);
(c) the peer: trafilatura's CLI over the same served URLs, and our ratio to it,
    like for like (its sleep and our politeness delays off) and as shipped
    (each tool with its own politeness defaults);
(d) scale: a synthetic web (default 20,000 pages; en/zh/ru, on- and off-topic,
    syndicated copies and near-copies) crawled from its home pages: pages/s
    per 1,000-page window and RSS over time;
(e) quality through the pipeline: article-body F1 (the article-extraction-
    benchmark's shingle F1) of the text the crawl kept, next to trafilatura
    alone and our extractor run directly on the page files.

Throughput figures exclude start-up on every side: the crawl's come from its
run record (written once the worker pool is warm, closed after the last
batch is stored), the ceiling's pools are warm before the clock starts, and
the CLI's start-up (the same command over an empty list) is subtracted. Wall
clock figures, start-up included, are printed next to them.

Usage (from the repo root; not part of the pytest run):
    python tests/benchmarks/throughput.py --corpus ../shared/corpus/article-extraction-benchmark
    python tests/benchmarks/throughput.py                 # synthetic corpus, 20,000-page scale web
    python tests/benchmarks/throughput.py --scale-pages 0 --repeat 1   # quick look
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import scrapy  # noqa: E402
import trafilatura  # noqa: E402

from tests.benchmarks import article_f1  # noqa: E402
from tests.benchmarks.crawl_run import CrawlMeasurement, run_crawl  # noqa: E402
from tests.benchmarks.extraction_ceiling import (  # noqa: E402
    PageJob,
    Rate,
    bare_trafilatura,
    measure_rate,
    product_analysis,
    product_prefiltered,
    product_text,
    reference_text,
    worker_pool,
)
from tests.benchmarks.pipeline_quality import pipeline_texts, stored_docs  # noqa: E402
from tests.benchmarks.served_corpus import (  # noqa: E402
    CorpusDoc,
    lay_out,
    load_benchmark_corpus,
    seeds_toml,
)
from tests.benchmarks.static_web import StaticWebProcess, write_routes  # noqa: E402
from tests.benchmarks.synthetic_web import ScaleWeb, build_scale_web, synthetic_corpus  # noqa: E402
from tests.benchmarks.throughput_report import (  # noqa: E402
    CorpusResults,
    corpus_report,
    scale_report,
    verdicts,
)
from tests.benchmarks.trafilatura_cli import CliMeasurement, run_cli  # noqa: E402

# The focused order fetches pages that promise to be on topic first, and those cost
# more to store; in focused order the windows would compare page kinds, not the archive
# at different sizes. Breadth of the crawl is unlimited: the web is finite.
SCALE_SETTINGS = {"SILKROAD_FOCUSED_CRAWL": "False"}
# The crawl with its prefilter off extracts every page, as (a) does: what is left between
# the two is the plumbing alone (on this off-topic corpus the prefilter skips most pages).
EVERY_PAGE_EXTRACTED = {"SILKROAD_TOPIC_PREFILTER": "False"}


def load_avg() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def corpus_phase(docs: list[CorpusDoc], workdir: Path, processes: int, repeat: int,
                 settings: dict[str, str], log: Callable[[str], None]) -> CorpusResults:
    laid = lay_out(docs, workdir / "corpus")
    routes = write_routes(laid.routes, workdir / "corpus-routes.json")
    ceiling: dict[tuple[str, int], Rate] = {}
    crawls: list[CrawlMeasurement] = []
    shipped: list[CrawlMeasurement] = []
    unfiltered: list[CrawlMeasurement] = []
    cli: list[CliMeasurement] = []
    with StaticWebProcess(routes) as web:
        assert web.port is not None
        urls = {laid.url(doc.doc_id, web.port): doc.doc_id for doc in docs}
        seeds = workdir / "corpus-seeds.toml"
        seeds.write_text(seeds_toml(laid.sites, web.port), encoding="utf-8")
        urls_file = workdir / "corpus-urls.txt"
        urls_file.write_text("\n".join(urls) + "\n", encoding="utf-8")
        jobs = [PageJob(str(laid.files[doc_id]), url) for url, doc_id in urls.items()]
        counts = sorted({1, processes})
        for round_ in range(repeat):  # interleaved, so a busy spell hits every measure alike
            log(f"round {round_ + 1}/{repeat}: (a) ceiling ... load {load_avg()}")
            for n in counts:
                for name, work in (("bare", bare_trafilatura), ("ours", product_analysis),
                                   ("prefiltered", product_prefiltered)):
                    rate = measure_rate(work, jobs, n)
                    if (name, n) not in ceiling or (
                            rate.docs_per_second > ceiling[(name, n)].docs_per_second):
                        ceiling[(name, n)] = rate
            log(f"round {round_ + 1}/{repeat}: (b) silkroad crawl ... load {load_avg()}")
            crawls.append(run_crawl(seeds, workdir / f"corpus-{round_}.sqlite",
                                    processes=processes, depth=1, settings=settings,
                                    log_file=workdir / f"corpus-crawl-{round_}.log"))
            log(f"round {round_ + 1}/{repeat}: (b) every page extracted (prefilter off) ... "
                f"load {load_avg()}")
            unfiltered.append(run_crawl(seeds, workdir / f"corpus-unfiltered-{round_}.sqlite",
                                        processes=processes, depth=1,
                                        settings={**settings, **EVERY_PAGE_EXTRACTED},
                                        log_file=workdir / f"corpus-unfiltered-{round_}.log"))
            log(f"round {round_ + 1}/{repeat}: (b) as shipped (politeness on) ... "
                f"load {load_avg()}")
            shipped.append(run_crawl(seeds, workdir / f"corpus-shipped-{round_}.sqlite",
                                     processes=processes, depth=1, settings=settings,
                                     log_file=workdir / f"corpus-shipped-{round_}.log",
                                     politeness=True))
            log(f"round {round_ + 1}/{repeat}: (c) trafilatura CLI, no sleep and as shipped ... "
                f"load {load_avg()}")
            cli.append(run_cli(urls_file, workdir, sleep=False))
            cli.append(run_cli(urls_file, workdir, sleep=True))
        log("(e) quality: trafilatura alone, our extractor, the crawl's stored text ...")
        truth = {doc.doc_id: doc.truth or "" for doc in docs}
        ids = list(urls.values())
        corpus_pages = [len(stored_docs(c.db_path, urls)) for c in crawls]
        shipped_pages = [len(stored_docs(c.db_path, urls)) for c in shipped]
        unfiltered_pages = [len(stored_docs(c.db_path, urls)) for c in unfiltered]
        best = max(range(len(crawls)), key=lambda i: corpus_pages[i] / crawls[i].span)
        with worker_pool(processes) as pool:
            reference = dict(zip(ids, pool.map(reference_text, jobs, chunksize=4), strict=True))
            direct = dict(zip(ids, pool.map(product_text, jobs, chunksize=4), strict=True))
            kept = pipeline_texts(crawls[best].db_path, urls, laid.files, pool)
    scores = {
        "trafilatura alone (benchmark's call)": article_f1.score(truth, reference),
        "our extractor on the page files": article_f1.score(truth, direct),
        "through the pipeline (stored)": article_f1.score(
            truth, {k: v.text for k, v in kept.items()}),
    }
    checked = [v for v in kept.values() if v.replay_matches is not None]
    origins: dict[str, int] = {}
    for value in kept.values():
        origins[value.origin] = origins.get(value.origin, 0) + 1
    return CorpusResults(
        docs=len(docs), hosts=len(laid.sites), ceiling=ceiling, crawls=crawls, shipped=shipped,
        corpus_pages=corpus_pages, shipped_pages=shipped_pages, unfiltered=unfiltered,
        unfiltered_pages=unfiltered_pages, cli=cli, f1=scores,
        intact=sum(v.bytes_intact for v in kept.values()),
        replay_checked=len(checked), replay_matched=sum(bool(v.replay_matches) for v in checked),
        origins=origins,
    )


def scale_phase(workdir: Path, pages: int, processes: int, settings: dict[str, str],
                log: Callable[[str], None]) -> tuple[ScaleWeb, CrawlMeasurement]:
    log(f"(d) generating a {pages:,}-page synthetic web ...")
    started = time.perf_counter()
    web_spec = build_scale_web(workdir / "scale", pages)
    log(f"    {web_spec.pages:,} pages on {len(web_spec.sites)} sites in "
        f"{time.perf_counter() - started:.0f} s; crawling ... load {load_avg()}")
    routes = write_routes(web_spec.routes, workdir / "scale-routes.json")
    with StaticWebProcess(routes) as web:
        assert web.port is not None
        seeds = workdir / "scale-seeds.toml"
        seeds.write_text(seeds_toml(web_spec.sites, web.port), encoding="utf-8")
        crawl = run_crawl(seeds, workdir / "scale.sqlite", processes=processes, depth=0,
                          settings={**SCALE_SETTINGS, **settings},
                          log_file=workdir / "scale-crawl.log", interval=0.5)
    return web_spec, crawl


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, help="article-extraction-benchmark folder "
                        "(html/*.html.gz + ground-truth.json); default: a synthetic corpus")
    parser.add_argument("--synthetic-pages", type=int, default=180,
                        help="size of the synthetic corpus when --corpus is not given")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                        help="extraction processes for (a) and (b) (default: CPUs)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds of (a), (b), (c); the best round counts (default 3)")
    parser.add_argument("--scale-pages", type=int, default=20_000,
                        help="pages of the synthetic web for (d); 0 skips it")
    parser.add_argument("--workdir", type=Path, help="keep files here (default: a temp dir)")
    parser.add_argument("-s", "--set", dest="settings", action="append", default=[],
                        metavar="NAME=VALUE", help="extra Scrapy setting for every crawl")
    args = parser.parse_args(argv)
    if any("=" not in pair for pair in args.settings):
        parser.error("-s wants NAME=VALUE")
    args.settings = dict(pair.split("=", 1) for pair in args.settings)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="silkroad-throughput-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {message}", file=sys.stderr, flush=True)

    print(f"Silkroad throughput benchmark: {platform.python_implementation()} "
          f"{platform.python_version()}, scrapy {scrapy.__version__}, trafilatura "
          f"{trafilatura.__version__}, {os.cpu_count()} CPUs, load {load_avg()} at start")
    if args.settings:
        print(f"Extra crawl settings: {args.settings}")
    if args.corpus:
        docs = load_benchmark_corpus(args.corpus)
        print(f"Corpus: {args.corpus} ({len(docs)} pages)")
    else:
        docs = synthetic_corpus(args.synthetic_pages)
        print(f"Corpus: synthetic, {len(docs)} article pages (en/zh/ru, with page chrome)")
    try:
        results = corpus_phase(docs, workdir, args.processes, args.repeat, args.settings, log)
        corpus_text, corpus_figures = corpus_report(results, args.processes)
        print(corpus_text, flush=True)
        scale_figures = None
        if args.scale_pages:
            web_spec, crawl = scale_phase(workdir, args.scale_pages, args.processes,
                                          args.settings, log)
            scale_text, scale_figures = scale_report(web_spec, crawl)
            print(scale_text)
        print(verdicts(corpus_figures, scale_figures))
        print(f"\nload {load_avg()} at the end; {time.perf_counter() - started:.0f} s in all; "
              f"files in {workdir}" if args.workdir else
              f"\nload {load_avg()} at the end; {time.perf_counter() - started:.0f} s in all")
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
