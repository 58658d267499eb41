"""From raw bytes to an archivable article: decode, extract, score, hash.

This is the CPU-heavy part of a crawl and the part `reprocess` and
`import-warc` replay, so it is one pure function of the response that runs
the same in the crawl's worker processes and offline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from crawler.analysis.decoding import decode_html
from crawler.analysis.extraction import (
    EXTRACTOR_VERSION,
    declared_canonical_url,
    extract_article,
    parse_html,
)
from crawler.analysis.fingerprint import content_hash
from crawler.analysis.near_duplicates import signature
from crawler.analysis.page_text import page_texts
from crawler.analysis.snapshot_body import PackedBody, pack_body
from crawler.analysis.topic import TopicProfile

# Page outcomes, as recorded on the page row and counted in a run's stats.
ARCHIVABLE = "article"
OFF_TOPIC = "off_topic"
NO_ARTICLE = "no_article"


@dataclass(frozen=True)
class ArticleRecord:
    """An extracted, on-topic article ready to archive."""

    content_hash: str
    text: str
    relevance: float
    title: str | None = None
    author: str | None = None
    published: str | None = None
    language: str | None = None
    description: str | None = None
    site_name: str | None = None
    countries: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    topic_version: str | None = None
    extractor: str | None = None
    minhash: bytes | None = None  # crawler.analysis.near_duplicates.signature of the text


@dataclass(frozen=True)
class PageAnalysis:
    outcome: str  # article | off_topic | no_article
    encoding: str
    article: ArticleRecord | None = None  # set for articles and extracted off-topic pages
    canonical_url: str | None = None  # as the page declares it (rel=canonical / og:url)
    packed_body: PackedBody | None = None  # the raw bytes packed for storage, when asked
    extracted: bool = True  # False: off topic by the page's whole text, never extracted


@lru_cache(maxsize=4)
def topic_profile(path: str | None = None, threshold: float | None = None) -> TopicProfile:
    """Loaded once per process (worker processes included)."""
    return TopicProfile.load(path, threshold=threshold)


def profile_settings(settings: Any) -> tuple[str | None, float | None]:
    """The topic profile path and threshold a crawl's Scrapy settings ask for."""
    threshold = settings.get("SILKROAD_TOPIC_THRESHOLD")
    return (settings.get("SILKROAD_TOPIC_PROFILE") or None,
            None if threshold in (None, "") else float(threshold))


def analyse_page(
    body: bytes,
    url: str,
    content_type: str | None = None,
    *,
    language_hint: str | None = None,
    profile_path: str | None = None,
    threshold: float | None = None,
    pack: bool = False,
    prefilter: bool = False,
) -> PageAnalysis:
    """``pack`` also compresses the body for its snapshot, which a crawl's worker
    does so that the crawl process does not have to.

    ``prefilter`` skips extraction when the page's whole text does not name both
    China and Central Asia (``TopicProfile.may_keep``): such a page is off topic
    whatever its article says, and on news sites most pages are. The test costs a
    few milliseconds where extraction costs tens.
    """
    analysis = _analyse(body, url, content_type, language_hint, profile_path, threshold,
                        prefilter)
    return replace(analysis, packed_body=pack_body(body)) if pack else analysis


def _analyse(body: bytes, url: str, content_type: str | None, language_hint: str | None,
             profile_path: str | None, threshold: float | None,
             prefilter: bool) -> PageAnalysis:
    decoded = decode_html(body, content_type)
    tree = parse_html(decoded.html)
    if tree is None:
        return PageAnalysis(NO_ARTICLE, decoded.encoding)
    profile = topic_profile(profile_path, threshold)
    if prefilter and not profile.may_keep(*page_texts(tree)):
        return PageAnalysis(OFF_TOPIC, decoded.encoding, extracted=False,
                            canonical_url=declared_canonical_url(tree, url))
    extracted = extract_article(tree, url, language_hint=language_hint)
    if extracted is None:
        return PageAnalysis(NO_ARTICLE, decoded.encoding)
    verdict = profile.score(extracted.title or "", extracted.text, extracted.language)
    record = ArticleRecord(
        content_hash=content_hash(extracted.text),
        text=extracted.text,
        relevance=round(verdict.score, 4),
        title=extracted.title,
        author=extracted.author,
        published=extracted.published,
        language=extracted.language,
        description=extracted.description,
        site_name=extracted.site_name,
        countries=verdict.countries,
        themes=verdict.themes,
        topic_version=verdict.profile_version,
        extractor=EXTRACTOR_VERSION,
    )
    outcome = ARCHIVABLE if verdict.keep else OFF_TOPIC
    if verdict.keep:
        record = replace(record, minhash=signature(extracted.text))
    return PageAnalysis(outcome, decoded.encoding, record, extracted.canonical_url)
