"""The prefilter: a page is skipped only when no article taken from it could be kept.

``page_texts`` must hold every word trafilatura could put in an article, however
the page marks it up; ``analyse_page(prefilter=True)`` must then agree with the
full analysis on every page whose article names both China and Central Asia.
"""

from __future__ import annotations

import html
import json
import random
from pathlib import Path

import pytest

from crawler.analysis.decoding import decode_html
from crawler.analysis.extraction import parse_html
from crawler.analysis.page_analysis import (
    ARCHIVABLE,
    NO_ARTICLE,
    OFF_TOPIC,
    analyse_page,
    topic_profile,
)
from crawler.analysis.page_text import SEAM_REACH, page_texts
from crawler.analysis.topic import TopicProfile

EVAL = Path(__file__).parent / "topic_eval"
FILLER = ("<p>The market opened quietly on Monday, and traders said volumes were thin "
          "after the long weekend, with most desks waiting for the data due later.</p>")


def page(body: str, head: str = "") -> str:
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8">{head}</head>'
            f"<body>{body}{FILLER * 3}</body></html>")


def may_keep(markup: str) -> bool:
    tree = parse_html(decode_html(markup.encode(), "text/html; charset=utf-8").html)
    assert tree is not None
    return topic_profile().may_keep(*page_texts(tree))


@pytest.mark.parametrize("body", [
    "<p>Trade between China and Kazakh<b>stan</b> grew.</p>",
    "<p>Trade between Chi<span>na</span> and Kazakhstan grew.</p>",
    "<p>Trade between China and Kazakh<wbr>stan grew.</p>",
    "<p>Trade between China and Kazakh&shy;stan grew.</p>",
    "<p>Trade between Chi\u200bna and Uzbekistan grew.</p>",
    "<h2>Trade</h2><p>China</p><h3>Update</h3><p>Kazakhstan</p>",
    "<ul><li>Markets</li><li>China</li><li>Tajikistan</li></ul>",
    "<p>&#20013;&#22269;&#19982;&#21704;&#33832;&#20811;&#26031;&#22374;</p>",
    "<p>Кита<i>й</i> и Казахстан</p>",
    "<p>中国同</p><p>哈萨克斯坦</p>",
    "<p>Кита\u0438\u0306 и Казахстан</p>",  # й decomposed
])
def test_terms_are_found_however_the_page_marks_them_up(body: str) -> None:
    assert may_keep(page(body))


def test_seams_matter_where_blocks_run_into_each_other() -> None:
    tree = parse_html(page("<h2>Trade</h2><p>China</p><h3>Update</h3><p>Kazakhstan</p>"))
    assert tree is not None
    texts = page_texts(tree)
    assert "TradeChinaUpdateKazakhstan" in texts.run_on
    assert not topic_profile().may_keep(texts.run_on)
    assert topic_profile().may_keep(*texts)


@pytest.mark.parametrize("head", [
    '<meta property="og:title" content="China and Kazakhstan sign a grain deal">',
    '<title>China and Kazakhstan sign a grain deal</title>',
    '<script type="application/ld+json">'
    + json.dumps({"headline": "中国与哈萨克斯坦签署粮食协议"}) + "</script>",
])
def test_a_title_only_in_the_head_counts(head: str) -> None:
    assert "\\u4e2d" in head or "China" in head
    assert may_keep(page("<p>Officials met on Monday.</p>", head=head))


@pytest.mark.parametrize("body", [
    "<p>China reported stronger exports in the third quarter.</p>",
    "<p>Kazakhstan raised its key rate by half a point.</p>",
    "<script>var tags = ['China', 'Kazakhstan'];</script><style>/* China Kazakhstan */</style>",
    "<!-- China and Kazakhstan -->",
])
def test_a_page_without_both_sides_is_skipped(body: str) -> None:
    assert not may_keep(page(body))


def test_seam_reach_covers_the_longest_term() -> None:
    profile = topic_profile()
    longest = max(len(tokens) for lexicon in profile._lexicons.values()
                  for tokens, _ in lexicon.terms)
    assert longest + 30 < SEAM_REACH


def test_a_skipped_page_is_off_topic_and_keeps_its_canonical_url() -> None:
    markup = page("<p>Kazakhstan raised its key rate by half a point.</p>" * 4,
                  head='<link rel="canonical" href="https://example.com/rates">')
    analysis = analyse_page(markup.encode(), "https://example.com/rates?utm=x",
                            "text/html; charset=utf-8", prefilter=True)
    assert (analysis.outcome, analysis.extracted, analysis.article) == (OFF_TOPIC, False, None)
    assert analysis.canonical_url == "https://example.com/rates"
    full = analyse_page(markup.encode(), "https://example.com/rates?utm=x",
                        "text/html; charset=utf-8")
    assert full.extracted and full.outcome in (OFF_TOPIC, NO_ARTICLE)


def _labelled() -> list[dict[str, str]]:
    cases = []
    for path in sorted(EVAL.glob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()
        cases += [json.loads(line) for line in lines[::4] if line.strip()]
    return cases


def _markup(case: dict[str, str], style: int, rng: random.Random) -> str:
    """One labelled article as a page, in one of the ways news sites write them."""
    title, paragraphs = html.escape(case["title"]), [html.escape(p)
                                                     for p in case["text"].split("\n") if p]
    if style == 0:  # tidy: one element per line
        body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
        return page(f"<article>\n<h1>{title}</h1>\n{body}\n</article>", f"<title>{title}</title>")
    if style == 1:  # minified, a heading without a full stop before each paragraph
        body = "".join(f"<h3>Part {i}</h3><p>{p}</p>" for i, p in enumerate(paragraphs))
        return page(f"<article><h1>{title}</h1>{body}</article>",
                    f'<meta property="og:title" content="{title}">')
    # words wrapped in links and bold, and long words broken with <wbr>
    def dress(text: str) -> str:
        words = []
        for word in text.split(" "):
            roll = rng.random()
            if roll < 0.1:
                word = f"<a href='/t/{rng.randint(1, 99)}'>{word}</a>"
            elif roll < 0.2:
                word = f"<b>{word}</b>"
            elif roll < 0.3 and len(word) > 8 and "&" not in word:
                word = f"{word[:4]}<wbr>{word[4:]}"
            words.append(word)
        return " ".join(words)
    body = "\n".join(f"<p>{dress(p)}</p>" for p in paragraphs)
    return page(f"<article><h1>{title}</h1>{body}</article>")


def test_prefilter_agrees_with_the_full_analysis_on_labelled_articles() -> None:
    """Every article that names both sides is extracted and analysed exactly as before."""
    rng = random.Random(7)
    profile: TopicProfile = topic_profile()
    skipped = kept = 0
    for i, case in enumerate(_labelled()):
        body = _markup(case, i % 3, rng).encode()
        url = f"https://news.example/{case['id']}"
        full = analyse_page(body, url, "text/html; charset=utf-8")
        quick = analyse_page(body, url, "text/html; charset=utf-8", prefilter=True)
        names_both = full.article is not None and profile.may_keep(
            full.article.title or "", full.article.text)
        if names_both:
            assert quick == full, case["id"]
        if not quick.extracted:
            skipped += 1
            assert full.outcome != ARCHIVABLE, case["id"]
        kept += full.outcome == ARCHIVABLE
    assert skipped and kept  # both branches were exercised
