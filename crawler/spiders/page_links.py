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

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import TextResponse
from scrapy.link import Link
from scrapy.linkextractors import LinkExtractor
from scrapy.linkextractors.lxmlhtml import LxmlParserLinkExtractor
from scrapy.selector import Selector
from scrapy.utils.misc import arg_to_iter
from scrapy.utils.response import get_base_url
from w3lib.html import strip_html5_whitespace

from crawler.links.seen_urls import SeenUrls

_ANCHORS = "count(//a[@href]|//area[@href])"
_XHTML = "{http://www.w3.org/1999/xhtml}"  # Scrapy matches XHTML tags by local name
_FEEDS = "//link[@rel='alternate'][contains(@type,'rss') or contains(@type,'atom')]/@href"


class _FirstLinks(LxmlParserLinkExtractor):
    max_links = 0
    tags: tuple[str, ...] = ()
    remember = False
    origin = ""  # scheme://host[:port] of the page's base URL
    known: SeenUrls

    def _iter_links(self, document: Any) -> Iterator[tuple[Any, str, str]]:
        """The first ``max_links`` anchors, each href once. lxml finds the anchor tags
        (Scrapy's loop visits every element in Python), and a page repeats most of its
        links (navigation, a headline and its picture): resolving each again cost more
        than the rest of a crawl worker's work on the page, for the link kept anyway."""
        anchors = (super()._iter_links(document) if not self.tags else (
            (element, attribute, value)
            for element in document.iter(*self.tags)
            if self.scan_tag(element.tag.removeprefix(_XHTML))
            for attribute, value in element.attrib.items() if self.scan_attr(attribute)))
        seen: set[str] = set()
        for element, attribute, value in islice(anchors, self.max_links):
            if self.unique:
                if value in seen:
                    continue
                seen.add(value)
            key = self._known_key(value)
            if key is not None and not self.known.first(key):
                continue
            yield element, attribute, value

    def _known_key(self, value: str) -> str | None:
        """What the href resolves to on any page of this origin: an absolute or
        root-relative ASCII href (the encoding of the page matters for no other)."""
        if not self.remember or not value.isascii():
            return None
        href = strip_html5_whitespace(value)
        if href.startswith(("http://", "https://")):
            return href
        if href.startswith("/") and not href.startswith("//") and self.origin:
            return self.origin + href
        return None


class BoundedLinkExtractor(LinkExtractor):
    """Scrapy's LinkExtractor over the first ``max_links`` anchors of a page."""

    def __init__(self, max_links: int, *, tags: str | Iterable[str] = ("a", "area"),
                 **kwargs: Any) -> None:
        super().__init__(tags=tags, **kwargs)
        self.max_links = max_links
        bounded = _FirstLinks.__new__(_FirstLinks)
        bounded.__dict__.update(self.link_extractor.__dict__)
        bounded.max_links = max_links
        bounded.tags = tuple(name for tag in arg_to_iter(tags) for name in (tag, _XHTML + tag))
        bounded.known = SeenUrls()
        self.link_extractor = bounded

    def remember_links(self) -> None:
        """Pass each href on once per crawl process, not once per page: a crawl's spider
        drops a link it has met before anyway, and a site repeats its links (navigation,
        story lists) on every page, each costing a resolve, a normalisation and a check."""
        self.link_extractor.remember = True

    def page_links(self, response: TextResponse) -> tuple[list[Link], list[str], int]:
        """The page's links, its RSS/Atom ``<link rel=alternate>`` hrefs, and how many
        of either past the cap were not examined."""
        selector = Selector(response=response)
        root = selector.root
        feeds = [str(href) for href in root.xpath(_FEEDS)]
        anchors = int(root.xpath(_ANCHORS))
        base_url = get_base_url(response)
        parts = urlsplit(base_url)
        self.link_extractor.origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
        links = self._process_links(self._extract_links(
            selector, response.url, response.encoding, base_url))
        dropped = max(0, anchors - self.max_links) + max(0, len(feeds) - self.max_links)
        return links, feeds[:self.max_links], dropped
