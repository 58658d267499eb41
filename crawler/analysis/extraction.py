"""The one seam between the archive and trafilatura: page text in, article out.

Scrapy downloads and :mod:`crawler.analysis.decoding` decodes; trafilatura only
extracts, with one set of options fixed at import (never its downloader, never
its process-global duplicate cache, which would make results depend on what
the worker saw before). The page is parsed once: trafilatura works on a copy
of the tree and the few head fields it does not report as found (canonical
link, page language) are read from the same tree.

trafilatura's fast mode is right on nearly every page and much cheaper; where it
finds no article on a page that declares itself one (og:type, a publication time,
JSON-LD NewsArticle), its full mode is asked before the page is given up. What it
returns is then made the archive's own: the headline without the site's name
(:mod:`crawler.analysis.titles`), the people as authors
(:mod:`crawler.analysis.authors`) and one rule for the stored text
(:mod:`crawler.analysis.article_text`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from difflib import SequenceMatcher
from types import MappingProxyType
from typing import Any
from urllib.parse import urljoin, urlsplit

import trafilatura
from htmldate import find_date
from lxml.html import HtmlElement
from trafilatura.settings import Document
from trafilatura.utils import load_html

from crawler.analysis.article_text import clean_article_text
from crawler.analysis.authors import SEPARATOR, clean_authors
from crawler.analysis.language import detect_language, normalise_language_tag
from crawler.analysis.script import HAN_RANGES
from crawler.analysis.site_names import declared_site_name
from crawler.analysis.titles import headline
from crawler.links.urls import is_http_url

logger = logging.getLogger(__name__)

#: The version of our own rules on top of trafilatura's; raised whenever they change
#: what is stored for a page, so that ``silkroad reprocess`` shows what it re-extracts.
RULES_VERSION = 2
EXTRACTOR_VERSION = f"trafilatura {trafilatura.__version__}; silkroad rules {RULES_VERSION}"

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
_NOT_WORD = re.compile(r"[\W_]+")
_ARTICLE_TYPE = re.compile(
    r'"@type"\s*:\s*\[?[^\]]*?"(?:News|Reportage|Analysis|Opinion|Background|Review)?'
    r'(?:Article|BlogPosting)"')
ARTICLE_SLUG_WORDS = 4
EARLIEST_PUBLICATION = date(1990, 1, 1)  # before the web: a placeholder (0001-01-01)
H1_SIMILARITY = 0.7  # an <h1> this close to the page's title is its headline, reworded
_SLUG_WORD = re.compile(r"[^\W_]+")
_DATE_PUBLISHED = re.compile(r'"datePublished"\s*:\s*"([^"]{10,40})"')
_PUBLISHER = re.compile(r'"publisher"\s*:\s*\{[^{}]*?"name"\s*:\s*"([^"]{2,80})"')


@dataclass(frozen=True)
class ExtractedArticle:
    """An article's main text and metadata, as found on one page."""

    text: str
    title: str | None  # the headline, without the site's name
    author: str | None
    published: str | None
    language: str | None
    site_name: str | None
    canonical_url: str | None
    description: str | None
    page_title: str | None = None  # the page's <title> as it is, for citation


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

    document = _bare_extraction(tree, url, fast=True)
    text = _text(document)
    problem = _no_article(text, tree, url)
    if problem and (_declares_article(tree) or _article_url(url)):
        retry = _bare_extraction(tree, url, fast=False)
        if _no_article(_text(retry), tree, url) is None:
            logger.debug("full extraction found the article of %s", url)
            text, document, problem = _text(retry), document or retry, None
    if document is None or problem:
        logger.debug("no article in %s: %s", url, problem or "nothing extracted")
        return None
    return _article(document, text, tree, url, language_hint)


def _bare_extraction(tree: HtmlElement, url: str, *, fast: bool) -> Document | None:
    options: dict[str, Any] = {**TRAFILATURA_OPTIONS, "fast": fast}
    document = trafilatura.bare_extraction(
        tree, url=url, date_extraction_params=_date_params(), **options)
    return document if isinstance(document, Document) else None


def _text(document: Document | None) -> str:
    return (document.text or "").strip() if document is not None else ""


def _no_article(text: str, tree: HtmlElement, url: str) -> str | None:
    """Why ``text`` is no article, or None."""
    if not _long_enough(text):
        return f"too little text ({len(text)} chars)"
    if _looks_like_listing(text, tree, url):
        return "a list of headlines: a listing page"
    return None


def _declares_article(tree: HtmlElement) -> bool:
    og_type = (_meta_content(tree, "property", "og:type") or "").strip().lower()
    if og_type == "article" or _meta_content(tree, "property", "article:published_time"):
        return True
    return any(_ARTICLE_TYPE.search(script.text or "")
               for script in tree.iterfind(".//script[@type='application/ld+json']"))


def _article_url(url: str) -> bool:
    """A path ending in a slug of several words, as article URLs do and sections do not."""
    last = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return len(_SLUG_WORD.findall(last)) >= ARTICLE_SLUG_WORDS


def _article(document: Document, text: str, tree: HtmlElement, url: str,
             language_hint: str | None) -> ExtractedArticle | None:
    """The archive's article from what trafilatura found: its headline, its people and
    its text by our rules (the module docstring); None if too little text is left."""
    page_title = _clean(tree.findtext(".//title"))
    h1s = _headline_h1s(tree, page_title, _clean(document.title))
    metas = _metas(tree)
    site_names = [name for name in (document.sitename, metas.get("og:site_name")) if name]
    title = headline(_clean(document.title), h1s=h1s, url=url, site_names=site_names)
    organisations = _organisations(tree, metas, site_names)
    found = clean_authors(document.author, declared=metas.get("author"),
                          organisations=organisations, url=url)
    body = clean_article_text(
        text, authors=(found or "").split(SEPARATOR),
        headlines=[title, page_title, _clean(document.title), metas.get("og:title"), *h1s])
    if not _long_enough(body.text):
        logger.debug("too little text (%d chars) in %s once cleaned", len(body.text), url)
        return None
    author = found or clean_authors(None, byline=body.byline, organisations=organisations,
                                    url=url)
    return ExtractedArticle(
        text=body.text,
        title=title,
        author=author,
        published=_publication_date(document.date, tree, url, metas),
        language=detect_language(body.text, html_lang=_page_language(tree),
                                 hint=language_hint),
        site_name=declared_site_name(_clean(document.sitename), url),
        canonical_url=declared_canonical_url(tree, url),
        description=_clean(document.description),
        page_title=page_title,
    )


def _headline_h1s(tree: HtmlElement, *titles: str | None) -> list[str]:
    """The <h1>s that are the page's headline (or hold it), not those of teasers
    beside it: they share most of their text with the page's title."""
    keys = [_key(title) for title in titles if title]
    found = []
    for h1 in tree.iter("h1"):
        text = " ".join(h1.text_content().split())
        key = _key(text)
        if len(key) >= 4 and any(key in title or title in key
                                 or SequenceMatcher(None, key, title).ratio() >= H1_SIMILARITY
                                 for title in keys):
            found.append(text)
    return found


def _key(text: str) -> str:
    return _NOT_WORD.sub("", text).casefold()


def _organisations(tree: HtmlElement, metas: dict[str, str], site_names: list[str]
                   ) -> list[str]:
    """The site's and publisher's names as the page gives them: never an author."""
    found = site_names + [metas[field] for field in ("application-name", "copyright")
                          if field in metas]
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        found += _PUBLISHER.findall(script.text or "")
    return found


def _metas(tree: HtmlElement) -> dict[str, str]:
    """``<meta name|property=... content=...>`` by lowercased name, the first of each."""
    found: dict[str, str] = {}
    for meta in tree.iterfind(".//meta[@content]"):
        name = (meta.get("name") or meta.get("property") or "").strip().lower()
        if name and name not in found:
            found[name] = meta.get("content", "")
    return found


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


def _publication_date(found: str | None, tree: HtmlElement, url: str,
                      metas: dict[str, str]) -> str | None:
    """htmldate's date (see ``_published``), unless the page declares for machines
    (``article:published_time``, JSON-LD ``datePublished``) a date days before it:
    htmldate then read a "Last updated" line."""
    published = _published(found, tree, url)
    if published is None:
        return None
    declared = _declared_published(tree, metas)
    if declared and date.fromisoformat(declared) < date.fromisoformat(published) - timedelta(1):
        return declared
    return published


def _declared_published(tree: HtmlElement, metas: dict[str, str]) -> str | None:
    candidates = [metas.get("article:published_time")]
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        candidates += _DATE_PUBLISHED.findall(script.text or "")
    for value in candidates:
        try:
            declared = date.fromisoformat((value or "").strip()[:10])
        except ValueError:
            continue
        if EARLIEST_PUBLICATION <= declared <= _today() + timedelta(days=1):
            return declared.isoformat()
    return None


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
    """The first of the page's language declarations that names a language (a
    ``content-language`` of ``utf-8`` does not), as written: zh-TW keeps its region."""
    for value in (
        tree.get("lang"),
        tree.get("{http://www.w3.org/XML/1998/namespace}lang"),
        _meta_content(tree, "http-equiv", "content-language"),
        _meta_content(tree, "property", "og:locale"),
    ):
        if value and normalise_language_tag(value):
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
