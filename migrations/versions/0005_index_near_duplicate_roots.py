"""index articles.duplicate_of

A new article published before the root of its near-duplicate group becomes
the group's root, which rewrites every member's ``duplicate_of``: without an
index that was a scan of the whole articles table.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 20:25:00

"""
from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_articles_duplicate_of', 'articles', ['duplicate_of'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_articles_duplicate_of', table_name='articles')
