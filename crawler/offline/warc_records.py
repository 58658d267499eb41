"""Read a WARC (gzipped or not) as captures to import, one record at a time.

A WARC is input from elsewhere, so every record is read with bounded memory (the
crawl's DOWNLOAD_MAXSIZE caps both the raw payload and its decoded body). What a
record is decides what becomes of it:

- ``response``: HTML pages, robots.txt and redirects become captures; other types
  and statuses are *ignored* with their reason (``not HTML (image/png)``, ``status
  404``): a normal WARC holds them, they are counted, not errors;
- ``revisit``: a capture without a body, which the importer resolves to the payload
  it repeats;
- ``resource``: a capture of its own block, typed by the record's Content-Type;
- ``metadata`` naming ``reached-as`` URLs (what this archive's export writes) tell
  under which URLs the concurrent record was reached;
- ``request``, ``warcinfo`` and other types are ignored, by type.

A record that cannot be parsed or is over the cap is *skipped* (a ``Problem``); a
file that ends or breaks inside a record is reported once (``fatal``) and read no
further.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from scrapy.utils._compression import _DecompressionMaxSizeExceeded, _inflate, _unbrotli, _unzstd
from scrapy.utils.gz import gunzip
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord, ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeadersParser, StatusAndHeadersParserException
from warcio.timeutils import iso_date_to_datetime

from crawler.errors import UsageError
from crawler.links.urls import is_http_url
from crawler.settings import DOWNLOAD_MAXSIZE
from crawler.timeutil import utcnow

HTML_TYPES = ("text/html", "application/xhtml+xml")
REDIRECTS = (301, 302, 303, 307, 308)
MAX_BODY = DOWNLOAD_MAXSIZE  # one cap for crawled and imported bodies, raw and decoded
MAX_HTTP_HEAD = 256 * 1024
MAX_METADATA = 64 * 1024
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


class RecordIgnored(Exception):
    """A well-formed record that holds nothing to import (an image, a 404, a request)."""


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
class Capture:
    """One HTTP exchange as a record tells it; ``body`` None for an unresolved revisit."""

    kind: str  # response | revisit | resource
    url: str
    status: int
    headers: dict[str, list[str]]
    body: bytes | None
    fetched_at: datetime
    path: Path
    offset: int
    record_id: str = ""
    payload_digest: str | None = None
    refers_to_url: str | None = None
    refers_to_date: datetime | None = None
    reached_as: tuple[str, ...] = field(default=())

    def header(self, name: str) -> str | None:
        """A header's first value, whatever the case of its name (HTTP/2 sends lower case)."""
        for key, values in self.headers.items():
            if key.lower() == name.lower() and values:
                return values[0]
        return None

    @property
    def is_robots_txt(self) -> bool:
        return urlsplit(self.url).path == "/robots.txt"

    @property
    def is_redirect(self) -> bool:
        return self.status in REDIRECTS and bool(self.header("Location"))

    @property
    def is_html(self) -> bool:
        content_type = (self.header("Content-Type") or "").lower()
        return not content_type or any(t in content_type for t in HTML_TYPES)


def check_readable(path: Path) -> None:
    """Refuse, before anything is written, a file that is missing or not a WARC at all."""
    try:
        with path.open("rb") as stream:
            next(ArchiveIterator(stream, no_record_parse=True), None)
    except FileNotFoundError:
        raise UsageError(f"WARC file not found: {path}") from None
    except (ArchiveLoadFailed, OSError, EOFError, ValueError) as exc:
        raise UsageError(f"{path} is not a readable WARC file: {exc}") from None


def iter_captures(path: Path, on_problem: Callable[[Problem], None],
                  on_ignored: Callable[[str], None]) -> Iterator[Capture]:
    """The captures of one WARC, bodies de-chunked and decoded."""
    reached: dict[str, tuple[str, ...]] = {}
    with path.open("rb") as stream:
        records = ArchiveIterator(stream, no_record_parse=True)
        offset = 0
        while True:
            try:
                record = next(records, None)
            except _CONTAINER_ERRORS as exc:
                on_problem(Problem(path, records.offset, "", describe(exc), fatal=True))
                return
            if record is None:
                if cut := _cut_tail(path, offset, records.offset):
                    on_problem(Problem(path, cut[0], "", cut[1], fatal=True))
                return
            offset = records.offset  # get_record_offset() would read the record to its end
            url = record.rec_headers.get_header("WARC-Target-URI") or ""
            capture, ignored = None, None
            try:
                capture = _capture(record, path, offset, url, reached)
            except RecordIgnored as exc:
                ignored = str(exc)
            except Exception as exc:  # any fault of this one record costs only itself
                reason = str(exc) if isinstance(exc, RecordSkipped) else describe(exc)
                if not _ends_early(record):
                    on_problem(Problem(path, offset, url, reason))
                    continue
            if _ends_early(record):
                on_problem(Problem(path, offset, url, "file ends inside this record",
                                   fatal=True))
                return
            if ignored is not None:
                on_ignored(ignored)
            elif capture is not None:
                yield capture


def _capture(record: ArcWarcRecord, path: Path, offset: int, url: str,
             reached: dict[str, tuple[str, ...]]) -> Capture | None:
    kind = record.rec_type
    if kind == "metadata" and _read_reached_as(record, reached):
        return None
    if kind not in ("response", "revisit", "resource"):
        raise RecordIgnored(f"{kind} record")
    if not is_http_url(url):
        raise RecordIgnored(f"{kind} of a URI that is not http(s)")
    if record.length is not None and record.length > MAX_BODY + MAX_HTTP_HEAD:
        raise RecordSkipped(f"record of {record.length} bytes is over the {MAX_BODY}-byte cap")
    warc = record.rec_headers
    record_id = warc.get_header("WARC-Record-ID") or ""
    common = {
        "url": url, "fetched_at": _date(warc.get_header("WARC-Date"), "WARC-Date") or utcnow(),
        "path": path, "offset": offset, "record_id": record_id,
        "payload_digest": warc.get_header("WARC-Payload-Digest"),
        "reached_as": reached.pop(record_id, ()),
    }
    if kind == "resource":
        content_type = warc.get_header("Content-Type") or ""
        capture = Capture("resource", status=200, headers={"Content-Type": [content_type]},
                          body=None, **common)
        if not capture.is_html:
            raise RecordIgnored(f"not HTML ({_media_type(content_type)})")
        return _with_body(capture, record.raw_stream, "")
    status, headers, encoding, chunked = _http_head(record.raw_stream)
    if kind == "revisit":
        return Capture("revisit", status=status, headers=headers, body=None,
                       refers_to_url=warc.get_header("WARC-Refers-To-Target-URI"),
                       refers_to_date=_date(warc.get_header("WARC-Refers-To-Date"),
                                            "WARC-Refers-To-Date"),
                       **common)
    capture = Capture("response", status=status, headers=headers, body=None, **common)
    if not (capture.is_robots_txt or capture.is_redirect):
        if status != 200:
            raise RecordIgnored(f"status {status}")
        if not capture.is_html:
            raise RecordIgnored(f"not HTML ({_media_type(capture.header('Content-Type'))})")
    payload: BinaryIO = ChunkedDataReader(record.raw_stream) if chunked else record.raw_stream
    return _with_body(capture, payload, encoding)


def _with_body(capture: Capture, payload: BinaryIO, encoding: str) -> Capture:
    return replace(capture, body=decode_body(read_capped(payload), encoding))


def _http_head(stream: BinaryIO) -> tuple[int, dict[str, list[str]], str, bool]:
    """Status, headers (names as written), Content-Encoding and whether it is chunked."""
    try:
        http = _HTTP_PARSER.parse(BytesIO(_read_http_head(stream)))
        status = int(http.get_statuscode() or 0)
    except (ValueError, UnicodeError, EOFError) as exc:
        raise RecordSkipped(f"malformed HTTP headers: {describe(exc)}") from None
    headers: dict[str, list[str]] = {}
    for name, value in http.headers:
        headers.setdefault(name, []).append(value)
    chunked = (http.get_header("Transfer-Encoding") or "").lower() == "chunked"
    return status, headers, http.get_header("Content-Encoding") or "", chunked


def _read_reached_as(record: ArcWarcRecord, reached: dict[str, tuple[str, ...]]) -> bool:
    """``reached-as: URL`` lines of a metadata record, for the record it is concurrent to;
    False if it has none."""
    concurrent = record.rec_headers.get_header("WARC-Concurrent-To")
    if not concurrent:
        return False
    block = record.raw_stream.read(MAX_METADATA).decode("utf-8", "replace")
    urls = tuple(line.split(":", 1)[1].strip() for line in block.splitlines()
                 if line.lower().startswith("reached-as:"))
    urls = tuple(url for url in urls if is_http_url(url))
    if urls:
        reached[concurrent] = urls
    return bool(urls)


def _date(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return iso_date_to_datetime(value).replace(tzinfo=None)
    except (ValueError, TypeError) as exc:
        raise RecordSkipped(f"malformed {name} {value!r}: {exc}") from None


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower() or "no type"


def _ends_early(record: ArcWarcRecord) -> bool:
    """Whether the file ends (or breaks) before the record's declared length: what of
    the record was not read (an ignored record, a skipped one) is read now, and dropped.

    A record without a length (its headers were cut) ends early when nothing follows.
    """
    stream = record.raw_stream
    try:
        if getattr(stream, "limit", None) is None:
            return not stream.read(1)
        while stream.read(_CHUNK):
            pass
        return stream.limit > 0
    except _CONTAINER_ERRORS:
        return True


def _cut_tail(path: Path, last: int, end: int) -> tuple[int, str] | None:
    """Where and how the file was cut, if it was, once no further record could be read:
    bytes left that make no record (the start of one), or a last gzip member without its
    trailer (its record was read whole, and is imported)."""
    with path.open("rb") as stream:
        stream.seek(end)
        if stream.read(_CHUNK).strip(b"\r\n"):
            return end, "file ends inside the record that starts here"
        stream.seek(last)
        if stream.read(2) != b"\x1f\x8b":
            return None
        stream.seek(last)
        member = zlib.decompressobj(wbits=31)
        while not member.eof and (data := member.unconsumed_tail or stream.read(_CHUNK)):
            member.decompress(data, _CHUNK)  # bounded output, dropped: only the end matters
        if member.eof:
            return None
        return last, "file ends inside this record's gzip trailer (its content was whole)"


def _read_http_head(stream: BinaryIO) -> bytes:
    head = bytearray()
    while True:
        line = stream.readline(MAX_HTTP_HEAD + 1 - len(head))
        head += line
        if len(head) > MAX_HTTP_HEAD:
            raise RecordSkipped(f"HTTP headers over {MAX_HTTP_HEAD} bytes")
        if not line or not line.strip():
            return bytes(head)


def read_capped(stream: BinaryIO) -> bytes:
    body = bytearray()
    while chunk := stream.read(min(_CHUNK, MAX_BODY + 1 - len(body))):
        body += chunk
        if len(body) > MAX_BODY:
            raise RecordSkipped(f"payload over the {MAX_BODY}-byte cap")
    return bytes(body)


def decode_body(body: bytes, content_encoding: str) -> bytes:
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
            raise RecordSkipped(f"undecodable {coding} body: {describe(exc)}") from None
    return body


def describe(exc: BaseException) -> str:
    """One printable line: messages quoting the input may carry its binary bytes."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return "".join(c if c.isprintable() else "?" for c in text.splitlines()[0][:200])
