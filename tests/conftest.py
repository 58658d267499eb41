"""Shared fixtures: a migrated temporary archive, the CLI in a subprocess.

Crawls run in a child process (as users run them): Scrapy's reactor cannot be
restarted inside one test process. Plain helpers live in tests/support.py.

``db_url`` (and ``engine``, ``session`` on top of it) runs each test that uses it
on both backends: an SQLite file and a fresh database on a real PostgreSQL
server (tests/postgres_cluster.py). ``SILKROAD_TEST_DB=sqlite`` (or
``postgresql``) keeps one of them; where PostgreSQL is not installed its cases
are skipped, unless ``SILKROAD_REQUIRE_POSTGRES=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from storage.engine import make_engine
from storage.migrate import upgrade
from tests import postgres_cluster
from tests.support import run_cli

BACKENDS = [name for name in ("sqlite", "postgresql")
            if os.environ.get("SILKROAD_TEST_DB", name) == name]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The admin URL of a PostgreSQL server for the whole test session."""
    given = os.environ.get(postgres_cluster.ENV_URL)
    if given:
        yield given
        return
    if not postgres_cluster.available():
        if os.environ.get("SILKROAD_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (SILKROAD_REQUIRE_POSTGRES=1) but not installed")
        pytest.skip("PostgreSQL is not installed")
    cluster = postgres_cluster.start_cluster()
    try:
        yield cluster.admin_url
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped after the test."""
    url = postgres_cluster.create_database(postgres_server)
    try:
        yield url
    finally:
        postgres_cluster.drop_database(postgres_server, url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'archive.sqlite'}"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An archive URL on each backend in turn (test ids ``[sqlite]``, ``[postgresql]``)."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'archive.sqlite'}"


@pytest.fixture
def other_db_url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second, empty archive on the same backend as ``db_url``."""
    if not db_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'other.sqlite'}"
        return
    server = request.getfixturevalue("postgres_server")
    url = postgres_cluster.create_database(server)
    try:
        yield url
    finally:
        postgres_cluster.drop_database(server, url)


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
