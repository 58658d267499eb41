"""full-text index on PostgreSQL: article_search (tsvector + GIN)

SQLite's index is the FTS5 table of revision 0002. PostgreSQL's is a table of
its own, one tsvector per article (title weighted above body), fed by the same
Python text transform (Chinese as overlapping bigrams), which is why its
back-fill is live code (``storage/derived_backfills.py``) and this revision only
creates the empty table. A no-op on SQLite.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 18:20:00

"""
from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_TABLE = "article_search"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE TABLE {SEARCH_TABLE} ("
        "article_id integer PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE, "
        "document tsvector NOT NULL)"
    )
    op.execute(f"CREATE INDEX ix_{SEARCH_TABLE}_document ON {SEARCH_TABLE} USING gin (document)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TABLE {SEARCH_TABLE}")
