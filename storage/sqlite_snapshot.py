"""A copy of any archive, SQLite or PostgreSQL, as one SQLite file: a real archive at
the newest schema that every read command, Datasette and a plain ``sqlite3`` open.

This is how a team's PostgreSQL archive is browsed, mailed or kept offline. The
copy is made table by table, in primary-key order, from one read transaction
(``REPEATABLE READ`` on PostgreSQL), so a crawl writing meanwhile never leaves a
sighting without its article. Rows keep their ids, so an article is the same
``show ID`` in both. What the copy leaves out: the search index of the source,
rebuilt here for FTS5 from the copied articles, and the scheduler's jobs, which
would crawl into the source archive if a snapshot were scheduled.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, insert, select
from sqlalchemy.engine import URL

from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import Base
from storage.search.index import rebuild_index

log = logging.getLogger(__name__)

BATCH_ROWS = 500
BATCH_BYTES = 32 * 1024 * 1024  # snapshots carry their bodies: bound a batch by size too


def snapshot_tables() -> list[Table]:
    """The archive's tables, parents first (``pages.last_snapshot_id`` aside: deferred)."""
    return list(Base.metadata.sorted_tables)


def write_sqlite_snapshot(source: Engine, path: Path) -> dict[str, int]:
    """Copy the archive behind ``source`` into a new SQLite file at ``path`` (which must
    not hold a database yet); returns the rows copied per table and ``indexed``."""
    target = make_engine(URL.create("sqlite", database=str(path)).render_as_string())
    try:
        upgrade(target)
        with _snapshot_reader(source) as reader, target.begin() as writer:
            # pages.last_snapshot_id points forward and articles.duplicate_of may too:
            # foreign keys are checked once, at commit.
            writer.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
            counts = {table.name: _copy(reader, writer, table) for table in snapshot_tables()}
            counts["indexed"] = rebuild_index(writer)
    finally:
        target.dispose()
    _single_file(path)
    log.info("wrote SQLite snapshot %s: %s", path, counts)
    return counts


def _snapshot_reader(source: Engine) -> Connection:
    connection = source.connect()
    if source.dialect.name == "postgresql":
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
    connection.begin()
    return connection


def _copy(reader: Connection, writer: Connection, table: Table) -> int:
    rows = reader.execution_options(yield_per=BATCH_ROWS).execute(
        select(table).order_by(*table.primary_key.columns))
    copied = 0
    for batch in _batches(dict(row._mapping) for row in rows):
        writer.execute(insert(table), batch)
        copied += len(batch)
    return copied


def _batches(rows: Iterable[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    size = 0
    for row in rows:
        batch.append(row)
        size += sum(len(value) for value in row.values() if isinstance(value, bytes | str))
        if len(batch) >= BATCH_ROWS or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _single_file(path: Path) -> None:
    """A rollback journal instead of WAL: the snapshot is one file, with no -wal or
    -shm beside it, wherever it is copied, and opens on read-only storage."""
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode = DELETE")
    finally:
        connection.close()
