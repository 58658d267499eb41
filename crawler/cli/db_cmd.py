"""`silkroad db`: schema management."""

from __future__ import annotations

import click

from crawler.cli.common import check_db, checked_db_url, console, db_option, display_url
from storage.engine import make_engine
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
      silkroad db upgrade --db postgresql://me@dbhost/silkroad   # after createdb silkroad
    """
    url = checked_db_url(db)
    check_db(url, for_writing=True)
    engine = make_engine(url)
    try:
        before = current_revision(engine)
        changed = upgrade(engine)
        after = current_revision(engine)
    finally:
        engine.dispose()
    if changed:
        console.print(f"Upgraded {display_url(url)} from {before or 'empty'} to {after}.",
                      markup=False, soft_wrap=True)
    else:
        console.print(f"{display_url(url)} is at the newest schema ({head_revision()}).",
                      markup=False, soft_wrap=True)
