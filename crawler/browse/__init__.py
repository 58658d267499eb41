"""The archive in the browser: Datasette made for reading it (`silkroad browse`).

Presentation only, above storage like the CLI: the shipped metadata (titles,
facets, hidden internal tables, the ranked search query), the templates that
turn the articles table, an article's row and the search query into pages a
reader reads, and the plugin (``crawler.browse.plugin``) that gives Datasette
our search syntax and the template helpers. Everything else Datasette serves
(other tables, SQL, the JSON API) stays as Datasette shows it.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

TEMPLATE_DATABASE = "archive"


def templates_dir() -> Path:
    """Datasette's ``--template-dir``: our pages first, Datasette's own behind them."""
    return Path(str(resources.files(__name__).joinpath("templates")))


def datasette_metadata(database_name: str) -> dict[str, Any]:
    """The shipped metadata, its database section keyed by this file's Datasette name."""
    shipped = resources.files(__name__).joinpath("metadata.json")
    metadata = json.loads(shipped.read_text(encoding="utf-8"))
    metadata["databases"] = {database_name: metadata["databases"][TEMPLATE_DATABASE]}
    return metadata
