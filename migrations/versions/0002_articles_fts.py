"""full-text index articles_fts, back-filled from existing articles

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 17:00:00

The index is fed Python-transformed text (Chinese as overlapping bigrams), so the
back-fill needs live code: ``storage.migrate.upgrade`` runs it after this revision
(``storage/derived_backfills.py``). The revision itself is frozen: it creates the
table as it was defined on its day.
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

FTS_TABLE = "articles_fts"
CREATE_FTS_SQL = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
    "title, body, content='', tokenize='porter unicode61 remove_diacritics 2')"
)

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # FTS5 is SQLite's; PostgreSQL's index is revision 0007's.
    if op.get_bind().dialect.name == "sqlite":
        op.get_bind().exec_driver_sql(CREATE_FTS_SQL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.get_bind().exec_driver_sql(f"DROP TABLE {FTS_TABLE}")
