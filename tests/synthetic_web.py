"""Small synthetic news webs, written from sentence templates of our own, for tests
and benchmarks that need many distinct pages (crash/resume, focused crawling)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

PLACES = ["Almaty", "Astana", "Bishkek", "Osh", "Tashkent", "Samarkand", "Dushanbe", "Ashgabat"]
GOODS = ["wheat", "copper", "cotton yarn", "solar panels", "trucks", "fertiliser", "apples",
         "steel pipes"]
COUNTRY = {"Almaty": "Kazakhstan", "Astana": "Kazakhstan", "Bishkek": "Kyrgyzstan",
           "Osh": "Kyrgyzstan", "Tashkent": "Uzbekistan", "Samarkand": "Uzbekistan",
           "Dushanbe": "Tajikistan", "Ashgabat": "Turkmenistan"}
OFF_TOPICS = ["football", "weather", "theatre", "traffic"]


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    text: str
    on_topic: bool
    day: int


def on_topic(n: int) -> Article:
    place, good = PLACES[n % len(PLACES)], GOODS[(n // len(PLACES)) % len(GOODS)]
    country = COUNTRY[place]
    body = [
        f"Traders in {place} said on Monday that shipments of {good} between {country} and "
        f"China reached {1000 + 37 * n} tonnes in the latest quarter, report number {n}.",
        f"Officials from {country} and Chinese provincial delegations met to simplify customs "
        f"checks at the border, hoping to cut waiting times for lorries carrying {good}.",
        f"Logistics firms in {place} plan {3 + n % 5} new warehouses near the rail terminal, "
        f"because freight trains from Xi'an and Urumqi now arrive several times a week.",
        f"Economists note that trade between China and Central Asia passed one hundred billion "
        f"dollars last year, and they expect goods such as {good} to keep growing.",
        f"The agreement signed in {place} in case {n} also covers training for customs staff "
        f"and a shared digital platform for certificates of origin.",
    ]
    return Article(f"trade-{n}", f"{country} and China expand trade in {good} (report {n})",
                   " ".join(body) + " " + " ".join(body[::-1]), True, 1 + n % 28)


def off_topic(n: int) -> Article:
    kind = OFF_TOPICS[n % len(OFF_TOPICS)]
    sentences = {
        "football": f"The home side won round {n} of the regional league with a header in "
                    f"stoppage time, and the coach praised the young defenders after match {n}.",
        "weather": f"Forecasters expect rain and cooler air for the weekend, the {n}th wet "
                   f"spell of the season, and farmers welcomed the change after a dry month.",
        "theatre": f"The city drama theatre opened its season with a new staging of a classic "
                   f"comedy, number {n} in its repertoire, and tickets sold out within days.",
        "traffic": f"Road works on the ring road will close two lanes for {n % 9 + 2} weeks, "
                   f"the mayor's office said, advising drivers to use the northern bypass.",
    }
    title = {"football": f"Late header settles derby in round {n}",
             "weather": f"Rain returns after dry spell ({n})",
             "theatre": f"Drama theatre opens season with comedy no. {n}",
             "traffic": f"Ring road works close lanes ({n})"}[kind]
    text = " ".join([sentences[kind]] * 2 + [
        f"Residents interviewed by our reporter had mixed views about item {n}.",
        "Local officials promised an update next week.",
    ] * 2)
    return Article(f"{kind}-{n}", title, text, False, 1 + n % 28)


def article_page(article: Article) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{article.title}</title><meta property='og:type' content='article'>"
        f"<meta property='article:published_time' content='2025-05-{article.day:02d}'></head>"
        f"<body><nav><a href='/'>Home</a></nav><article><h1>{article.title}</h1>"
        f"<p>{article.text}</p></article><footer>Subscribe to the newsletter</footer>"
        "</body></html>"
    )


def write_news_site(root: Path, articles: list[Article], *, sections: int, seed: int = 7) -> None:
    """A home page linking to section pages that list the articles in random order."""
    (root / "news").mkdir(parents=True, exist_ok=True)
    shuffled = articles[:]
    random.Random(seed).shuffle(shuffled)
    for article in articles:
        (root / "news" / f"2025-05-{article.day:02d}-{article.slug}.html").write_text(
            article_page(article), "utf-8")
    for part in range(sections):
        items = "".join(
            f"<li><a href='/news/2025-05-{a.day:02d}-{a.slug}.html'>{a.title}</a></li>"
            for a in shuffled[part::sections]
        )
        (root / f"section{part}.html").write_text(
            f"<!DOCTYPE html><html><head><meta property='og:type' content='website'></head>"
            f"<body><h1>Section {part}</h1><ul>{items}</ul></body></html>", "utf-8")
    links = "".join(f"<a href='/section{part}.html'>Section {part}</a> "
                    for part in range(sections))
    (root / "index.html").write_text(f"<html><body>{links}</body></html>", "utf-8")
