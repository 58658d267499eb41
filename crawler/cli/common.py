"""What every command shares: the --db option, the console, and error handling."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import DBAPIError

from crawler.errors import DatabaseUrlError
from storage.archive_file import ArchiveFile, check_archive, read_only_uri
from storage.engine import (
    describe_database_error,
    is_postgres,
    make_engine,
    parse_db_url,
    resolve_db_url,
    sqlite_file,
)
from storage.migrate import current_revision, head_revision, is_known_revision, upgrade

F = TypeVar("F", bound=Callable[..., Any])

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

_opened: list[Engine] = []
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def checked_db_url(db: str | None) -> str:
    """The archive's URL (``--db``, else ``$SILKROAD_DB``, else the default), refused
    with a one-line error before anything is opened when it cannot be one."""
    if db is not None and not db.strip():
        raise DatabaseUrlError("--db is empty: give sqlite:///PATH, PATH or postgresql://...")
    url = resolve_db_url(db)
    if "://" not in url and ":" in url and not _WINDOWS_DRIVE.match(url):
        raise DatabaseUrlError(
            f"not a database URL or file path: {url!r} (want sqlite:///PATH or PATH)")
    parse_db_url(url)
    return url


def _check_db_option(_ctx: click.Context, _param: click.Parameter,
                     value: str | None) -> str | None:
    checked_db_url(value)
    return value


def db_option(func: F) -> F:
    return click.option(
        "--db",
        "db",
        metavar="URL",
        default=None,
        callback=_check_db_option,
        help="Archive: sqlite:///PATH, PATH, or postgresql://USER@HOST[:PORT]/DATABASE "
             "(default: $SILKROAD_DB, else sqlite:///archive.sqlite).",
    )(func)


def display_url(url: str) -> str:
    """The archive's URL as printed: a PostgreSQL password never reaches the terminal."""
    parsed = parse_db_url(url)
    return parsed.render_as_string(hide_password=True) if is_postgres(parsed) else url


def check_db(url: str, *, for_writing: bool) -> None:
    """Before a long command starts (a crawl, the demo): the SQLite file is ours
    (``check_db_file``), the PostgreSQL server answers and its database is not at a
    newer schema. Either is a one-line error; nothing is created or migrated."""
    if not is_postgres(parse_db_url(url)):
        check_db_file(url, for_writing=for_writing)
        return
    engine = make_engine(url)
    try:
        _known_revision(engine)
    finally:
        engine.dispose()


def _known_revision(engine: Engine) -> str | None:
    """The archive's schema revision; None for an empty database. A database we cannot
    reach, holding someone else's tables, or from a newer Silkroad is an error."""
    try:
        revision = current_revision(engine)
        if revision is None:
            with engine.connect() as conn:
                if inspect(conn).get_table_names():
                    raise DatabaseUrlError(
                        f"not a Silkroad archive: PostgreSQL database {engine.url.database!r} "
                        "holds other tables (give an empty database or a Silkroad archive)")
    except DBAPIError as exc:
        raise DatabaseUrlError(describe_database_error(engine.url, exc)) from None
    if revision is not None and not is_known_revision(revision):
        raise DatabaseUrlError(
            f"database {engine.url.database!r} has schema revision {revision!r}, newer than "
            f"this silkroad knows ({head_revision()}): upgrade silkroad to use it")
    return revision


def check_db_file(url: str, *, for_writing: bool) -> ArchiveFile | None:
    """The existing file behind ``url`` looked at read-only and refused (one line)
    when it is not ours to use; None when there is no file yet."""
    path = sqlite_file(url)
    if path is None or not path.exists():
        return None
    return check_archive(path, for_writing=for_writing)


def open_archive(db: str | None, *, readonly: bool = False) -> Engine:
    """Engine for the archive, migrated to the newest schema first.

    Whatever the file, it is looked at read-only first (``check_archive``):
    a file that is not SQLite, not ours, or from a newer Silkroad is a one-line
    error and stays as it was. A read command never migrates a file that is
    not a Silkroad archive, never switches it to WAL, and on read-only storage
    reads with ``immutable=1``; an older archive of ours is upgraded where it
    can be written (it is ours, and the upgrade keeps every row), else refused
    with the command that upgrades it.

    A read-only command on a path where no archive exists is a one-line error:
    answering "nothing found" from an empty archive would hide a mistyped
    ``--db``, and creating one would leave a stray database behind. The engine is
    disposed when the command ends, however it ends (``close_archives``), so
    SQLite folds its WAL back and leaves no -wal/-shm files behind.
    """
    engine = _open(checked_db_url(db), readonly)
    _opened.append(engine)
    return engine


def close_archives() -> None:
    while _opened:
        _opened.pop().dispose()


def _open(url: str, readonly: bool) -> Engine:
    if is_postgres(parse_db_url(url)):
        return _open_postgres(url, readonly)
    path = sqlite_file(url)
    if path is None or not path.exists():
        if readonly and path is not None:
            raise DatabaseUrlError(f"no archive at {path}: crawl into it first "
                                   "(silkroad crawl, silkroad demo) or name one with --db")
        engine = make_engine(url)
        upgrade(engine)
        if not readonly:
            return engine
        engine.dispose()
        return make_engine(url, readonly=True)
    found = check_archive(path, for_writing=not readonly)
    if not readonly:
        engine = make_engine(url)
        upgrade(engine)
        return engine
    if found.read_only_storage:
        if not found.is_current:
            raise DatabaseUrlError(
                f"{path} is at an older schema ({found.revision}) on read-only storage: "
                "run `silkroad db upgrade` on a writable copy")
        return make_engine(url, readonly=True, uri=read_only_uri(path, immutable=True))
    if not found.is_current:
        writer = make_engine(url)
        upgrade(writer)
        writer.dispose()
    return make_engine(url, readonly=True)


def _open_postgres(url: str, readonly: bool) -> Engine:
    """A PostgreSQL archive: the database must exist (we never create one). A read
    command on a database without our schema is refused, not answered from an
    empty archive; an older schema is upgraded first, as on SQLite."""
    writer = make_engine(url)
    try:
        revision = _known_revision(writer)
    except DatabaseUrlError:
        writer.dispose()
        raise
    if readonly and revision is None:
        writer.dispose()
        raise DatabaseUrlError(
            f"no archive in PostgreSQL database {writer.url.database!r}: crawl into it first "
            "(silkroad crawl, silkroad demo) or run `silkroad db upgrade`")
    if not readonly or revision != head_revision():
        upgrade(writer)
    if not readonly:
        return writer
    writer.dispose()
    return make_engine(url, readonly=True)
