"""Engine and session setup: one place that knows how we talk to each database.

SQLite (the default, one file) needs three things the defaults do not give:
WAL so readers never block the crawl, a busy timeout so two writers queue instead of failing with
"database is locked", and foreign keys (off by default). Writers also open
their transactions with ``BEGIN IMMEDIATE`` so two processes never both hold
a read lock and deadlock on the upgrade to a write lock.

PostgreSQL (an archive shared by a team or by crawl workers on several
machines) needs none of that; it is reached through psycopg 3 whatever driver
the URL names, and a read-only engine opens read-only transactions, so a read
command cannot change the archive even by mistake.
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
POSTGRES_DRIVER = "postgresql+psycopg"
CONNECT_TIMEOUT_S = 10


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
    if is_postgres(parsed):
        if not parsed.database:
            raise DatabaseUrlError(f"no database name in {url!r}: "
                                   "use postgresql://USER@HOST/DATABASE")
        return parsed.set(drivername=POSTGRES_DRIVER)
    if not parsed.drivername.startswith("sqlite"):
        raise DatabaseUrlError(
            f"unsupported database {parsed.drivername!r} in {url!r}: "
            "use sqlite:///PATH or postgresql://USER@HOST/DATABASE"
        )
    path = sqlite_file(parsed)
    if path is not None:
        folder = path.resolve().parent
        if not folder.is_dir():
            raise DatabaseUrlError(f"folder {folder} does not exist (database URL {url!r})")
    return parsed


def is_postgres(url: str | URL) -> bool:
    """True for a PostgreSQL URL (``postgresql://``, ``postgres://``, any driver)."""
    name = (url if isinstance(url, URL) else make_url(url)).drivername
    return name.split("+")[0] in ("postgresql", "postgres")


def sqlite_file(url: str | URL) -> Path | None:
    """The file behind a SQLite URL (``~`` expanded, not resolved); None for in-memory
    databases, ``file:`` URIs, whose file SQLite finds itself, and PostgreSQL."""
    parsed = url if isinstance(url, URL) else parse_db_url(url)
    if is_postgres(parsed):
        return None
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def make_engine(url: str, *, readonly: bool = False, uri: str | None = None) -> Engine:
    """Create the engine once per process; pass it (or its sessions) down explicitly.

    ``uri`` (an SQLite ``file:`` URI such as ``storage.archive_file.read_only_uri``)
    opens that instead of the URL's file, which still names the engine's database.
    """
    parsed = parse_db_url(url)
    if is_postgres(parsed):
        return _postgres_engine(parsed, readonly=readonly)
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


def _postgres_engine(parsed: URL, *, readonly: bool) -> Engine:
    connect_args: dict[str, object] = {"connect_timeout": CONNECT_TIMEOUT_S,
                                       "application_name": "silkroad"}
    if readonly:
        connect_args["options"] = "-c default_transaction_read_only=on"
    return create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)


def describe_database_error(url: URL, exc: Exception) -> str:
    """One line saying why the database could not be used (for ``DatabaseUrlError``)."""
    orig = getattr(exc, "orig", None) or exc
    reason = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    if is_postgres(url):
        where = f"{url.host or 'localhost'}:{url.port or 5432}/{url.database}"
        return f"cannot use PostgreSQL database {where}: {reason}"
    return f"not a usable SQLite database: {url.database} ({reason})"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
