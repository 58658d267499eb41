"""A CDXJ index of a WARC: how replay tools find a capture by URL and date.

One line per response, revisit and resource record, ``SURT-key timestamp {json}``,
sorted, with the fields cdxj-indexer writes (url, mime, status, digest, length,
offset, filename). The index is read back from the finished WARC with warcio, so
offsets and lengths are those of the bytes on disk. (cdxj-indexer itself cannot be
a dependency: it needs the ``multipart`` module, whose name Datasette's
python-multipart also takes.)
"""

from __future__ import annotations

import json
import re
from typing import IO

import surt
from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.timeutils import iso_date_to_timestamp

INDEXED = ("response", "revisit", "resource")
_SPACE = re.compile(r"[;\s]")


def cdxj_lines(stream: IO[bytes], *, filename: str) -> list[str]:
    """The index lines of the WARC in ``stream``, unsorted."""
    lines = []
    records = ArchiveIterator(stream)
    for record in records:
        if record.rec_type not in INDEXED:
            continue
        url = record.rec_headers.get_header("WARC-Target-URI") or ""
        entry = {"url": url, "mime": _mime(record)}
        if record.http_headers is not None and record.http_headers.get_statuscode():
            entry["status"] = record.http_headers.get_statuscode()
        digest = record.rec_headers.get_header("WARC-Payload-Digest")
        if digest:
            entry["digest"] = digest
        key, stamp = _key(url), iso_date_to_timestamp(record.rec_headers.get_header("WARC-Date"))
        entry.update(length=str(records.get_record_length()),
                     offset=str(records.get_record_offset()), filename=filename)
        lines.append(f"{key} {stamp} {json.dumps(entry)}\n")
    return lines


def write_cdxj(stream: IO[bytes], out: IO[str], *, filename: str) -> int:
    """Write the sorted index of the WARC in ``stream``; returns the number of lines."""
    lines = sorted(cdxj_lines(stream, filename=filename))
    out.writelines(lines)
    return len(lines)


def _key(url: str) -> str:
    try:
        return str(surt.surt(url))
    except Exception:  # noqa: BLE001  (surt raises bare errors on odd URLs; index it as is)
        return url


def _mime(record: ArcWarcRecord) -> str:
    if record.rec_type == "revisit":
        return "warc/revisit"
    headers = record.http_headers if record.rec_type == "response" else record.rec_headers
    value = (headers.get_header("Content-Type") if headers is not None else None) or ""
    return _SPACE.split(value, 1)[0].strip() or "unk"
