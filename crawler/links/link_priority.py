"""Crawl order for discovered links: what a link's anchor and URL promise.

A focused crawl spends its page budget where on-topic articles are likely.
Scrapy pops higher priorities first, so a link whose anchor names China and a
Central Asian country is fetched long before a tag page, the tenth page of a
listing or a login form. Topic words come from the topic profile, so the crawl
and the relevance filter agree on what "on topic" means; the URL rules below
are about page types, which look the same on every news site.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from crawler.analysis.script import count_han
from crawler.analysis.topic import TopicProfile

MIN_PRIORITY = -10
MAX_PRIORITY = 30

# What the words promise.
BOTH_SIDES = 18  # China and Central Asia together ("China–Kazakhstan gas deal")
PARTLY_BOTH = 10  # both sides, but one only as an item of a list, or an institution (SCO)
ONE_SIDE = 6
PER_THEME_WORD = 1
MAX_THEME_WORDS = 3
HEADLINE_LIKE = 2  # a descriptive anchor reads like a headline
SPAM = -15

# What the URL promises.
ARTICLE_PATH = 6
# Section fronts are where new article links appear: worth more than an
# article link that promises nothing on topic, less than one that does.
SECTION_PAGE = 9
PAGINATION = -4
CALENDAR_TRAP = -8
UTILITY_PAGE = -10
NOT_A_PAGE = -10

_NON_HTTP = re.compile(r"^(?:mailto|javascript|tel|sms|whatsapp|data|ftp):", re.IGNORECASE)
_FILE_TYPES = re.compile(
    r"\.(?:jpe?g|png|gif|webp|svg|ico|bmp|tiff?|pdf|zip|rar|7z|gz|tgz|bz2|mp3|mp4|m4a|wav|avi|"
    r"mov|wmv|flv|mkv|webm|docx?|xlsx?|pptx?|odt|css|js|json|woff2?|ttf|eot|apk|exe|dmg|iso|"
    r"torrent)$", re.IGNORECASE)
# Whole path segments or query keys only: "china-share-of-trade" is an article slug.
_UTILITY = re.compile(
    r"(?:^|[/?&=.])(?:login|log-in|signin|sign-in|signup|sign-up|register|registration|logout|"
    r"account|profile|password|subscribe|subscription|newsletter|print|share|sharer|"
    r"comment|comments|replytocom|reply|cart|checkout|basket|wp-admin|wp-login|cdn-cgi|oauth|"
    r"intent|feedback|captcha|download|advert|advertising|ads|privacy|cookie|cookies|terms|"
    r"contact|contacts|about-us|about|impressum)(?:$|[/?&=.])",
    re.IGNORECASE)
_CALENDAR = re.compile(
    r"(?:^|[/?&])(?:calendar|events?/\d{4}|ical|ics)(?:$|[/?&=.])"
    r"|[?&](?:date|day|month|year|from_date|to_date|d|m|y|start_date|end_date)=",
    re.IGNORECASE)
_PAGINATION = re.compile(
    r"[?&](?:page|pg|pageno|page_no|pagenum|start|offset|paged)=\d+"
    r"|/page/\d+|(?:index|list|node)_\d+\.s?html?$|[?&](?:sort|order|orderby|filter)=",
    re.IGNORECASE)
_SECTION = re.compile(
    r"/(?:tag|tags|topic|topics|category|categories|section|sections|author|authors|"
    r"search|rubric|rubrics|theme|themes|label|labels|keyword|keywords|subject|subjects|"
    r"column|columns|channel|channels|special|specials|index|list|rss|feeds?)(?:/|$|\.)",
    re.IGNORECASE)
_DATE = re.compile(
    r"/(?:19|20)\d{2}[/-](?:0?[1-9]|1[0-2])(?:[/-](?:0?[1-9]|[12]\d|3[01]))?(?=/|$|[-_])"
    r"|/(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:[0-3]\d)?(?=/|$|[-_])"
    r"|/(?:19|20)\d{2}/(?:0[1-9]|1[0-2])[0-3]\d/")
_ARTICLE_ID = re.compile(
    r"(?:content_|article[-_]?|news[-_]?|doc/|/a/|/c\d+-)\d{4,}"
    r"|[/_-]\d{5,}(?:\.s?html?|\.php|\.aspx?)?/?$"
    r"|/(?:news|article|articles|story|stories|world|politics|economy|business|ekonomika|"
    r"politika|mir|society|analytics|opinion)/[^/?#]{12,}",
    re.IGNORECASE)
_ARTICLE_QUERY = re.compile(
    r"(?:^|&)(?:p|id|aid|nid|newsid|news_id|articleid|article_id|story_id|docid)=\d{3,}(?:&|$)",
    re.IGNORECASE)
_SLUG = re.compile(r"/[^/?#]*[a-z\u0430-\u044f][^/?#]*-[^/?#]+-[^/?#]+-[^/?#]+/?(?:\.s?html?)?$",
                   re.IGNORECASE)
# One short word as the whole path (/news/, /world, /zhongya/, /section3.html).
_SHORT_SECTION = re.compile(r"^/[a-z\u0430-\u044f]{2,20}\d{0,2}(?:/|\.s?html?)?$", re.IGNORECASE)
_WORD_BREAKS = re.compile(r"[-_/.+=&?%]+")


def link_priority(url: str, anchor_text: str, profile: TopicProfile) -> int:
    """Scrapy request priority for a discovered link: higher = crawl sooner, -10..+30."""
    url = (url or "").strip()
    if _NON_HTTP.match(url):
        return MIN_PRIORITY
    parts = urlsplit(url)
    path = unquote(parts.path or "/")
    query = unquote(parts.query or "")
    page = _url_score(path, query)
    if page <= UTILITY_PAGE:
        return MIN_PRIORITY  # no anchor makes a file or a login form an article
    score = page + _words_score(anchor_text or "", path, profile)
    if page == CALENDAR_TRAP:
        score = min(score, PAGINATION - 1)  # endless dates: never before a listing page
    return max(MIN_PRIORITY, min(MAX_PRIORITY, score))


def _url_score(path: str, query: str) -> int:
    if _FILE_TYPES.search(path):
        return NOT_A_PAGE
    full = f"{path}?{query}" if query else path
    if _UTILITY.search(full):
        return UTILITY_PAGE
    if _CALENDAR.search(full):
        return CALENDAR_TRAP
    if _PAGINATION.search(full):
        return PAGINATION
    if (_DATE.search(path) or _ARTICLE_ID.search(path) or _SLUG.search(path)
            or _ARTICLE_QUERY.search(query)):
        return ARTICLE_PATH
    if path in ("", "/") or _SECTION.search(path) or _SHORT_SECTION.search(path):
        return SECTION_PAGE
    return 0


def _words_score(anchor: str, path: str, profile: TopicProfile) -> int:
    slug = _WORD_BREAKS.sub(" ", path)
    signals = profile.signals(f"{anchor}\n{slug}")
    if signals.spam > 0:
        return SPAM
    if signals.joint >= 1.0:
        score = BOTH_SIDES
    elif signals.joint > 0:
        score = PARTLY_BOTH
    elif signals.china > 0 or signals.central_asia > 0:
        score = ONE_SIDE
    else:
        score = 0
    score += PER_THEME_WORD * min(signals.themes, MAX_THEME_WORDS)
    words = anchor.split()
    if len(words) >= 5 or count_han(anchor) >= 10:
        score += HEADLINE_LIKE
    return score
