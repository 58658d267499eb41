"""robots.txt and followed redirects become page items stored as fetched (no analysis)."""

from __future__ import annotations

from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse

from crawler.pipelines.protocol_items import protocol_items
from crawler.vocabulary import PageOutcome


def source_of(url: str, request: Request) -> str:
    return "Steppe Wire"


def test_a_robots_txt_is_kept_with_its_status_headers_and_body() -> None:
    request = Request("http://wire.example/robots.txt", meta={"dont_obey_robotstxt": True})
    response = TextResponse(request.url, status=200, body=b"User-agent: *\nDisallow: /x/\n",
                            headers={"Content-Type": "text/plain"}, request=request)

    [item] = protocol_items(response, request, source_of)

    assert (item.url, item.status, item.outcome) == (request.url, 200, PageOutcome.ROBOTS)
    assert item.body == b"User-agent: *\nDisallow: /x/\n"
    assert item.headers == {"Content-Type": ["text/plain"]} and item.source == "Steppe Wire"


def redirected(final: str, chain: list[str], reasons: list) -> HtmlResponse:
    request = Request(final, meta={"redirect_urls": chain, "redirect_reasons": reasons})
    return HtmlResponse(final, status=200, body=b"<html></html>", request=request)


def test_each_http_redirect_followed_is_kept_with_its_status_and_location() -> None:
    final = "http://wire.example/news/rail.html"
    chain = ["http://wire.example/old/rail", "http://wire.example/news/rail",
             "http://wire.example/amp/rail"]
    response = redirected(final, chain, [301, 302, "meta refresh"])

    items = protocol_items(response, response.request, source_of)

    assert [(i.url, i.status, i.headers, i.body, i.outcome) for i in items] == [
        (chain[0], 301, {"Location": [chain[1]]}, b"", PageOutcome.REDIRECT),
        (chain[1], 302, {"Location": [chain[2]]}, b"", PageOutcome.REDIRECT),
    ]  # a meta refresh is a page of its own


def test_a_redirect_to_another_form_of_the_same_page_is_that_page() -> None:
    final = "http://wire.example/news/rail.html"
    response = redirected(final, [final + "?utm_source=feed"], [301])
    assert protocol_items(response, response.request, source_of) == []


def test_a_response_reached_directly_keeps_nothing_beside_it() -> None:
    request = Request("http://wire.example/news/rail.html")
    response = HtmlResponse(request.url, status=304, body=b"", request=request)
    assert protocol_items(response, request, source_of) == []
