"""Highlighted snippets drawn from an article's original text.

The index holds transformed text (Chinese as bigrams), so FTS5's own
``snippet()`` would show "中吉 吉乌 乌铁" to the reader, and a contentless
table has no text to show at all. Instead each hit is put, transformed, in a
throwaway in-memory FTS5 table with the same tokenizer; SQLite's
``highlight()`` marks exactly the tokens the query matched (stems, prefixes,
phrases included), and the character map from ``fts_text_mapped`` carries
those marks back to the original text.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from crawler.analysis.script import HAN_RUN
from storage.search.fts_text import fts_text_mapped
from storage.search.index import FTS_TOKENIZER

OPEN, CLOSE = "\x01", "\x02"
_MARKED = re.compile(f"{OPEN}(.*?){CLOSE}", re.S)
_SPACES = re.compile(r"\s+")
SNIPPET_CHARS = 200
SNIPPET_CHARS_HAN = 100
# Matches are looked for in this much of a text: bounds the cost of a very long article.
SCAN_CHARS = 30_000

Span = tuple[int, int]


@dataclass(frozen=True)
class Snippet:
    """Text pieces, each flagged as matched or not; ellipses included."""

    segments: tuple[tuple[str, bool], ...]

    @property
    def plain(self) -> str:
        return "".join(text for text, _ in self.segments)

    def marked(self, before: str = "**", after: str = "**") -> str:
        return "".join(f"{before}{text}{after}" if hit else text for text, hit in self.segments)


def _marked_spans(highlighted: str) -> list[Span]:
    """Positions of the marked runs in the unmarked text."""
    spans, removed = [], 0
    for match in _MARKED.finditer(highlighted):
        start = match.start() - removed
        spans.append((start, start + len(match.group(1))))
        removed += 2
    return spans


def _merge(spans: Sequence[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def match_spans(fts_query: str, documents: Sequence[tuple[str, str]]
                ) -> list[tuple[list[Span], list[Span]]]:
    """For each (title, body), where ``fts_query`` matches in the original strings."""
    mapped = [(fts_text_mapped(title[:SCAN_CHARS]), fts_text_mapped(body[:SCAN_CHARS]))
              for title, body in documents]
    found: dict[int, tuple[list[Span], list[Span]]] = {}
    db = sqlite3.connect(":memory:", isolation_level=None)
    try:
        db.execute("CREATE VIRTUAL TABLE h USING fts5(title, body, columnsize=0, "
                   f"tokenize='{FTS_TOKENIZER}')")
        db.execute("BEGIN")  # never committed: nothing to write out
        db.executemany("INSERT INTO h(rowid, title, body) VALUES (?, ?, ?)",
                       [(i, t.text, b.text) for i, (t, b) in enumerate(mapped)])
        rows = db.execute(
            "SELECT rowid, highlight(h, 0, ?, ?), highlight(h, 1, ?, ?) FROM h WHERE h MATCH ?",
            (OPEN, CLOSE, OPEN, CLOSE, fts_query),
        ).fetchall()
    finally:
        db.close()
    for rowid, title, body in rows:
        title_map, body_map = mapped[rowid]
        found[rowid] = (
            _merge([title_map.original_span(*s) for s in _marked_spans(title) if s[1] > s[0]]),
            _merge([body_map.original_span(*s) for s in _marked_spans(body) if s[1] > s[0]]),
        )
    return [found.get(i, ([], [])) for i in range(len(documents))]


def _han_heavy(text: str) -> bool:
    sample = text[:400]
    return sum(map(len, HAN_RUN.findall(sample))) > len(sample) // 3


def _best_window(spans: Sequence[Span], width: int) -> int:
    """Start of the ``width``-long window holding the most matches (spans sorted, disjoint)."""
    best_start, best_count, j = spans[0][0], 0, 0
    for i, (start, _) in enumerate(spans):
        while j < len(spans) and spans[j][1] <= start + width:
            j += 1
        if j - i > best_count:
            best_start, best_count = start, j - i
    return best_start


def _pieces(text: str, spans: Sequence[Span], start: int, end: int) -> list[tuple[str, bool]]:
    pieces: list[tuple[str, bool]] = []
    position = start
    for s, e in spans:
        s, e = max(s, start), min(e, end)
        if e <= s:
            continue
        if s > position:
            pieces.append((text[position:s], False))
        pieces.append((text[s:e], True))
        position = e
    if position < end:
        pieces.append((text[position:end], False))
    return [(_SPACES.sub(" ", piece), hit) for piece, hit in pieces]


def make_snippet(text: str, spans: Sequence[Span], width: int | None = None) -> Snippet:
    """About ``width`` characters of ``text`` around its densest cluster of matches."""
    if width is None:
        width = SNIPPET_CHARS_HAN if _han_heavy(text) else SNIPPET_CHARS
    if not text:
        return Snippet(())
    focus = _best_window(spans, width) if spans else 0
    start = max(0, focus - width // 4)
    end = min(len(text), start + width)
    start = max(0, min(start, end - width))
    # Do not cut a word in two at either edge.
    if start > 0:
        space = text.find(" ", start, min(start + 20, focus))
        if space >= 0:
            start = space + 1
    if end < len(text):
        space = text.rfind(" ", max(end - 20, focus + 1), end)
        if space > start:
            end = space
    pieces = _pieces(text, spans, start, end)
    if pieces and not pieces[0][1]:
        pieces[0] = (pieces[0][0].lstrip(), False)
    if start > 0:
        pieces.insert(0, ("…", False))
    if end < len(text):
        pieces.append(("…", False))
    return Snippet(tuple(piece for piece in pieces if piece[0]))


def whole(text: str, spans: Sequence[Span]) -> Snippet:
    """All of a short text (a title) with its matches marked."""
    return Snippet(tuple(p for p in _pieces(text, spans, 0, len(text)) if p[0]))
