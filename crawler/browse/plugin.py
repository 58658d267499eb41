"""Datasette plugin for `silkroad browse`: our search syntax in Datasette, and the
helpers the reading templates (``crawler/browse/templates``) call.

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

import re
import sqlite3
from pathlib import Path
from typing import Any

from datasette import hookimpl
from datasette.utils import path_with_replaced_args
from markupsafe import Markup

from crawler.analysis.site_names import site_label
from crawler.browse import reading
from crawler.browse.article_reader import ArticleReader
from crawler.errors import QueryError
from storage.search.query import parse_query
from storage.search.snippets import make_snippet, match_spans
from storage.show import ArticleDetail

PLUGIN_NAME = "silkroad-archive"
_WORDS = re.compile(r'[^\s"()*]+')
NO_MATCH = '""'
ARTICLES = ArticleReader()


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
    return reading.marked(value)


class TemplateHelpers:
    """``silkroad`` in the templates: formatting, and the archive reads a page needs."""

    paragraphs = staticmethod(reading.paragraphs)
    json_list = staticmethod(reading.json_list)
    lead = staticmethod(reading.lead)
    marked = staticmethod(reading.marked)
    day = staticmethod(reading.day)
    size = staticmethod(reading.size)
    label = staticmethod(reading.label)
    standfirst = staticmethod(reading.standfirst)
    site = staticmethod(site_label)

    def __init__(self, datasette: Any) -> None:
        self._datasette = datasette

    @staticmethod
    def with_args(request: Any, args: dict[str, str | None]) -> str:
        """This page's path with query arguments replaced (None removes one)."""
        return path_with_replaced_args(request, args)

    def snippet(self, text: str | None, query: str | None) -> Markup:
        return reading.marked(archive_snippet(text, query))

    async def article(self, database: str, article_id: int) -> ArticleDetail | None:
        db = self._datasette.get_database(database)
        if not db.path:
            return None
        return await ARTICLES.detail(Path(db.path), int(article_id),
                                     immutable=not db.is_mutable)

    async def count(self, database: str, table: str) -> int:
        db = self._datasette.get_database(database)
        if table not in await db.table_names():
            return 0
        result = await db.execute(f"select count(*) from [{table}]")
        return int(result.first()[0])


@hookimpl
def extra_template_vars(datasette: Any) -> dict[str, Any]:
    return {"silkroad": TemplateHelpers(datasette)}
