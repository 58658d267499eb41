"""What extraction alone can do on this machine: the ceiling a crawl is measured against.

Workers read the page files themselves, so only a path crosses the process
boundary and the figure is extraction and nothing else. Pools are started
and warmed before the clock starts, as the crawl's pool is before its first
request.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import trafilatura

from crawler.analysis.page_analysis import analyse_page

HTML_TYPE = "text/html; charset=utf-8"


@dataclass(frozen=True)
class PageJob:
    file: str
    url: str


def bare_trafilatura(job: PageJob) -> float:
    """The issue's reference call (trafilatura's JSON output with metadata); its CPU time."""
    started = time.process_time()
    html = Path(job.file).read_bytes().decode("utf-8", errors="replace")
    trafilatura.extract(html, output_format="json", with_metadata=True)
    return time.process_time() - started


def product_analysis(job: PageJob) -> float:
    """What a crawl's worker does per page (decode, extract, score, hash, pack); its CPU time."""
    started = time.process_time()
    analyse_page(Path(job.file).read_bytes(), job.url, HTML_TYPE, pack=True)
    return time.process_time() - started


def product_prefiltered(job: PageJob) -> float:
    """The same as a crawl ships it: pages that cannot be on topic are not extracted."""
    started = time.process_time()
    analyse_page(Path(job.file).read_bytes(), job.url, HTML_TYPE, pack=True, prefilter=True)
    return time.process_time() - started


def reference_text(job: PageJob) -> str:
    """The article-extraction-benchmark's own trafilatura call (its run_trafilatura.py)."""
    html = Path(job.file).read_bytes().decode("utf-8", errors="replace")
    return trafilatura.extract(html, include_comments=False) or ""


def product_text(job: PageJob) -> str:
    """Our extractor straight on the page file: no server, no crawl, no storage."""
    analysis = analyse_page(Path(job.file).read_bytes(), job.url, HTML_TYPE)
    return analysis.article.text if analysis.article else ""


def _warm(delay: float) -> None:
    time.sleep(delay)


def worker_pool(processes: int) -> ProcessPoolExecutor:
    """Started like the crawl's pool: fork server with the heavy imports preloaded."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["trafilatura", "crawler.analysis.page_analysis"])
    pool = ProcessPoolExecutor(max_workers=processes, mp_context=context)
    for future in [pool.submit(_warm, 0.3) for _ in range(processes)]:
        future.result()
    return pool


@dataclass(frozen=True)
class Rate:
    docs_per_second: float
    cpu_per_doc: float  # seconds of worker CPU


def docs_per_second(pool: Executor, work: Callable[[PageJob], float],
                    jobs: Sequence[PageJob], processes: int) -> Rate:
    list(pool.map(work, jobs[:processes]))  # first call in each worker: caches, lazy imports
    started = time.perf_counter()
    cpu = sum(pool.map(work, jobs, chunksize=1))
    return Rate(len(jobs) / (time.perf_counter() - started), cpu / len(jobs))


def measure_rate(work: Callable[[PageJob], float], jobs: Sequence[PageJob],
                 processes: int) -> Rate:
    with worker_pool(processes) as pool:
        return docs_per_second(pool, work, jobs, processes)
