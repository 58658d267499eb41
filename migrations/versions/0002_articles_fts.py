"""full-text index articles_fts, back-filled from existing articles

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 17:00:00

The index is fed Python-transformed text (Chinese as overlapping bigrams, see
storage/search/fts_text.py), so the back-fill runs here, in Python, not in SQL.
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from storage.search.index import CREATE_FTS_SQL, FTS_TABLE, rebuild_index

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    connection.exec_driver_sql(CREATE_FTS_SQL)
    rebuild_index(connection)


def downgrade() -> None:
    op.get_bind().exec_driver_sql(f"DROP TABLE {FTS_TABLE}")
