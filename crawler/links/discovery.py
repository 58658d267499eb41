"""Where the next URLs come from: feeds, sitemaps, robots.txt, in-page links.

Plain functions of bytes or text, so the spider stays a thin strategy and
these are tested without Scrapy. XML is parsed with entity resolution and
network access off: feeds and sitemaps come from sites we do not control.
For the same reason each takes a ``limit``: a feed or sitemap of a million
entries must not become a million requests (see :class:`Capped`).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urljoin

import lxml.etree

log = logging.getLogger(__name__)

_XML_PARSER = lxml.etree.XMLParser(
    resolve_entities=False, no_network=True, recover=True, huge_tree=False,
    remove_comments=True, remove_pis=True,
)
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")
_SITEMAP_LINE = re.compile(r"^\s*sitemap\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class Capped(list[str]):
    """The first ``limit`` URLs found, in document order; ``dropped`` counts the rest."""

    dropped: int = 0


def _capped(urls: list[str], limit: int | None, more: int = 0) -> Capped:
    unique = Capped(dict.fromkeys(urls))
    if limit is not None and len(unique) > limit:
        more += len(unique) - limit
        del unique[limit:]
    unique.dropped = more
    return unique


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _parse_xml(body: bytes) -> lxml.etree._Element | None:
    try:
        root = lxml.etree.fromstring(body.lstrip(), parser=_XML_PARSER)
    except (lxml.etree.XMLSyntaxError, ValueError):
        return None
    return root


def feed_links(body: bytes, base_url: str, limit: int | None = None) -> Capped:
    """Article URLs listed in an RSS 2.0, RSS 1.0/RDF or Atom feed, in feed order.

    Entries past ``limit`` are counted, not resolved: the work stays bounded.
    """
    root = _parse_xml(body)
    if root is None:
        return Capped()
    urls: list[str] = []
    more = 0
    for element in root.iter():
        name = _local(element.tag)
        if name in ("item", "entry"):
            if limit is not None and len(urls) >= limit:
                more += 1
                continue
            url = _entry_link(element)
            if url:
                urls.append(urljoin(base_url, url))
    return _capped(urls, limit, more)


def _entry_link(entry: lxml.etree._Element) -> str | None:
    guid = None
    for child in entry:
        name = _local(child.tag)
        if name == "link":
            href = child.get("href")
            if href and child.get("rel", "alternate") == "alternate":
                return href.strip()
            if child.text and child.text.strip():
                return child.text.strip()
        elif name == "guid" and child.get("isPermaLink", "true") != "false" and child.text:
            guid = child.text.strip()
    about = entry.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about")
    return guid if guid and guid.startswith("http") else about


def looks_like_feed(body: bytes) -> bool:
    head = body[:1024].lstrip().lower()
    return head.startswith(b"<?xml") and (b"<rss" in body[:4096] or b"<feed" in body[:4096]
                                          or b"<rdf" in body[:4096]) or head.startswith(b"<rss")


def sitemap_entries(body: bytes, base_url: str, limit: int | None = None
                    ) -> tuple[str, Capped]:
    """``("urlset" | "sitemapindex" | "", urls)`` of a sitemap or sitemap index.

    Entries past ``limit`` are counted in ``urls.dropped``, not resolved.
    """
    root = _parse_xml(body)
    if root is None:
        return "", Capped()
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        return "", Capped()
    urls: list[str] = []
    more = 0
    for element in root:
        if _local(element.tag) in ("url", "sitemap"):
            if limit is not None and len(urls) >= limit:
                more += 1
                continue
            for child in element:
                if _local(child.tag) == "loc" and child.text and child.text.strip():
                    urls.append(urljoin(base_url, child.text.strip()))
    return kind, _capped(urls, limit, more)


def robots_sitemaps(robots_txt: str, base_url: str, limit: int | None = None) -> Capped:
    """The ``Sitemap:`` lines of a robots.txt."""
    urls: list[str] = []
    more = 0
    for match in _SITEMAP_LINE.finditer(robots_txt):
        if limit is not None and len(urls) >= limit:
            more += 1
            continue
        urls.append(urljoin(base_url, match.group(1)))
    return _capped(urls, limit, more)


def is_feed_type(content_type: str | None) -> bool:
    lowered = (content_type or "").lower()
    return any(t in lowered for t in _FEED_TYPES)
