"""search index: Traditional Chinese folded to Simplified (the index is rebuilt)

The text the search index holds changed: Traditional characters are now folded
to Simplified before Han runs become bigrams, so 鐵路 finds 铁路 and back. No
table changes; this revision exists so that ``storage/derived_backfills.py``
rebuilds the index from the stored articles (on SQLite ``articles_fts``, on
PostgreSQL ``article_search``) after it, with the live transform. The stored
titles and texts are untouched.

Downgrading leaves the folded index in place: an older silkroad then finds
Traditional text by its Simplified form only, and should not edit articles
(reprocess) until its own index is rebuilt, since removing a row from SQLite's
contentless index replays the text it was indexed with.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 21:30:00

"""
from collections.abc import Sequence

revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
