"""Engine and session setup: one place that knows how we talk to SQLite.

SQLite needs three things the defaults do not give: WAL so readers never block
the crawl, a busy timeout so two writers queue instead of failing with
"database is locked", and foreign keys (off by default). Writers also open
their transactions with ``BEGIN IMMEDIATE`` so two processes never both hold
a read lock and deadlock on the upgrade to a write lock.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from crawler.errors import DatabaseUrlError

DEFAULT_DB_URL = "sqlite:///archive.sqlite"
BUSY_TIMEOUT_MS = 30_000


def resolve_db_url(explicit: str | None = None) -> str:
    """``--db`` wins, then ``SILKROAD_DB``, then ``archive.sqlite`` in the current folder."""
    return explicit or os.environ.get("SILKROAD_DB") or DEFAULT_DB_URL


def parse_db_url(url: str) -> URL:
    """Accept a SQLAlchemy URL, or a plain path to a SQLite file for convenience."""
    if "://" not in url:
        if not url.strip():
            raise DatabaseUrlError("empty database URL")
        return make_url("sqlite:///" + str(Path(url).expanduser().resolve()))
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUrlError(f"not a database URL: {url!r}") from exc
    if not parsed.drivername.startswith("sqlite"):
        raise DatabaseUrlError(
            f"unsupported database {parsed.drivername!r} in {url!r}: use sqlite:///PATH"
        )
    path = sqlite_file(parsed)
    if path is not None:
        folder = path.resolve().parent
        if not folder.is_dir():
            raise DatabaseUrlError(f"folder {folder} does not exist (database URL {url!r})")
    return parsed


def sqlite_file(url: str | URL) -> Path | None:
    """The file behind a SQLite URL (``~`` expanded, not resolved); None for in-memory
    databases and ``file:`` URIs, whose file SQLite finds itself."""
    database = (url if isinstance(url, URL) else parse_db_url(url)).database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def make_engine(url: str, *, readonly: bool = False, uri: str | None = None) -> Engine:
    """Create the engine once per process; pass it (or its sessions) down explicitly.

    ``uri`` (an SQLite ``file:`` URI such as ``storage.archive_file.read_only_uri``)
    opens that instead of the URL's file, which still names the engine's database.
    """
    parsed = parse_db_url(url)
    timeout = BUSY_TIMEOUT_MS / 1000
    if uri is None:
        engine = create_engine(parsed, connect_args={"timeout": timeout})
    else:
        engine = create_engine(parsed, creator=lambda: sqlite3.connect(
            uri, uri=True, timeout=timeout, check_same_thread=False))
    begin_sql = "BEGIN" if readonly else "BEGIN IMMEDIATE"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's begin event, not the driver, open transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if readonly:
            cursor.execute("PRAGMA query_only = ON")
        else:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql(begin_sql)

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
