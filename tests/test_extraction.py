"""extract_article on small pages written for these tests (tests/fixtures/pages)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.analysis.decoding import decode_html
from crawler.analysis.extraction import (
    EXTRACTOR_VERSION,
    MIN_TEXT_CHARS,
    ExtractedArticle,
    extract_article,
)

PAGES = Path(__file__).parent / "fixtures" / "pages"
EN_URL = "https://ledger.example/business/khorgos?ref=home"

PARAGRAPHS = [
    "Uzbekistan and China opened a new freight terminal near Tashkent on Monday, "
    "which planners say will cut waiting times for trucks heading to the Kyrgyz border.",
    "The terminal can handle about forty thousand containers a year and sits beside "
    "a rail spur that links it to the line running east towards Andijan.",
    "Local exporters of dried fruit and textiles said they hoped the facility would "
    "make it cheaper to reach markets in western China during the busy autumn season.",
]


def read_page(name: str) -> str:
    return (PAGES / name).read_text("utf-8")


def make_page(head: str = "", lead: str = "", paragraphs: list[str] = PARAGRAPHS) -> str:
    """A plain article page; `head` goes into <head>, `lead` before the paragraphs."""
    body = "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Tashkent freight terminal opens</title>{head}</head><body>"
        "<nav><a href='/'>Front page</a> <a href='/trade'>Trade desk</a></nav>"
        f"<article><h1>Tashkent freight terminal opens</h1>{lead}{body}</article>"
        "<footer><p>&copy; 2024 Valley Courier. All rights reserved.</p></footer>"
        "</body></html>"
    )


def extract(html: str, url: str = "https://courier.example/trade/terminal") -> ExtractedArticle:
    article = extract_article(html, url)
    assert article is not None
    return article


@pytest.fixture(scope="module")
def english() -> ExtractedArticle:
    return extract(read_page("article_en.html"), EN_URL)


@pytest.mark.parametrize(
    "boilerplate",
    [
        "Front page",
        "Politics desk",
        "Markets and trade",
        "stores cookies",
        "Accept every cookie",
        "Manage preferences",
        "Share on Facebook",
        "Post to X",
        "Email this story",
        "Subscribe",
        "newsletter",
        "Morning Caravan",
        "All rights reserved",
        "Privacy statement",
        "Contact the editors",
    ],
)
def test_boilerplate_stays_out_of_the_text(english: ExtractedArticle, boilerplate: str) -> None:
    assert boilerplate.lower() not in english.text.lower()


@pytest.mark.parametrize(
    "sentence",
    [
        "Kazakhstan and China agreed on Tuesday to run two more daily container trains",
        "customs officers from both countries will inspect cargo once",
        "Traffic along it has roughly doubled in three years",
        "rather than paperwork, now limits how fast the trains can move.",
        "Officials said a joint working group would report on progress",
    ],
)
def test_every_paragraph_is_kept(english: ExtractedArticle, sentence: str) -> None:
    assert sentence in english.text


def test_paragraphs_are_separate_lines(english: ExtractedArticle) -> None:
    lines = english.text.split("\n")
    assert any(line.startswith("Kazakhstan and China agreed") for line in lines)
    assert any(line.startswith("Under the arrangement") for line in lines)
    assert all(line == line.strip() and line for line in lines)


def test_metadata_of_the_english_page(english: ExtractedArticle) -> None:
    assert english.title == "Two more daily trains for the Khorgos corridor"
    assert english.author == "Aliya Bekova"
    assert english.published == "2025-06-17"
    assert english.language == "en"
    assert english.site_name == "Steppe Ledger"
    assert english.description == (
        "Kazakhstan and China add container trains and a single customs check at Khorgos."
    )
    # Relative rel=canonical, resolved against the page URL.
    assert english.canonical_url == "https://ledger.example/business/khorgos-two-more-trains"


def test_chinese_page() -> None:
    article = extract(
        read_page("article_zh.html"), "https://silu.example.cn/jingji/khorgos.html?from=rss"
    )

    assert article.language == "zh-Hans"
    assert article.title == "霍尔果斯口岸每日增开两列班列"
    assert article.published == "2025-06-17"
    assert article.canonical_url == "https://silu.example.cn/jingji/2025/0617/khorgos.html"
    assert "两国海关将在共用的查验场所实行“一次查验”" in article.text
    for chrome in ("时政频道", "分享到", "微博", "版权所有", "联系我们"):
        assert chrome not in article.text


def test_russian_page() -> None:
    article = extract(read_page("article_ru.html"), "https://vestnik.example.kz/ekonomika/khorgos")

    assert article.language == "ru"
    assert article.published == "2025-04-08"
    assert article.site_name == "Степной вестник"
    assert article.canonical_url is None
    assert "таможенники обеих стран будут досматривать грузы один раз" in article.text
    for chrome in ("Политика", "Подпишитесь", "Все права защищены"):
        assert chrome not in article.text


@pytest.mark.parametrize("codec", ["gbk", "gb18030"])
def test_legacy_encoded_chinese_page_through_decoding(codec: str) -> None:
    page = read_page("article_zh.html").replace('charset="utf-8"', 'charset="gb2312"')
    decoded = decode_html(page.encode(codec), "text/html")

    article = extract(decoded.html, "https://silu.example.cn/jingji/khorgos.html")

    assert "运力瓶颈并不完全在于手续" in article.text
    assert article.language == "zh-Hans"


@pytest.mark.parametrize(
    ("head", "lead", "url", "expected"),
    [
        pytest.param(
            '<meta property="article:published_time" content="2023-05-19T08:30:00+05:00">',
            "",
            "https://courier.example/trade/terminal",
            "2023-05-19",
            id="article-published-time",
        ),
        pytest.param(
            "",
            "<p>Published on 19 May 2023</p>",
            "https://courier.example/trade/terminal",
            "2023-05-19",
            id="visible-text",
        ),
        pytest.param(
            "",
            '<p class="byline">By Dilnoza Karimova, 19 May 2023</p>',
            "https://courier.example/trade/terminal",
            "2023-05-19",
            id="byline",
        ),
        pytest.param(
            "",
            '<time datetime="2023-05-19T11:00:00Z">Friday</time>',
            "https://courier.example/trade/terminal",
            "2023-05-19",
            id="time-element",
        ),
        pytest.param(
            "",
            "",
            "https://courier.example/2023/05/19/terminal",
            "2023-05-19",
            id="url",
        ),
        pytest.param(
            '<script type="application/ld+json">{"@type": "NewsArticle", '
            '"datePublished": "2023-05-19T06:00:00Z"}</script>',
            "",
            "https://courier.example/trade/terminal",
            "2023-05-19",
            id="json-ld",
        ),
        pytest.param(
            '<meta property="article:published_time" content="2024-01-01T10:00:00Z">',
            "",
            "https://courier.example/trade/terminal",
            "2024-01-01",
            id="real-first-of-january",
        ),
    ],
)
def test_published_date(head: str, lead: str, url: str, expected: str) -> None:
    assert extract(make_page(head, lead), url).published == expected


@pytest.mark.parametrize(
    "lead",
    [
        pytest.param("", id="no-date-only-copyright-year"),
        pytest.param("<p>发布时间：2023年</p>", id="year-only"),
        pytest.param(
            f"<div class='today'>{datetime.now(UTC):%A, %d %B %Y}</div>",
            id="todays-date-widget",
        ),
    ],
)
def test_undated_page_gets_no_date(lead: str) -> None:
    """htmldate's fallbacks (copyright year, bare year, the current date) are not dates."""
    assert extract(make_page(lead=lead)).published is None


def test_a_last_updated_date_gives_way_to_the_declared_publication() -> None:
    """htmldate takes article:modified_time; the JSON-LD says when it was published."""
    head = '<meta property="article:modified_time" content="2025-01-07T09:08:22+00:00">'
    json_ld = ('<script type="application/ld+json">{"@type": "NewsArticle", '
               '"datePublished": "2020-07-10T14:15:42+00:00", '
               '"dateModified": "2025-01-07T09:08:22+00:00"}</script>')
    page = make_page(head, "<p>Last Updated: January 7, 2025</p>").replace(
        "</body>", f"{json_ld}</body>")

    assert extract(page).published == "2020-07-10"


def test_a_placeholder_publication_date_is_ignored() -> None:
    head = ('<meta property="article:published_time" content="2023-05-19T08:30:00+05:00">'
            '<script type="application/ld+json">{"datePublished": "0001-01-01T00:00:00Z"}'
            "</script>")
    assert extract(make_page(head)).published == "2023-05-19"


def test_todays_article_keeps_todays_date() -> None:
    today = datetime.now(UTC).date()
    head = f'<meta property="article:published_time" content="{today.isoformat()}T07:00:00Z">'

    assert extract(make_page(head)).published == today.isoformat()


def test_tomorrow_in_an_eastern_time_zone_is_allowed() -> None:
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    head = (
        f'<meta property="article:published_time" content="{tomorrow.isoformat()}T01:00:00+06:00">'
    )

    assert extract(make_page(head)).published == tomorrow.isoformat()


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (
            '<link rel="canonical" href="https://courier.example/trade/terminal-opens">',
            "https://courier.example/trade/terminal-opens",
        ),
        (
            '<link rel="canonical" href="/trade/terminal-opens">',
            "https://courier.example/trade/terminal-opens",
        ),
        ('<link rel="canonical" href="//cdn.courier.example/t">', "https://cdn.courier.example/t"),
        (
            '<meta property="og:url" content="https://courier.example/og">',
            "https://courier.example/og",
        ),
        (
            '<link rel="canonical" href="https://courier.example/c">'
            '<meta property="og:url" content="https://courier.example/og">',
            "https://courier.example/c",
        ),
        ('<link rel="canonical" href="javascript:void(0)">', None),
        ("", None),
    ],
)
def test_canonical_url(head: str, expected: str | None) -> None:
    assert (
        extract(make_page(head), "https://courier.example/trade/terminal?utm=x").canonical_url
        == expected
    )


def test_listing_page_gives_none() -> None:
    assert extract_article(read_page("listing.html"), "https://ledger.example/news") is None


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   ",
        "<html><body></body></html>",
        "<html><body><p>Only a short note about Astana.</p></body></html>",
        make_page(paragraphs=[PARAGRAPHS[0][:120]]),
    ],
)
def test_pages_without_article_text_give_none(html: str) -> None:
    assert extract_article(html, "https://courier.example/") is None


def test_length_threshold_is_lower_for_chinese() -> None:
    chinese = (
        "中哈两国决定经霍尔果斯口岸每天增开两列集装箱班列，"
        "两国海关将实行一次查验，货运企业表示欢迎。"
    )
    english = PARAGRAPHS[0][: len(chinese) * 2]
    assert len(chinese) * 2 < MIN_TEXT_CHARS

    zh_page = make_page(paragraphs=[chinese, chinese[::-1]]).replace('lang="en"', 'lang="zh"')
    en_page = make_page(paragraphs=[english])

    assert extract_article(zh_page, "https://courier.example/zh") is not None
    assert extract_article(en_page, "https://courier.example/en") is None


@pytest.mark.parametrize(
    ("html_lang", "hint", "expected"),
    [("", "fr", "fr"), ('lang="fr"', None, "fr"), ("", None, "fr"), ('lang="utf-8"', None, "fr")],
)
def test_latin_text_that_is_not_english(
    html_lang: str, hint: str | None, expected: str | None
) -> None:
    paragraphs = [
        "Le nouveau terminal de fret près de Tachkent a ouvert lundi, selon les autorités locales.",
        "Il pourra traiter quarante mille conteneurs par an grâce à une voie ferrée dédiée.",
        "Les exportateurs de fruits secs espèrent réduire leurs coûts vers l’ouest de la Chine.",
    ]
    page = make_page(paragraphs=paragraphs).replace('lang="en"', html_lang)

    article = extract_article(page, "https://courier.example/fr", language_hint=hint)

    assert article is not None
    assert article.language == expected


def test_same_page_again_and_again_gives_the_same_article() -> None:
    """No process-wide duplicate cache: a revisit must not come back empty."""
    page = read_page("article_en.html")

    results = [extract_article(page, EN_URL) for _ in range(5)]

    assert results[0] is not None
    assert all(result == results[0] for result in results)


def test_extractor_version_names_trafilatura_and_our_rules() -> None:
    """Both change what is stored for a page; reprocess records the version it applied."""
    import trafilatura

    assert EXTRACTOR_VERSION == f"trafilatura {trafilatura.__version__}; silkroad rules 2"


TEASER_LISTING_ZH = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>区域 - 示例新闻</title><meta property="og:type" content="website"></head><body>
<nav><a href="/">首页</a> <a href="/zhongya/">区域</a></nav><main><h1>区域</h1><ul>
<li><a href="/a1.html">中国与哈萨克斯坦签署新的粮食贸易协定</a><span>2025-03-02</span>
<p>双方同意扩大小麦和油籽的出口配额，并简化边境检验流程，预计明年贸易量显著增长。</p></li>
<li><a href="/a2.html">中吉乌铁路山区隧道工程全面开工建设</a><span>2025-04-11</span>
<p>三国交通部门表示，隧道建成后将大幅缩短货物运输时间，沿线城市期待新的发展机遇。</p></li>
<li><a href="/a3.html">西安秘书处发布年度合作进展报告全文</a><span>2025-05-20</span>
<p>报告梳理了一年来各领域合作项目的落实情况，并提出下一阶段的重点任务和时间表。</p></li>
</ul></main></body></html>"""

HEADLINES_DROPPED_EN = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Example Herald</title><meta property="og:type" content="website"></head><body>
<header><a href="/">Example Herald</a></header><main>
<section><h2><a href="/news/2025/01/02/a.html">Kazakh grain exporters look east as Chinese \
demand grows</a></h2>
<p>Traders in Kostanay say buyers from Xinjiang now take a third of the harvest, a share \
unthinkable five years ago.</p></section>
<section><h2><a href="/news/2025/01/03/b.html">Uzbek textile mills sign supply deals with \
Chinese brands</a></h2>
<p>Factories in the Fergana valley expect orders to double as the new railway shortens \
delivery times to the coast.</p></section>
</main></body></html>"""


@pytest.mark.parametrize(
    ("html", "url"),
    [
        (TEASER_LISTING_ZH, "http://news.example/zhongya/"),
        (TEASER_LISTING_ZH, "http://news.example/zhongya/index.html"),
        (HEADLINES_DROPPED_EN, "http://news.example/"),
    ],
)
def test_teaser_listings_are_not_articles(html: str, url: str) -> None:
    assert extract_article(html, url) is None


SIGN_UP_BOXES = [
    '<div class="podpiska"><div>Подпишитесь на рассылку</div><p>Главные новости региона раз '
    'в неделю — на вашу почту.</p><form><input type="email"><button>OK</button></form></div>',
    '<div class="dingyue"><h3>订阅每日简报</h3><p>每天早上八点，把当天要闻送到您的邮箱。</p></div>',
    '<aside><p>Get our weekly digest of Central Asian business news in your inbox.</p>'
    '<form action="/join"><input type="email" name="e"><button>Join</button></form></aside>',
]


@pytest.mark.parametrize("box", SIGN_UP_BOXES)
def test_sign_up_boxes_stay_out_of_the_text(box: str) -> None:
    body = " ".join(
        f"Paragraph {i}: officials from China and Kazakhstan discussed the grain corridor "
        f"and new customs rules at the Khorgos crossing, according to the ministry."
        for i in range(6))
    html = (f"<html lang='en'><head><title>Grain corridor</title></head><body><article>"
            f"<h1>Grain corridor</h1><p>{body}</p>{box}</article></body></html>")
    article = extract_article(html, "http://news.example/2025/06/01/grain.html")
    assert article is not None and "Paragraph 5" in article.text
    for words in ("рассылк", "почту", "订阅", "邮箱", "inbox"):
        assert words not in article.text


# -- One article, whatever the template (issue 21) -----------------------------------

HEADLINE = "Grain corridor gets two more trains"


def templated(*, h1_inside: bool, head: str = "", lead: str = "",
              title: str = f"{HEADLINE} | Steppe Ledger") -> str:
    h1 = f"<h1>{HEADLINE}</h1>"
    body = "".join(f"<p>{paragraph}</p>" for paragraph in PARAGRAPHS)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta property="og:site_name" content="Steppe Ledger">{head}</head><body>'
        "<nav><a href='/'>Front page</a> <a href='/trade'>Trade desk</a></nav>"
        f"{'' if h1_inside else h1}<article>{h1 if h1_inside else ''}{lead}{body}</article>"
        "</body></html>"
    )


def test_the_same_article_in_two_templates_is_one_text() -> None:
    from crawler.analysis.fingerprint import content_hash

    plain = extract(templated(h1_inside=False))
    busy = extract(templated(
        h1_inside=True,
        lead="<p>By Aliya Bekova</p><p>17 June 2025, 09:30</p><p>Photo: Steppe Ledger</p>"))

    assert plain.text == busy.text == "\n".join(PARAGRAPHS)
    assert content_hash(plain.text) == content_hash(busy.text)
    assert HEADLINE not in busy.text


def test_title_without_the_site_and_the_page_title_as_it_is() -> None:
    article = extract(templated(h1_inside=True))

    assert article.title == HEADLINE
    assert article.page_title == f"{HEADLINE} | Steppe Ledger"


@pytest.mark.parametrize(
    ("head", "lead", "expected"),
    [
        pytest.param('<meta name="author" content="Aliya Bekova">',
                     '<p class="byline"><span class="author">作者</span></p>', "Aliya Bekova",
                     id="a-bare-label-gives-way-to-the-meta-author"),
        pytest.param('<meta name="author" content="Steppe Ledger">', "", None,
                     id="the-publisher-is-no-author"),
        pytest.param("", "<p>Автор: Айгуль Сейткали</p>", "Айгуль Сейткали",
                     id="a-byline-line-in-the-text"),
    ],
)
def test_authors_are_people(head: str, lead: str, expected: str | None) -> None:
    article = extract(templated(h1_inside=True, head=head, lead=lead))

    assert article.author == expected
    assert "Автор" not in article.text and "作者" not in article.text


RELATED = "".join(f"<li><a href='/n{i}'>Another headline number {i} about grain trade</a></li>"
                  for i in range(15))


def fast_mode_miss(head: str = "") -> str:
    """A body set in <font> and <br>: trafilatura's fast mode takes the related links
    along, so the text reads as a listing; its full mode finds the article."""
    body = "".join(f"<font>{paragraph}</font><br><br>" for paragraph in PARAGRAPHS)
    return (f"<html><head><title>Tashkent terminal</title>{head}</head><body>"
            f"<div>{body}</div><ul>{RELATED}</ul></body></html>")


@pytest.mark.parametrize(
    ("head", "url"),
    [
        pytest.param('<meta property="og:type" content="article">',
                     "https://courier.example/trade/12345", id="og-type"),
        pytest.param('<script type="application/ld+json">{"@type": "NewsArticle"}</script>',
                     "https://courier.example/trade/12345", id="json-ld"),
        pytest.param("", "https://courier.example/trade/tashkent-freight-terminal-opens",
                     id="an-article-s-url"),
    ],
)
def test_an_article_fast_mode_misses_is_found_in_full_mode(head: str, url: str) -> None:
    article = extract_article(fast_mode_miss(head), url)

    assert article is not None
    assert article.text == "\n".join(PARAGRAPHS)


def test_a_page_that_does_not_say_it_is_an_article_is_not_retried() -> None:
    assert extract_article(fast_mode_miss(), "https://courier.example/trade/12345") is None


TRADITIONAL = [
    "中國與哈薩克斯坦決定經霍爾果斯口岸每天增開兩列集裝箱班列，兩國海關將實行一次查驗。",
    "貨運企業表示歡迎，認為這將縮短運輸時間並降低成本，有關部門將在秋季報告進展情況。",
    "專家指出，鐵路運輸是雙方經貿合作的重點，邊境口岸的通關效率仍有提升空間。",
]


def test_traditional_chinese_is_told_apart() -> None:
    page = make_page(paragraphs=TRADITIONAL).replace('lang="en"', 'lang="zh-TW"')
    simplified = read_page("article_zh.html")

    assert extract(page).language == "zh-Hant"
    assert extract(simplified, "https://silu.example.cn/jingji/khorgos.html").language == (
        "zh-Hans")


# -- Site names: declared, never the address (issue 20) ------------------------------------

@pytest.mark.parametrize("url, head, expected", [
    ("http://127.0.0.1:48765/trade/terminal", "", None),
    ("https://www.courier.example/trade/terminal", "", None),
    ("http://127.0.0.1:48765/trade/terminal",
     '<meta property="og:site_name" content="Valley Courier">', "Valley Courier"),
])
def test_site_name_is_what_the_site_declares(url: str, head: str, expected: str | None) -> None:
    assert extract(make_page(head=head), url).site_name == expected
