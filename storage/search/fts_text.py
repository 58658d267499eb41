"""The text the full-text index sees: Chinese cut into overlapping bigrams.

SQLite's ``unicode61`` tokenizer splits on spaces and punctuation, and
Chinese has neither between words, so a sentence would index as one huge
token. Rewriting every run of Han characters as its overlapping two-character
pieces ("中吉乌铁路" -> "中吉 吉乌 乌铁 铁路") makes any substring of two or more
characters a phrase of consecutive tokens, findable with stock FTS5. Traditional
characters are folded to Simplified first, character by character
(``crawler.analysis.han_variants``), so either script finds both. Stock
matters: Datasette (stdlib ``sqlite3``, no extensions) must open and query the
same index. Queries go through the same function, so both sides agree.

PostgreSQL gets the same text cut into ``unicode61``'s tokens (``search_text``),
accented Latin letters folded as ``remove_diacritics 2`` folds them (Türkmenistan
finds Turkmenistan on both): its own parser would otherwise read e-mail addresses,
URLs, decimals, signed numbers ("covid-19" as covid, -19) and anything between <
and > (dropped as a tag) differently, and the two engines would find different
articles.

The transform is part of the index's definition: changing it means a
migration that rebuilds ``articles_fts`` (``storage.search.index.rebuild_index``).
"""

from __future__ import annotations

import re
import sqlite3
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from operator import add

from crawler.analysis.han_variants import to_simplified
from crawler.analysis.script import HAN_RUN

# Same-length replacements only, so offsets into the original text stay valid:
# ё is written as е in most Russian text; \x01 and \x02 are our highlight markers;
# Traditional Chinese characters become Simplified (鐵路 finds 铁路 and back).
_FOLD = (("ё", "е"), ("Ё", "Е"), ("\x01", " "), ("\x02", " "))


def _fold(value: str) -> str:
    for old, new in _FOLD:  # str.replace is far quicker than str.translate on non-ASCII
        if old in value:
            value = value.replace(old, new)
    return to_simplified(value)


def bigrams(run: str) -> str:
    """'中吉乌' -> '中吉 吉乌'; a single character stays itself."""
    if len(run) < 2:
        return run
    return " ".join(map(add, run, run[1:]))


def fts_text(value: str | None) -> str:
    """The indexable form of ``value`` (also applied to every query term)."""
    if not value:
        return ""
    return HAN_RUN.sub(lambda m: " " + bigrams(m.group()) + " ", _fold(value))


# A token of SQLite's unicode61 tokenizer: a run of letters and digits.
_WORD = re.compile(r"[^\W_]+")
# The Latin blocks where remove_diacritics folds letters.
_LATIN_RANGES = ((0xC0, 0x24F), (0x1E00, 0x1EFF))
_LATIN = re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in _LATIN_RANGES) + "]")


@lru_cache(maxsize=1)
def _latin_folds() -> dict[str, str]:
    """Each accented Latin letter as unicode61 (remove_diacritics 2) indexes it, asked
    of SQLite itself so that the two engines cannot disagree."""
    letters = [chr(code) for first, last in _LATIN_RANGES
               for code in range(first, last + 1) if chr(code).isalpha()]
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE VIRTUAL TABLE f USING fts5(x, "
                   "tokenize='unicode61 remove_diacritics 2')")
        db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(f, instance)")
        db.executemany("INSERT INTO f(rowid, x) VALUES (?, ?)", enumerate(letters))
        folded = dict(db.execute("SELECT doc, term FROM v"))
    finally:
        db.close()
    return {letter: folded.get(n, letter) for n, letter in enumerate(letters)}


def index_words(transformed: str) -> list[str]:
    """The tokens in already transformed text (what FTS5 finds in it), accented
    Latin letters folded as FTS5 folds them."""
    if _LATIN.search(transformed):
        folds = _latin_folds()
        transformed = _LATIN.sub(lambda m: folds.get(m.group(), m.group()), transformed)
    return _WORD.findall(transformed)


def search_text(value: str | None) -> str:
    """``fts_text`` as bare tokens, one space apart: PostgreSQL's ``to_tsvector`` input."""
    return " ".join(index_words(fts_text(value)))


@dataclass(frozen=True)
class MappedText:
    """Transformed text that can point back into the original.

    Outside Han runs the two texts differ only by a shift; each run's section
    (" " + bigrams + " ") is recorded as (section start, section end, original
    start, run length), and positions inside it are worked out arithmetically.
    """

    text: str
    runs: list[tuple[int, int, int, int]]

    def original_start(self, position: int) -> int:
        """Where the character at transformed ``position`` came from."""
        at = bisect_right(self.runs, (position, _INF)) - 1
        if at < 0:
            return position
        start, end, origin, length = self.runs[at]
        if position >= end:
            return position + (origin + length) - end
        offset = position - start - 1  # the section opens with a space
        if offset < 0:
            return origin
        if length == 1:
            return origin
        bigram, within = divmod(offset, 3)  # two characters, then a space
        return origin + bigram + min(within, 2)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) covered by transformed [start, end)."""
        return self.original_start(start), self.original_start(end - 1) + 1


_INF = float("inf")


def fts_text_mapped(value: str) -> MappedText:
    """``fts_text`` that remembers where each part came from (for snippets)."""
    folded = _fold(value)
    out: list[str] = []
    runs: list[tuple[int, int, int, int]] = []
    position, size = 0, 0
    for match in HAN_RUN.finditer(folded):
        plain = folded[position:match.start()]
        section = " " + bigrams(match.group()) + " "
        out += (plain, section)
        size += len(plain)
        runs.append((size, size + len(section), match.start(), len(match.group())))
        size += len(section)
        position = match.end()
    out.append(folded[position:])
    return MappedText("".join(out), runs)
