"""``INSERT ... ON CONFLICT`` on either backend, from one code path.

Select-then-insert is only safe where the database lets one writer in at a time
(SQLite). On PostgreSQL two crawls storing the same row at once would both find
nothing and one would fail on the unique index, taking its whole batch with it;
an ``INSERT ... ON CONFLICT`` waits for the other writer instead and then does
nothing (or updates). SQLAlchemy's SQLite and PostgreSQL ``insert`` constructs
share that API but each compiles only on its own dialect: callers ask here for
the one that fits their connection, or build their statements once per dialect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

Executor = Session | Connection | Engine
InsertFactory = Callable[[Any], Any]  # a table or mapped class -> that dialect's Insert
T = TypeVar("T")

_INSERTS: dict[str, InsertFactory] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def dialect_name(executor: Executor) -> str:
    """``sqlite`` or ``postgresql``: the backend a session, connection or engine talks to."""
    bind = executor.get_bind() if isinstance(executor, Session) else executor
    return bind.dialect.name


def insert_factory(dialect: str) -> InsertFactory:
    try:
        return _INSERTS[dialect]
    except KeyError:
        raise ValueError(f"no INSERT ... ON CONFLICT for the {dialect!r} dialect") from None


def insert_for(executor: Executor, table: Any) -> Any:
    """The dialect's ``insert(table)``, with ``on_conflict_do_nothing``/``do_update``."""
    return insert_factory(dialect_name(executor))(table)


class PerDialect(Generic[T]):
    """Statements built once per dialect, on first use: a hot path keeps its prebuilt
    statements (and SQLAlchemy's compiled cache) whichever backend it writes to."""

    def __init__(self, build: Callable[[InsertFactory], T]) -> None:
        self._build = build
        self._built: dict[str, T] = {}

    def __call__(self, executor: Executor) -> T:
        name = dialect_name(executor)
        built = self._built.get(name)
        if built is None:
            built = self._built[name] = self._build(insert_factory(name))
        return built
