"""`silkroad db`: schema management."""

from __future__ import annotations

import click

from crawler.cli.common import check_db_file, checked_db_url, console, db_option
from storage.engine import make_engine, resolve_db_url
from storage.migrate import current_revision, head_revision, upgrade


@click.group("db")
def db_group() -> None:
    """Manage the archive database.

    \b
    Example:
      silkroad db upgrade --db sqlite:///archive.sqlite
    """


@db_group.command("upgrade")
@db_option
def db_upgrade(db: str | None) -> None:
    """Migrate the database to the newest schema (every command also does this first).

    \b
    Example:
      silkroad db upgrade --db sqlite:///archive.sqlite
    """
    check_db_file(checked_db_url(db), for_writing=True)
    engine = make_engine(resolve_db_url(db))
    before = current_revision(engine)
    changed = upgrade(engine)
    after = current_revision(engine)
    engine.dispose()
    if changed:
        console.print(f"Upgraded {resolve_db_url(db)} from {before or 'empty'} to {after}.")
    else:
        console.print(f"{resolve_db_url(db)} is at the newest schema ({head_revision()}).")
