"""What an extraction worker holds after real pages: its memory and its modules.

``tests/test_worker_memory.py`` runs ``drive`` from a script that imports the
whole CLI first, as the ``silkroad`` entry point does, so a worker that
re-imported its parent's script would show it. This module imports nothing
heavy itself: the worker imports it to run ``worker_state``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

HTML_TYPE = "text/html; charset=utf-8"


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def worker_state() -> dict[str, Any]:
    """Resident and peak resident memory (MiB) and the top-level modules imported."""
    return {"rss_mb": _status_kib("VmRSS") / 1024, "peak_mb": _status_kib("VmHWM") / 1024,
            "modules": sorted({name.split(".")[0] for name in sys.modules})}


async def _analyse_all(files: list[Path], rounds: int) -> dict[str, Any]:
    from crawler.pipelines.extraction_pool import ExtractionPool

    pool = ExtractionPool(1)
    pool.start()
    try:
        outcomes: dict[str, int] = {}
        for round_ in range(rounds):
            for number, file in enumerate(files):
                url = f"http://site{number % 7}.example/{round_}/{file.stem}.html"
                analysis = await pool.analyse(file.read_bytes(), url, HTML_TYPE, None)
                outcomes[analysis.outcome] = outcomes.get(analysis.outcome, 0) + 1
        return {**await pool.call(worker_state), "outcomes": outcomes}
    finally:
        pool.shutdown()


def drive(argv: list[str]) -> None:
    """``ROUNDS FILE...``: analyse the files in one worker, print its state as JSON."""
    rounds, files = int(argv[0]), [Path(name) for name in argv[1:]]
    print(json.dumps(asyncio.run(_analyse_all(files, rounds))))
