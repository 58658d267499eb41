"""A small archive for the coverage report: the search corpus (tests/search_corpus.py), one
story reposted at three URLs, one at two, and a story with an edited copy on another site
(near-duplicates), all stored through ``record_fetch``, the crawl's own write path."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from crawler.analysis.near_duplicates import signature
from storage.archive import record_fetch
from tests.search_corpus import BY_KEY, DOCS, Doc, article_for, fetch_for, store

PIPELINE_TEXT = (
    "Engineers from China and Kazakhstan met in Almaty on Monday to agree the route of a new "
    "water pipeline that will carry supplies from the Ili river to farms in the south of the "
    "country. The project, financed by a loan from a Chinese development bank, is expected to "
    "take four years and employ about two thousand workers, officials said after the meeting. "
    "Farmers in the region have long complained about shortages during the dry summer months.")
ORIGINAL = Doc("pipeline", "en", "China and Kazakhstan agree water pipeline route",
               PIPELINE_TEXT, ("CN", "KZ"), ("agriculture",), "Caravan Daily", "2025-05-10")
EDITED = Doc("pipeline-copy", "en", "China, Kazakhstan agree on water pipeline route",
             PIPELINE_TEXT.replace("about two thousand", "some two thousand"),
             ("CN", "KZ"), ("agriculture",), "Steppe Wire", "2025-05-12")
REPOSTS = {"kz-rail": ("http://mirror.test/kz-rail", "http://aggregator.test/item/7"),
           "tm-gas": ("http://mirror.test/tm-gas",)}


def build(session: Session) -> dict[str, int]:
    """Store the report corpus; returns article ids by key."""
    ids = store(session)
    with session.begin():
        for key, urls in REPOSTS.items():
            for url in urls:
                record_fetch(session, fetch_for(BY_KEY[key], url, "2026-01-06T09:00:00"),
                             article_for(BY_KEY[key]), run_id=None, outcome="article")
        for doc in (ORIGINAL, EDITED):
            result = record_fetch(session, fetch_for(doc),
                                  replace(article_for(doc), minhash=signature(doc.text)),
                                  run_id=None, outcome="article")
            assert result.article_id is not None
            ids[doc.key] = result.article_id
    return ids


ALL_DOCS = (*DOCS, ORIGINAL, EDITED)
