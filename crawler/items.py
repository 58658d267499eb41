"""What the spider hands to the pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(repr=False)
class PageItem:
    """One fetched HTML page, raw: the pipelines decide what it holds."""

    url: str  # as reached (before canonicalisation)
    final_url: str  # after redirects
    status: int
    headers: dict[str, list[str]]
    body: bytes | None
    fetched_at: datetime
    source: str
    language_hint: str | None = None
    discovered_via: str | None = None
    previous_digest: str | None = None  # body digest of the page's last snapshot, if any
    revisit: bool = False  # same bytes as the last snapshot: nothing to analyse
    request_urls: list[str] = field(default_factory=list)  # as scheduled, redirects included
    analysis: Any = None  # crawler.analysis.page_analysis.PageAnalysis, set by AnalysePipeline
    outcome: str | None = None  # stored as it is, never analysed: robots.txt, a redirect

    def __repr__(self) -> str:
        size = 0 if self.body is None else len(self.body)
        return f"<PageItem {self.status} {self.url} ({size} bytes, source={self.source!r})>"
