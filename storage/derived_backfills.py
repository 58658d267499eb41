"""Derived data that a schema upgrade makes room for, filled in by live code.

The search index holds Python-transformed text (``storage.search.fts_text``) and
the LSH bands hold MinHash signatures (``crawler.analysis.near_duplicates``).
Migrations are frozen history and never import application code, so a revision
only creates the empty table or column, and ``storage.migrate.upgrade`` runs the
matching back-fill here, in the same transaction, after that revision.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Connection, insert, select, update

from crawler.analysis.near_duplicates import band_keys, signature
from storage.models import Article, ArticleBand
from storage.search.index import rebuild_index

log = logging.getLogger(__name__)

BATCH = 1000


def backfill_signatures(connection: Connection) -> int:
    """Articles stored before signatures existed get one, and their LSH bands."""
    done, last_id = 0, 0
    while True:
        rows = connection.execute(
            select(Article.id, Article.text).where(Article.minhash.is_(None), Article.id > last_id)
            .order_by(Article.id).limit(BATCH)
        ).all()
        if not rows:
            break
        for article_id, body in rows:
            sig = signature(body or "")
            connection.execute(update(Article).where(Article.id == article_id).values(minhash=sig))
            connection.execute(insert(ArticleBand), [
                {"band": band, "bucket": bucket, "article_id": article_id}
                for band, bucket in band_keys(sig)
            ])
        done += len(rows)
        last_id = rows[-1][0]
    log.info("computed near-duplicate signatures of %d article(s)", done)
    return done


def _on(dialect: str, backfill: Callable[[Connection], int]) -> Callable[[Connection], int]:
    """``backfill`` where the database is ``dialect``; nothing elsewhere."""
    def run(connection: Connection) -> int:
        return backfill(connection) if connection.dialect.name == dialect else 0
    return run


# revision id -> the back-fill that runs once that revision has been applied. The search
# index is revision 0002's FTS5 table on SQLite, revision 0007's table on PostgreSQL;
# revision 0009 changed the text it holds (Traditional folded to Simplified).
AFTER_REVISION: dict[str, Callable[[Connection], int]] = {
    "0002": _on("sqlite", rebuild_index),
    "0003": backfill_signatures,
    "0007": _on("postgresql", rebuild_index),
    "0009": rebuild_index,
}
