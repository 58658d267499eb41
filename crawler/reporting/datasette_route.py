"""Datasette plugin for `silkroad browse`: the coverage report at ``/-/report``.

The same page as `silkroad report` writes, made on request from the archive being
browsed, with a form for the filters (``?since=&until=&country=&theme=``); a link in
Datasette's menu and on the database page leads to it. Loaded only by `silkroad browse`
(``plugins.pm.register``), never installed as an entry point.
"""

from __future__ import annotations

import asyncio
import html
from pathlib import Path
from typing import Any

from datasette import Response, hookimpl
from sqlalchemy.orm import Session

from crawler.errors import SilkroadError
from crawler.reporting.build import make_report
from crawler.reporting.filters import ReportFilters
from storage.archive_file import read_only_uri
from storage.engine import make_engine

PLUGIN_NAME = "silkroad-report"
PATH = "/-/report"
FILTERS = ("since", "until", "country", "theme")


def _archive(datasette: Any) -> Any:
    """The one archive `silkroad browse` serves."""
    return next(db for name, db in datasette.databases.items()
                if db.path is not None and not name.startswith("_"))


def _report_html(path: Path, immutable: bool, filters: ReportFilters, action: str) -> str:
    engine = make_engine(f"sqlite:///{path}", readonly=True,
                         uri=read_only_uri(path, immutable=immutable))
    try:
        with Session(engine) as session:
            return make_report(session, filters, archive=path.name, form_action=action).html
    finally:
        engine.dispose()


async def report_view(datasette: Any, request: Any) -> Response:
    values = {name: (request.args.get(name) or "").strip() or None for name in FILTERS}
    action = datasette.urls.path(PATH)
    try:
        filters = ReportFilters.parse(**values)
        database = _archive(datasette)
        page = await asyncio.get_running_loop().run_in_executor(
            None, _report_html, Path(database.path), not database.is_mutable, filters, action)
    except SilkroadError as exc:
        return Response.html(
            f"<!DOCTYPE html><title>Coverage report</title><h1>Coverage report</h1>"
            f"<p>{html.escape(str(exc))}</p><p><a href=\"{html.escape(action)}\">"
            "The report of all articles</a></p>", status=400)
    return Response.html(page)


@hookimpl
def register_routes(datasette: Any) -> list[tuple[str, Any]]:
    return [(r"^/-/report$", report_view)]


@hookimpl
def menu_links(datasette: Any, actor: Any, request: Any) -> list[dict[str, str]]:
    return [{"href": datasette.urls.path(PATH), "label": "Coverage report (charts)"}]


@hookimpl
def database_actions(datasette: Any, actor: Any, database: str, request: Any
                     ) -> list[dict[str, str]]:
    return [{"href": datasette.urls.path(PATH), "label": "Coverage report (charts)"}]
