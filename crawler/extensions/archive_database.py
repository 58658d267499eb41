"""The archive of one crawl: opened and migrated once, shared by all who need it.

The pipeline, the run record, the spider's resume and the conditional-request
middleware each opened the database on their own before (and it was migrated
twice). This extension opens it when the crawler is set up, before the engine
exists, so a database that cannot be opened stops the crawl before anything
is fetched; the others find it with ``archive_database(crawler)``.

It also owns the one thread that writes the archive: SQLite has one writer,
and the run record must wait for that thread before it closes the run.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from scrapy import signals
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.engine import make_engine, resolve_db_url, session_factory
from storage.migrate import upgrade


class ArchiveDatabase:
    def __init__(self, db_url: str, engine: Engine) -> None:
        self.db_url = db_url
        self.engine = engine
        self.sessions: sessionmaker[Session] = session_factory(engine)
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archive-writer")
        self._reader: Engine | None = None

    @classmethod
    def open(cls, db_url: str) -> ArchiveDatabase:
        """The archive at ``db_url``, migrated to the newest schema."""
        engine = make_engine(db_url)
        try:
            upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(db_url, engine)

    @classmethod
    def from_crawler(cls, crawler: Any) -> ArchiveDatabase:
        database = cls.open(resolve_db_url(crawler.settings.get("SILKROAD_DB")))
        # After spider_closed, where the run record still writes the end of its run.
        crawler.signals.connect(database.close, signal=signals.engine_stopped)
        return database

    def reader(self) -> Session:
        """A read-only session: in WAL mode it never waits for the writer's transaction,
        where a session of ``sessions`` would take the write lock (``BEGIN IMMEDIATE``)."""
        if self._reader is None:
            self._reader = make_engine(self.db_url, readonly=True)
        return Session(self._reader)

    def stop_writing(self, *, cancel: bool = False) -> None:
        """Wait for the write under way; with ``cancel``, drop the writes still queued."""
        self.writer.shutdown(wait=True, cancel_futures=cancel)

    def close(self) -> None:
        self.stop_writing()
        if self._reader is not None:
            self._reader.dispose()
        self.engine.dispose()


def archive_database(crawler: Any) -> ArchiveDatabase:
    """The crawl's archive; the extension must be enabled (crawler/settings.py EXTENSIONS)."""
    database = crawler.get_extension(ArchiveDatabase)
    if database is None:
        raise RuntimeError("the ArchiveDatabase extension is not enabled (EXTENSIONS)")
    return database
