"""An extraction worker stays small: no CLI, SQLAlchemy or scipy in it, <= 150 MB after
real pages (articles in three languages, listings, hostile pages), so that 16 fit where
4 did."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.benchmarks.synthetic_web import build_scale_web
from tests.support import FIXTURES, REPO

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")

MAX_WORKER_MB = 150
NOT_IN_A_WORKER = ("sqlalchemy", "scipy", "scrapy", "twisted", "alembic", "click")
# What the `silkroad` console script does before it runs the command.
ENTRY_POINT = """\
import sys
from crawler.cli.main import cli  # noqa: F401
from tests.worker_probe import drive
if __name__ == "__main__":
    drive(sys.argv[1:])
"""


@pytest.mark.slow  # about 15 s: a few hundred pages through one worker
def test_a_worker_after_real_pages_is_small_and_lean(tmp_path: Path) -> None:
    web = build_scale_web(tmp_path / "web", 240)
    pages = sorted(FIXTURES.rglob("*.html")) + sorted((tmp_path / "web").rglob("*.html"))
    script = tmp_path / "silkroad_like.py"
    script.write_text(ENTRY_POINT, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script), "2", *map(str, pages)], cwd=REPO,
                          capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    state = json.loads(done.stdout.splitlines()[-1])
    print(f"{2 * len(pages)} pages {state['outcomes']}: worker RSS {state['rss_mb']:.0f} MB, "
          f"peak {state['peak_mb']:.0f} MB, {len(state['modules'])} top-level modules")
    assert web.on_topic and state["outcomes"].get("article", 0) >= 50  # signatures were made
    assert [name for name in NOT_IN_A_WORKER if name in state["modules"]] == []
    assert state["peak_mb"] <= MAX_WORKER_MB
