"""Archive fidelity, end to end over a real loopback web: versions, verified
revisits, canonical URLs, near-duplicates, WARC out and in, offline reprocess."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.demo.loopback_web import LoopbackWeb
from tests.support import FIXTURES, run_cli, run_crawl, write_seeds

WEB = FIXTURES / "webs" / "fidelity"
pytestmark = pytest.mark.slow  # real crawls, shared by the module
CHANGED = "A late update: officials confirmed the fourth line will be financed jointly."


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("fidelity")
    db = f"sqlite:///{tmp / 'archive.sqlite'}"
    web = LoopbackWeb.from_directory(WEB).start()
    try:
        seeds = write_seeds(web, WEB / "sources.toml", tmp / "sources.toml")
        first = run_crawl(seeds, db)
        assert first.returncode == 0, first.stderr[-3000:]
        gas = (WEB / "wire" / "news" / "gas.html").read_text("utf-8")
        web.set_override("wire", "/news/gas.html",
                         body=gas.replace("</article>", f"<p>{CHANGED}</p></article>"))
        web.clear_requests()
        second = run_crawl(seeds, db)
        assert second.returncode == 0, second.stderr[-3000:]
        second_requests = list(web.requests)
    finally:
        web.stop()
    yield {"db": db, "path": tmp / "archive.sqlite", "tmp": tmp, "web": web,
           "requests": second_requests, "second": second}


def query(state: dict, sql: str, *args: object) -> list[tuple]:
    with sqlite3.connect(state["path"]) as conn:
        return conn.execute(sql, args).fetchall()


def test_changed_page_has_two_versions_and_the_old_is_kept(crawled: dict) -> None:
    rows = query(crawled, """
        SELECT a.id, a.text FROM articles a JOIN sightings s ON s.article_id = a.id
        JOIN pages p ON p.id = s.page_id WHERE p.url LIKE '%/news/gas.html' ORDER BY a.id""")
    assert len(rows) == 2
    assert CHANGED not in rows[0][1] and CHANGED in rows[1][1]
    assert rows[0][1] in rows[1][1].replace(CHANGED, "").strip() or rows[0][1][:200] in rows[1][1]
    snapshots = query(crawled, """SELECT count(*) FROM snapshots s JOIN pages p ON p.id = s.page_id
                                  WHERE p.url LIKE '%/news/gas.html'""")
    assert snapshots == [(2,)]
    shown = run_cli("show", str(rows[0][0]), "--db", crawled["db"])
    assert shown.returncode == 0 and "gas" in shown.stdout.lower()


def test_unchanged_pages_are_revisits_stored_once(crawled: dict) -> None:
    for path in ("/news/rail.html", "/news/agri/index.html"):
        assert query(crawled, """SELECT count(*) FROM snapshots s JOIN pages p ON p.id = s.page_id
                                 WHERE p.url LIKE ?""", "%" + path) == [(1,)], path
    rail = [r for r in crawled["requests"] if r.path == "/news/rail.html"]
    assert rail and rail[0].status == 304 and "If-None-Match" in rail[0].headers
    revisits = query(crawled, """SELECT count(*) FROM fetches WHERE revisit = 1 AND run_id = 2""")
    assert revisits[0][0] >= 3
    stats = json.loads(query(crawled, "SELECT stats FROM crawl_runs WHERE id = 2")[0][0])
    assert stats["changed_pages"] == 1
    assert stats["unchanged_pages"] >= 4
    assert stats["new_pages"] == 0


def test_url_forms_of_one_page_are_one_page_with_every_url_sighted(crawled: dict) -> None:
    pages = query(crawled, "SELECT url FROM pages WHERE url LIKE '%/news/agri/%'")
    assert [p[0].rsplit("/", 1)[1] for p in pages] == ["index.html"]
    urls = {u for (u,) in query(crawled, """SELECT s.url FROM sightings s JOIN pages p
                                           ON p.id = s.page_id WHERE p.url LIKE '%/news/agri/%'""")}
    assert {u.split("/agri/")[1] for u in urls} == {"p.html", "share_amp.html?utm_source=share"}
    assert query(crawled, """SELECT count(DISTINCT s.article_id) FROM sightings s JOIN pages p
                             ON p.id = s.page_id WHERE p.url LIKE '%/news/agri/%'""") == [(1,)]


def test_near_duplicate_repost_is_linked_to_its_original(crawled: dict) -> None:
    original = query(crawled, "SELECT id FROM articles WHERE url LIKE '%/news/rail.html'")
    repost = query(crawled, """SELECT duplicate_of, similarity FROM articles
                               WHERE url LIKE '%/world/railway-repost.html'""")
    assert repost[0][0] == original[0][0]
    assert repost[0][1] >= 0.6
    exported = run_cli("export", "--format", "jsonl", "--db", crawled["db"])
    records = {r["url"].rsplit("/", 1)[1]: r for r in map(json.loads, exported.stdout.splitlines())}
    assert records["railway-repost.html"]["duplicate_of"] == original[0][0]


def test_warc_round_trip(crawled: dict) -> None:
    warc = crawled["tmp"] / "out.warc.gz"
    result = run_cli("export", "--format", "warc", "--output", str(warc), "--db", crawled["db"])
    assert result.returncode == 0, result.stderr
    types: dict[str, int] = {}
    with warc.open("rb") as stream:
        for record in ArchiveIterator(stream):
            types[record.rec_type] = types.get(record.rec_type, 0) + 1
            uri = record.rec_headers.get_header("WARC-Target-URI") or ""
            if record.rec_type == "response" and not uri.endswith("/robots.txt"):
                assert record.http_headers.get_statuscode() == "200"
                assert record.content_stream().read()
    snapshots = query(crawled, "SELECT count(*) FROM snapshots")[0][0]
    # Every fetch that stored no snapshot of its own: a revisit of the one it found.
    revisits = query(crawled, """SELECT count(*) FROM fetches f JOIN snapshots s
                                 ON s.id = f.snapshot_id WHERE f.revisit = 1
                                 OR f.fetched_at != s.fetched_at OR f.url != s.url""")[0][0]
    assert {k: types[k] for k in ("warcinfo", "response", "revisit", "request")} == {
        "warcinfo": 1, "response": snapshots, "revisit": revisits,
        "request": snapshots + revisits}

    fresh = f"sqlite:///{crawled['tmp'] / 'imported.sqlite'}"
    imported = run_cli("import-warc", str(warc), "--db", fresh)
    assert imported.returncode == 0, imported.stderr
    with sqlite3.connect(crawled["tmp"] / "imported.sqlite") as conn:
        again = {h for (h,) in conn.execute("SELECT content_hash FROM articles")}
    assert again == {h for (h,) in query(crawled, "SELECT content_hash FROM articles")}


def test_reprocess_offline_reproduces_the_articles(crawled: dict) -> None:
    articles = "SELECT id, content_hash, countries, relevance FROM articles ORDER BY id"
    before = query(crawled, articles)
    result = run_cli("reprocess", "--db", crawled["db"])  # the web is stopped: no network
    assert result.returncode == 0, result.stderr
    assert "0 updated, 0 re-extracted, 0 newly archived, 0 now off-topic" in result.stdout
    after = query(crawled, articles)
    assert after == before


def test_show_lists_versions_near_duplicates_and_provenance(crawled: dict) -> None:
    [(old, new)] = query(crawled, """
        SELECT min(a.id), max(a.id) FROM articles a JOIN sightings s ON s.article_id = a.id
        JOIN pages p ON p.id = s.page_id WHERE p.url LIKE '%/news/gas.html'""")
    detail = json.loads(run_cli("show", str(old), "--format", "json", "--db", crawled["db"]).stdout)
    assert [v["id"] for v in detail["versions"]] == [old, new]
    assert detail["discovery_path"][0] == "seed"
    assert detail["discovery_path"][-1].endswith("/news/gas.html")
    assert detail["extractor"].startswith("trafilatura") and detail["topic_version"]
    assert any(k.lower() == "etag" for k in detail["response_headers"])

    [(rail,)] = query(crawled, "SELECT id FROM articles WHERE url LIKE '%/news/rail.html'")
    rail_detail = json.loads(
        run_cli("show", str(rail), "--format", "json", "--db", crawled["db"]).stdout)
    assert [d["id"] for d in rail_detail["near_duplicates"]] != []


def test_search_collapse_gives_one_hit_per_cluster(crawled: dict) -> None:
    def hits(*extra: str) -> list[str]:
        out = run_cli("search", "railway Kyrgyzstan", "--format", "json", *extra,
                      "--db", crawled["db"])
        assert out.returncode == 0, out.stderr
        return [r["url"].rsplit("/", 1)[1] for r in json.loads(out.stdout)]

    assert {"rail.html", "railway-repost.html"} <= set(hits())
    collapsed = hits("--collapse")
    assert len({"rail.html", "railway-repost.html"} & set(collapsed)) == 1
