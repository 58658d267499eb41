"""Changing or removing stored articles without the search index drifting.

The full-text index is contentless (see ``storage.search.index``), so it can
only forget an article's old words if told exactly what they were. These
functions are the one way to edit or delete an article: they replay the old
title and text into the index before changing the row. Like the rest of the
storage API they take a ``Session`` and never commit.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from crawler.errors import UsageError
from storage.models import Article, Sighting
from storage.search.index import index_article, unindex_article

log = logging.getLogger(__name__)

INDEXED_FIELDS = frozenset({"title", "text"})
FIXED_FIELDS = frozenset({"id"})


def _load(session: Session, article_id: int) -> Article:
    article = session.get(Article, article_id)
    if article is None:
        raise UsageError(f"no article with id {article_id}")
    return article


def update_article(session: Session, article_id: int, **changes: Any) -> Article:
    """Set the given fields of one article, re-indexing it when title or text change.

    Example: ``update_article(session, 7, title="Corrected headline", themes=["energy"])``.
    """
    unknown = sorted(set(changes) - set(Article.__table__.columns.keys()))
    if unknown or FIXED_FIELDS & set(changes):
        raise UsageError(f"cannot update article field(s): {', '.join(unknown or FIXED_FIELDS)}")
    article = _load(session, article_id)
    reindex = any(changes[name] != getattr(article, name) for name in INDEXED_FIELDS & set(changes))
    if reindex:
        unindex_article(session, article.id, article.title, article.text)
    for name, value in changes.items():
        setattr(article, name, value)
    session.flush()
    if reindex:
        index_article(session, article)
        log.debug("re-indexed article %d", article_id)
    return article


def delete_article(session: Session, article_id: int) -> None:
    """Remove an article, its sightings and its index entry.

    Articles recorded as near-duplicates of it lose that link rather than block
    the delete; pages and snapshots stay, because they are the crawl's record.
    """
    article = _load(session, article_id)
    session.flush()
    unindex_article(session, article.id, article.title, article.text)
    session.execute(
        update(Article).where(Article.duplicate_of == article_id).values(duplicate_of=None)
    )
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, Sighting) and loaded.article_id == article_id:
            session.expunge(loaded)
    # Core delete: the database cascades to sightings (ON DELETE CASCADE).
    session.execute(delete(Article).where(Article.id == article_id))
    log.debug("deleted article %d", article_id)
