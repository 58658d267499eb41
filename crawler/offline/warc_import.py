"""Ingest WARC files made by other crawlers (wget --warc-file, Heritrix, Browsertrix).

Each HTML response goes through the same path as a crawled page: analyse
(decode → extract → topic → hash) then `record_fetch`, in batched transactions.

A WARC is input from elsewhere, so one bad record must cost only itself: every
record is read with bounded memory (the crawl's DOWNLOAD_MAXSIZE caps both the
raw payload and its decoded body), and a record that cannot be parsed, analysed
or stored is skipped and reported while the others are imported.
"""

from __future__ import annotations

import logging
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from scrapy.utils._compression import _DecompressionMaxSizeExceeded, _inflate, _unbrotli, _unzstd
from scrapy.utils.gz import gunzip
from sqlalchemy.orm import Session, sessionmaker
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord, ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeadersParser, StatusAndHeadersParserException
from warcio.timeutils import iso_date_to_datetime

from crawler.analysis.page_analysis import ARCHIVABLE, PageAnalysis, analyse_page
from crawler.errors import UsageError
from crawler.links.urls import host_key, is_http_url, page_identity
from crawler.settings import DOWNLOAD_MAXSIZE
from crawler.timeutil import utcnow
from storage.archive import (
    FetchRecord,
    SourceCache,
    StoreResult,
    finish_run,
    record_fetch,
    start_run,
)

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
BATCH = 100
MAX_BODY = DOWNLOAD_MAXSIZE  # one cap for crawled and imported bodies, raw and decoded
MAX_HTTP_HEAD = 256 * 1024
BATCH_BYTES = 4 * MAX_BODY
_CHUNK = 64 * 1024
_HTTP_PARSER = StatusAndHeadersParser(ArcWarcRecordLoader.HTTP_TYPES, verify=False)
_DECODERS: dict[str, Callable[..., bytes]] = {
    "gzip": gunzip, "x-gzip": gunzip, "deflate": _inflate, "br": _unbrotli, "zstd": _unzstd,
}
# Failures of the WARC container itself: the stream position is lost, later records unreachable.
_CONTAINER_ERRORS = (ArchiveLoadFailed, StatusAndHeadersParserException, zlib.error, EOFError,
                     OSError, ValueError)


class RecordSkipped(Exception):
    """A record this importer will not store (too large, malformed), with the reason."""


@dataclass(frozen=True)
class Problem:
    """A record skipped (``fatal`` False) or the place where a file stopped being readable."""

    path: Path
    offset: int
    url: str
    reason: str
    fatal: bool = False

    def __str__(self) -> str:
        what = "stopped reading" if self.fatal else "skipped record"
        url = self.url or "no URI"
        return f"{self.path}: {what} at offset {self.offset} ({url}): {self.reason}"


@dataclass(frozen=True)
class WarcResponse:
    url: str
    status: int
    headers: dict[str, list[str]]
    body: bytes
    fetched_at: datetime
    path: Path
    offset: int


def check_readable(path: Path) -> None:
    """Refuse, before anything is written, a file that is missing or not a WARC at all."""
    try:
        with path.open("rb") as stream:
            next(ArchiveIterator(stream, no_record_parse=True), None)
    except FileNotFoundError:
        raise UsageError(f"WARC file not found: {path}") from None
    except (ArchiveLoadFailed, OSError, EOFError, ValueError) as exc:
        raise UsageError(f"{path} is not a readable WARC file: {exc}") from None


def iter_html_responses(path: Path, on_problem: Callable[[Problem], None]
                        ) -> Iterator[WarcResponse]:
    """HTML `response` records of one WARC (gzipped or not), bodies de-chunked and decoded.

    A malformed record is reported and skipped; a file that ends or breaks inside
    a record is reported once (``fatal``) and read no further.
    """
    with path.open("rb") as stream:
        records = ArchiveIterator(stream, no_record_parse=True)
        while True:
            try:
                record = next(records, None)
            except _CONTAINER_ERRORS as exc:
                on_problem(Problem(path, records.offset, "", _describe(exc), fatal=True))
                return
            if record is None:
                return
            offset = records.offset  # get_record_offset() would read the record to its end
            url = record.rec_headers.get_header("WARC-Target-URI") or ""
            try:
                response = _html_response(record, path, offset, url)
            except Exception as exc:  # any fault of this one record costs only itself
                reason = str(exc) if isinstance(exc, RecordSkipped) else _describe(exc)
                if not _ends_early(record):
                    on_problem(Problem(path, offset, url, reason))
                    continue
                response = None
            if _ends_early(record):
                on_problem(Problem(path, offset, url, "file ends inside this record",
                                   fatal=True))
                return
            if response is not None:
                yield response


def _html_response(record: ArcWarcRecord, path: Path, offset: int, url: str
                   ) -> WarcResponse | None:
    """The record as a response to import; None for records that are not HTML pages."""
    if record.rec_type != "response" or not is_http_url(url):
        return None
    if record.length is not None and record.length > MAX_BODY + MAX_HTTP_HEAD:
        raise RecordSkipped(f"record of {record.length} bytes is over the {MAX_BODY}-byte cap")
    try:
        http = _HTTP_PARSER.parse(BytesIO(_read_http_head(record.raw_stream)))
        status = int(http.get_statuscode() or 0)
    except (ValueError, UnicodeError, EOFError) as exc:
        raise RecordSkipped(f"malformed HTTP headers: {_describe(exc)}") from None
    content_type = http.get_header("Content-Type") or ""
    if status != 200 or (content_type and not any(t in content_type.lower() for t in HTML_TYPES)):
        return None
    date = record.rec_headers.get_header("WARC-Date")
    try:
        fetched_at = iso_date_to_datetime(date) if date else utcnow()
    except (ValueError, TypeError) as exc:
        raise RecordSkipped(f"malformed WARC-Date {date!r}: {exc}") from None
    headers: dict[str, list[str]] = {}
    for name, value in http.headers:
        headers.setdefault(name, []).append(value)
    payload: BinaryIO = record.raw_stream
    if (http.get_header("Transfer-Encoding") or "").lower() == "chunked":
        payload = ChunkedDataReader(payload)
    body = _read_capped(payload)
    body = _decode(body, http.get_header("Content-Encoding") or "")
    return WarcResponse(url, status, headers, body, fetched_at.replace(tzinfo=None), path, offset)


def _ends_early(record: ArcWarcRecord) -> bool:
    """Whether the file ends (or breaks) before the record's declared length.

    A record without a length (its headers were cut) ends early when nothing follows.
    """
    stream = record.raw_stream
    left = getattr(stream, "limit", None)
    try:
        return (left is None or left > 0) and not stream.read(1)
    except _CONTAINER_ERRORS:
        return True


def _read_http_head(stream: BinaryIO) -> bytes:
    head = bytearray()
    while True:
        line = stream.readline(MAX_HTTP_HEAD + 1 - len(head))
        head += line
        if len(head) > MAX_HTTP_HEAD:
            raise RecordSkipped(f"HTTP headers over {MAX_HTTP_HEAD} bytes")
        if not line or not line.strip():
            return bytes(head)


def _read_capped(stream: BinaryIO) -> bytes:
    body = bytearray()
    while chunk := stream.read(min(_CHUNK, MAX_BODY + 1 - len(body))):
        body += chunk
        if len(body) > MAX_BODY:
            raise RecordSkipped(f"payload over the {MAX_BODY}-byte cap")
    return bytes(body)


def _decode(body: bytes, content_encoding: str) -> bytes:
    """Undo Content-Encoding (outermost last, as sent), never past MAX_BODY decoded bytes."""
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    for coding in reversed([c for c in codings if c and c != "identity"]):
        decoder = _DECODERS.get(coding)
        if decoder is None:
            raise RecordSkipped(f"unsupported Content-Encoding {coding!r}")
        try:
            body = decoder(body, max_size=MAX_BODY)
        except _DecompressionMaxSizeExceeded:
            raise RecordSkipped(f"{coding} body decodes to over the {MAX_BODY}-byte cap") from None
        except Exception as exc:  # zlib, brotli and zstd each raise their own error types
            raise RecordSkipped(f"undecodable {coding} body: {_describe(exc)}") from None
    return body


def _describe(exc: BaseException) -> str:
    """One printable line: messages quoting the input may carry its binary bytes."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return "".join(c if c.isprintable() else "?" for c in text.splitlines()[0][:200])


def import_warcs(
    sessions: sessionmaker[Session],
    paths: list[Path],
    *,
    source: str | None = None,
    on_record: Callable[[], None] | None = None,
    on_problem: Callable[[Problem], None] | None = None,
) -> Counter[str]:
    """Import every HTML response; returns counts (responses, archived, duplicates, skipped, ...).

    Skipped records and unreadable tails are passed to ``on_problem`` as they are
    met and counted (``skipped``, ``stopped``); the others are imported regardless.
    """
    for path in paths:
        check_readable(path)
    counts: Counter[str] = Counter()

    def problem(found: Problem) -> None:
        counts["stopped" if found.fatal else "skipped"] += 1
        log.info("%s", found)
        if on_problem:
            on_problem(found)

    cache = SourceCache()
    with sessions.begin() as session:
        run_id = start_run(session, trigger="import", seeds_file=", ".join(map(str, paths))).id
    outcome = "failed"
    try:
        batch: list[tuple[WarcResponse, PageAnalysis]] = []
        size = 0
        for path in paths:
            for response in iter_html_responses(path, problem):
                counts["responses"] += 1
                if on_record:
                    on_record()
                content_type = next(iter(response.headers.get("Content-Type", [])), None)
                try:
                    analysis = analyse_page(response.body, response.url, content_type)
                except Exception as exc:  # a page the extractor chokes on costs only itself
                    problem(Problem(path, response.offset, response.url,
                                    f"analysis failed: {_describe(exc)}"))
                    continue
                batch.append((response, analysis))
                size += len(response.body)
                if len(batch) >= BATCH or size >= BATCH_BYTES:
                    _store(sessions, batch, run_id, source, cache, counts, problem)
                    batch, size = [], 0
        _store(sessions, batch, run_id, source, cache, counts, problem)
        outcome = "partial" if counts["skipped"] or counts["stopped"] else "ok"
    finally:
        with sessions.begin() as session:
            finish_run(session, run_id, outcome=outcome, exit_status=0 if outcome == "ok" else 1,
                       counts={"fetched": counts["responses"], "archived": counts["archived"],
                               "duplicates": counts["duplicates"],
                               "off_topic": counts["off_topic"],
                               "errors": counts["skipped"] + counts["stopped"]},
                       stats=dict(counts))
    return counts


def _store(sessions: sessionmaker[Session], batch: list[tuple[WarcResponse, PageAnalysis]],
           run_id: int, source: str | None, cache: SourceCache, counts: Counter[str],
           problem: Callable[[Problem], None]) -> None:
    """Store a batch in one transaction, each record in its own savepoint."""
    if not batch:
        return
    with sessions.begin() as session:
        for response, analysis in batch:
            try:
                with session.begin_nested():
                    result = _store_one(session, response, analysis, run_id, source, cache)
            except Exception as exc:  # its savepoint is rolled back; the batch goes on
                cache.ids.clear()  # it may name a source created in the rolled-back savepoint
                problem(Problem(response.path, response.offset, response.url,
                                f"could not be stored: {_describe(exc)}"))
                continue
            counts["imported"] += 1
            if result.article_state == "new":
                counts["archived"] += 1
            elif result.article_state in ("duplicate", "revisit"):
                counts["duplicates"] += 1
            else:
                counts[analysis.outcome] += 1


def _store_one(session: Session, response: WarcResponse, analysis: PageAnalysis, run_id: int,
               source: str | None, cache: SourceCache) -> StoreResult:
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
    return record_fetch(session, fetch, article, run_id=run_id, outcome=analysis.outcome,
                        sources=cache)
