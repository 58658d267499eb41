"""The crawl's bounded link extractor finds what Scrapy's LinkExtractor finds, in the
same order, with the same text, while resolving each href of a page once."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse
from scrapy.linkextractors import LinkExtractor

from crawler.spiders.page_links import BoundedLinkExtractor

NAV = "".join(f'<a href="/section/{n}">Section {n}</a>' for n in range(5))
PAGE = f"""<html><head><base href="http://news.example/world/"></head><body>
<nav>{NAV}</nav>
<article><a href="story-1.html"><img src="1.jpg"></a><a href=" story-1.html ">Story one</a>
<a href="/story-2.html" rel="nofollow">Story two</a><a href="mailto:desk@news.example">Desk</a>
<map><area href="/map.html"></map><a href="report.pdf">PDF</a>
<a href="http://other.example/x?b=2&amp;a=1#frag">Elsewhere</a><a>no href</a></article>
<footer>{NAV}<a href="story-1.html">Again</a></footer></body></html>"""
XHTML = """<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>
<a href="/one">One</a><a href="/two">Two</a><a href="/one">One again</a></body></html>"""


def response(body: str) -> HtmlResponse:
    return HtmlResponse(url="http://news.example/world/index.html", body=body.encode(),
                        encoding="utf-8")


@pytest.mark.parametrize("body", [PAGE, XHTML], ids=["html", "xhtml"])
def test_the_same_links_as_scrapys_extractor(body: str) -> None:
    page = response(body)
    links, _feeds, dropped = BoundedLinkExtractor(1000, unique=True, strip=True).page_links(page)
    assert links == LinkExtractor(unique=True, strip=True).extract_links(page)
    assert links and dropped == 0


def test_the_cap_counts_anchors_in_document_order_repeats_included() -> None:
    """The first 7 anchors are the 5 of the navigation and the story's two; the rest
    (the footer's repeats included) are counted as not examined."""
    links, _feeds, dropped = BoundedLinkExtractor(7, unique=True).page_links(response(PAGE))
    assert [link.url for link in links] == [
        *(f"http://news.example/section/{n}" for n in range(5)),
        "http://news.example/world/story-1.html"]
    assert links[-1].text == ""  # the first anchor of the story (its picture) is kept
    assert dropped == PAGE.count("href=") - 1 - 7  # <base href> is no anchor


def test_a_crawl_extractor_passes_each_absolute_href_on_once_per_origin() -> None:
    """Remembering: an absolute or root-relative href met on an earlier page of the same
    origin is not resolved again (the spider would drop its link anyway); a relative href,
    another origin's and a link the page reaches for the first time still come out."""
    extractor = BoundedLinkExtractor(1000, unique=True, strip=True)
    extractor.remember_links()
    first, _, _ = extractor.page_links(response(PAGE))
    assert first == LinkExtractor(unique=True, strip=True).extract_links(response(PAGE))
    again = PAGE.replace("</footer>", '<a href="/new.html">New</a></footer>')
    second, _, _ = extractor.page_links(response(again))
    assert [link.url for link in second] == [
        "http://news.example/world/story-1.html", "http://news.example/new.html"]
    elsewhere = HtmlResponse(url="https://mirror.example/", body=PAGE.replace(
        '<base href="http://news.example/world/">', "").encode(), encoding="utf-8")
    assert "https://mirror.example/section/0" in [
        link.url for link in extractor.page_links(elsewhere)[0]]
