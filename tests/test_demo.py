"""`silkroad demo`, as a new user runs it: exit 0 and exactly the expected archive."""

from __future__ import annotations

import json
import re
import sqlite3
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support import REPO, run_cli

DEMO = REPO / "seeds" / "demo"
pytestmark = pytest.mark.slow  # a real crawl of the demo web


def site_addresses() -> dict[str, str]:
    web = tomllib.loads((DEMO / "web.toml").read_text("utf-8"))
    return {site["name"]: site["address"] for site in web["sites"]}


def expected() -> dict:
    addresses = site_addresses()
    text = re.sub(r"\{\{site:([^}]+)\}\}", lambda m: f"http://{addresses[m.group(1)]}",
                  (DEMO / "EXPECTED.toml").read_text("utf-8"))
    return tomllib.loads(text)


def key(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.path


def test_demo_archives_exactly_the_relevant_articles(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite"
    result = run_cli("demo", "--db", f"sqlite:///{db}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Archived articles (14)" in result.stdout
    assert "Example search for 中吉乌铁路: 3 article(s)" in result.stdout

    want = expected()
    with sqlite3.connect(db) as conn:
        articles = conn.execute(
            "SELECT id, language, countries, published FROM articles").fetchall()
        sightings = conn.execute("SELECT article_id, url FROM sightings").fetchall()
        pages = {key(u): o for u, o in conn.execute("SELECT url, last_outcome FROM pages")}
        requested = {key(u) for (u,) in conn.execute("SELECT url FROM fetches")}
    assert len(articles) == want["totals"]["articles"]

    by_article: dict[int, set[tuple[str, str]]] = {}
    for article_id, url in sightings:
        by_article.setdefault(article_id, set()).add(key(url))
    # A redirected URL is a sighting too: every URL an article was reached by is kept.
    expected_groups = sorted(
        sorted({key(u) for u in [*a["urls"], *([a["redirected_from"]] if "redirected_from" in a
                                                else [])]})
        for a in want["articles"]
    )
    assert sorted(sorted(urls) for urls in by_article.values()) == expected_groups

    facts = {a[0]: a for a in articles}
    for spec in want["articles"]:
        [article_id] = [i for i, urls in by_article.items() if key(spec["urls"][0]) in urls]
        _, language, countries, published = facts[article_id]
        assert language == spec["language"], spec["title"]
        assert sorted(json.loads(countries)) == sorted(spec["countries"]), spec["title"]
        assert published[:10] == spec["published"].isoformat(), spec["title"]

    for spec in want["off_topic"]:
        assert pages.get(key(spec["url"])) == "off_topic", spec["url"]
    for table in (want["robots_protected"], want["off_scope"]):
        assert key(table["url"]) not in requested and key(table["url"]) not in pages
