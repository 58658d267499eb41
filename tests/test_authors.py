"""clean_authors: the people in a byline, whatever the page printed around them."""

from __future__ import annotations

import pytest

from crawler.analysis.authors import clean_authors


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        pytest.param("Aliya Bekova", "Aliya Bekova", id="a-name"),
        pytest.param("Aliya Bekova; Timur Sadykov", "Aliya Bekova; Timur Sadykov", id="two"),
        pytest.param("By Aliya Bekova", "Aliya Bekova", id="english-label"),
        pytest.param("Автор: Айгуль Сейткали", "Айгуль Сейткали", id="russian-label"),
        pytest.param("记者 王晓明", "王晓明", id="chinese-label"),
        pytest.param("作者：李华", "李华", id="chinese-author-label"),
        pytest.param("김민수 기자 외; 박지현", "김민수; 박지현", id="korean-reporter-and-one-more"),
        pytest.param("Aliya Bekova; Aliya-Bekova; ALIYA BEKOVA", "Aliya Bekova", id="duplicates"),
        pytest.param("Aliya Bekova July", "Aliya Bekova", id="a-month-run-on"),
        pytest.param("Tomáš Novák před", "Tomáš Novák", id="czech-ago-run-on"),
        pytest.param("Theresa May", "Theresa May", id="a-surname-that-is-a-month"),
        pytest.param("Last Updated January 7", None, id="a-date-line"),
        pytest.param("作者", None, id="bare-label"),
        pytest.param("기자", None, id="bare-korean-label"),
        pytest.param("责编：王小明", None, id="an-editor-is-not-an-author"),
        pytest.param("Steppe Ledger; Aliya Bekova", "Aliya Bekova", id="the-site"),
        pytest.param("Steppe Ledger https; Www Ledger Com; Aliya Bekova", "Aliya Bekova",
                     id="the-site-with-url-bits"),
        pytest.param("Ledger Media Inc", None, id="a-company"),
        pytest.param("Aliya Bekova; Business Desk", "Aliya Bekova", id="a-desk"),
        pytest.param("Mac; I", None, id="a-name-split-at-an-ampersand"),
        pytest.param(None, None, id="none"),
    ],
)
def test_found_authors(found: str | None, expected: str | None) -> None:
    assert clean_authors(found, organisations=["Steppe Ledger", "© Mac & i 2024"],
                         url="https://www.ledger.example/trade/grain") == expected


def test_the_publisher_named_by_a_copyright_line_is_no_author() -> None:
    assert clean_authors("Ledger Holdings; Aliya Bekova",
                         organisations=["Copyright (c) Ledger Holdings 2024"]) == "Aliya Bekova"


def test_a_site_named_in_characters_without_spaces() -> None:
    assert clean_authors("丝路日报; 王晓明", organisations=["丝路日报"]) == "王晓明"
    assert clean_authors("丝路日报网; 王晓明", organisations=["丝路日报"]) == "王晓明"


@pytest.mark.parametrize(
    ("found", "declared", "byline", "expected"),
    [
        pytest.param("作者", "王晓明", None, "王晓明", id="label-then-meta-author"),
        pytest.param(None, "Aliya Bekova, Timur Sadykov", None, "Aliya Bekova; Timur Sadykov",
                     id="meta-author-list"),
        pytest.param("Steppe Ledger", "Steppe Ledger", "Aliya Bekova", "Aliya Bekova",
                     id="publisher-everywhere-then-byline"),
        pytest.param(None, None, "宋晓、田中", "宋晓; 田中", id="chinese-byline"),
        pytest.param(None, None, "王晓明 李华", "王晓明; 李华", id="chinese-names-spaced"),
        pytest.param(None, "Aliya Bekova", None, "Aliya Bekova", id="a-latin-name-keeps-its-space"),
        pytest.param("Timur Sadykov", "王晓明", "Aliya Bekova", "Timur Sadykov",
                     id="the-byline-trafilatura-found-comes-first"),
    ],
)
def test_fallbacks(found: str | None, declared: str | None, byline: str | None,
                   expected: str | None) -> None:
    assert clean_authors(found, declared=declared, byline=byline,
                         organisations=["Steppe Ledger"]) == expected
