"""Scale-out benchmark: one synthetic web crawled by 1, 2, 4 ... N workers into one archive.

For each worker count and each backend (an SQLite file; a PostgreSQL database,
on a private cluster or a server given with --pg), a fresh archive is crawled
by ``silkroad crawl --workers N`` (``silkroad crawl`` alone where this checkout
has no --workers: then only N = 1 runs), and printed for each crawl:

- pages/s over the session's own span (first worker's run start, after its
  extraction pool is warm, to the last worker's finish: no start-up);
- start-up apart: seconds from the command's launch to the session's first fetch
  (processes started, Scrapy and trafilatura imported, the extraction pool warm);
- cores used: CPU seconds of the whole process tree (launcher, workers, their
  extraction processes) over that span, divided by it; for a local PostgreSQL
  server its processes' CPU too, apart;
- peak RSS of each crawl worker process and of each extraction process (the
  largest of each kind);
- the bare-trafilatura ceiling (``tests/benchmarks/extraction_ceiling.py``) with
  as many processes as the crawl has extraction processes, measured in the same
  run just before, on the same pages, and the crawl's ratio to it;
- the speed-up over 1 worker on the same backend, and that as a share of linear.

Other work on the machine moves every figure: --repeat R interleaves R rounds
and keeps each figure's best round (the crawl's and the ceiling's alike).

The topic prefilter is off by default, so that every page is extracted, as the
ceiling extracts every page (--prefilter measures the shipped setting). Figures
from the private cluster are without durability (fsync off), like its tests.

Usage (from the repo root; not part of the pytest run):
    python tests/benchmarks/scale_out.py                       # ~2.5 minutes on 2 cores
    python tests/benchmarks/scale_out.py --repeat 3            # the figures the README shows
    python tests/benchmarks/scale_out.py --workers 1,2,4,8,16 --pages 8000 \\
        --pg postgresql://admin@db.internal/postgres           # a 16-core machine
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from sqlalchemy import func, or_, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from storage.engine import make_engine  # noqa: E402
from storage.models import CrawlRun, Fetch  # noqa: E402
from tests import postgres_cluster  # noqa: E402
from tests.benchmarks.crawl_run import LOOPBACK_SETTINGS  # noqa: E402
from tests.benchmarks.extraction_ceiling import (  # noqa: E402
    PageJob,
    bare_trafilatura,
    measure_rate,
)
from tests.benchmarks.process_tree import (  # noqa: E402
    MB,
    ProcessPeak,
    ProcessTreeSampler,
    TreeSample,
)
from tests.benchmarks.served_corpus import seeds_toml  # noqa: E402
from tests.benchmarks.static_web import StaticWebProcess, write_routes  # noqa: E402
from tests.benchmarks.synthetic_web import ScaleWeb, build_scale_web  # noqa: E402

# Breadth first over the whole web (the focused order would bunch page kinds together).
CRAWL_SETTINGS = {**LOOPBACK_SETTINGS, "SILKROAD_FOCUSED_CRAWL": "False"}
PREFILTER_OFF = {"SILKROAD_TOPIC_PREFILTER": "False"}


@dataclass(frozen=True)
class Crawl:
    backend: str
    workers: int
    extraction_processes: int
    exit_code: int
    pages: int
    span: float  # seconds: first run start to last run finish
    wall: float  # seconds: the command, start-up included
    startup: float  # seconds: the command's launch to the session's first fetch
    cores: float
    db_cores: float | None  # a local PostgreSQL server's processes
    worker_rss: list[int]
    extraction_rss: list[int]
    ceiling: float  # bare trafilatura docs/s with extraction_processes processes

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.span if self.span > 0 else 0.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    cpus = os.cpu_count() or 1
    default_workers = [n for n in (1, 2, 4, 8, 16, 32, 64) if n <= max(2, cpus)]
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Example: python tests/benchmarks/scale_out.py --workers 1,2,4 --pages 2000 "
               "--backends postgresql --pg postgresql://me@localhost/postgres",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default=",".join(map(str, default_workers)),
                        help="worker counts, comma-separated (default: 1, 2, 4 ... up to "
                             "the CPUs, at least 1,2)")
    parser.add_argument("--extract-processes", type=int, default=1, metavar="E",
                        help="extraction processes per worker (default 1)")
    parser.add_argument("--pages", type=int, default=2000,
                        help="pages of the synthetic web (default 2000)")
    parser.add_argument("--pages-per-site", type=int, default=50,
                        help="pages per host (default 50): one host is one worker's at a "
                             "time, so the web needs many more hosts than workers")
    parser.add_argument("--ceiling-pages", type=int, default=300,
                        help="pages of the web the ceiling extracts (default 300)")
    parser.add_argument("--backends", default="sqlite,postgresql",
                        help="sqlite, postgresql or both (default both; postgresql is left "
                             "out where no server is given and none is installed)")
    parser.add_argument("--pg", metavar="ADMIN_URL",
                        help="PostgreSQL server for the crawls: a fresh database is made "
                             "on it for each (the role needs CREATEDB); default: a private "
                             "cluster (tests/postgres_cluster.py)")
    parser.add_argument("--prefilter", action="store_true",
                        help="keep the topic prefilter on, as shipped (default: off)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds, interleaved; each figure is its best round (default 1)")
    parser.add_argument("--workdir", type=Path, help="keep files here (default: a temp dir)")
    parser.add_argument("-s", "--set", dest="settings", action="append", default=[],
                        metavar="NAME=VALUE", help="extra Scrapy setting for every crawl")
    args = parser.parse_args(argv)
    try:
        args.workers = sorted({int(n) for n in args.workers.split(",") if n.strip()})
    except ValueError:
        parser.error("--workers wants numbers: 1,2,4")
    if not args.workers or min(args.workers) < 1:
        parser.error("--workers wants counts of 1 or more")
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not set(args.backends) <= {"sqlite", "postgresql"}:
        parser.error("--backends: sqlite, postgresql")
    if any("=" not in pair for pair in args.settings):
        parser.error("-s wants NAME=VALUE")
    args.settings = dict(pair.split("=", 1) for pair in args.settings)
    return args


def has_workers_flag() -> bool:
    """Whether this checkout's `silkroad crawl` takes --workers."""
    shown = subprocess.run([sys.executable, "-m", "crawler", "crawl", "--help"], cwd=REPO,
                           capture_output=True, text=True, timeout=120)
    return "--workers" in shown.stdout


def crawl_command(seeds: Path, db_url: str, workers: int, use_flag: bool,
                  settings: dict[str, str]) -> list[str]:
    command = [sys.executable, "-m", "crawler", "crawl", "--seeds", str(seeds),
               "--db", db_url, "--depth", "0"]
    if use_flag:
        command += ["--workers", str(workers)]
    for name, value in settings.items():
        command += ["-s", f"{name}={value}"]
    return command


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def session_figures(db_url: str) -> tuple[int, float, float, float]:
    """(pages fetched, start, finish, first fetch) of the newest crawl session, over all
    its runs."""
    engine = make_engine(db_url, readonly=True)
    try:
        with Session(engine) as session:
            newest = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
            if newest is None:
                raise RuntimeError(f"the crawl left no run in {db_url}")
            key = newest.session_id or newest.id
            runs = session.scalars(select(CrawlRun).where(
                or_(CrawlRun.session_id == key, CrawlRun.id == key))).all()
            pages = session.scalar(select(func.count()).select_from(Fetch).where(
                Fetch.run_id.in_([run.id for run in runs]),
                ~Fetch.url.endswith("/robots.txt"))) or 0
            first_fetch = session.scalar(select(func.min(Fetch.fetched_at)).where(
                Fetch.run_id.in_([run.id for run in runs])))
    finally:
        engine.dispose()
    finished = [run.finished_at for run in runs if run.finished_at is not None]
    if not finished:
        raise RuntimeError(f"no run of the crawl finished in {db_url}")
    start = min(_epoch(run.started_at) for run in runs)
    return (pages, start, max(map(_epoch, finished)),
            _epoch(first_fetch) if first_fetch is not None else start)


def server_pid(db_url: str) -> int | None:
    """The postmaster of a PostgreSQL server on this machine (None elsewhere)."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            backend = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    finally:
        engine.dispose()
    try:
        raw = Path(f"/proc/{backend}/stat").read_text()
    except OSError:
        return None
    return int(raw[raw.rindex(")") + 2:].split()[1])


def cpu_between(samples: list[TreeSample], start: float, end: float) -> float:
    def at(moment: float) -> float:
        before = [s.cpu for s in samples if s.at <= moment]
        return before[-1] if before else 0.0
    return at(end) - at(start)


def classify(processes: list[ProcessPeak], root: int, launcher: bool
             ) -> tuple[list[int], list[int]]:
    """Peak RSS of the crawl workers and of the extraction processes."""
    workers, extraction = [], []
    for process in processes:
        if "resource_tracker" in process.command or (launcher and process.pid == root):
            continue
        if "multiprocessing.spawn" in process.command or "multiprocessing.forkserver" \
                in process.command:
            extraction.append(process.peak_rss)
        else:
            workers.append(process.peak_rss)
    return workers, extraction


class Backends:
    """Fresh archives: SQLite files in the work folder, PostgreSQL databases on a server."""

    def __init__(self, workdir: Path, pg: str | None) -> None:
        self.workdir = workdir
        self.pg = pg
        self.cluster: postgres_cluster.Cluster | None = None
        self.made: list[str] = []

    def postgres_ready(self) -> bool:
        if self.pg is None and postgres_cluster.available():
            self.cluster = postgres_cluster.start_cluster()
            self.pg = self.cluster.admin_url
        return self.pg is not None

    def fresh(self, backend: str, label: str) -> str:
        if backend == "sqlite":
            path = self.workdir / f"{label}.sqlite"
            for stale in path.parent.glob(path.name + "*"):
                stale.unlink()
            return f"sqlite:///{path}"
        assert self.pg is not None
        url = postgres_cluster.create_database(self.pg)
        self.made.append(url)
        return url

    def close(self) -> None:
        for url in self.made:
            if self.pg is not None:
                postgres_cluster.drop_database(self.pg, url)
        if self.cluster is not None:
            self.cluster.stop()


def run_crawl(backend: str, db_url: str, seeds: Path, workers: int, processes: int,
              use_flag: bool, settings: dict[str, str], ceiling: float, log: Path) -> Crawl:
    command = crawl_command(seeds, db_url, workers, use_flag, settings)
    server = server_pid(db_url) if backend == "postgresql" else None
    with log.open("w", encoding="utf-8") as out:
        began = time.time()
        process = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        tree = ProcessTreeSampler(process.pid).start()
        db = ProcessTreeSampler(server).start() if server is not None else None
        exit_code = process.wait()
        wall = time.time() - began
        tree.stop()
        if db is not None:
            db.stop()
    try:
        pages, start, finish, first_fetch = session_figures(db_url)
    except RuntimeError as exc:  # reported in its row, the other crawls still count
        print(f"{backend}, {workers} worker(s): {exc} (log: {log})", file=sys.stderr)
        pages, start, finish, first_fetch = 0, 0.0, 0.0, began
    span = finish - start
    worker_rss, extraction_rss = classify(tree.processes, process.pid, use_flag)
    return Crawl(
        backend=backend, workers=workers, extraction_processes=processes,
        exit_code=exit_code, pages=pages, span=span, wall=wall,
        startup=max(0.0, first_fetch - began),
        cores=cpu_between(tree.samples, start, finish) / span if span > 0 else 0.0,
        db_cores=(cpu_between(db.samples, start, finish) / span if db is not None and span > 0
                  else None),
        worker_rss=worker_rss, extraction_rss=extraction_rss, ceiling=ceiling)


def ceiling_jobs(web: ScaleWeb, count: int) -> list[PageJob]:
    pages = [(address, path, file) for address, routes in web.routes.items()
             for path, (file, _type) in routes.items() if file.endswith(".html")]
    chosen = random.Random(5).sample(pages, min(count, len(pages)))
    return [PageJob(file, f"http://{address}{path}") for address, path, file in chosen]


def report(crawls: list[Crawl], web: ScaleWeb) -> str:
    lines = [
        "backend     workers extr  pages  start-up  pages/s  cores  (db)  worker RSS  "
        "extr. RSS  ceiling  ratio  speed-up  of linear",
    ]
    base = {c.backend: c.pages_per_second for c in crawls if c.workers == 1}
    for c in crawls:
        speedup = c.pages_per_second / base[c.backend] if base.get(c.backend) else None
        lines.append(
            f"{c.backend:<11} {c.workers:>7} {c.extraction_processes:>4} {c.pages:>6} "
            f"{c.startup:>8.1f}s {c.pages_per_second:>8.1f} {c.cores:>6.2f} "
            + (f"{c.db_cores:>5.2f}" if c.db_cores is not None else "    -")
            + f" {max(c.worker_rss, default=0) / MB:>8.0f} MB"
            + f" {max(c.extraction_rss, default=0) / MB:>7.0f} MB"
            + f" {c.ceiling:>8.1f} {c.pages_per_second / c.ceiling:>6.2f}"
            + (f" {speedup:>9.2f} {speedup / c.workers:>10.2f}" if speedup else "")
            + ("" if c.exit_code == 0 else f"   exit {c.exit_code}")
            + ("" if c.pages >= web.pages else f"   ({web.pages - c.pages} pages missing)"))
    lines += [
        "",
        "start-up: the command's launch to the first fetch; pages/s: the session's page "
        "fetches (robots.txt not counted)",
        "over its span (no start-up); cores: CPU seconds",
        "of the crawl's process tree / span, (db) a local PostgreSQL server's apart; RSS: the "
        "largest peak of a crawl worker",
        "process and of an extraction process;",
        "ceiling: bare trafilatura docs/s with the same number of extraction processes, "
        "measured just before; ratio = pages/s / ceiling;",
        "speed-up: pages/s over 1 worker on the same backend; of linear = speed-up / workers.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="silkroad-scale-out-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {message}", file=sys.stderr, flush=True)

    use_flag = has_workers_flag()
    counts = args.workers if use_flag else [1]
    if not use_flag and args.workers != [1]:
        log("this checkout's `silkroad crawl` has no --workers: measuring 1 worker only")
    settings = {**CRAWL_SETTINGS, **({} if args.prefilter else PREFILTER_OFF),
                "SILKROAD_EXTRACT_PROCESSES": str(args.extract_processes), **args.settings}
    backends = Backends(workdir, args.pg)
    chosen = list(args.backends)
    try:
        if "postgresql" in chosen and not backends.postgres_ready():
            log("no PostgreSQL server given and none installed: SQLite only")
            chosen.remove("postgresql")
        log(f"generating a {args.pages:,}-page synthetic web ...")
        web = build_scale_web(workdir / "web", args.pages, pages_per_site=args.pages_per_site)
        jobs = ceiling_jobs(web, args.ceiling_pages)
        print(f"Scale-out benchmark: Python {platform.python_version()}, {os.cpu_count()} CPUs, "
              f"{web.pages:,}-page synthetic web on {len(web.sites)} hosts, prefilter "
              f"{'on' if args.prefilter else 'off'}, {args.extract_processes} extraction "
              f"process(es) per worker, {'`crawl --workers N`' if use_flag else '`crawl`'}"
              + ("" if "postgresql" not in chosen else ", PostgreSQL " + (
                  "given" if backends.cluster is None else "private cluster, fsync off"))
              + f", load {os.getloadavg()[0]:.1f}", flush=True)
        routes = write_routes(web.routes, workdir / "routes.json")
        with StaticWebProcess(routes) as served:
            assert served.port is not None
            seeds = workdir / "seeds.toml"
            seeds.write_text(seeds_toml(web.sites, served.port), encoding="utf-8")
            best: dict[tuple[str, int], Crawl] = {}
            ceilings: dict[int, float] = {}
            for round_ in range(1, args.repeat + 1):
                for workers in counts:
                    processes = workers * args.extract_processes
                    log(f"round {round_}: ceiling, bare trafilatura, {processes} process(es), "
                        f"{len(jobs)} pages")
                    ceiling = measure_rate(bare_trafilatura, jobs, processes).docs_per_second
                    ceilings[processes] = max(ceiling, ceilings.get(processes, 0.0))
                    for backend in chosen:
                        log(f"round {round_}: {backend}, {workers} worker(s) ... "
                            f"load {os.getloadavg()[0]:.1f}")
                        label = f"{backend}-{workers}-{round_}"
                        crawl = run_crawl(backend, backends.fresh(backend, label), seeds,
                                          workers, processes, use_flag, settings, ceiling,
                                          workdir / f"{label}.log")
                        kept = best.get((backend, workers))
                        if kept is None or crawl.pages_per_second > kept.pages_per_second:
                            best[(backend, workers)] = crawl
            crawls = [replace(crawl, ceiling=ceilings[crawl.extraction_processes])
                      for crawl in best.values()]
        print(report(sorted(crawls, key=lambda c: (c.backend, c.workers)), web))
        print(f"\n{time.perf_counter() - started:.0f} s in all"
              + (f"; files in {workdir}" if args.workdir else ""))
    finally:
        backends.close()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
