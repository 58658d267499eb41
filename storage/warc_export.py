"""The archive as standard WARC 1.1: what other archiving tools read.

A warcinfo record, then in time order one `response` record per snapshot
(original status line, headers and body) and one `revisit` record
(identical-payload-digest profile) per fetch that found the page unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import socket
from collections.abc import Iterator
from datetime import datetime
from http import HTTPStatus
from io import BytesIO
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from crawler import __version__
from crawler.analysis.snapshot_body import unpack_body
from storage.models import Fetch, Snapshot

# Stored bodies are already decoded: these headers would describe bytes we do not write.
_TRANSPORT_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}


def payload_digest(body: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


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


def _warc_date(value: datetime) -> str:
    return datetime_to_iso_date(value, use_micros=True)


def write_warc(session: Session, stream: IO[bytes], *, filename: str = "") -> dict[str, int]:
    """Write every snapshot and revisit; returns record counts by type."""
    writer = WARCWriter(stream, gzip=True, warc_version="1.1")
    writer.write_record(writer.create_warcinfo_record(filename, {
        "software": f"Silkroad Archive {__version__} (warcio)",
        "format": "WARC File Format 1.1",
        "hostname": socket.gethostname(),
        "description": "China-Central Asia news archive export",
    }))
    counts = {"warcinfo": 1, "response": 0, "revisit": 0}
    digests: dict[int, str] = {}
    for kind, _when, row in _events(session):
        if kind == "response":
            _write_response(writer, row, digests)
        else:
            _write_revisit(writer, row, digests, session)
        counts[kind] += 1
    return counts


def _events(session: Session) -> Iterator[tuple[str, datetime, Any]]:
    snapshots = session.execute(
        select(Snapshot).order_by(Snapshot.fetched_at, Snapshot.id)
        .execution_options(yield_per=100)
    ).scalars()
    revisits = session.execute(
        select(Fetch)
        .where(Fetch.revisit.is_(True), Fetch.snapshot_id.is_not(None))
        .order_by(Fetch.fetched_at, Fetch.id)
        .execution_options(yield_per=500)
    ).scalars()
    yield from heapq.merge(
        (("response", s.fetched_at, s) for s in snapshots),
        (("revisit", f.fetched_at, f) for f in revisits),
        key=lambda event: event[1],
    )


def _write_response(writer: WARCWriter, snapshot: Snapshot, digests: dict[int, str]) -> None:
    body = unpack_body(snapshot.body)
    digests[snapshot.id] = payload_digest(body)
    record = writer.create_warc_record(
        snapshot.url,
        "response",
        payload=BytesIO(body),
        length=len(body),
        http_headers=http_headers(snapshot.status, snapshot.headers or {}, len(body)),
        warc_headers_dict={
            "WARC-Date": _warc_date(snapshot.fetched_at),
            "WARC-Payload-Digest": digests[snapshot.id],
        },
    )
    writer.write_record(record)


def _write_revisit(
    writer: WARCWriter, fetch: Fetch, digests: dict[int, str], session: Session
) -> None:
    snapshot = session.get(Snapshot, fetch.snapshot_id)
    assert snapshot is not None
    digest = digests.get(snapshot.id) or payload_digest(unpack_body(snapshot.body))
    record = writer.create_revisit_record(
        fetch.url,
        digest,
        snapshot.url,
        _warc_date(snapshot.fetched_at),
        http_headers=http_headers(fetch.status, {}, None),
        warc_headers_dict={"WARC-Date": _warc_date(fetch.fetched_at)},
    )
    writer.write_record(record)
