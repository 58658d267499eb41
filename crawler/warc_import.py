"""Ingest WARC files made by other crawlers (wget --warc-file, Heritrix, Browsertrix).

Each HTML response goes through the same path as a crawled page: analyse
(decode → extract → topic → hash) then `record_fetch`, in batched transactions.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.timeutils import iso_date_to_datetime

from crawler.errors import UsageError
from crawler.page_analysis import ARCHIVABLE, analyse_page
from crawler.timeutil import utcnow
from crawler.urls import host_key, is_http_url, page_identity
from storage.archive import FetchRecord, SourceCache, finish_run, record_fetch, start_run

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
BATCH = 100


@dataclass(frozen=True)
class WarcResponse:
    url: str
    status: int
    headers: dict[str, list[str]]
    body: bytes
    fetched_at: datetime


def iter_html_responses(path: Path) -> Iterator[WarcResponse]:
    """HTML `response` records of one WARC (gzipped or not), bodies de-chunked and decoded."""
    try:
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                url = record.rec_headers.get_header("WARC-Target-URI") or ""
                if not is_http_url(url):
                    continue
                content_type = record.http_headers.get_header("Content-Type") or ""
                if content_type and not any(t in content_type.lower() for t in HTML_TYPES):
                    continue
                try:
                    status = int(record.http_headers.get_statuscode() or 0)
                except ValueError:
                    continue
                if status != 200:
                    continue
                headers: dict[str, list[str]] = {}
                for name, value in record.http_headers.headers:
                    headers.setdefault(name, []).append(value)
                date = record.rec_headers.get_header("WARC-Date")
                fetched_at = iso_date_to_datetime(date) if date else utcnow()
                yield WarcResponse(url, status, headers, record.content_stream().read(),
                                   fetched_at.replace(tzinfo=None))
    except FileNotFoundError:
        raise UsageError(f"WARC file not found: {path}") from None
    except ArchiveLoadFailed as exc:
        raise UsageError(f"{path} is not a readable WARC file: {exc}") from None


def import_warcs(
    sessions: sessionmaker[Session],
    paths: list[Path],
    *,
    source: str | None = None,
    on_record: Callable[[], None] | None = None,
) -> Counter[str]:
    """Import every HTML response; returns counts (responses, archived, duplicates, ...)."""
    for path in paths:
        if not path.is_file():
            raise UsageError(f"WARC file not found: {path}")
    counts: Counter[str] = Counter()
    cache = SourceCache()
    with sessions.begin() as session:
        run_id = start_run(session, trigger="import", seeds_file=", ".join(map(str, paths))).id
    outcome = "failed"
    try:
        batch: list[tuple[WarcResponse, object]] = []
        for path in paths:
            for response in iter_html_responses(path):
                content_type = next(iter(response.headers.get("Content-Type", [])), None)
                analysis = analyse_page(response.body, response.url, content_type)
                batch.append((response, analysis))
                counts["responses"] += 1
                if on_record:
                    on_record()
                if len(batch) >= BATCH:
                    _store(sessions, batch, run_id, source, cache, counts)
                    batch = []
        _store(sessions, batch, run_id, source, cache, counts)
        outcome = "ok"
    finally:
        with sessions.begin() as session:
            finish_run(session, run_id, outcome=outcome, exit_status=0 if outcome == "ok" else 1,
                       counts={"fetched": counts["responses"], "archived": counts["archived"],
                               "duplicates": counts["duplicates"],
                               "off_topic": counts["off_topic"]},
                       stats=dict(counts))
    return counts


def _store(sessions: sessionmaker[Session], batch: list, run_id: int, source: str | None,
           cache: SourceCache, counts: Counter[str]) -> None:
    if not batch:
        return
    with sessions.begin() as session:
        for response, analysis in batch:
            fetch = FetchRecord(
                page_url=page_identity(response.url, analysis.canonical_url),
                url=response.url,
                final_url=response.url,
                status=response.status,
                headers=response.headers,
                body=response.body,
                fetched_at=response.fetched_at,
                source=source or host_key(response.url),
                discovered_via="warc",
                encoding=analysis.encoding,
            )
            article = analysis.article if analysis.outcome == ARCHIVABLE else None
            result = record_fetch(session, fetch, article, run_id=run_id,
                                  outcome=analysis.outcome, sources=cache)
            if result.article_state == "new":
                counts["archived"] += 1
            elif result.article_state in ("duplicate", "revisit"):
                counts["duplicates"] += 1
            else:
                counts[analysis.outcome] += 1
