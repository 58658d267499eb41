"""Looking at a database file before using it, without changing it.

``--db`` may name any file. Opened the ordinary way, SQLite would leave -wal and
-shm files beside it, our connect hook would switch it to WAL for good and the
migrations would add our tables: another application's database altered by a
mistyped read command. So the file is first read with ``mode=ro`` (or
``immutable=1``, which needs no -shm, where the file or its folder cannot be
written: read-only storage) and judged: not SQLite, corrupt, not ours, or from a
newer Silkroad are one-line errors that leave the file as it was.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from crawler.errors import DatabaseUrlError
from storage.migrate import head_revision, is_known_revision

SQLITE_MAGIC = b"SQLite format 3\x00"
_WAL_FORMAT = 2  # header bytes 18-19: 1 rollback journal, 2 write-ahead log


@dataclass(frozen=True)
class ArchiveFile:
    path: Path
    revision: str | None  # alembic revision; None: no Silkroad schema in it
    has_tables: bool
    read_only_storage: bool

    @property
    def is_current(self) -> bool:
        return self.revision == head_revision()


def on_read_only_storage(path: Path) -> bool:
    """True when we may not write the file or create -wal/-shm beside it; plain
    ``mode=ro`` then fails on a WAL archive, ``immutable=1`` does not."""
    return not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def read_only_uri(path: Path, *, immutable: bool) -> str:
    """An SQLite URI that opens ``path`` for reading only, escaped (``?``, ``#``, ``%``)."""
    return f"file:{quote(str(path.resolve()))}?mode=ro" + ("&immutable=1" if immutable else "")


def inspect_file(path: Path) -> ArchiveFile:
    """What the file holds, read without writing anything, even a -shm."""
    read_only = on_read_only_storage(path)
    try:
        with path.open("rb") as handle:
            header = handle.read(100)
    except OSError as exc:
        raise DatabaseUrlError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not header:
        return ArchiveFile(path, None, False, read_only)
    if not header.startswith(SQLITE_MAGIC) or len(header) < 100:
        raise DatabaseUrlError(f"not an SQLite database: {path}")
    # Without a -wal file everything is in the main file: immutable reads it exactly
    # and, unlike mode=ro on a WAL database, leaves no -wal/-shm behind.
    wal_absent = not Path(f"{path}-wal").exists()
    immutable = read_only or (header[18] == _WAL_FORMAT and wal_absent)
    try:
        conn = sqlite3.connect(read_only_uri(path, immutable=immutable), uri=True)
    except sqlite3.Error as exc:
        raise DatabaseUrlError(f"cannot open {path}: {exc}") from None
    try:
        tables = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        revision = None
        if {"alembic_version", "articles"} <= tables:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
    except sqlite3.DatabaseError as exc:
        raise DatabaseUrlError(f"not a usable SQLite database: {path} ({exc})") from None
    finally:
        conn.close()
    return ArchiveFile(path, revision, bool(tables), read_only)


def check_archive(path: Path, *, for_writing: bool) -> ArchiveFile:
    """The file, refused when it is not a Silkroad archive we can use.

    A writer may start an archive in an empty database; a reader may not, and
    neither may touch a database that holds someone else's tables.
    """
    found = inspect_file(path)
    if found.revision is None and (found.has_tables or not for_writing):
        raise DatabaseUrlError(f"not a Silkroad archive: {path}")
    if found.revision is not None and not is_known_revision(found.revision):
        raise DatabaseUrlError(
            f"{path} has schema revision {found.revision!r}, newer than this silkroad knows "
            f"({head_revision()}): upgrade silkroad to use it")
    return found
