"""Shared fixtures: a migrated temporary archive, the CLI in a subprocess.

Crawls run in a child process (as users run them): Scrapy's reactor cannot be
restarted inside one test process. Plain helpers live in tests/support.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from storage.engine import make_engine
from storage.migrate import upgrade
from tests.support import run_cli


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'archive.sqlite'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as s:
        yield s


@pytest.fixture
def cli():  # type: ignore[no-untyped-def]
    return run_cli
