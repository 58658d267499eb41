"""headline: the site's name, section and date cut off page titles, the headline kept whole."""

from __future__ import annotations

import pytest

from crawler.analysis.titles import headline

LEDGER = "https://ledger.example/trade/grain-deal"


@pytest.mark.parametrize(
    ("title", "h1s", "site_names", "url", "expected"),
    [
        pytest.param("Kazakh grain heads east | Steppe Ledger", [], ["Steppe Ledger"], LEDGER,
                     "Kazakh grain heads east", id="site-name"),
        pytest.param("Grain deal signed - Astana Courier", [], [],
                     "https://www.astanacourier.example/news/grain", "Grain deal signed",
                     id="host"),
        pytest.param("Trade: Kazakh grain heads east to Xinjiang | Grain News - The Ledger",
                     ["Menu", "Kazakh grain heads east to Xinjiang"], [], LEDGER,
                     "Kazakh grain heads east to Xinjiang", id="h1-inside-the-title"),
        pytest.param("Trade deal: grain heads\u3000east to Xinjiang：Ledger Digital",
                     ["Trade deal:grain heads east to Xinjiang"], [], LEDGER,
                     "Trade deal: grain heads east to Xinjiang", id="h1-spaced-otherwise"),
        pytest.param("霍尔果斯口岸每日增开两列班列--经济--丝路网", [], [], LEDGER,
                     "霍尔果斯口岸每日增开两列班列", id="chinese-portal-and-section"),
        pytest.param("中吉乌铁路全面开工_国际_新闻网", [], [], LEDGER, "中吉乌铁路全面开工",
                     id="chinese-underscores"),
        pytest.param("中央アジアと中国の首脳会議 西安で：東洋新聞デジタル", [],
                     ["東洋新聞デジタル"], LEDGER, "中央アジアと中国の首脳会議 西安で",
                     id="japanese"),
        pytest.param('중앙아시아 철도 "협력 확대"-경제ㅣ아시아일보', [], ["아시아일보"], LEDGER,
                     '중앙아시아 철도 "협력 확대"', id="korean-section-and-site"),
        pytest.param("Acordo de grãos assinado - 21/12/2018 - Mundo - Folha do Leste", [],
                     ["Folha do Leste"], LEDGER, "Acordo de grãos assinado",
                     id="date-and-section"),
        pytest.param("Grain deal signed | The Ledger | by Aliya Bekova", [], ["The Ledger"],
                     LEDGER, "Grain deal signed", id="byline-after-the-site"),
        pytest.param("Astana Courier | Grain deal signed", [], ["Astana Courier"], LEDGER,
                     "Grain deal signed", id="site-first"),
        pytest.param("新竹到台北_單車之旅 @ 小明的部落格 :: 痞客邦 PIXNET ::", [], ["小明的部落格"],
                     "https://blog.pixnet.example/post/1", "新竹到台北_單車之旅",
                     id="blog-platform"),
    ],
)
def test_the_site_is_cut_off(title: str, h1s: list[str], site_names: list[str], url: str,
                             expected: str) -> None:
    assert headline(title, h1s=h1s, site_names=site_names, url=url) == expected


@pytest.mark.parametrize(
    "title",
    [
        "Kazakhstan - China trade rises",  # no site named: a dash inside a headline
        "China-Kazakhstan pipeline: what next?",
        "COVID-19 testing resumes at Khorgos",
        "Steppe Ledger",  # the title is only the site's name: nothing else to keep
        "Uzbekistan's cotton — a long way from Tashkent",
        "新竹尖石_美樹營地賞楓",
    ],
)
def test_a_headline_alone_is_kept_as_it_is(title: str) -> None:
    assert headline(title, site_names=["Steppe Ledger"], url=LEDGER) == title


def test_a_one_word_segment_is_a_section_only_beside_the_site() -> None:
    site = ["Ledger"]
    assert headline("Kazakhstan - Trade - Ledger", site_names=site) == "Kazakhstan"
    assert headline("Kazakhstan - Trade | Ledger", site_names=site) == "Kazakhstan - Trade"
    assert headline("COVID-19 testing at Khorgos | Ledger", site_names=site) == (
        "COVID-19 testing at Khorgos")


def test_no_title() -> None:
    assert headline(None) is None
    assert headline("") == ""
