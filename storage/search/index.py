"""The full-text index and the only code that writes to it.

On SQLite it is the FTS5 table ``articles_fts``; on PostgreSQL the table
``article_search``, one ``tsvector`` per article (title weight A, body B) under a
GIN index. Both are fed the same transformed text (``fts_text``; PostgreSQL as
its bare tokens, ``search_text``), so Chinese is searchable by any substring of
two or more characters on either.

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
from storage.search.fts_text import fts_text, search_text

log = logging.getLogger(__name__)

FTS_TABLE = "articles_fts"
FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"
PG_TABLE = "article_search"
PG_CONFIG = "english"  # stems English as FTS5's porter does; other words are only lowercased
PG_DOCUMENT = (f"setweight(to_tsvector('{PG_CONFIG}', :title), 'A') || "
               f"setweight(to_tsvector('{PG_CONFIG}', :body), 'B')")
_PG_INSERT = text(f"INSERT INTO {PG_TABLE} (article_id, document) VALUES (:id, {PG_DOCUMENT}) "
                  "ON CONFLICT (article_id) DO UPDATE SET document = excluded.document")
_PG_DELETE = text(f"DELETE FROM {PG_TABLE} WHERE article_id = :id")
_INSERT = text(f"INSERT INTO {FTS_TABLE}(rowid, title, body) VALUES (:id, :title, :body)")
_DELETE = text(
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, body) "
    "VALUES ('delete', :id, :title, :body)"
)
REBUILD_BATCH = 1000
# A tsvector holds at most 1 MB; a token costs up to ~6 bytes per character of
# search_text (Han bigrams of 4-byte characters, each unique), so this much of a
# title and text always fits. Longer texts are searchable in their first part only
# on PostgreSQL (some 45,000 Chinese characters or 20,000 English words).
PG_TITLE_CHARS = 10_000
PG_BODY_CHARS = 140_000

Executor = Session | Connection


def is_postgres(executor: Executor) -> bool:
    bind = executor.get_bind() if isinstance(executor, Session) else executor
    return bind.dialect.name == "postgresql"


def index_row(article_id: int, title: str | None, body: str | None,
              postgres: bool = False) -> dict[str, object]:
    if postgres:
        return {"id": article_id, "title": _pg_text(title, PG_TITLE_CHARS),
                "body": _pg_text(body, PG_BODY_CHARS)}
    return {"id": article_id, "title": fts_text(title), "body": fts_text(body)}


def _pg_text(value: str | None, limit: int) -> str:
    tokens = search_text(value)
    return tokens if len(tokens) <= limit else tokens[:limit].rpartition(" ")[0]


def index_article(session: Executor, article: Article) -> None:
    """Add a newly inserted (flushed) article to the index."""
    postgres = is_postgres(session)
    session.execute(_PG_INSERT if postgres else _INSERT,
                    index_row(article.id, article.title, article.text, postgres))


def unindex_article(session: Executor, article_id: int, title: str | None,
                    body: str | None) -> None:
    """Remove an article, given the title and text it was indexed with."""
    if is_postgres(session):
        session.execute(_PG_DELETE, {"id": article_id})
    else:
        session.execute(_DELETE, index_row(article_id, title, body))


def index_rows(connection: Executor, rows: Iterable[tuple[int, str | None, str | None]]) -> int:
    postgres = is_postgres(connection)
    batch = [index_row(*row, postgres) for row in rows]
    if batch:
        connection.execute(_PG_INSERT if postgres else _INSERT, batch)
    return len(batch)


def rebuild_index(connection: Executor) -> int:
    """Empty the index and fill it again from ``articles``; returns the rows indexed."""
    if is_postgres(connection):
        connection.execute(text(f"DELETE FROM {PG_TABLE}"))
    else:
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
    indexed_ids = (f"SELECT article_id FROM {PG_TABLE}" if is_postgres(session)
                   else f"SELECT rowid FROM {FTS_TABLE}")
    indexed = set(session.scalars(text(indexed_ids)))
    stored = set(session.scalars(select(Article.id)))
    return IndexDrift(tuple(sorted(stored - indexed)), tuple(sorted(indexed - stored)))
