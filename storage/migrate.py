"""Bring a database to the newest schema; every command calls this before use."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import migrations

log = logging.getLogger(__name__)


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    if engine is not None:
        # Alembic's config is a ConfigParser: a literal % must be doubled.
        config.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> bool:
    """Upgrade in place; returns True when anything was applied.

    The cheap revision check first keeps read commands fast on an up-to-date
    archive; the upgrade itself runs in one IMMEDIATE transaction so two
    processes starting on a fresh file do not both create the tables.
    """
    if revision == "head" and current_revision(engine) == head_revision():
        return False
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    log.info("database upgraded to %s", revision)
    return True
