"""A twice-crawled archive out as WARC and WACZ, checked with the clients users replay
it with: pywb (`wb-manager`, `wayback` on a loopback port), `wacz validate`,
`warcio check`; then back in with import-warc, and reprocessed.

The web (tests/fixtures/webs/replay) has a page that changes between the crawls, pages
that answer the second crawl with 304 or the same bytes, a redirect, a page whose
charset is named only in its Content-Type header, robots.txt, and an article
syndicated on a second site.

The replay tools live in a virtual environment of their own (.ci/replay-tools.txt):
``SILKROAD_REPLAY_TOOLS`` names its bin folder, else they are looked up on PATH; the
tests that need them are skipped without them, unless ``SILKROAD_REQUIRE_REPLAY_TOOLS``.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.demo.loopback_web import LoopbackWeb
from tests.support import FIXTURES, run_cli, run_crawl, write_seeds

WEB = FIXTURES / "webs" / "replay"
CHANGED = "A late update: officials confirmed the fourth line will be financed jointly."
pytestmark = pytest.mark.slow  # two real crawls, shared by the module


@pytest.fixture(scope="module")
def twice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("replay")
    path = tmp / "archive.sqlite"
    web = LoopbackWeb.from_directory(WEB).start()
    try:
        seeds = write_seeds(web, WEB / "sources.toml", tmp / "sources.toml")
        first = run_crawl(seeds, f"sqlite:///{path}")
        assert first.returncode == 0, first.stderr[-3000:]
        gas = (WEB / "wire" / "news" / "gas.html").read_text("utf-8")
        web.set_override("wire", "/news/gas.html",
                         body=gas.replace("</article>", f"<p>{CHANGED}</p></article>"))
        second = run_crawl(seeds, f"sqlite:///{path}")
        assert second.returncode == 0, second.stderr[-3000:]
        wire, mirror = web.base_url("wire"), web.base_url("mirror")
    finally:
        web.stop()
    yield {"db": f"sqlite:///{path}", "path": path, "tmp": tmp, "wire": wire, "mirror": mirror}


@pytest.fixture(scope="module")
def tools() -> Path:
    """The bin folder holding wb-manager, wayback and wacz."""
    named = os.environ.get("SILKROAD_REPLAY_TOOLS")
    folder = Path(named) if named else None
    if folder is None and (found := shutil.which("wayback")):
        folder = Path(found).parent
    if folder is None or not all((folder / tool).exists()
                                 for tool in ("wb-manager", "wayback", "wacz")):
        if os.environ.get("SILKROAD_REQUIRE_REPLAY_TOOLS"):
            pytest.fail("pywb and wacz not found: install .ci/replay-tools.txt and set "
                        "SILKROAD_REPLAY_TOOLS to its bin folder")
        pytest.skip("pywb and wacz not installed (.ci/replay-tools.txt)")
    return folder


@pytest.fixture(scope="module")
def exported(twice: dict) -> dict[str, Path]:
    files = {}
    for name, fmt, extra in (("archive.warc.gz", "warc", ()), ("archive.wacz", "wacz", ()),
                             ("archive-1.0.warc", "warc", ("--warc-version", "1.0"))):
        target = twice["tmp"] / name
        result = run_cli("export", "--format", fmt, "--output", str(target), *extra,
                         "--db", twice["db"])
        assert result.returncode == 0, result.stderr
        files[name] = target
    return files


def query(path: Path, sql: str, *args: object) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, args).fetchall()


def records(path: Path) -> list:
    with path.open("rb") as stream:
        return [(r.rec_type, r.rec_headers, r.http_headers,
                 r.content_stream().read() if r.rec_type in ("response", "metadata") else b"")
                for r in ArchiveIterator(stream)]


# -- what the crawl stores ----------------------------------------------------------

def test_robots_txt_and_followed_redirects_are_stored_as_fetched(twice: dict) -> None:
    wire, mirror = twice["wire"], twice["mirror"]
    robots = dict(query(twice["path"], """SELECT p.url, s.status FROM pages p JOIN snapshots s
                                          ON s.id = p.last_snapshot_id
                                          WHERE p.last_outcome = 'robots'"""))
    assert robots == {f"{wire}/robots.txt": 200, f"{mirror}/robots.txt": 404}
    [(status, headers)] = query(twice["path"], """
        SELECT s.status, s.headers FROM snapshots s JOIN pages p ON p.id = s.page_id
        WHERE p.url = ? AND p.last_outcome = 'redirect'""", f"{wire}/old/rail-timetable")
    assert status == 301 and json.loads(headers) == {"Location": [f"{wire}/news/rail.html"]}
    again = query(twice["path"], """SELECT count(*) FROM fetches f JOIN pages p ON p.id = f.page_id
                                    WHERE p.last_outcome IN ('robots', 'redirect')
                                    AND f.run_id = 2 AND f.revisit = 1""")
    assert again == [(3,)]


# -- WARC ---------------------------------------------------------------------------

@pytest.mark.parametrize("name,version,gz", [("archive.warc.gz", "1.1", True),
                                             ("archive-1.0.warc", "1.0", False)])
def test_warc_is_plain_or_gzipped_as_named_and_passes_warcio_check(
        exported: dict[str, Path], name: str, version: str, gz: bool) -> None:
    warc = exported[name]
    head = warc.read_bytes()[:8]
    assert head.startswith(b"\x1f\x8b") if gz else head.startswith(f"WARC/{version}".encode())
    check = subprocess.run(["warcio", "check", "-v", str(warc)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
    found = records(warc)
    assert {headers.protocol for _, headers, _, _ in found} == {f"WARC/{version}"}
    profiles = {h.get_header("WARC-Profile") for kind, h, _, _ in found if kind == "revisit"}
    assert profiles == {f"http://netpreserve.org/warc/{version}/revisit/identical-payload-digest"}


def test_every_revisit_carries_the_header_block_of_the_response_it_repeats(
        twice: dict, exported: dict[str, Path]) -> None:
    found = records(exported["archive.warc.gz"])
    responses = {h.get_header("WARC-Record-ID"): (h, http) for kind, h, http, _ in found
                 if kind == "response"}
    revisits = [(h, http) for kind, h, http, _ in found if kind == "revisit"]
    not_modified = query(twice["path"], "SELECT count(*) FROM fetches WHERE status = 304")[0][0]
    assert not_modified >= 3 and len(revisits) >= not_modified
    for warc, http in revisits:
        original, original_http = responses[warc.get_header("WARC-Refers-To")]
        assert warc.get_header("WARC-Refers-To-Target-URI") == original.get_header(
            "WARC-Target-URI")
        assert warc.get_header("WARC-Refers-To-Date") == original.get_header("WARC-Date")
        assert warc.get_header("WARC-Payload-Digest") == original.get_header(
            "WARC-Payload-Digest")
        assert http.statusline == original_http.statusline
        assert http.get_header("Content-Type") == original_http.get_header("Content-Type")
        assert http.get_header("ETag") == original_http.get_header("ETag")
    tenge = [http for warc, http in revisits
             if warc.get_header("WARC-Target-URI").endswith("/ru/tenge.html")]
    assert tenge and tenge[0].get_header("Content-Type") == "text/html; charset=windows-1251"


def test_requests_and_the_urls_a_capture_was_reached_under_are_recorded(
        twice: dict, exported: dict[str, Path]) -> None:
    found = records(exported["archive.warc.gz"])
    captures = [h for kind, h, _, _ in found if kind in ("response", "revisit")]
    requests = {h.get_header("WARC-Concurrent-To"): http for kind, h, http, _ in found
                if kind == "request"}
    for capture in captures:
        request = requests[capture.get_header("WARC-Record-ID")]
        assert request.protocol == "GET" or request.statusline.startswith("GET")
    reached = {h.get_header("WARC-Target-URI"): body.decode() for kind, h, _, body in found
               if kind == "metadata"}
    wire = twice["wire"]
    assert f"reached-as: {wire}/old/rail-timetable" in reached[f"{wire}/news/rail.html"]
    assert (f"reached-as: {wire}/news/agri/share_amp.html?utm_source=share"
            in reached[f"{wire}/news/agri/share_amp.html"])


# -- replay -------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def wayback(tools: Path, exported: dict[str, Path], twice: dict) -> Iterator[str]:
    """pywb serving collection ``warc`` (the WARC) and ``wacz`` (the WACZ, unpacked)."""
    root = twice["tmp"] / "pywb"
    root.mkdir()
    for collection, source, extra in (("warc", exported["archive.warc.gz"], []),
                                      ("wacz", exported["archive.wacz"], ["--unpack-wacz"])):
        for args in (["init", collection], ["add", *extra, collection, str(source)]):
            done = subprocess.run([str(tools / "wb-manager"), *args], cwd=root,
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr[-2000:]
    port = free_port()
    log = (root / "wayback.log").open("w")
    server = subprocess.Popen([str(tools / "wayback"), "-b", "127.0.0.1", "-p", str(port)],
                              cwd=root, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=2).close()
                break
            except OSError:
                assert server.poll() is None, (root / "wayback.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "wayback did not start in 60 s"
                time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def replay(url: str, *, follow: bool = True) -> tuple[int, dict[str, str], str]:
    """Status, headers and text of a replayed page, decoded by the charset it is served with."""
    opener = urllib.request.build_opener(*(() if follow else (_NoRedirect(),)))
    try:
        response = opener.open(url, timeout=30)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        body = response.read()
        charset = response.headers.get_content_charset() or "utf-8"
        return response.status, dict(response.headers), body.decode(charset, "replace")


def page_text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def a_paragraph(text: str) -> str:
    """The start of the article's longest paragraph: text the page shows as written."""
    return " ".join(max(text.splitlines(), key=len).split())[:90]


@pytest.mark.parametrize("collection", ["warc", "wacz"])
def test_pywb_replays_the_latest_capture_of_every_article_with_its_text(
        twice: dict, wayback: str, collection: str) -> None:
    # Each article at the URL its snapshots were fetched from. p.html and share_amp.html
    # (reached as share_amp.html?utm_source=share) serve the same bytes: whichever the
    # crawl stored first holds the snapshot, the other's sighting points at it, and both
    # must replay the article.
    articles = query(twice["path"], """
        SELECT DISTINCT a.text, n.url FROM articles a JOIN sightings s ON s.article_id = a.id
        JOIN snapshots n ON n.id = s.snapshot_id""")
    names = {url.rsplit("/", 1)[1] for _, url in articles}
    assert names >= {"rail.html", "rail-timetable.html", "gas.html", "tenge.html"}
    assert len(names & {"p.html", "share_amp.html"}) == 1
    (farming,) = [text for text, url in articles if url.endswith(("/p.html", "/share_amp.html"))]
    urls = {url for _, url in articles} | {f"{twice['wire']}/news/agri/{name}"
                                           for name in ("p.html", "share_amp.html")}
    texts = dict((url, text) for text, url in articles)
    for url in urls:
        status, headers, markup = replay(f"{wayback}/{collection}/mp_/{url}")
        assert status == 200, url
        assert a_paragraph(texts.get(url, farming)) in page_text(markup), url
    _, _, gas = replay(f"{wayback}/{collection}/mp_/{twice['wire']}/news/gas.html")
    assert CHANGED in page_text(gas)  # the latest capture, the second version


@pytest.mark.parametrize("collection", ["warc", "wacz"])
def test_the_redirected_url_replays_its_redirect(twice: dict, wayback: str,
                                                 collection: str) -> None:
    wire = twice["wire"]
    status, headers, _ = replay(f"{wayback}/{collection}/mp_/{wire}/old/rail-timetable",
                                follow=False)
    assert status == 301 and headers["Location"].endswith(f"/{wire}/news/rail.html")
    status, _, markup = replay(f"{wayback}/{collection}/mp_/{wire}/old/rail-timetable")
    assert status == 200 and "shorter route across Kyrgyzstan" in page_text(markup)


# -- WACZ ---------------------------------------------------------------------------

def test_wacz_passes_wacz_validate_and_lists_each_article(
        twice: dict, exported: dict[str, Path], tools: Path) -> None:
    checked = subprocess.run([str(tools / "wacz"), "validate", "-f", str(exported["archive.wacz"])],
                             capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr[-2000:]
    assert "Validation succeeded" in checked.stdout
    with zipfile.ZipFile(exported["archive.wacz"]) as package:
        assert package.getinfo("archive/data.warc.gz").compress_type == zipfile.ZIP_STORED
        index = package.read("indexes/index.cdx").decode().splitlines()
        header, *pages = [json.loads(line) for line in
                          package.read("pages/pages.jsonl").decode().splitlines()]
    assert header["format"] == "json-pages-1.0"
    titles = dict(query(twice["path"], "SELECT 'article-' || id, title FROM articles"))
    assert {page["id"]: page["title"] for page in pages} == titles
    indexed = {json.loads(line.split(" ", 2)[2])["url"] for line in index}
    assert {page["url"] for page in pages} <= indexed
    assert index == sorted(index)


# -- back in ------------------------------------------------------------------------

def archive_facts(path: Path) -> dict[str, set]:
    """What an export and a re-import must keep."""
    return {
        "articles": set(query(path, "SELECT content_hash, title FROM articles")),
        "versions": set(query(path, """SELECT p.url, a.content_hash FROM sightings s
                                       JOIN pages p ON p.id = s.page_id
                                       JOIN articles a ON a.id = s.article_id""")),
        "sightings": set(query(path, "SELECT url FROM sightings")),
        "snapshots": set(query(path, "SELECT body_sha256 FROM snapshots")),
        "outcomes": set(query(path, "SELECT url, last_outcome FROM pages")),
    }


def capture_records(path: Path) -> set[tuple]:
    return {(kind, h.get_header("WARC-Target-URI"), h.get_header("WARC-Date"),
             h.get_header("WARC-Payload-Digest"), h.get_header("WARC-Record-ID"), body)
            for kind, h, _, body in records(path) if kind in ("response", "revisit", "metadata")}


def test_export_import_export_keeps_articles_versions_sightings_and_digests(
        twice: dict, exported: dict[str, Path]) -> None:
    fresh = twice["tmp"] / "imported.sqlite"
    imported = run_cli("import-warc", str(exported["archive.warc.gz"]),
                       "--db", f"sqlite:///{fresh}")
    assert imported.returncode == 0, imported.stderr
    assert "request record" in imported.stdout  # what it did not import, and why
    assert archive_facts(fresh) == archive_facts(twice["path"])
    again = twice["tmp"] / "again.warc.gz"
    assert run_cli("export", "--format", "warc", "-o", str(again),
                   "--db", f"sqlite:///{fresh}").returncode == 0
    assert capture_records(again) == capture_records(exported["archive.warc.gz"])


@pytest.mark.parametrize("name", ["archive-1.0.warc", "archive.warc.gz"])
def test_a_warc_cut_mid_record_imports_the_whole_records_and_names_the_offset(
        twice: dict, exported: dict[str, Path], name: str) -> None:
    whole = exported[name]
    with whole.open("rb") as stream:
        iterator = ArchiveIterator(stream)
        offsets = [(record.rec_type, record.rec_headers.get_header("WARC-Payload-Digest"),
                    iterator.get_record_offset(), iterator.get_record_length())
                   for record in iterator]
    last = max(i for i, (kind, *_rest) in enumerate(offsets) if kind == "response")
    _, _, offset, length = offsets[last]  # the second version of gas.html
    cut = twice["tmp"] / f"cut-{name}"
    cut.write_bytes(whole.read_bytes()[:offset + length // 2])
    db = twice["tmp"] / f"cut-{name}.sqlite"

    result = run_cli("import-warc", str(cut), "--db", f"sqlite:///{db}")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    [named] = [line for line in result.stderr.splitlines() if "stopped reading" in line]
    assert f"offset {offset}" in named
    stored = {digest for (digest,) in query(db, "SELECT body_sha256 FROM snapshots")}
    crawled = query(twice["path"], "SELECT body_sha256 FROM snapshots ORDER BY fetched_at")
    assert stored == {digest for (digest,) in crawled[:-1]}  # all but the record cut in two
    assert query(db, "SELECT outcome FROM crawl_runs") == [("partial",)]


def test_reprocess_twice_in_a_row_changes_nothing_the_second_time(twice: dict) -> None:
    copy = twice["tmp"] / "reprocessed.sqlite"
    shutil.copy(twice["path"], copy)
    before = query(copy, "SELECT id, site_name, title, text FROM articles ORDER BY id")
    runs = [run_cli("reprocess", "--db", f"sqlite:///{copy}") for _ in range(2)]
    assert all(run.returncode == 0 for run in runs), runs[-1].stderr
    assert "0 updated, 0 re-extracted, 0 newly archived, 0 now off-topic" in runs[1].stdout
    assert query(copy, "SELECT id, site_name, title, text FROM articles ORDER BY id") == before
    [(site_name,)] = query(copy, """SELECT DISTINCT a.site_name FROM articles a
                                     JOIN sightings s ON s.article_id = a.id
                                     WHERE s.url LIKE '%/world/rail-timetable.html'""")
    assert site_name in ("Caravan Wire", "Mirror Daily")
