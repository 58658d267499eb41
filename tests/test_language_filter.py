"""`--lang zh` finds Chinese in either script: tags keep the script (zh-Hans, zh-Hant)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from storage.archive import ArticleRecord, FetchRecord, record_fetch
from storage.models import Article
from storage.records import ArticleFilter

LANGUAGES = {"a": "zh-Hans", "b": "zh-Hant", "c": "zh", "d": "en", "e": "zu"}


def store(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        for key, language in LANGUAGES.items():
            url = f"http://wire.example/{key}"
            record_fetch(session, FetchRecord(
                page_url=url, url=url, final_url=url, status=200, headers={},
                body=b"<p>x</p>", fetched_at=datetime(2025, 1, 2, tzinfo=UTC),
                source="Steppe Wire", discovered_via="seed", encoding="utf-8",
            ), ArticleRecord(content_hash=key * 64, text=f"Article {key} on China and Kazakhstan.",
                             relevance=0.9, title=key, language=language),
                run_id=None, outcome="article")


@pytest.mark.parametrize(
    ("wanted", "titles"),
    [("zh", {"a", "b", "c"}), ("ZH", {"a", "b", "c"}), ("zh-Hant", {"b"}), ("zh-hans", {"a"}),
     ("en", {"d"}), ("z", set())],
)
def test_a_language_matches_its_scripts_and_regions(engine: Engine, wanted: str,
                                                    titles: set[str]) -> None:
    store(engine)
    with Session(engine) as session:
        query = ArticleFilter(language=wanted).apply(select(Article.title))
        assert set(session.scalars(query)) == titles
