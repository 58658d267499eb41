"""The archive as standard WARC (1.1 or 1.0): what other archiving tools read and replay.

A warcinfo record, then in time order, for every snapshot, a `request` record where
the archive made the request itself (not for imported captures) and a `response`
record (its status line, headers and body: articles, listings, redirects, robots.txt),
and for every fetch that stored no snapshot of its own a `revisit` record. A capture
reached under other URLs (a redirect's source, a link with tracking parameters) has a
`metadata` record naming them (``reached-as: URL``), which import-warc reads back.

Revisits use the identical-payload-digest profile and carry the HTTP header block of
the response they repeat (status line, Content-Type with its charset, ETag, ...), with
`WARC-Refers-To`, `-Target-URI` and `-Date` naming it. That holds for a 200 whose bytes
equalled the last snapshot and for a 304 alike: both stand for "this payload again",
which is what the profile states, and replay tools (pywb, ReplayWeb.page) serve the
status and headers written in the revisit itself. The server-not-modified profile
would carry the 304's own block, which they replay as an empty 304: every re-crawled
article would be blank in the latest capture.

Payload digests are the snapshots' SHA-256 (`sha256:` base32): the archive stores them,
so a revisit never re-reads a body; record ids are derived from the capture (URL, date,
digest), so the same archive exports the same ids every time.
"""

from __future__ import annotations

import base64
import heapq
import socket
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from http import HTTPStatus
from io import BytesIO
from typing import IO, Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from crawler import __version__
from crawler.analysis.snapshot_body import unpack_body
from crawler.links.urls import canonical_url
from storage.models import CrawlRun, Fetch, Sighting, Snapshot

WARC_VERSIONS = ("1.1", "1.0")
# Stored bodies are already decoded: these headers would describe bytes we do not write.
_TRANSPORT_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}
_RECORD_IDS = uuid.UUID("6f1c2a3e-5b7d-4e0f-9a8b-2c4d6e8f0a1b")
_PROFILE = "http://netpreserve.org/warc/{version}/revisit/identical-payload-digest"


def payload_digest(sha256_hex: str) -> str:
    """A snapshot's body digest in the WARC form (``sha256:`` + base32)."""
    return "sha256:" + base64.b32encode(bytes.fromhex(sha256_hex)).decode("ascii")


def record_id(kind: str, url: str, when: datetime, sha256_hex: str) -> str:
    """The same capture gets the same id in every export (and after a re-import)."""
    name = f"{kind} {url} {when.isoformat()} {sha256_hex}"
    return f"<urn:uuid:{uuid.uuid5(_RECORD_IDS, name)}>"


def http_headers(
    status: int, headers: dict[str, list[str]], length: int | None
) -> StatusAndHeaders:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    pairs = [
        (name, value)
        for name, values in headers.items()
        if name.lower() not in _TRANSPORT_HEADERS
        for value in values
    ]
    if length is not None:
        pairs.append(("Content-Length", str(length)))
    return StatusAndHeaders(f"{status} {reason}".strip(), pairs, protocol="HTTP/1.1")


def request_headers(url: str) -> StatusAndHeaders:
    """What the archive knows of a request it made: a GET of this URL, to this host."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return StatusAndHeaders(f"GET {target} HTTP/1.1", [("Host", parts.netloc)],
                            protocol="", is_http_request=True)


class _Writer:
    def __init__(self, stream: IO[bytes], version: str, gzip: bool) -> None:
        if version not in WARC_VERSIONS:
            raise ValueError(f"WARC version {version!r}: use one of {', '.join(WARC_VERSIONS)}")
        self.version = version
        self.warc = WARCWriter(stream, gzip=gzip, warc_version=version)
        self.counts: Counter[str] = Counter()

    def date(self, value: datetime) -> str:
        return datetime_to_iso_date(value, use_micros=self.version != "1.0")

    def write(self, kind: str, url: str, headers: dict[str, str], *,
              http: StatusAndHeaders | None = None, body: bytes | None = None) -> None:
        record = self.warc.create_warc_record(
            url, kind, payload=BytesIO(body or b""), length=len(body or b""),
            http_headers=http, warc_headers_dict=headers)
        self.warc.write_record(record)
        self.counts[kind] += 1


def write_warc(session: Session, stream: IO[bytes], *, filename: str = "",
               version: str = "1.1", gzip: bool = True) -> Counter[str]:
    """Write every snapshot and revisit; returns record counts by type.

    ``gzip`` compresses each record on its own (``.warc.gz``), as replay tools need
    to seek to a record; False writes plain WARC (``.warc``).
    """
    writer = _Writer(stream, version, gzip)
    writer.warc.write_record(writer.warc.create_warcinfo_record(filename, {
        "software": f"Silkroad Archive {__version__} (warcio)",
        "format": f"WARC File Format {version}",
        "hostname": socket.gethostname(),
        "description": "China-Central Asia news archive export",
    }))
    writer.counts["warcinfo"] += 1
    imported = set(session.scalars(select(CrawlRun.id).where(CrawlRun.trigger == "import")))
    reached = _ReachedAs(session)
    for kind, when, row in _events(session):
        request_known = row.run_id is not None and row.run_id not in imported
        urls = reached.at(row.page_id, when, row.url)
        if kind == "response":
            _write_response(writer, row, request_known, urls)
        else:
            _write_revisit(writer, row, request_known, urls)
    return writer.counts


class _ReachedAs:
    """The URLs each capture was reached under, where they are not its own.

    A sighting is first seen at the very moment of the fetch that made it, and both
    are read in time order, so only the sightings of one moment wait in memory. A
    later fetch reached under a URL with tracking parameters (the crawl requests the
    canonical form) is found among the few sightings whose URL is not canonical,
    by the period they were seen in.
    """

    def __init__(self, session: Session) -> None:
        self._rows = iter(session.execute(
            select(Sighting.page_id, Sighting.first_seen_at, Sighting.url)
            .order_by(Sighting.first_seen_at, Sighting.id)
            .execution_options(yield_per=1000)))
        self._next = next(self._rows, None)
        self._waiting: dict[tuple[int, datetime], list[str]] = {}
        self._aliases: dict[tuple[int, str], list[tuple[datetime, datetime, str]]] = {}
        for page_id, first, last, url in session.execute(
                select(Sighting.page_id, Sighting.first_seen_at, Sighting.last_seen_at,
                       Sighting.url).execution_options(yield_per=1000)):
            canonical = _canonical(url)
            if canonical is not None and canonical != url:
                self._aliases.setdefault((page_id, canonical), []).append((first, last, url))

    def at(self, page_id: int, when: datetime, url: str) -> list[str]:
        while self._next is not None and self._next[1] <= when:
            row_page, seen, seen_url = self._next
            self._waiting.setdefault((row_page, seen), []).append(seen_url)
            self._next = next(self._rows, None)
        for key in [key for key in self._waiting if key[1] < when]:
            del self._waiting[key]  # seen at a fetch that is not exported (a 304 of no page)
        first_seen = self._waiting.pop((page_id, when), [])
        if first_seen:
            return [other for other in first_seen if other != url]
        canonical = _canonical(url)
        return [other for first, last, other in self._aliases.get((page_id, canonical or ""), [])
                if first <= when <= last and other != url][:1]


def _canonical(url: str) -> str | None:
    try:
        return canonical_url(url)
    except ValueError:
        return None


def _events(session: Session) -> Iterator[tuple[str, datetime, Any]]:
    snapshots = session.execute(
        select(Snapshot).order_by(Snapshot.fetched_at, Snapshot.id)
        .execution_options(yield_per=100)
    ).scalars()
    original = aliased(Snapshot)
    # Every fetch that stored no snapshot of its own: a revisit proper (304, same bytes) or
    # another URL of the page serving its last snapshot's bytes.
    revisits = session.execute(
        select(Fetch.page_id, Fetch.url, Fetch.fetched_at, Fetch.run_id,
               original.url.label("original_url"), original.fetched_at.label("original_at"),
               original.status, original.headers, original.body_sha256, original.body_size)
        .join(original, original.id == Fetch.snapshot_id)
        .where(Fetch.revisit.is_(True) | (Fetch.fetched_at != original.fetched_at)
               | (Fetch.url != original.url))
        .order_by(Fetch.fetched_at, Fetch.id)
        .execution_options(yield_per=500)
    )
    yield from heapq.merge(
        (("response", s.fetched_at, s) for s in snapshots),
        (("revisit", r.fetched_at, r) for r in revisits),
        key=lambda event: event[1],
    )


def _write_context(writer: _Writer, url: str, when: datetime, sha256_hex: str, own_id: str,
                   request_known: bool, reached_as: list[str]) -> None:
    """The request record, where the archive made it, and the URLs the capture was
    reached under (a redirect's source, a link with tracking parameters) as a
    metadata record: import-warc reads them back as sightings."""
    date = writer.date(when)
    if request_known:
        writer.write("request", url, {
            "WARC-Date": date, "WARC-Concurrent-To": own_id,
            "WARC-Record-ID": record_id("request", url, when, sha256_hex),
        }, http=request_headers(url))
    if reached_as:
        writer.write("metadata", url, {
            "WARC-Date": date, "WARC-Concurrent-To": own_id,
            "WARC-Record-ID": record_id("metadata", url, when, sha256_hex),
            "Content-Type": "application/warc-fields",
        }, body="".join(f"reached-as: {other}\r\n" for other in reached_as).encode("utf-8"))


def _write_response(writer: _Writer, snapshot: Snapshot, request_known: bool,
                    reached_as: list[str]) -> None:
    body = unpack_body(snapshot.body)
    own_id = record_id("response", snapshot.url, snapshot.fetched_at, snapshot.body_sha256)
    date = writer.date(snapshot.fetched_at)
    _write_context(writer, snapshot.url, snapshot.fetched_at, snapshot.body_sha256, own_id,
                   request_known, reached_as)
    writer.write("response", snapshot.url, {
        "WARC-Record-ID": own_id,
        "WARC-Date": date,
        "WARC-Payload-Digest": payload_digest(snapshot.body_sha256),
    }, http=http_headers(snapshot.status, snapshot.headers or {}, len(body)), body=body)


def _write_revisit(writer: _Writer, fetch: Any, request_known: bool,
                   reached_as: list[str]) -> None:
    own_id = record_id("revisit", fetch.url, fetch.fetched_at, fetch.body_sha256)
    date = writer.date(fetch.fetched_at)
    _write_context(writer, fetch.url, fetch.fetched_at, fetch.body_sha256, own_id,
                   request_known, reached_as)
    writer.write("revisit", fetch.url, {
        "WARC-Record-ID": own_id,
        "WARC-Date": date,
        "WARC-Profile": _PROFILE.format(version=writer.version),
        "WARC-Refers-To": record_id("response", fetch.original_url, fetch.original_at,
                                    fetch.body_sha256),
        "WARC-Refers-To-Target-URI": fetch.original_url,
        "WARC-Refers-To-Date": writer.date(fetch.original_at),
        "WARC-Payload-Digest": payload_digest(fetch.body_sha256),
    }, http=http_headers(fetch.status, fetch.headers or {}, fetch.body_size))
