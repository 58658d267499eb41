"""Datasette plugin for `silkroad browse`: our search syntax in Datasette's search box.

Datasette searches with ``... MATCH escape_fts(:search)``, calling a SQL
function it registers itself. Registered last (``trylast``), ours replaces it
on the archive's connections: the box then accepts what ``silkroad search``
accepts (phrases, OR/NOT, prefix*) and, above all, turns Chinese terms into
the bigram phrases the index holds, without which a two-character word like
中亚 could never match. ``silkroad_snippet(text, query)`` gives the ranked
search query in the metadata a highlighted excerpt of the original text.

Loaded only by `silkroad browse` (``plugins.pm.register``), never installed as
an entry point, so other Datasette instances keep their own ``escape_fts``.
"""

from __future__ import annotations

import html
import re
import sqlite3
from typing import Any

from datasette import hookimpl
from markupsafe import Markup

from crawler.errors import QueryError
from storage.search.query import parse_query
from storage.search.snippets import make_snippet, match_spans

PLUGIN_NAME = "silkroad-archive"
_WORDS = re.compile(r'[^\s"()*]+')
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)
NO_MATCH = '""'


def archive_match(query: str | None) -> str:
    """The FTS5 expression for a Datasette search box query.

    Datasette shows no error for a malformed query, so where ``silkroad
    search`` would explain, this falls back to searching the words as typed.
    """
    if not query:
        return NO_MATCH
    try:
        return parse_query(query).fts
    except QueryError:
        words = [word for word in _WORDS.findall(query) if word not in ("AND", "OR", "NOT")]
        try:
            return parse_query(" ".join(f'"{word}"' for word in words)).fts
        except QueryError:
            return NO_MATCH


def archive_snippet(text: str | None, query: str | None) -> str | None:
    """An excerpt of ``text`` around the matches, each wrapped in **…**."""
    if not text:
        return text
    expression = archive_match(query)
    [(_, spans)] = match_spans(expression, [("", text)])
    return make_snippet(text, spans).marked()


@hookimpl(trylast=True)
def prepare_connection(conn: sqlite3.Connection) -> None:
    conn.create_function("escape_fts", 1, archive_match, deterministic=True)
    conn.create_function("silkroad_snippet", 2, archive_snippet, deterministic=True)


@hookimpl
def render_cell(value: Any, column: str) -> Markup | None:
    """Show a snippet's **marks** as highlights."""
    if column != "snippet" or not isinstance(value, str) or "**" not in value:
        return None
    return Markup(_BOLD.sub(r"<mark>\1</mark>", html.escape(value)))
