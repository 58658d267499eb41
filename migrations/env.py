"""Alembic environment: the same engine setup as the application, batch mode for SQLite."""

from __future__ import annotations

from alembic import context

from storage.engine import make_engine, resolve_db_url
from storage.models import Base

# Full-text tables (FTS5 and its shadow tables; article_search on PostgreSQL) are
# managed by hand-written revisions.
FTS_PREFIXES = ("articles_fts", "article_search")
# APScheduler creates and owns its job table.
FOREIGN_TABLES = ("apscheduler_jobs",)


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    if type_ == "table" and name and (name.startswith(FTS_PREFIXES) or name in FOREIGN_TABLES):
        return False
    return True


def run_migrations() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or resolve_db_url()
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        include_object=include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported: run `silkroad db upgrade`")
run_migrations()
