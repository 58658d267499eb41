"""Bring a database to the newest schema; every command calls this before use."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DatabaseError

import migrations
from crawler.errors import DatabaseUrlError
from storage.derived_backfills import AFTER_REVISION
from storage.engine import describe_database_error

log = logging.getLogger(__name__)

UPGRADE_LOCK = 0x5111C0AD  # PostgreSQL advisory lock key held while a schema upgrade runs


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    if engine is not None:
        # Alembic's config is a ConfigParser: a literal % must be doubled.
        config.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return config


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str | None:
    return _scripts().get_current_head()


def is_known_revision(revision: str) -> bool:
    """False for a revision of a newer Silkroad (or of another application)."""
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return current_revision_in(conn)


def current_revision_in(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _has_tables(engine: Engine) -> bool:
    """Someone else's tables: a database we did not start, not ours to migrate."""
    with engine.connect() as conn:
        return bool(inspect(conn).get_table_names())


def applied_revisions(config: Config, before: str | None, target: str) -> list[str]:
    """The revisions an upgrade from ``before`` to ``target`` applies, oldest first."""
    script = ScriptDirectory.from_config(config)
    upper = script.get_revision(target).revision if target != "head" else script.get_current_head()
    walked = script.iterate_revisions(upper, before or "base")
    return [rev.revision for rev in reversed(list(walked))]


def upgrade(engine: Engine, revision: str = "head") -> bool:
    """Upgrade in place; returns True when anything was applied.

    The cheap revision check first keeps read commands fast on an up-to-date
    archive; the upgrade itself runs in one transaction that holds the
    database's write lock (IMMEDIATE on SQLite, an advisory lock on PostgreSQL),
    so two processes starting on a fresh database do not both create the tables.
    """
    try:
        current = current_revision(engine)
        if current is None and _has_tables(engine):
            # Ours if another process starting on this fresh archive made them meanwhile.
            current = current_revision(engine)
            if current is None:
                raise DatabaseUrlError(f"not a Silkroad archive: {engine.url.database}")
    except DatabaseError as exc:
        raise DatabaseUrlError(describe_database_error(engine.url, exc)) from None
    if revision == "head" and current == head_revision():
        return False
    if current is not None and not is_known_revision(current):
        raise DatabaseUrlError(
            f"{engine.url.database} has schema revision {current!r}, newer than this silkroad "
            f"knows ({head_revision()}): upgrade silkroad to use it")
    config = alembic_config(engine)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK})
            if current_revision_in(conn) == head_revision() and revision == "head":
                return False
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        for applied in applied_revisions(config, current, revision):
            if applied in AFTER_REVISION:
                AFTER_REVISION[applied](conn)
    log.info("database upgraded to %s", revision)
    return True
