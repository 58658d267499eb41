"""The one definition of a Han character, and the copies that are pinned on purpose."""

from __future__ import annotations

import pytest

from crawler.analysis import near_duplicates
from crawler.analysis.script import HAN_RUN, SIGNATURE_HAN_RANGES, count_han, has_han
from storage.search.fts_text import fts_text


@pytest.mark.parametrize("char", ["中", "亞", "\u3400", "\u4dbf", "\uf900", "\U00020000",
                                  "\U0002fa1d"])
def test_han_ideographs_of_every_block_are_han(char: str) -> None:
    assert has_han(char) and count_han(char) == 1


@pytest.mark.parametrize("char", ["あ", "カ", "한", "A", "ж", "。", "１", "\u4dc0"])
def test_kana_hangul_punctuation_and_hexagrams_are_not_han(char: str) -> None:
    assert not has_han(char)


def test_runs_and_counts_agree() -> None:
    text = "中吉乌铁路 (CKU) 𠀀𠀁 railway"
    assert HAN_RUN.findall(text) == ["中吉乌铁路", "𠀀𠀁"]
    assert count_han(text) == 7


def test_the_search_index_bigrams_every_han_block() -> None:
    assert fts_text("中亚𠀀") == " 中亚 亚𠀀 "


def test_near_duplicate_tokens_keep_their_pinned_ranges() -> None:
    # Stored signatures must stay comparable: these ranges never follow HAN_RANGES.
    assert SIGNATURE_HAN_RANGES == r"\u3400-\u9fff\uf900-\ufaff"
    assert near_duplicates.tokens("中亚 railway") == ["中", "亚", "railway"]
