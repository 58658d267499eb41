"""What the reading pages need from a row, as plain functions the templates call.

Kept out of the templates so that they stay markup, and tested without a browser.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from markupsafe import Markup

LEAD_CHARS = 240
_MARKED = re.compile(r"\*\*(.+?)\*\*", re.S)


def paragraphs(text: str | None) -> list[str]:
    """The stored text's paragraphs: trafilatura writes one per line."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def json_list(value: Any) -> list[str]:
    """Countries and themes as a list, whether SQLite handed back JSON text or a list."""
    if isinstance(value, list):
        return [str(item) for item in value]
    if not value:
        return []
    try:
        loaded = json.loads(value)
    except (TypeError, ValueError):
        return [str(value)]
    return [str(item) for item in loaded] if isinstance(loaded, list) else [str(loaded)]


def lead(text: str | None, description: str | None = None, limit: int = LEAD_CHARS) -> str:
    """What a list shows under a title without a search: the page's own summary, else
    the opening of the text, cut at a word (or anywhere in Chinese) with an ellipsis."""
    source = (description or "").strip() or " ".join(paragraphs(text))
    if len(source) <= limit:
        return source
    cut = source[:limit]
    space = cut.rfind(" ")
    if space > limit * 2 // 3:
        cut = cut[:space]
    return cut.rstrip(" ,;:.，、；：") + "…"


def standfirst(description: str | None, text: str | None) -> str | None:
    """The page's summary above the text, unless the text already opens with it."""
    summary = (description or "").strip()
    opening = " ".join(paragraphs(text)[:1])
    if not summary or opening.startswith(summary[:60]):
        return None
    return summary


def marked(snippet: str | None) -> Markup:
    """A search snippet with its ``**match**`` marks as ``<mark>``, everything else escaped."""
    return Markup(_MARKED.sub(r"<mark>\1</mark>", html.escape(snippet or "")))


def label(value: Any) -> Any:
    """A foreign key as the table view hands it over (``{"value", "label"}``) by its label."""
    if isinstance(value, dict):
        return value.get("label") or value.get("value")
    return value


def day(timestamp: Any) -> str:
    """The date part of a stored date or time, as readers compare them."""
    return str(timestamp or "")[:10]


def size(num_bytes: int | None) -> str:
    if num_bytes is None:
        return ""
    if num_bytes < 1024:
        return f"{num_bytes} B"
    return f"{num_bytes / 1024:.1f} KB" if num_bytes < 1024 * 1024 else \
        f"{num_bytes / 1024 / 1024:.1f} MB"
