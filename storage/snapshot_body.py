"""How a snapshot's bytes are kept: zlib-compressed, named by their SHA-256.

Packing a news page costs a few milliseconds. A crawl packs in its extraction
workers, next to the parsing, so that the process running the reactor and the
database writer does not spend its one core on it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from crawler.fingerprint import body_digest

COMPRESSION_LEVEL = 6


@dataclass(frozen=True)
class PackedBody:
    sha256: str  # of the raw bytes
    compressed: bytes
    size: int  # of the raw bytes


def pack_body(body: bytes) -> PackedBody:
    return PackedBody(body_digest(body), zlib.compress(body, COMPRESSION_LEVEL), len(body))


def unpack_body(compressed: bytes) -> bytes:
    return zlib.decompress(compressed)
