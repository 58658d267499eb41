"""What every command shares: the --db option, the console, and error handling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console
from sqlalchemy import Engine

from storage.engine import make_engine, resolve_db_url
from storage.migrate import upgrade

F = TypeVar("F", bound=Callable[..., Any])

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def db_option(func: F) -> F:
    return click.option(
        "--db",
        "db",
        metavar="URL",
        default=None,
        help="Database URL or path (default: $SILKROAD_DB, else sqlite:///archive.sqlite).",
    )(func)


def open_archive(db: str | None, *, readonly: bool = False) -> Engine:
    """Engine for the archive, migrated to the newest schema first."""
    url = resolve_db_url(db)
    if not readonly:
        engine = make_engine(url)
        upgrade(engine)
        return engine
    writer = make_engine(url)
    upgrade(writer)
    writer.dispose()
    return make_engine(url, readonly=True)
