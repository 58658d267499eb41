"""Conditional re-crawls: ask for an article page only if it changed.

Article pages that gave an ETag or Last-Modified are requested with
If-None-Match / If-Modified-Since; a 304 is then recorded as a revisit with no
body. Servers lie (feeds especially), so the last body digest travels with the
request too: a 200 with the same bytes is a revisit as well, and is not
analysed again. Listing pages, feeds and sitemaps are always fetched in full:
that is where new links appear.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from scrapy import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.extensions.archive_database import ArchiveDatabase, archive_database
from crawler.vocabulary import PageOutcome, Stat
from storage.models import Page

log = logging.getLogger(__name__)

CONDITIONAL_OUTCOMES = (PageOutcome.ARTICLE,)


@dataclass(frozen=True)
class Validators:
    etag: str | None
    last_modified: str | None
    digest: str | None
    outcome: str | None


def load_validators(session: Session) -> dict[str, Validators]:
    rows = session.execute(
        select(Page.url, Page.etag, Page.last_modified, Page.last_digest, Page.last_outcome)
    )
    return {row[0]: Validators(*row[1:]) for row in rows}


class ConditionalGetMiddleware:
    def __init__(self, database: ArchiveDatabase, stats: Any) -> None:
        self.database = database
        self.stats = stats
        self._validators: dict[str, Validators] | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> ConditionalGetMiddleware:
        return cls(archive_database(crawler), crawler.stats)

    def process_request(self, request: Request) -> None:
        if not request.meta.get("silkroad_page"):
            return None
        if self._validators is None:
            with self.database.reader() as session:
                self._validators = load_validators(session)
            log.info("conditional re-crawl: %d known pages", len(self._validators))
        known = self._validators.get(request.url)
        if known is None:
            return None
        request.meta["silkroad_last_digest"] = known.digest
        if known.outcome in CONDITIONAL_OUTCOMES:
            if known.etag and b"If-None-Match" not in request.headers:
                request.headers[b"If-None-Match"] = known.etag
            if known.last_modified and b"If-Modified-Since" not in request.headers:
                request.headers[b"If-Modified-Since"] = known.last_modified
            self.stats.inc_value(Stat.CONDITIONAL_REQUESTS)
        return None
