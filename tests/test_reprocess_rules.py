"""`reprocess` applies a new extractor version to what an older one stored."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from crawler.analysis.extraction import EXTRACTOR_VERSION
from crawler.analysis.fingerprint import content_hash
from crawler.offline.reprocess import reprocess
from storage.archive import ArticleRecord, FetchRecord, record_fetch
from storage.engine import session_factory
from storage.models import Article

HEADLINE = "Kazakhstan and China add two daily trains at Khorgos"
PARAGRAPHS = [
    "Kazakhstan and China agreed on Tuesday to run two more daily container trains through "
    "the Khorgos gateway, the busiest crossing between China and Central Asia.",
    "Customs officers from both countries will inspect cargo once, at a shared facility, "
    "which officials in Astana and Beijing say will cut waiting times for freight.",
    "Exporters of Kazakh grain and Chinese machinery welcomed the decision, and the "
    "transport ministry said a joint working group would report on progress in the autumn.",
]
PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
    f"<title>{HEADLINE} | Steppe Ledger</title>"
    '<meta property="og:site_name" content="Steppe Ledger">'
    '<meta name="author" content="Steppe Ledger">'
    '<meta property="article:published_time" content="2025-06-17T08:00:00+05:00">'
    f"</head><body><article><h1>{HEADLINE}</h1><p>17 June 2025, 08:00</p>"
    + "".join(f"<p>{paragraph}</p>" for paragraph in PARAGRAPHS)
    + "</article></body></html>"
)
URL = "https://ledger.example/trade/khorgos-two-more-trains"
OLD_TEXT = "\n".join([HEADLINE, "17 June 2025, 08:00", *PARAGRAPHS])


def store_as_an_older_extractor_did(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        record_fetch(session, FetchRecord(
            page_url=URL, url=URL, final_url=URL, status=200,
            headers={"Content-Type": ["text/html; charset=utf-8"]}, body=PAGE.encode(),
            fetched_at=datetime(2025, 6, 18, tzinfo=UTC), source="Steppe Ledger",
            discovered_via="seed", encoding="utf-8",
        ), ArticleRecord(
            content_hash=content_hash(OLD_TEXT), text=OLD_TEXT, relevance=0.9,
            title=f"{HEADLINE} | Steppe Ledger", author="Steppe Ledger",
            published="2025-06-17", language="en", countries=("CN", "KZ"),
            themes=("transport",), extractor="trafilatura 2.3.1",
        ), run_id=None, outcome="article")


def test_reprocess_applies_the_new_rules(engine: Engine) -> None:
    store_as_an_older_extractor_did(engine)

    counts = reprocess(session_factory(engine))

    with Session(engine) as session:
        [article] = session.scalars(select(Article)).all()
    assert counts["re_extracted"] == 1
    assert article.text == "\n".join(PARAGRAPHS)
    assert article.content_hash == content_hash(article.text)
    assert article.title == HEADLINE
    assert article.author is None  # the publisher was stored as the author: cleared
    assert article.published == "2025-06-17"
    assert article.extractor == EXTRACTOR_VERSION


def test_a_second_reprocess_changes_nothing(engine: Engine) -> None:
    store_as_an_older_extractor_did(engine)
    reprocess(session_factory(engine))

    counts = reprocess(session_factory(engine))

    assert counts["unchanged"] == 1 and counts["re_extracted"] == 0
