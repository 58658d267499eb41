"""The links of one page, at most a fixed number of them.

Scrapy's LinkExtractor resolves, normalises and deduplicates every ``<a>`` of
a page, on the reactor thread: 2 s for a page of 50,000 links, and each link
then costs a ranking, a request and a frontier row. A link farm is made of
such pages. So only the first ``max_links`` anchors in document order are
examined (ranking needs every link examined first, which is the cost to
avoid); the rest are counted, which lxml does without building them.
Real news pages carry 100-600 links, navigation included.

The page is parsed into a tree of its own, not ``response.selector``: that
one is cached on the response, which Scrapy holds until the page is stored,
and a farm page's tree is 45 MB (a dozen queued pages made a 1 GB crawl).
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from scrapy.http import TextResponse
from scrapy.link import Link
from scrapy.linkextractors import LinkExtractor
from scrapy.linkextractors.lxmlhtml import LxmlParserLinkExtractor
from scrapy.selector import Selector
from scrapy.utils.response import get_base_url

_ANCHORS = "count(//a[@href]|//area[@href])"
_FEEDS = "//link[@rel='alternate'][contains(@type,'rss') or contains(@type,'atom')]/@href"


class _FirstLinks(LxmlParserLinkExtractor):
    max_links = 0

    def _iter_links(self, document: Any) -> Any:
        return islice(super()._iter_links(document), self.max_links)


class BoundedLinkExtractor(LinkExtractor):
    """Scrapy's LinkExtractor over the first ``max_links`` anchors of a page."""

    def __init__(self, max_links: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_links = max_links
        bounded = _FirstLinks.__new__(_FirstLinks)
        bounded.__dict__.update(self.link_extractor.__dict__)
        bounded.max_links = max_links
        self.link_extractor = bounded

    def page_links(self, response: TextResponse) -> tuple[list[Link], list[str], int]:
        """The page's links, its RSS/Atom ``<link rel=alternate>`` hrefs, and how many
        of either past the cap were not examined."""
        selector = Selector(response=response)
        root = selector.root
        feeds = [str(href) for href in root.xpath(_FEEDS)]
        anchors = int(root.xpath(_ANCHORS))
        links = self._process_links(self._extract_links(
            selector, response.url, response.encoding, get_base_url(response)))
        dropped = max(0, anchors - self.max_links) + max(0, len(feeds) - self.max_links)
        return links, feeds[:self.max_links], dropped
