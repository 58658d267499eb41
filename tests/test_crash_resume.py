"""kill -9 at random moments: nothing half-written, and the next crawls finish the
work from the database frontier without duplicates or starting over."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.loopback_web import LoopbackWeb
from tests.conftest import FAST_CRAWL, REPO, run_crawl, write_seeds

PLACES = ["Almaty", "Astana", "Bishkek", "Osh", "Tashkent", "Samarkand", "Dushanbe", "Ashgabat"]
GOODS = ["wheat", "copper", "cotton yarn", "solar panels", "trucks", "fertiliser", "apples",
         "steel pipes"]
COUNTRY = {"Almaty": "Kazakhstan", "Astana": "Kazakhstan", "Bishkek": "Kyrgyzstan",
           "Osh": "Kyrgyzstan", "Tashkent": "Uzbekistan", "Samarkand": "Uzbekistan",
           "Dushanbe": "Tajikistan", "Ashgabat": "Turkmenistan"}
ARTICLES = 48
OFF_TOPIC = 24


def on_topic(n: int) -> tuple[str, str]:
    place, good = PLACES[n % len(PLACES)], GOODS[(n // len(PLACES)) % len(GOODS)]
    country = COUNTRY[place]
    title = f"Report {n}: {country} and China expand trade in {good}"
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
    return title, " ".join(body) + " " + " ".join(body[::-1])


def off_topic(n: int) -> tuple[str, str]:
    title = f"Local football round {n}: late goal settles the derby"
    text = (f"The home side won round {n} of the regional league with a header in stoppage "
            f"time. Supporters filled the small stadium despite the rain, and the coach praised "
            f"the young defenders for their discipline in the second half of match {n}. ") * 4
    return title, text


def page(title: str, text: str, day: int) -> str:
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
            f"<meta property='article:published_time' content='2025-05-{day:02d}'></head><body>"
            f"<nav><a href='/'>Home</a></nav><article><h1>{title}</h1><p>{text}</p></article>"
            f"<footer>Subscribe to the newsletter</footer></body></html>")


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> LoopbackWeb:
    root = tmp_path_factory.mktemp("crashweb")
    site = root / "site"
    (site / "news").mkdir(parents=True)
    links = []
    for n in range(ARTICLES):
        (site / "news" / f"a{n}.html").write_text(page(*on_topic(n), 1 + n % 28), "utf-8")
        links.append(f"<li><a href='/news/a{n}.html'>Trade report {n}</a></li>")
    for n in range(OFF_TOPIC):
        (site / "news" / f"f{n}.html").write_text(page(*off_topic(n), 1 + n % 28), "utf-8")
        links.append(f"<li><a href='/news/f{n}.html'>Football {n}</a></li>")
    for part in range(4):
        chunk = links[part::4]
        (site / f"list{part}.html").write_text(
            f"<html><body><ul>{''.join(chunk)}</ul></body></html>", "utf-8")
    (site / "index.html").write_text("<html><body>" + "".join(
        f"<a href='/list{part}.html'>Section {part}</a>" for part in range(4)) + "</body></html>",
        "utf-8")
    (root / "web.toml").write_text(
        '[[sites]]\nname = "trade"\ndir = "site"\naddress = "127.0.0.41"\n', "utf-8")
    (root / "sources.toml").write_text(
        '[[sources]]\nname = "Trade Wire"\nurls = ["{{site:trade}}/"]\nlanguage = "en"\n', "utf-8")
    with LoopbackWeb.from_directory(root) as loopback:
        loopback.root = root  # type: ignore[attr-defined]
        yield loopback


def archive_state(path: Path) -> dict[str, object]:
    with sqlite3.connect(path) as conn:
        return {
            "integrity": conn.execute("PRAGMA integrity_check").fetchone()[0],
            "hashes": sorted(h for (h,) in conn.execute("SELECT content_hash FROM articles")),
            "urls": sorted(u for (u,) in conn.execute("SELECT url FROM sightings")),
            "orphans": conn.execute(
                """SELECT count(*) FROM articles a WHERE NOT EXISTS
                   (SELECT 1 FROM sightings s JOIN snapshots n ON n.id = s.snapshot_id
                    WHERE s.article_id = a.id)""").fetchone()[0],
        }


def test_five_kills_then_resume_equals_an_uninterrupted_crawl(web: LoopbackWeb,
                                                              tmp_path: Path) -> None:
    seeds = write_seeds(web, web.root / "sources.toml", tmp_path / "sources.toml")  # type: ignore[attr-defined]
    slow = ("-s", "DOWNLOAD_DELAY=0.03", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2",
            "-s", "SILKROAD_BATCH_SIZE=5")

    baseline = tmp_path / "baseline.sqlite"
    done = run_crawl(seeds, f"sqlite:///{baseline}", *slow)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = archive_state(baseline)
    assert len(expected["hashes"]) == ARTICLES  # type: ignore[arg-type]

    killed = tmp_path / "killed.sqlite"
    rng = random.Random(20250617)
    web.clear_requests()
    kills = 0
    for _ in range(5):
        process = subprocess.Popen(
            [sys.executable, "-m", "crawler", "crawl", "--seeds", str(seeds),
             "--db", f"sqlite:///{killed}", *FAST_CRAWL, *slow],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(1.5, 4.0))
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the crawl and its extraction workers
            kills += 1
        process.wait()
        assert archive_state(killed)["integrity"] == "ok"
        assert archive_state(killed)["orphans"] == 0
    assert kills >= 3, "the crawl finished before it could be killed: make the web slower"

    final = run_crawl(seeds, f"sqlite:///{killed}", *slow)
    assert final.returncode == 0, final.stderr[-2000:]
    state = archive_state(killed)
    assert state == expected | {"urls": state["urls"]}
    assert state["urls"] == expected["urls"]

    with sqlite3.connect(killed) as conn:
        runs = conn.execute("SELECT id, outcome, session_id FROM crawl_runs ORDER BY id").fetchall()
        left = conn.execute("SELECT count(*) FROM frontier WHERE state = 'pending'").fetchone()[0]
    assert runs[-1][1] == "ok" and left == 0
    assert [r[1] for r in runs[:-1]] == ["interrupted"] * (len(runs) - 1)
    assert len({r[2] for r in runs}) == 1, "every run continued the first one's session"
    # Resumed, not restarted: each article page was fetched about once overall.
    article_hits = [r for r in web.requests if r.path.startswith("/news/a")]
    assert len(article_hits) <= ARTICLES + 5 * 8, len(article_hits)
