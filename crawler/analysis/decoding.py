"""Turn a fetched page's bytes into text, whatever its charset claims.

Declarations lie often enough to matter: servers default to one charset while
the page is saved in another, and CMS templates keep a ``gb2312`` meta tag long
after the site moved to UTF-8. So the bytes are trusted over the labels:

1. a byte order mark wins;
2. bytes that are valid UTF-8 and not pure ASCII are UTF-8 (legacy CJK or
   Cyrillic text is almost never valid UTF-8 by accident), which is also the
   cheap path most pages take; so are bytes with only a few broken sequences;
3. otherwise the declared charsets (header, ``<meta>``) and the common legacy
   ones are each decoded strictly and measured with charset_normalizer's mess
   detector, because a single-byte codec "succeeds" on any bytes and only the
   text tells mojibake; the cleanest wins, declarations winning near-ties;
4. pages in none of those charsets go to charset_normalizer's full detection;
5. last resort: the best guess, with replacement characters.

Pure ASCII is whatever is declared (only the 7-bit ISO-2022 codecs differ).
Label parsing and the WHATWG label mapping (``latin1`` means cp1252, the GB
family means gb18030, ...) come from w3lib, which Scrapy already uses.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass
from functools import lru_cache

from charset_normalizer import from_bytes
from charset_normalizer.md import mess_ratio
from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)

logger = logging.getLogger(__name__)

#: Above this share of "mess" (charset_normalizer's measure) a decoding is mojibake.
#: Real pages in many scripts measure under 0.07; wrong codecs measure 0.2 to 1.8.
MAX_PLAUSIBLE_MESS = 0.15

#: Broken sequences per valid non-ASCII character up to which a page is damaged
#: UTF-8 rather than legacy (legacy text read as UTF-8: 10 or more per valid one).
MAX_BROKEN_UTF8_SHARE = 0.05

#: A declared multi-byte charset this clean is accepted without comparison.
CLEAN_MESS = 0.02

#: Declarations win ties: a declared charset's mess counts this much less.
DECLARED_BONUS = 0.01

#: How many bytes of non-ASCII text are measured per candidate; more only costs time.
MESS_SAMPLE_BYTES = 8_192

#: Charsets worth trying when the declarations fail, besides the declared ones.
COMMON_LEGACY_CHARSETS = (
    "gb18030",
    "cp950",
    "big5hkscs",
    "cp1251",
    "koi8-r",
    "cp1252",
    "cp932",
    "euc_jp",
    "cp949",
)

# WHATWG labels that Python's codec registry does not know.
_EXTRA_LABELS = {
    "x-gbk": "gb18030",
    "cn-big5": "cp950",
    "x-x-big5": "cp950",
    "x-cp1250": "cp1250",
    "x-cp1251": "cp1251",
    "x-cp1252": "cp1252",
    "x-euc-jp": "euc_jp",
    "windows-949": "cp949",
    "x-mac-cyrillic": "mac-cyrillic",
    "x-mac-ukrainian": "mac-cyrillic",
    "koi": "koi8-r",
    "koi8": "koi8-r",
    "koi8-ru": "koi8-u",
    "dos-866": "cp866",
    "unicode-1-1-utf-8": "utf-8",
    "x-unicode20utf8": "utf-8",
}

_HIGH_BYTES_TO_TAG = re.compile(rb"[\x80-\xff][^<>]*")
_ASCII_BYTES = bytes(range(128))
_CYRILLIC_SINGLE_BYTE = frozenset(
    {"cp1251", "koi8-r", "koi8-u", "cp866", "iso8859-5", "mac-cyrillic"}
)
_LATIN_CYRILLIC_MIX = re.compile(r"[A-Za-z][\u0400-\u04ff]|[\u0400-\u04ff][A-Za-z]")


@dataclass(frozen=True)
class DecodedPage:
    """A page as text, with the codec used and why it was chosen."""

    html: str
    encoding: str
    source: str  # "bom" | "utf-8" | "header" | "meta" | "detected"


def decode_html(body: bytes, content_type: str | None = None) -> DecodedPage:
    """Decode a page's bytes; never raises on bad bytes (the last resort replaces them)."""
    bom_codec, bom = read_bom(body)
    if bom_codec is not None and bom is not None:
        return DecodedPage(body[len(bom) :].decode(bom_codec, "replace"), bom_codec, "bom")

    if body.isascii():
        return _decode_ascii(body, content_type)

    try:
        return DecodedPage(body.decode("utf-8"), "utf-8", "utf-8")
    except UnicodeDecodeError:
        pass
    damaged = _damaged_utf8(body)
    if damaged is not None:
        return DecodedPage(damaged, "utf-8", "utf-8")

    return _arbitrate(body, _declared_charsets(body, content_type))


def _damaged_utf8(body: bytes) -> str | None:
    """The text of a UTF-8 page with a few broken sequences (a cut-off excerpt, a
    pasted legacy snippet), or None when the bytes are not UTF-8 at all.

    Legacy CJK or Cyrillic text read as UTF-8 breaks on nearly every character,
    so a handful of errors among many valid characters means damaged UTF-8.
    """
    text = body.decode("utf-8", "replace")
    replaced = text.count("\ufffd")
    broken = replaced - body.count(b"\xef\xbf\xbd")
    ascii_chars = len(body) - len(body.translate(None, _ASCII_BYTES))
    valid_non_ascii = len(text) - ascii_chars - replaced
    if broken <= MAX_BROKEN_UTF8_SHARE * valid_non_ascii:
        logger.debug("UTF-8 page with %d broken sequences", broken)
        return text
    return None


def _decode_ascii(body: bytes, content_type: str | None) -> DecodedPage:
    # Every ASCII-compatible codec reads ASCII alike, except the 7-bit
    # ISO-2022 family, which only the declaration can reveal.
    for codec, source in _declared_charsets(body, content_type):
        text = _strict_decode(body, codec)
        if text is not None:
            return DecodedPage(text, codec, source)
    return DecodedPage(body.decode("ascii"), "utf-8", "utf-8")


def _declared_charsets(body: bytes, content_type: str | None) -> list[tuple[str, str]]:
    """Usable declared codecs, header first, without repeats."""
    found: list[tuple[str, str]] = []
    for label, source in (
        (_header_charset(content_type), "header"),
        (html_body_declared_encoding(body), "meta"),
    ):
        codec = _usable_codec(label) if label else None
        if codec is not None and codec not in (known for known, _ in found):
            found.append((codec, source))
    return found


def _header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    resolved = http_content_type_encoding(content_type)
    if resolved is not None:
        return resolved
    # A label w3lib cannot resolve may still be one of _EXTRA_LABELS.
    match = re.search(r"charset\s*=\s*[\"']?([\w-]+)", content_type, re.IGNORECASE)
    return match.group(1) if match else None


@lru_cache(maxsize=128)
def _usable_codec(label: str) -> str | None:
    """Python codec name for a label, or None for unknown or non-ASCII-compatible ones.

    UTF-16/32 declared without a BOM is treated as absent, as WHATWG does for
    meta, and so is HZ, which WHATWG maps to its "replacement" decoder.
    """
    label = label.strip().lower()
    codec = _EXTRA_LABELS.get(label) or resolve_encoding(label)
    if codec is None:
        return None
    codec = codecs.lookup(codec).name
    if codec == "big5hkscs":
        # w3lib maps Big5 to HKSCS, which misreads Taiwan's ETEN kana; cp950 keeps
        # them and HKSCS stays a measured alternative.
        codec = "cp950"
    if codec.startswith(("utf-16", "utf-32")) or codec == "hz":
        return None
    try:
        if "<meta charset=>".encode(codec) != b"<meta charset=>":
            return None
    except UnicodeError:
        return None
    return codec


def _gb18030_strict(error: UnicodeError) -> tuple[str, int]:
    # WHATWG's GB18030 decoder reads a lone 0x80 as the euro sign (cp936 legacy).
    if isinstance(error, UnicodeDecodeError) and error.object[error.start] == 0x80:
        return "\u20ac", error.start + 1
    raise error


codecs.register_error("silkroad_gb18030_strict", _gb18030_strict)


def _strict_decode(body: bytes, codec: str) -> str | None:
    errors = "silkroad_gb18030_strict" if codec == "gb18030" else "strict"
    try:
        return body.decode(codec, errors)
    except (UnicodeDecodeError, LookupError):
        return None


def _arbitrate(body: bytes, declared: list[tuple[str, str]]) -> DecodedPage:
    """Pick the candidate whose text reads best, measured on the page's non-ASCII text."""
    sample = _non_ascii_sample(body)
    candidates = [(codec, source) for codec, source in declared if codec != "utf-8"]
    for codec in COMMON_LEGACY_CHARSETS:
        if codec not in (known for known, _ in candidates):
            candidates.append((codec, "detected"))

    scored: list[tuple[float, int, str, str]] = []
    for rank, (codec, source) in enumerate(candidates):
        sample_text = _strict_decode(sample, codec)
        if sample_text is None:
            continue
        mess = _mess(sample_text, cyrillic=codec in _CYRILLIC_SINGLE_BYTE)
        if source != "detected":
            if mess <= CLEAN_MESS and _is_multibyte(codec):
                # Multi-byte codecs reject most foreign bytes: a clean read is conclusive.
                text = _strict_decode(body, codec)
                if text is not None:
                    return DecodedPage(text, codec, source)
            mess -= DECLARED_BONUS
        scored.append((mess, rank, codec, source))

    scored.sort()
    for mess, _rank, codec, source in scored:
        if mess > MAX_PLAUSIBLE_MESS:
            break
        text = _strict_decode(body, codec)
        if text is not None:
            logger.debug("charset %s (%s) reads best (mess %.3f)", codec, source, mess)
            return DecodedPage(text, codec, source)

    guessed = _guess_exotic(sample, body)
    if guessed is not None:
        return guessed

    codec, source = declared[0] if declared else (scored[0][2] if scored else "cp1252", "detected")
    logger.debug("no charset reads the page cleanly; %s with replacement characters", codec)
    errors = "w3lib_gb18030_replace" if codec == "gb18030" else "replace"
    return DecodedPage(body.decode(codec, errors), codec, source)


def _mess(text: str, *, cyrillic: bool) -> float:
    """charset_normalizer's mess ratio, plus for Cyrillic codecs the share of
    words that mix Latin and Cyrillic letters: the mark of Western text read as
    Cyrillic ("cafй"), which the mess ratio misses when accents are few.
    """
    # Past the threshold the ratio stops counting: such a candidate is out anyway.
    mess = float(mess_ratio(text, maximum_threshold=2 * MAX_PLAUSIBLE_MESS))
    if cyrillic:
        mixed = len(_LATIN_CYRILLIC_MIX.findall(text))
        if mixed:
            mess += mixed / max(1, len(text.split()))
    return mess


def _guess_exotic(sample: bytes, body: bytes) -> DecodedPage | None:
    """Ask charset_normalizer about every codec it knows: for pages outside the usual set."""
    for match in from_bytes(sample, preemptive_behaviour=False, enable_fallback=False):
        codec = codecs.lookup(match.encoding).name
        if codec.startswith(("utf-16", "utf-32")) or match.chaos > MAX_PLAUSIBLE_MESS:
            continue
        text = _strict_decode(body, codec)
        if text is not None:
            return DecodedPage(text, codec, "detected")
    return None


def _non_ascii_sample(body: bytes) -> bytes:
    """The page's text runs that hold non-ASCII bytes; markup would dilute the measure.

    '<' and '>' never occur inside a multi-byte character of the candidate
    codecs, so every run starts on a character boundary.
    """
    runs: list[bytes] = []
    size = 0
    for match in _HIGH_BYTES_TO_TAG.finditer(body):
        start = max(body.rfind(b"<", 0, match.start()), body.rfind(b">", 0, match.start())) + 1
        runs.append(body[start : match.end()])
        size += match.end() - start
        if size >= MESS_SAMPLE_BYTES:
            break
    return b"\n".join(runs)


@lru_cache(maxsize=64)
def _is_multibyte(codec: str) -> bool:
    return len("\u4e2d".encode(codec, "ignore")) > 1
