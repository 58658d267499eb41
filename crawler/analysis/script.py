"""Which characters are Han (Chinese ideographs), defined once.

Han text has no spaces between words, so language detection, extraction, topic
scoring, link scoring and the search index all treat it apart; they must agree
on what it is. The ranges are regular-expression text, to be put in a class.
"""

from __future__ import annotations

import re

#: CJK Unified Ideographs, Extension A, Compatibility Ideographs, Extensions B-F.
HAN_RANGES = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"

#: Near-duplicate tokens only: the Basic Multilingual Plane's Han plus the Yijing
#: hexagrams (U+4DC0-U+4DFF) between its blocks. Pinned apart from ``HAN_RANGES``
#: because signatures already stored must stay comparable with new ones.
SIGNATURE_HAN_RANGES = r"\u3400-\u9fff\uf900-\ufaff"

HAN = re.compile(f"[{HAN_RANGES}]")
HAN_RUN = re.compile(f"[{HAN_RANGES}]+")


def has_han(text: str) -> bool:
    return HAN.search(text) is not None


def count_han(text: str) -> int:
    return len(HAN.findall(text))
