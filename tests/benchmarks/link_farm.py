"""Link farm benchmark: one crawl of tests/link_farm_web.py (50,000 links a page).

Prints wall time, peak RSS of the crawl's process tree, requests served and the
longest reactor stall (tests.link_farm_web.ReactorLagProbe), with the shipped
settings and ``--max-pages 12``; extra arguments go to ``silkroad crawl``.

Usage (from the repo root; not part of the pytest run):
    python3 -m tests.benchmarks.link_farm [-s SILKROAD_MAX_LINKS_PER_PAGE=200 ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.link_farm_web import farm_seeds, link_farm_web
from tests.test_hostile_web import tree_rss

EXTENSIONS = {"tests.link_farm_web.ReactorLagProbe": 0,
              "crawler.extensions.prompt_close.PromptClose": 0}


def main(extra: list[str]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="link-farm-"))
    web = link_farm_web().start()
    lag = tmp / "lag.json"
    args = [sys.executable, "-m", "crawler", "crawl", "--seeds",
            str(farm_seeds(web, tmp / "seeds.toml")), "--db", f"sqlite:///{tmp}/archive.sqlite",
            "--max-pages", "12", "-s", f"EXTENSIONS={json.dumps(EXTENSIONS)}",
            "-s", f"SILKROAD_LAG_FILE={lag}", *extra]
    started = time.monotonic()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0

    def sample() -> None:
        nonlocal peak
        while process.poll() is None:
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    try:
        returncode = process.wait(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
        web.stop()
    stall = json.loads(lag.read_text())["worst_stall_s"] if lag.exists() else float("nan")
    print(f"exit {returncode}, {time.monotonic() - started:.1f} s, peak tree RSS "
          f"{peak / 2**20:.0f} MiB, {len(web.hits())} requests served, "
          f"longest reactor stall {stall * 1000:.0f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
