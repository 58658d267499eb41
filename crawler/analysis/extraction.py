"""The one seam between the archive and trafilatura: page text in, article out.

Scrapy downloads and :mod:`crawler.analysis.decoding` decodes; trafilatura only
extracts, with one set of options fixed at import (never its downloader, never
its process-global duplicate cache, which would make results depend on what
the worker saw before). The page is parsed once: trafilatura works on a copy
of the tree and the few head fields it does not report as found (canonical
link, page language) are read from the same tree.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Any
from urllib.parse import urljoin, urlsplit

import trafilatura
from htmldate import find_date
from lxml.html import HtmlElement
from trafilatura.settings import Document
from trafilatura.utils import load_html

from crawler.analysis.language import detect_language
from crawler.analysis.script import HAN_RANGES
from crawler.links.urls import is_http_url

logger = logging.getLogger(__name__)

EXTRACTOR_VERSION = f"trafilatura {trafilatura.__version__}"

#: Below this many characters of main text a page holds no article.
MIN_TEXT_CHARS = 200

#: The same bar for CJK text, which says as much in fewer characters.
MIN_CJK_TEXT_CHARS = 80

#: Share of CJK characters in the text above which the CJK bar applies.
CJK_TEXT_SHARE = 0.3

#: Share of the text made of whole link labels above which a page is a listing.
LISTING_LINK_SHARE = 0.4
LISTING_MIN_HEADLINES = 3  # headline lines that make a page without og:type a listing
HEADLINE_MIN_CHARS = 6
HEADLINE_MAX_CHARS = 200
CTA_MAX_CHARS = 300  # longest block still taken for a sign-up box or a cookie notice
CTA_SLACK = 120  # text a sign-up box's wrapper may add (a heading, a line of pitch)
_CTA_NAMES = re.compile(
    r"subscri|newsletter|signup|sign-up|mailing|podpisk|rassylk|dingyue|cookie|consent|gdpr"
    r"|share|sharing|social|promo|paywall-banner", re.IGNORECASE)
_NEVER_STRIP = {"html", "body", "head", "main", "article"}
_LIST_MARK = re.compile(r"^[-•*·]\s*")
# The home page, an index file, or a short one-word section such as /news/ or /zhongya/.
_FRONT_PAGE_PATH = re.compile(
    r"^(/?|/[a-z\u0400-\u04ff_]{1,24}/?|(/[^/]+)*/(index|default)\.(s?html?|aspx?|php))$",
    re.IGNORECASE,
)

#: Fixed options for every call (see the module docstring); per page only the
#: URL and the date bound change.
TRAFILATURA_OPTIONS: MappingProxyType[str, Any] = MappingProxyType(
    {
        "output_format": "python",
        # On the 181-page article-extraction benchmark: token F1 0.961 against
        # 0.959 for the full fallback cascade, and about 45% more pages a second.
        "fast": True,
        "include_comments": False,
        "include_tables": True,
        "include_images": False,
        "include_links": False,
        "with_metadata": True,
        "deduplicate": False,
    }
)

_CJK = re.compile(rf"[\u3040-\u30ff{HAN_RANGES}\uac00-\ud7af]")  # kana, Han, hangul
_NON_SPACE = re.compile(r"\S")


@dataclass(frozen=True)
class ExtractedArticle:
    """An article's main text and metadata, as found on one page."""

    text: str
    title: str | None
    author: str | None
    published: str | None
    language: str | None
    site_name: str | None
    canonical_url: str | None
    description: str | None


def parse_html(html: str) -> HtmlElement | None:
    """The tree ``extract_article`` takes, parsed as trafilatura parses; None if there is none."""
    return load_html(html)


def extract_article(
    page: str | HtmlElement, url: str, *, language_hint: str | None = None
) -> ExtractedArticle | None:
    """None when the page holds no article text (listing pages, empty pages, too short).

    ``page`` is HTML or a tree from ``parse_html``, which this changes.
    """
    tree = load_html(page)
    if tree is None:
        logger.debug("no HTML tree in %s", url)
        return None
    _strip_calls_to_action(tree)

    document = trafilatura.bare_extraction(
        tree,
        url=url,
        date_extraction_params=_date_params(),
        **TRAFILATURA_OPTIONS,
    )
    if not isinstance(document, Document):
        return None
    text = (document.text or "").strip()
    if not _long_enough(text):
        logger.debug("too little text (%d chars) in %s", len(text), url)
        return None
    if _looks_like_listing(text, tree, url):
        logger.debug("text of %s is a list of headlines: a listing page", url)
        return None

    return ExtractedArticle(
        text=text,
        title=_clean(document.title),
        author=_clean(document.author),
        published=_published(document.date, tree, url),
        language=detect_language(text, html_lang=_page_language(tree), hint=language_hint),
        site_name=_clean(document.sitename),
        canonical_url=declared_canonical_url(tree, url),
        description=_clean(document.description),
    )


def _strip_calls_to_action(tree: HtmlElement) -> None:
    """Remove newsletter boxes, cookie notices and share bars before extraction.

    trafilatura spots them by English class names; sites name them in their own
    language (podpiska, dingyue), so also go by structure: a short block holding
    a form with an e-mail field is a sign-up box whatever it is called.
    """
    doomed = []
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag in _NEVER_STRIP:
            continue
        names = f"{element.get('class', '')} {element.get('id', '')}"
        if _CTA_NAMES.search(names) and _short(element):
            doomed.append(element)
    for field in tree.xpath("//input[@type='email'] | //form"):
        if not _short(field):
            continue  # some frameworks wrap the whole page in one <form>
        block = field
        while (parent := block.getparent()) is not None and parent.tag not in _NEVER_STRIP \
                and _short(parent) and _text_length(parent) - _text_length(block) <= CTA_SLACK:
            block = parent  # the box around the form, not the article around the box
        doomed.append(block)
    for element in doomed:
        parent = element.getparent()
        if parent is not None:
            parent.remove(element)


def _text_length(element: HtmlElement) -> int:
    return len(" ".join(element.text_content().split()))


def _short(element: HtmlElement) -> bool:
    return _text_length(element) <= CTA_MAX_CHARS


def _date_params() -> dict[str, Any]:
    """htmldate's options, built per call so that a long-lived worker's "today" moves on."""
    return {
        "original_date": True,
        # Reads dates written in the text ("Published 19 May 2023") too; its
        # made-up fallbacks are caught by _published.
        "extensive_search": True,
        # A day of slack: pages dated in time zones ahead of ours.
        "max_date": (_today() + timedelta(days=1)).isoformat(),
    }


def _today() -> date:
    return datetime.now(UTC).date()


def _long_enough(text: str) -> bool:
    if len(text) >= MIN_TEXT_CHARS:
        return True
    if len(text) < MIN_CJK_TEXT_CHARS:
        return False
    visible = len(_NON_SPACE.findall(text))
    return len(_CJK.findall(text)) >= CJK_TEXT_SHARE * visible


def _looks_like_listing(text: str, tree: HtmlElement, url: str) -> bool:
    """Section fronts and home pages: most of the text is headline links, or several
    headlines with teasers on a page that does not call itself an article.

    Teasers (long in Chinese) can outweigh the headlines, and some templates drop
    the headlines altogether, so the page's own og:type and its URL count too.
    """
    labels = {
        label
        for anchor in tree.iter("a")
        if HEADLINE_MIN_CHARS <= len(label := " ".join(anchor.text_content().split()))
        <= HEADLINE_MAX_CHARS
    }
    lines = [_LIST_MARK.sub("", " ".join(line.split())) for line in text.split("\n")]
    if sum(len(line) for line in lines if line in labels) >= LISTING_LINK_SHARE * len(text):
        return True
    og_type = (_meta_content(tree, "property", "og:type") or "").lower()
    if og_type == "article" or _meta_content(tree, "property", "article:published_time"):
        return False
    headlines = {label for label in labels if _headline_like(label)}
    teasers = {h for line in lines for h in headlines if line.startswith(h)}
    needed = 2 if og_type == "website" else LISTING_MIN_HEADLINES
    front_page = _FRONT_PAGE_PATH.search(urlsplit(url).path or "/") is not None
    if front_page and og_type == "website":
        needed = 1
    if len(teasers) >= needed:
        return True
    return front_page and og_type in ("", "website") and len(headlines) >= needed


def _headline_like(label: str) -> bool:
    cjk = len(_CJK.findall(label))
    return cjk >= 8 if cjk else len(label) >= 2 * HEADLINE_MIN_CHARS + 10 and " " in label


def _published(found: str | None, tree: HtmlElement, url: str) -> str | None:
    """htmldate's date as ISO 8601, unless it is one htmldate may have made up.

    When no structured date exists, htmldate's free-text search falls back to
    the copyright year (YYYY-01-01) or a bare month (YYYY-MM-01), and a page
    header showing the current date reads as published today. Such dates are
    kept only when the structured search (meta tags, JSON-LD, <time>, the URL)
    finds the same date.
    """
    if not found:
        return None
    try:
        published = date.fromisoformat(found[:10])
    except ValueError:
        logger.debug("unparseable date %r on %s", found, url)
        return None
    if published.day == 1 or published >= _today() - timedelta(days=1):
        params = _date_params() | {"extensive_search": False, "url": url}
        if find_date(tree, **params) != published.isoformat():
            logger.debug("date %s on %s has no structured evidence: dropped", found, url)
            return None
    return published.isoformat()


def _page_language(tree: HtmlElement) -> str | None:
    for value in (
        tree.get("lang"),
        tree.get("{http://www.w3.org/XML/1998/namespace}lang"),
        _meta_content(tree, "http-equiv", "content-language"),
        _meta_content(tree, "property", "og:locale"),
    ):
        if value and value.strip():
            return value.strip()
    return None


def declared_canonical_url(tree: HtmlElement, url: str) -> str | None:
    """rel=canonical, else og:url, made absolute against the page URL; None if neither.

    One that is not a usable http(s) URL (``host:{{port}}``, a bad port, an invalid
    host) is skipped: it must not cost the page its place in the archive.
    """
    candidates = [
        link.get("href")
        for link in tree.iterfind(".//link[@rel][@href]")
        if "canonical" in link.get("rel", "").lower().split()
    ]
    candidates.append(_meta_content(tree, "property", "og:url"))
    for href in candidates:
        if not href or not href.strip():
            continue
        try:
            absolute = urljoin(url, href.strip())
        except ValueError:
            continue
        if is_http_url(absolute):
            return absolute
    return None


def _meta_content(tree: HtmlElement, attribute: str, name: str) -> str | None:
    for meta in tree.iterfind(f".//meta[@{attribute}][@content]"):
        if meta.get(attribute, "").strip().lower() == name:
            content: str = meta.get("content", "")
            return content
    return None


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None
