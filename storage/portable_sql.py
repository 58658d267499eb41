"""The few SQL functions SQLite and PostgreSQL spell differently, behind one name each.

Everything else the read side needs (``substr``, ``cast``, ``coalesce``, ``count``)
SQLAlchemy renders for either engine, so queries are written once; these
constructs compile to ``json_each`` / ``json_group_array`` on SQLite and to
``json_array_elements_text`` / ``json_agg`` on PostgreSQL. What no SQL
function can make equal, text order under a database's collation, is left to
Python by the callers (code-point order, which is SQLite's ``BINARY``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, String, cast, func, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement, GenericFunction
from sqlalchemy.types import JSON

from storage.engine import sqlite_file


class json_elements(FunctionElement[Any]):
    """The elements of a JSON array column as rows of one text column; use it as
    ``json_elements(col).table_valued("value")``."""

    name = "json_elements"
    inherit_cache = True


@compiles(json_elements)
def _json_each(element: json_elements, compiler: Any, **kw: Any) -> str:
    return f"json_each({compiler.process(element.clauses, **kw)})"


@compiles(json_elements, "postgresql")
def _json_array_elements_text(element: json_elements, compiler: Any, **kw: Any) -> str:
    return f"json_array_elements_text({compiler.process(element.clauses, **kw)})"


class json_array_agg(GenericFunction[Any]):
    """An aggregate: the group's values as one JSON array, in no particular order
    (``[]`` or NULL when the group is empty, depending on the engine)."""

    type = JSON()
    name = "json_array_agg"
    inherit_cache = True


@compiles(json_array_agg)
def _json_group_array(element: json_array_agg, compiler: Any, **kw: Any) -> str:
    return f"json_group_array({compiler.process(element.clauses, **kw)})"


@compiles(json_array_agg, "postgresql")
def _json_agg(element: json_array_agg, compiler: Any, **kw: Any) -> str:
    return f"json_agg({compiler.process(element.clauses, **kw)})"


def timestamp_prefix(column: Any, length: int) -> Any:
    """The first ``length`` characters of a timestamp as ``YYYY-MM-DD HH:MM:SS``:
    10 is the day, 7 the month. Both engines print timestamps that way."""
    return func.substr(cast(column, String), 1, length)


def database_bytes(executor: Session | Connection) -> int | None:
    """How much disk the archive takes: the SQLite file with its write-ahead log, or
    ``pg_database_size`` of the PostgreSQL database; None for an in-memory database."""
    engine = (executor.get_bind() if isinstance(executor, Session) else executor).engine
    if engine.dialect.name == "postgresql":
        return int(executor.scalar(text("SELECT pg_database_size(current_database())")) or 0)
    path = sqlite_file(engine.url)
    if path is None or not path.exists():
        return None
    return sum(part.stat().st_size for part in (path, path.with_name(f"{path.name}-wal"))
               if part.exists())
