"""crawl workers: frontier hosts and claims, host leases, run hostname and heartbeat

Several crawl processes (on one machine or many) share one session's frontier:
each leases a *host* (``host_leases``), claims a few of its pending URLs
(``frontier.claimed_by``) and renews its leases by heartbeat
(``crawl_runs.heartbeat_at``); a run on another machine is judged by that
heartbeat, one on this machine by its pid (``crawl_runs.hostname`` tells which).

The host of every pending row is filled in here, with the standard library's
URL parser (the host Scrapy keys its download slots by), so that an
interrupted crawl made by an older Silkroad resumes under workers.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 10:00:00

"""
from collections.abc import Sequence
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL_ROWS = 1000


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def upgrade() -> None:
    with op.batch_alter_table('crawl_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hostname', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('frontier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('host', sa.String(length=255), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('claimed_by', sa.Integer(), nullable=True))
        batch_op.drop_index('ix_frontier_session_state')
        batch_op.create_index('ix_frontier_session_state_host', ['session_id', 'state', 'host'],
                              unique=False)

    op.create_table('host_leases',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['crawl_runs.id'],
                            name=op.f('fk_host_leases_session_id_crawl_runs'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'host', name=op.f('pk_host_leases'))
    )

    conn = op.get_bind()
    frontier = sa.table('frontier', sa.column('id', sa.Integer), sa.column('url', sa.Text),
                        sa.column('host', sa.String), sa.column('state', sa.String))
    rows = conn.execute(sa.select(frontier.c.id, frontier.c.url)
                        .where(frontier.c.state == 'pending')).all()
    update = (sa.update(frontier).where(frontier.c.id == sa.bindparam('row_id'))
              .values(host=sa.bindparam('row_host')))
    for start in range(0, len(rows), BACKFILL_ROWS):
        conn.execute(update, [{'row_id': row_id, 'row_host': _host(url)}
                              for row_id, url in rows[start:start + BACKFILL_ROWS]])


def downgrade() -> None:
    op.drop_table('host_leases')
    with op.batch_alter_table('frontier', schema=None) as batch_op:
        batch_op.drop_index('ix_frontier_session_state_host')
        batch_op.create_index('ix_frontier_session_state', ['session_id', 'state'], unique=False)
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('host')

    with op.batch_alter_table('crawl_runs', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('hostname')
