"""Synthetic news sites for the throughput benchmark: pages with real-looking chrome.

Two products: a small corpus of article pages with their true body text (the
default ``--corpus``, so the benchmark runs without ``../shared``), and a
large web of whole sites (a home page and articles that link to each other;
English, Chinese and Russian; on- and off-topic; syndicated exact copies and
lightly edited near-copies) for the scale run.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from tests.benchmarks.served_corpus import (
    ROBOTS_PATH,
    CorpusDoc,
    Routes,
    SiteEntry,
    loopback_address,
    write_robots,
)
from tests.benchmarks.synthetic_pages import Chrome, Site, article_page, listing_page
from tests.benchmarks.synthetic_text import ArticleWriter, SyntheticArticle

HTML_TYPE = "text/html; charset=utf-8"
CARDS = 14  # teaser cards per article page: related, more, most read
HOME_STORIES = 20


def _sites(count: int, weight: int) -> list[Site]:
    languages = ("en", "en", "zh", "ru")
    names = {"en": ("Steppe Courier", "Caravan Post", "Oxus Review", "Pamir Times",
                    "Silk Ledger", "Tien Shan Daily"),
             "zh": ("丝路观察", "亚欧时报", "西部商报", "天山晚报"),
             "ru": ("Степной вестник", "Евразия сегодня", "Голос Азии", "Караван-инфо")}
    sites = []
    for i in range(count):
        language = languages[i % len(languages)]
        base = names[language][(i // len(languages)) % len(names[language])]
        sites.append(Site(name=f"{base} {i + 1}", host=f"site{i + 1:03d}.example",
                          language=language, weight=weight))
    return sites


def synthetic_corpus(count: int, seed: int = 7, weight: int = 10) -> list[CorpusDoc]:
    """Article pages with their true body text, a stand-in for the real benchmark corpus."""
    rng = random.Random(seed)
    writer = ArticleWriter(seed)
    sites = _sites(max(1, count // 3), weight)
    sections = [f"/section/{k}/" for k in range(10)]
    docs = []
    for i in range(count):
        site = sites[i % len(sites)]
        article = writer.article(site.language, on_topic=rng.random() < 0.4)
        path = f"/news/{article.published:%Y/%m}/story-{i + 1:05d}.html"
        cards = [(f"/news/story-{rng.randrange(10**6)}.html", writer.headline(site.language))
                 for _ in range(CARDS)]
        page = article_page(site, article, Chrome(sections, cards), rng)
        docs.append(CorpusDoc(doc_id=f"synthetic-{i + 1:05d}", url=f"https://{site.host}{path}",
                              html=page.encode("utf-8"), truth=article.body))
    return docs


@dataclass(frozen=True)
class ScaleWeb:
    sites: list[SiteEntry]
    routes: Routes
    pages: int
    articles: int
    exact_copies: int
    near_copies: int
    on_topic: int


def build_scale_web(folder: Path, pages: int, seed: int = 11, pages_per_site: int = 500,
                    copy_share: float = 0.08, near_share: float = 0.03,
                    topic_share: float = 0.35, weight: int = 6) -> ScaleWeb:
    """Write whole sites under ``folder``: a home page and articles that link to each other.

    Each article page carries teaser cards for other articles of its site, so
    the crawl reaches every page; every link leads to a page of the web (no
    404s). There are no section fronts: in a crawl's order they would bunch up
    (they are all found at once, from every page's menu), and the crawl's
    windows would then compare page kinds instead of an archive's growth.
    """
    rng = random.Random(seed)
    writer = ArticleWriter(seed)
    site_count = max(1, round(pages / pages_per_site))
    sites = _sites(site_count, weight)
    sizes = [pages // site_count + (1 if i < pages % site_count else 0) for i in range(site_count)]
    pool: dict[str, list[SyntheticArticle]] = defaultdict(list)
    routes: Routes = {}
    folder.mkdir(parents=True, exist_ok=True)
    robots = write_robots(folder)
    entries = []
    counts = {"articles": 0, "exact": 0, "near": 0, "topic": 0}
    for index, (site, size) in enumerate(zip(sites, sizes, strict=True)):
        address = loopback_address(index)
        site_dir = folder / f"site{index + 1:03d}"
        site_dir.mkdir(parents=True, exist_ok=True)
        stories = []
        for number in range(size - 1):
            roll = rng.random()
            same_language = pool[site.language]
            if roll < copy_share and same_language:
                article, counts["exact"] = rng.choice(same_language), counts["exact"] + 1
            elif roll < copy_share + near_share and same_language:
                article = writer.near_copy(rng.choice(same_language))
                counts["near"] += 1
            else:
                article = writer.article(site.language, on_topic=rng.random() < topic_share)
                same_language.append(article)
                if len(same_language) > 400:
                    same_language.pop(rng.randrange(len(same_language)))
            counts["topic"] += article.on_topic
            stories.append((f"/news/{article.published:%Y/%m}/{number + 1:05d}.html", article))
        counts["articles"] += len(stories)
        site_routes: dict[str, tuple[str, str]] = {}
        for number, (path, article) in enumerate(stories):
            picks = rng.sample(range(len(stories)), min(CARDS, len(stories)))
            cards = [(stories[k][0], stories[k][1].title) for k in picks]
            page = article_page(site, article, Chrome(["/"], cards), rng)
            site_routes[path] = _write(site_dir / f"a{number + 1:05d}.html", page)
        top = [(p, a.title, a.paragraphs[0][:160]) for p, a in stories[:HOME_STORIES]]
        home = listing_page(site, site.name, top, Chrome(["/"], [(p, t) for p, t, _ in top]), rng)
        site_routes["/"] = _write(site_dir / "home.html", home)
        site_routes[ROBOTS_PATH] = robots
        routes[address] = site_routes
        entries.append(SiteEntry(name=site.name, address=address, start_path="/",
                                 language=site.language))
    return ScaleWeb(sites=entries, routes=routes,
                    pages=sum(len(r) for r in routes.values()) - len(routes),
                    articles=counts["articles"], exact_copies=counts["exact"],
                    near_copies=counts["near"], on_topic=counts["topic"])


def _write(path: Path, page: str) -> tuple[str, str]:
    path.write_text(page, encoding="utf-8")
    return str(path), HTML_TYPE

