"""Responses a crawl stores as they are, beside its pages: robots.txt and redirects.

Neither reaches a spider callback (Scrapy's robots.txt middleware reads the one,
its redirect middleware follows the other), yet both decided what was crawled
and a replay of the archive needs both: a redirected URL replays only if its
redirect was kept. They become page items with a fixed ``outcome`` that the
archive pipeline stores without analysis.
"""

from __future__ import annotations

from collections.abc import Callable

from scrapy import Request
from scrapy.http import Response

from crawler.items import PageItem
from crawler.links.urls import canonical_url
from crawler.middlewares.robots_size import is_robots_txt
from crawler.timeutil import utcnow
from crawler.vocabulary import PageOutcome


def protocol_items(response: Response, request: Request,
                   source_of: Callable[[str, Request], str]) -> list[PageItem]:
    """The robots.txt this response is, or the redirects it was reached through."""
    if is_robots_txt(request):
        return [_item(request.url, response.status, _headers(response), response.body,
                      source_of(request.url, request), PageOutcome.ROBOTS)]
    return redirect_items(response, request, source_of)


def redirect_items(response: Response, request: Request,
                   source_of: Callable[[str, Request], str]) -> list[PageItem]:
    """One item per HTTP redirect followed to reach ``response`` (a meta refresh is a
    page of its own): its status and Location, no body. A hop to another form of the
    same page (a fragment, a tracking parameter) is left out: it would be that page."""
    urls = [*response.meta.get("redirect_urls", []), response.url]
    reasons = response.meta.get("redirect_reasons", [])
    items = []
    for hop, (url, status) in enumerate(zip(urls, reasons, strict=False)):
        target = urls[hop + 1]
        if not isinstance(status, int) or _same_page(url, target):
            continue
        items.append(_item(url, status, {"Location": [target]}, b"",
                           source_of(url, request), PageOutcome.REDIRECT))
    return items


def _item(url: str, status: int, headers: dict[str, list[str]], body: bytes, source: str,
          outcome: str) -> PageItem:
    return PageItem(url=url, final_url=url, status=status, headers=headers, body=body,
                    fetched_at=utcnow(), source=source, discovered_via=outcome,
                    outcome=outcome)


def _headers(response: Response) -> dict[str, list[str]]:
    return {k.decode("latin-1"): [v.decode("latin-1") for v in vs]
            for k, vs in response.headers.items()}


def _same_page(url: str, other: str) -> bool:
    try:
        return canonical_url(url) == canonical_url(other)
    except ValueError:
        return False
