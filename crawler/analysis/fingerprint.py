"""Content fingerprints: the same article under different page chrome hashes the same."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """NFKC, then every run of whitespace folded to one space, ends trimmed."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def content_hash(text: str) -> str:
    """SHA-256 (hex) of the normalised text: the article's identity in the archive."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


def body_digest(body: bytes) -> str:
    """SHA-256 (hex) of raw response bytes: tells a changed page from a revisit."""
    return hashlib.sha256(body).hexdigest()
