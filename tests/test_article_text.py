"""clean_article_text: one stored text for an article, whatever its page's template."""

from __future__ import annotations

import pytest

from crawler.analysis.article_text import clean_article_text

TITLE = "Two more daily trains for the Khorgos corridor"
BODY = [
    "Kazakhstan and China agreed on Tuesday to run two more daily container trains.",
    "Customs officers from both countries will inspect cargo once, at a shared yard.",
    "Exporters of grain welcomed the decision, the ministry said.",
]


def clean(*head: str, tail: tuple[str, ...] = (), authors: tuple[str, ...] = ()) -> str:
    text = "\n".join([*head, *BODY, *tail])
    return clean_article_text(text, headlines=[TITLE, f"{TITLE} | Steppe Ledger"],
                              authors=authors).text


@pytest.mark.parametrize(
    "head",
    [
        pytest.param((), id="body-alone"),
        pytest.param((TITLE,), id="headline"),
        pytest.param((TITLE.upper() + " ",), id="headline-in-capitals"),
        pytest.param(("Two more daily trains", "for the Khorgos corridor"), id="headline-in-two"),
        pytest.param((TITLE, "By Aliya Bekova and Timur Sadykov"), id="byline"),
        pytest.param((TITLE, "17:41 JST, October 13, 2024"), id="english-date"),
        pytest.param(("08.04.2025 12:46", TITLE), id="numeric-date"),
        pytest.param(("2025年1月14日 01時28分 (1月14日 01時40分更新)",), id="japanese-date"),
        pytest.param(("20 Nisan 2026•Güncelleme: 20 Nisan 2026",), id="turkish-date"),
        pytest.param(("14 мая 2025, 20:28",), id="russian-date"),
        pytest.param(("Автор: Айгуль Сейткали",), id="russian-byline"),
        pytest.param(("- Home", "- World", "- Asia", "- Khorgos trains"), id="breadcrumb-list"),
        pytest.param(("Home > World > Central Asia",), id="breadcrumb-line"),
        pytest.param((TITLE, "Aliya Bekova"), id="the-author-s-name"),
        pytest.param(("Photo: Reuters",), id="photo-credit"),
    ],
)
def test_the_head_of_the_text_is_the_body(head: tuple[str, ...]) -> None:
    assert clean(*head, authors=("Aliya Bekova",)) == "\n".join(BODY)


@pytest.mark.parametrize(
    "line",
    [
        "(All photos: Steppe Ledger staff)",
        "Фото: пресс-служба министерства",
        "图片来源：新华社",
        "Subscribe now to continue reading this article.",
        "This article is only available to subscribers.",
        "Чтобы продолжить чтение, оформите подписку.",
        "この記事は有料会員限定です。残り1200文字",
    ],
)
def test_credit_and_paywall_lines_go_wherever_they_are(line: str) -> None:
    text = "\n".join([BODY[0], line, *BODY[1:], line])
    assert clean_article_text(text).text == "\n".join(BODY)


@pytest.mark.parametrize(
    "line",
    [
        "By 2030 the corridor should carry twice as much.",
        "By the end of the year the yard will be finished.",
        "The photo showed a train at Khorgos: it was taken by a driver.",
        "2024 was a record year for the corridor, with 8,000 trains.",
        "记者从商务部获悉，中亚合作稳步推进。",
    ],
)
def test_sentences_that_look_like_header_lines_stay(line: str) -> None:
    text = "\n".join([line, *BODY])
    assert clean_article_text(text, headlines=[TITLE]).text == text


def test_a_line_later_in_the_text_that_repeats_the_headline_stays() -> None:
    late = [*BODY, "More paragraphs follow.", "And more.", "And more still.", TITLE]
    assert clean_article_text("\n".join(late), headlines=[TITLE]).text == "\n".join(late)


def test_spaces_are_normalised_and_empty_lines_dropped() -> None:
    text = f"  {BODY[0]}  \n\n\t\n\u3000{BODY[1]}\n   \n{BODY[2]}"
    assert clean_article_text(text).text == "\n".join(BODY)


@pytest.mark.parametrize(
    ("text", "byline"),
    [
        ("By Aliya Bekova\n" + "\n".join(BODY), "Aliya Bekova"),
        ("Автор: Айгуль Сейткали\n" + "\n".join(BODY), "Айгуль Сейткали"),
        ("记者 王晓明 李华\n" + "\n".join(BODY), "王晓明 李华"),
        ("记者 王晓明、李华\n" + "\n".join(BODY), "王晓明、李华"),
        ("김민수 기자 외 1명\n" + "\n".join(BODY), "김민수"),
        ("\n".join(BODY) + "（记者宋晓、田中）", "宋晓、田中"),
        ("\n".join(BODY), None),
    ],
)
def test_a_byline_taken_out_is_handed_back(text: str, byline: str | None) -> None:
    assert clean_article_text(text).byline == byline
