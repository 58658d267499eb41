"""Traditional Chinese characters folded to Simplified, one character for one.

Search must find 铁路 when the reader types 鐵路 and the other way round, so the
index and every query term see Chinese in one script. OpenCC's full t2s
conversion picks phrases by context (slow on long texts, and a short query may
convert apart from the same words inside an article); folding each character
on its own, as OpenCC's character table gives it, is context-free, so a query
and an article always agree, and it keeps every character where it was, so
offsets into the folded text are offsets into the original (snippets rely on
it). Where the table offers several Simplified forms the first is OpenCC's
choice and ours.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from crawler.analysis.script import HAN

# opencc-python-reimplemented's copy of OpenCC's table: "traditional\tsimplified [other]".
CHARACTER_TABLE = ("opencc", "dictionary/TSCharacters.txt")


@lru_cache(maxsize=1)
def _folding() -> dict[int, str]:
    package, name = CHARACTER_TABLE
    table: dict[str, str] = {}
    for line in resources.files(package).joinpath(name).read_text(encoding="utf-8").splitlines():
        traditional, _, simplified = line.partition("\t")
        first = simplified.split(" ")[0]
        # Targets outside our Han ranges (Extension G) are not tokens to SQLite's unicode61.
        if len(traditional) == 1 and len(first) == 1 and first != traditional \
                and HAN.match(first):
            table[traditional] = first
    for traditional, simplified in table.items():  # in one step: 薴 -> 苧 -> 苎 is 薴 -> 苎
        for _ in range(3):
            simplified = table.get(simplified, simplified)
        table[traditional] = simplified
    return str.maketrans(table)


def to_simplified(text: str) -> str:
    """``text`` with every Traditional character that has a Simplified form replaced by
    it; the same length, every other character untouched."""
    # A character class of the table's 4,000 characters is slower to scan than this,
    # since it holds some beyond the Basic Multilingual Plane.
    if HAN.search(text) is None:
        return text
    return text.translate(_folding())
