"""One holder per archive of a role: the lock `silkroad schedule` holds for its life.

APScheduler's job store must not be shared by two schedulers: both would fire the
same job. So a scheduler holds this lock from before it reads its jobs until its
last crawl has stopped, and a second one waits for it or gives up.

PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a
connection kept open for the holder's life. Advisory locks belong to a database,
so the lock is the archive's whoever connects from wherever; the server drops it
when the connection ends, which a killed holder's does at once (its socket
closes). SQLite: ``flock`` on a file next to the archive (``ARCHIVE-schedule.lock``),
which the kernel drops when the holder dies. Neither outlives its holder, so a
standby takes over with nothing to clean up. The holder's pid and host are left
where the next one can name them.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import socket
import threading
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0


def lock_key(name: str) -> int:
    """The signed 64-bit advisory lock key of a role, the same in every process."""
    digest = hashlib.blake2b(f"silkroad:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def holder_label(name: str) -> str:
    return f"silkroad {name} pid {os.getpid()} on {socket.gethostname()}"


class ArchiveLock:
    """``try_acquire`` / ``wait`` / ``release``; ``alive`` says whether it is still ours."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.key = lock_key(name)
        self._connection: Connection | None = None  # PostgreSQL: the lock lives on it
        self._fd: int | None = None  # SQLite: the locked file
        self._private = False  # an in-memory SQLite archive: no other process can see it

    @property
    def postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @property
    def held(self) -> bool:
        return self._private or self._connection is not None or self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if no one holds it; never blocks."""
        if not self.held:
            if self.postgres:
                self._try_advisory_lock()
            else:
                self._try_file_lock()
        return self.held

    def wait(self, stop: threading.Event, poll: float = POLL_SECONDS) -> bool:
        """Block until the lock is ours (True) or ``stop`` is set (False)."""
        while not self.try_acquire():
            if stop.wait(poll):
                return False
        return True

    def alive(self) -> bool:
        """Whether the lock is still ours. A PostgreSQL connection that broke (server
        restart, network) took its lock with it, and a standby may already hold it."""
        if self._connection is None:
            return self.held
        try:
            with self._connection.begin():
                self._connection.execute(text("SELECT 1"))
            return True
        except DBAPIError as exc:
            log.error("the %s lock's database connection broke: %s", self.name, exc)
            self._drop_connection()
            return False

    def holder(self) -> str | None:
        """Who holds the lock, as the holder left it ("silkroad schedule pid N on HOST"),
        when it can be read."""
        if self.postgres:
            return self._advisory_holder()
        path = self._lock_path()
        try:
            return (path.read_text(encoding="utf-8").strip() or None) if path else None
        except OSError:
            return None

    def release(self) -> None:
        if self._connection is not None:
            try:
                with self._connection.begin():
                    self._connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                             {"key": self.key})
            except DBAPIError:
                pass  # the connection is gone, and the lock with it
            self._drop_connection()
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None
        self._private = False

    def __enter__(self) -> ArchiveLock:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()

    # -- PostgreSQL ------------------------------------------------------------------------

    def _try_advisory_lock(self) -> None:
        connection = self.engine.connect()
        try:
            with connection.begin():
                got = connection.scalar(text("SELECT pg_try_advisory_lock(:key)"),
                                        {"key": self.key})
                if got:  # seen in pg_stat_activity, where holder() reads it
                    connection.execute(
                        text("SELECT set_config('application_name', :label, false)"),
                        {"label": holder_label(self.name)[:63]})
        except BaseException:
            connection.close()
            raise
        if got:
            self._connection = connection
        else:
            connection.close()

    def _advisory_holder(self) -> str | None:
        # A bigint key shows in pg_locks as classid (high 32 bits) and objid (low 32 bits).
        unsigned = self.key & 0xFFFF_FFFF_FFFF_FFFF
        query = text(
            "SELECT a.application_name FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "JOIN pg_database d ON d.oid = l.database AND d.datname = current_database() "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.classid::bigint = :high AND l.objid::bigint = :low")
        with self.engine.connect() as connection:
            name = connection.scalar(query, {"high": unsigned >> 32,
                                             "low": unsigned & 0xFFFF_FFFF})
        return name or None

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except DBAPIError:
                pass
            self._connection = None

    # -- SQLite ----------------------------------------------------------------------------

    def _lock_path(self) -> Path | None:
        """``ARCHIVE-NAME.lock`` next to the file the engine opens (whatever form its URL
        takes); None for an in-memory database."""
        with self.engine.connect() as connection:
            rows = connection.exec_driver_sql("PRAGMA database_list").all()
        main = next((row[2] for row in rows if row[1] == "main"), "")
        return Path(f"{main}-{self.name}.lock") if main else None

    def _try_file_lock(self) -> None:
        path = self._lock_path()
        if path is None:
            self._private = True
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by children
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return
        os.ftruncate(fd, 0)
        os.write(fd, (holder_label(self.name) + "\n").encode())
        self._fd = fd
