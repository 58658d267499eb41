"""An article's page reads storage's own account of it (``storage.show``), the one
``silkroad show`` prints, through a read-only SQLAlchemy engine on the served file.

Datasette holds its own sqlite3 connections; these engines are separate, one per
archive file, opened on first use with the same read-only mode Datasette uses
(``immutable=1`` only where the file sits on read-only storage), and queried off
the event loop.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from crawler.errors import UsageError
from storage.archive_file import read_only_uri
from storage.engine import make_engine
from storage.show import ArticleDetail, article_detail


class ArticleReader:
    """Read-only engines by archive file, disposed together when browse stops."""

    def __init__(self) -> None:
        self._engines: dict[Path, Engine] = {}
        self._lock = threading.Lock()

    def engine(self, path: Path, *, immutable: bool) -> Engine:
        with self._lock:
            if path not in self._engines:
                url = URL.create("sqlite", database=str(path)).render_as_string()
                self._engines[path] = make_engine(
                    url, readonly=True, uri=read_only_uri(path, immutable=immutable))
            return self._engines[path]

    async def detail(self, path: Path, article_id: int, *,
                     immutable: bool) -> ArticleDetail | None:
        """``silkroad show``'s record of one article, or None where there is none."""
        engine = self.engine(path, immutable=immutable)
        return await asyncio.to_thread(_read_detail, engine, article_id)

    def close(self) -> None:
        with self._lock:
            while self._engines:
                self._engines.popitem()[1].dispose()


def _read_detail(engine: Engine, article_id: int) -> ArticleDetail | None:
    with Session(engine) as session:
        try:
            return article_detail(session, article_id)
        except UsageError:
            return None
