"""trafilatura's own command line over a list of URLs: the peer a crawl is compared with.

Out of the box the CLI refuses loopback addresses (``SSRF_PROTECTION``) and
sleeps ``SLEEP_TIME`` (5 s) between two requests to one host; both live in
its config file, so the benchmark hands it a copy of the packaged
``settings.cfg`` with the guard off (it could not fetch anything otherwise)
and runs it twice: as shipped, its politeness sleep kept, as a user runs it
(the issue's orientation figure, about 15 pages/s); and with the sleep off,
like for like with a crawl that has its own politeness delays off.
Everything else is as shipped (download threads, extraction in the main
process).
"""

from __future__ import annotations

import configparser
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import trafilatura

from tests.benchmarks.process_tree import ProcessTreeSampler

_ENTRY = "import sys; from trafilatura.cli import main; sys.argv[0] = 'trafilatura'; main()"


@dataclass(frozen=True)
class CliMeasurement:
    wall: float
    startup: float  # the same command over an empty URL list
    sleep: bool  # SLEEP_TIME as shipped (True) or 0
    pages_in: int  # URLs fetched and processed
    pages_out: int  # JSON documents written (pages where it found a text)
    cpu_seconds: float
    peak_rss: int

    @property
    def steady_wall(self) -> float:
        return max(1e-9, self.wall - self.startup)


def loopback_config(folder: Path, *, sleep: bool) -> Path:
    config = configparser.ConfigParser()
    config.read(Path(trafilatura.__file__).with_name("settings.cfg"), encoding="utf-8")
    if not sleep:
        config["DEFAULT"]["SLEEP_TIME"] = "0"
    config["DEFAULT"]["SSRF_PROTECTION"] = "off"
    path = folder / f"trafilatura-loopback{'' if sleep else '-nosleep'}.cfg"
    with open(path, "w", encoding="utf-8") as fh:
        config.write(fh)
    return path


def _run(urls_file: Path, config: Path, output: Path) -> tuple[float, float, int]:
    command = [sys.executable, "-c", _ENTRY, "-i", str(urls_file), "--json", "--with-metadata",
               "--config-file", str(config)]
    with open(output, "w", encoding="utf-8") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL)
        sampler = ProcessTreeSampler(process.pid).start()
        process.wait()
        wall = time.perf_counter() - started
        sampler.stop()
    return wall, sampler.cpu_seconds, sampler.peak_rss


def run_cli(urls_file: Path, folder: Path, *, sleep: bool = False) -> CliMeasurement:
    config = loopback_config(folder, sleep=sleep)
    empty = folder / "no-urls.txt"
    empty.write_text("", encoding="utf-8")
    startup, _, _ = _run(empty, config, folder / "cli-empty.out")
    output = folder / "cli.jsonl"
    wall, cpu, rss = _run(urls_file, config, output)
    lines = [line for line in output.read_text(encoding="utf-8").splitlines() if line.strip()]
    urls = [line for line in urls_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    return CliMeasurement(wall=wall, startup=startup, sleep=sleep, pages_in=len(urls),
                          pages_out=len(lines),
                          cpu_seconds=cpu, peak_rss=rss)
