"""A small archive in English, Chinese and Russian for the search, show and stats tests.

Texts written for these tests. Stored through ``record_fetch``, the crawl's own
write path, so the index is fed exactly as in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from crawler.analysis.fingerprint import content_hash
from storage.archive import ArticleRecord, FetchRecord, SourceCache, record_fetch, start_run


@dataclass(frozen=True)
class Doc:
    key: str
    language: str
    title: str
    text: str
    countries: tuple[str, ...]
    themes: tuple[str, ...]
    source: str
    published: str

    @property
    def url(self) -> str:
        return f"http://{self.source.lower().replace(' ', '-')}.test/{self.key}"


DOCS = (
    Doc("tm-gas", "en", "Turkmenistan and China agree to extend the gas pipeline",
        "Officials in Ashgabat said the fourth line of the Central Asia–China gas pipeline "
        "will carry fuel from the Galkynysh field across Uzbekistan and Kyrgyzstan. "
        "Engineers expect the gas pipeline to add capacity within three years.",
        ("CN", "TM"), ("energy",), "Steppe Wire", "2025-03-14"),
    Doc("kz-rail", "en", "Kazakhstan railways carry record container traffic",
        "Container trains crossing Khorgos set a monthly record, the national railway "
        "company reported. Railways now move most freight between China and Europe "
        "through Kazakh territory.",
        ("CN", "KZ"), ("transport", "trade"), "Steppe Wire", "2025-05-02"),
    Doc("uz-water", "en", "Uzbekistan weighs Chinese loans for irrigation",
        "Tashkent is studying a water pipeline for the Fergana valley. Gas prices and "
        "the cost of Chinese credit dominate the debate in parliament.",
        ("CN", "UZ"), ("energy", "finance"), "Steppe Wire", "2025-06-20"),
    Doc("tm-culture", "en", "Chinese painters exhibit in Ashgabat",
        "A touring exhibition brought forty Chinese painters to Turkmenistan, where "
        "students visited the galleries all week.",
        ("CN", "TM"), ("culture",), "Caravan Daily", "2025-07-01"),
    Doc("cku-rail", "zh", "中吉乌铁路项目正式开工",
        "中吉乌铁路在今年夏天正式开工。这条铁路将把新疆与吉尔吉斯斯坦和乌兹别克斯坦连接起来，"
        "被看作中国同中亚国家互联互通的关键工程。沿线各方希望货物运输时间大幅缩短。",
        ("CN", "KG", "UZ"), ("transport",), "丝路观察", "2025-06-30"),
    Doc("summit", "zh", "第二届中国—中亚峰会在阿斯塔纳闭幕",
        "峰会期间，中亚五国领导人与中方签署了多项合作文件，涉及贸易、能源和人文交流。"
        "与会者认为中亚地区正在成为欧亚合作的新枢纽。",
        ("CN", "KZ", "KG", "TJ", "TM", "UZ"), ("diplomacy",), "丝路观察", "2025-06-17"),
    Doc("aiib", "zh", "亚洲基础设施投资银行发布年度报告",
        "亚洲基础设施投资银行表示，中国和哈萨克斯坦的能源项目获得了新的贷款，"
        "报告还提到天然气管道的维护费用。",
        ("CN", "KZ"), ("finance", "energy"), "丝路观察", "2024-11-05"),
    Doc("ru-gas", "ru", "Газопровод из Туркменистана в Китай: четвёртая нитка",
        "Строительство четвёртой нитки газопровода Центральная Азия — Китай обсуждали "
        "в Ашхабаде. Туркменистан рассчитывает увеличить поставки газа.",
        ("CN", "TM"), ("energy",), "Степь Новости", "2025-04-11"),
    Doc("ru-rail", "ru", "Казахстан и Китай открыли новый железнодорожный маршрут",
        "Первый поезд прошёл по новому маршруту через Хоргос. Железная дорога связывает "
        "казахстанские порты с городами Китая.",
        ("CN", "KZ"), ("transport",), "Степь Новости", "2025-02-08"),
)

BY_KEY = {doc.key: doc for doc in DOCS}


def fetch_for(doc: Doc, url: str | None = None, when: str = "2026-01-05T08:00:00") -> FetchRecord:
    url = url or doc.url
    return FetchRecord(
        page_url=url, url=url, final_url=url, status=200,
        headers={"Content-Type": ["text/html; charset=utf-8"]},
        body=f"<html><h1>{doc.title}</h1><p>{doc.text}</p></html>".encode(),
        fetched_at=datetime.fromisoformat(when), source=doc.source,
    )


def article_for(doc: Doc) -> ArticleRecord:
    return ArticleRecord(
        content_hash=content_hash(doc.text), text=doc.text, relevance=0.8, title=doc.title,
        language=doc.language, published=doc.published, countries=doc.countries,
        themes=doc.themes, site_name=doc.source,
    )


def store(session: Session, docs: tuple[Doc, ...] = DOCS) -> dict[str, int]:
    """Archive ``docs`` in one transaction; returns article ids by key."""
    ids: dict[str, int] = {}
    sources = SourceCache()
    with session.begin():
        run = start_run(session, trigger="manual")
        for doc in docs:
            result = record_fetch(session, fetch_for(doc), article_for(doc), run_id=run.id,
                                  outcome="article", sources=sources)
            assert result.article_id is not None
            ids[doc.key] = result.article_id
    return ids


def keys_for(ids: dict[str, int], found: list[int]) -> set[str]:
    by_id = {article_id: key for key, article_id in ids.items()}
    return {by_id[article_id] for article_id in found}
