"""article_bands.bucket as a 64-bit integer

An LSH bucket is a signed 64-bit hash. SQLite's INTEGER holds it whatever the
declared type; PostgreSQL's integer is 32 bits and refused it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 18:20:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('article_bands', schema=None) as batch_op:
        batch_op.alter_column('bucket', existing_type=sa.Integer(), type_=sa.BigInteger(),
                              existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('article_bands', schema=None) as batch_op:
        batch_op.alter_column('bucket', existing_type=sa.BigInteger(), type_=sa.Integer(),
                              existing_nullable=False)
