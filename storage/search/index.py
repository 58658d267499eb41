"""The ``articles_fts`` index and the only code that writes to it.

The table is contentless (``content=''``): it stores the inverted index and
nothing else, so the archive does not hold every text twice. The price is
that FTS5 cannot look up what it indexed, so removing a row means replaying
the exact values that went in. Those are ``fts_text(title)`` and
``fts_text(text)`` of the article as stored, which is why every change to an
article's title or text goes through this module (``storage.article_edits``),
and ``record_fetch`` indexes each new article in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from storage.models import Article
from storage.search.fts_text import fts_text

log = logging.getLogger(__name__)

FTS_TABLE = "articles_fts"
FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"
_INSERT = text(f"INSERT INTO {FTS_TABLE}(rowid, title, body) VALUES (:id, :title, :body)")
_DELETE = text(
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, body) "
    "VALUES ('delete', :id, :title, :body)"
)
REBUILD_BATCH = 1000

Executor = Session | Connection


def index_row(article_id: int, title: str | None, body: str | None) -> dict[str, object]:
    return {"id": article_id, "title": fts_text(title), "body": fts_text(body)}


def index_article(session: Executor, article: Article) -> None:
    """Add a newly inserted (flushed) article to the index."""
    session.execute(_INSERT, index_row(article.id, article.title, article.text))


def unindex_article(session: Executor, article_id: int, title: str | None,
                    body: str | None) -> None:
    """Remove an article, given the title and text it was indexed with."""
    session.execute(_DELETE, index_row(article_id, title, body))


def index_rows(connection: Executor, rows: Iterable[tuple[int, str | None, str | None]]) -> int:
    batch = [index_row(*row) for row in rows]
    if batch:
        connection.execute(_INSERT, batch)
    return len(batch)


def rebuild_index(connection: Executor) -> int:
    """Empty the index and fill it again from ``articles``; returns the rows indexed."""
    connection.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('delete-all')"))
    last_id, total = 0, 0
    while True:
        rows = connection.execute(
            select(Article.id, Article.title, Article.text)
            .where(Article.id > last_id).order_by(Article.id).limit(REBUILD_BATCH)
        ).all()
        if not rows:
            break
        total += index_rows(connection, [(row[0], row[1], row[2]) for row in rows])
        last_id = rows[-1][0]
    log.info("indexed %d article(s) for full-text search", total)
    return total


@dataclass(frozen=True)
class IndexDrift:
    """Articles missing from the index, and index rows with no article."""

    missing: tuple[int, ...]
    orphans: tuple[int, ...]

    @property
    def clean(self) -> bool:
        return not self.missing and not self.orphans


def index_drift(session: Executor) -> IndexDrift:
    """Compare the index's rowids with the articles' ids (a cheap consistency check)."""
    indexed = set(session.scalars(text(f"SELECT rowid FROM {FTS_TABLE}")))
    stored = set(session.scalars(select(Article.id)))
    return IndexDrift(tuple(sorted(stored - indexed)), tuple(sorted(indexed - stored)))
