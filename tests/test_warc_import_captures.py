"""`import-warc` stores what a WARC holds as a crawl would have: revisits followed to their
payload, resource records, header names in any case, and an account of what it left out.

Each WARC is written here with warcio, as other crawlers write them.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.offline.warc_import import IGNORED, import_warcs
from storage.engine import make_engine, session_factory
from storage.migrate import upgrade
from tests.support import FIXTURES

HOST = "http://127.0.0.1:8000"
RAIL = (FIXTURES / "webs" / "replay" / "wire" / "news" / "rail.html").read_bytes()
FIRST = "2025-06-01T10:00:00Z"
LATER = "2025-06-08T10:00:00Z"


def sha1(body: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode()


def http(status: str, *headers: tuple[str, str]) -> StatusAndHeaders:
    return StatusAndHeaders(status, list(headers), protocol="HTTP/1.1")


def write(path: Path, *records: tuple) -> Path:
    """(type, url, date, http headers or None, body, extra WARC headers) records."""
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True, warc_version="1.1")
        for kind, url, date, headers, body, extra in records:
            writer.write_record(writer.create_warc_record(
                url, kind, payload=BytesIO(body), length=len(body), http_headers=headers,
                warc_headers_dict={"WARC-Date": date, **extra}))
    return path


def rows(engine: Engine, sql: str) -> list[tuple]:
    with Session(engine) as session:
        return [tuple(row) for row in session.execute(text(sql))]


def html_response(url: str, date: str = FIRST, body: bytes = RAIL) -> tuple:
    return ("response", url, date, http("200 OK", ("Content-Type", "text/html; charset=utf-8")),
            body, {})


def test_a_revisit_at_another_url_is_a_sighting_there(tmp_path: Path, engine: Engine) -> None:
    warc = write(tmp_path / "two-urls.warc.gz", html_response(f"{HOST}/news/rail.html"), (
        "revisit", f"{HOST}/amp/rail.html", LATER,
        http("200 OK", ("Content-Type", "text/html; charset=utf-8")), b"",
        {"WARC-Profile": "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
         "WARC-Payload-Digest": sha1(RAIL),
         "WARC-Refers-To-Target-URI": f"{HOST}/news/rail.html", "WARC-Refers-To-Date": FIRST}))

    counts = import_warcs(session_factory(engine), [warc])

    assert (counts["archived"], counts["duplicates"], counts["skipped"]) == (1, 1, 0)
    assert sorted(rows(engine, "SELECT url FROM sightings")) == [
        (f"{HOST}/amp/rail.html",), (f"{HOST}/news/rail.html",)]
    assert rows(engine, "SELECT count(DISTINCT article_id) FROM sightings") == [(1,)]


def test_a_304_revisit_of_the_same_url_is_a_revisit_with_the_original_headers(
        tmp_path: Path, engine: Engine) -> None:
    warc = write(tmp_path / "recrawl.warc.gz", html_response(f"{HOST}/news/rail.html"), (
        "revisit", f"{HOST}/news/rail.html", LATER, http("304 Not Modified"), b"",
        {"WARC-Profile": "http://netpreserve.org/warc/1.1/revisit/server-not-modified",
         "WARC-Refers-To-Target-URI": f"{HOST}/news/rail.html", "WARC-Refers-To-Date": FIRST}))

    counts = import_warcs(session_factory(engine), [warc])

    assert (counts["archived"], counts["revisits"]) == (1, 1)
    assert rows(engine, "SELECT count(*) FROM snapshots") == [(1,)]
    assert rows(engine, "SELECT times_seen FROM sightings") == [(2,)]
    assert rows(engine, "SELECT count(*) FROM fetches WHERE revisit = true") == [(1,)]


def test_a_revisit_of_a_payload_stored_by_an_earlier_import_is_followed(
        tmp_path: Path, engine: Engine) -> None:
    first = write(tmp_path / "first.warc.gz", html_response(f"{HOST}/news/rail.html"))
    later = write(tmp_path / "later.warc.gz", (
        "revisit", f"{HOST}/mirror/rail.html", LATER,
        http("200 OK", ("Content-Type", "text/html")), b"",
        {"WARC-Payload-Digest": sha1(RAIL), "WARC-Refers-To-Target-URI": f"{HOST}/news/rail.html",
         "WARC-Refers-To-Date": FIRST}))
    sessions = session_factory(engine)
    import_warcs(sessions, [first])

    counts = import_warcs(sessions, [later])

    assert counts["duplicates"] == 1
    assert (f"{HOST}/mirror/rail.html",) in rows(engine, "SELECT url FROM sightings")


def test_a_revisit_before_the_record_it_repeats_waits_for_it(tmp_path: Path,
                                                            engine: Engine) -> None:
    """Two URLs of one page fetched at once: the one stored second is a revisit dated
    before the capture it refers to, and comes first in a WARC in time order."""
    revisit = ("revisit", f"{HOST}/amp/rail.html", FIRST,
               http("200 OK", ("Content-Type", "text/html; charset=utf-8")), b"",
               {"WARC-Payload-Digest": sha1(RAIL),
                "WARC-Refers-To-Target-URI": f"{HOST}/news/rail.html",
                "WARC-Refers-To-Date": LATER})
    first = write(tmp_path / "a.warc.gz", revisit)
    second = write(tmp_path / "b.warc.gz", html_response(f"{HOST}/news/rail.html", LATER))

    counts = import_warcs(session_factory(engine), [first, second])

    assert (counts["archived"], counts["duplicates"]) == (1, 1)
    assert not [key for key in counts if key.startswith(IGNORED)]
    assert sorted(rows(engine, "SELECT url FROM sightings")) == [
        (f"{HOST}/amp/rail.html",), (f"{HOST}/news/rail.html",)]


def test_a_deadlock_with_another_writer_is_tried_again(tmp_path: Path, pg_url: str) -> None:
    """PostgreSQL breaks a deadlock by failing one side: the capture is stored on the next
    try, not reported lost. The server raises a real 40P01 on the first two snapshot
    inserts (a sequence, not rolled back with the savepoint, counts them)."""
    engine = make_engine(pg_url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("""
            CREATE SEQUENCE conflicts;
            CREATE FUNCTION conflict_twice() RETURNS trigger AS $$
            BEGIN
                IF nextval('conflicts') <= 2 THEN
                    RAISE EXCEPTION 'deadlock detected' USING ERRCODE = 'deadlock_detected';
                END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER conflict_twice BEFORE INSERT ON snapshots
                FOR EACH ROW EXECUTE FUNCTION conflict_twice();"""))
    warc = write(tmp_path / "one.warc.gz", html_response(f"{HOST}/news/rail.html"))
    problems: list = []

    counts = import_warcs(session_factory(engine), [warc], on_problem=problems.append)

    assert not problems
    assert (counts["archived"], counts["write_conflicts"]) == (1, 2)
    assert rows(engine, "SELECT count(*) FROM snapshots") == [(1,)]
    engine.dispose()


def test_resource_records_are_imported_like_responses(tmp_path: Path, engine: Engine) -> None:
    warc = write(tmp_path / "resource.warc.gz", (
        "resource", f"{HOST}/saved/rail.html", FIRST, None, RAIL,
        {"Content-Type": "text/html; charset=utf-8"}))

    counts = import_warcs(session_factory(engine), [warc])

    assert counts["archived"] == 1
    assert rows(engine, "SELECT url FROM sightings") == [(f"{HOST}/saved/rail.html",)]


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_header_names_in_any_case_keep_the_charset(tmp_path: Path,
                                                   sqlite_engine: Engine) -> None:
    """HTTP/2 captures write header names in lower case; a charset named only there decides.

    (SQLite only: a page without an article is a path PostgreSQL adds nothing to here.)"""
    engine = sqlite_engine
    page = ("<html><head><title>Z</title></head><body><p>Казахстан и Китай</p></body></html>"
            .encode("iso-8859-5"))  # guessed as windows-1251 without the header
    warc = write(tmp_path / "h2.warc.gz", (
        "response", f"{HOST}/ru/short.html", FIRST,
        http("200 OK", ("content-type", "text/html; charset=iso-8859-5")), page, {}))

    problems: list = []
    import_warcs(session_factory(engine), [warc], on_problem=problems.append)

    assert not problems
    assert rows(engine, "SELECT encoding, content_type FROM snapshots") == [
        ("iso8859-5", "text/html; charset=iso-8859-5")]


def test_what_holds_nothing_to_archive_is_counted_by_reason(tmp_path: Path,
                                                            engine: Engine) -> None:
    request = StatusAndHeaders("GET /news/rail.html HTTP/1.1", [("Host", "127.0.0.1:8000")],
                               protocol="", is_http_request=True)
    warc = write(
        tmp_path / "mixed.warc.gz",
        ("request", f"{HOST}/news/rail.html", FIRST, request, b"", {}),
        html_response(f"{HOST}/news/rail.html"),
        ("response", f"{HOST}/logo.png", FIRST, http("200 OK", ("Content-Type", "image/png")),
         b"\x89PNG....", {}),
        ("response", f"{HOST}/gone.html", FIRST, http("404 Not Found",
                                                      ("Content-Type", "text/html")), b"x", {}),
        ("revisit", f"{HOST}/elsewhere.html", LATER,
         http("200 OK", ("Content-Type", "text/html")), b"",
         {"WARC-Payload-Digest": sha1(b"never seen"),
          "WARC-Refers-To-Target-URI": f"{HOST}/missing.html", "WARC-Refers-To-Date": FIRST}),
    )

    counts = import_warcs(session_factory(engine), [warc])

    ignored = {key[len(IGNORED):]: n for key, n in counts.items() if key.startswith(IGNORED)}
    assert ignored == {"request record": 1, "not HTML (image/png)": 1, "status 404": 1,
                       "revisit of a payload in neither the WARC nor the archive": 1}
    assert (counts["archived"], counts["skipped"], counts["stopped"]) == (1, 0, 0)


def cut_points(whole: bytes, offsets: list[int]) -> dict[str, int]:
    """Where a cut once went unnoticed: inside a record that is not imported (a request),
    a few bytes into a gzip member, inside a last member's gzip trailer."""
    request, response = offsets[0], offsets[1]
    return {"inside an ignored request": request + (response - request) // 2,
            "five bytes into a gzip member": response + 5,
            "inside the gzip trailer": len(whole) - 3}


def test_a_cut_anywhere_is_reported_with_its_offset(tmp_path: Path,
                                                    sqlite_engine: Engine) -> None:
    request = StatusAndHeaders("GET /b HTTP/1.1", [("Host", "127.0.0.1:8000"),
                                                   ("X-Pad", "p" * 3000)],
                               protocol="", is_http_request=True)
    whole_path = write(tmp_path / "whole.warc.gz", html_response(f"{HOST}/a"),
                       ("request", f"{HOST}/b", FIRST, request, b"", {}),
                       html_response(f"{HOST}/b", body=RAIL.replace(b"Bishkek", b"Osh")))
    whole = whole_path.read_bytes()
    with whole_path.open("rb") as stream:
        records = ArchiveIterator(stream)
        offsets = [records.get_record_offset() for _ in records][1:]
    for where, cut in cut_points(whole, offsets).items():
        path = tmp_path / f"cut-{cut}.warc.gz"
        path.write_bytes(whole[:cut])
        problems: list = []
        import_warcs(session_factory(sqlite_engine), [path], on_problem=problems.append)
        assert [p.fatal for p in problems] == [True], where
        expected = offsets[0] if where == "inside an ignored request" else offsets[1]
        assert problems[0].offset == expected, (where, problems[0])
