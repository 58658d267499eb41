"""`silkroad import-warc` on hostile or broken WARCs: one bad record costs only itself.

Each WARC is written here with warcio, as other crawlers write them; the import
runs as users run it, in a child process.
"""

from __future__ import annotations

import gzip
import sqlite3
import subprocess
import sys
import zlib
from io import BytesIO
from pathlib import Path

import brotli
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from warcio.warcwriter import WARCWriter

from crawler.analysis.snapshot_body import unpack_body
from crawler.offline import warc_import
from crawler.settings import DOWNLOAD_MAXSIZE
from storage.archive import FetchRecord, record_fetch
from storage.engine import session_factory
from tests.support import FIXTURES, REPO, run_cli

HOST = "http://127.0.0.1:8000"
GIB = 1024 ** 3


def page(n: int) -> bytes:
    return f"<html><head><title>Page {n}</title></head><body><p>Story {n}.</p></body></html>"\
        .encode()


def http_block(body: bytes, *headers: str) -> bytes:
    head = ["HTTP/1.1 200 OK", "Content-Type: text/html; charset=utf-8", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def write_warc(path: Path, records: list[tuple[str, bytes, str | None]], *, gz: bool = True
               ) -> list[int]:
    """Write (url, HTTP block, WARC-Date) response records; returns each record's offset."""
    offsets = []
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=gz)
        for url, block, date in records:
            offsets.append(out.tell())
            record = writer.create_warc_record(
                url, "response", payload=BytesIO(block), length=len(block),
                warc_headers_dict={"WARC-Date": date or "2025-06-01T10:00:00Z"})
            writer.write_record(record)
    return offsets


def stored_urls(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {url for (url,) in conn.execute("SELECT url FROM fetches")}


@pytest.mark.slow
def test_one_malformed_warc_date_among_80_costs_only_itself(tmp_path: Path) -> None:
    records = [(f"{HOST}/story-{n}", http_block(page(n)),
                "2025-13-45T99:00:00Z" if n == 41 else None) for n in range(80)]
    warc = tmp_path / "eighty.warc.gz"
    offsets = write_warc(warc, records)
    db = tmp_path / "archive.sqlite"

    result = run_cli("import-warc", str(warc), "--db", f"sqlite:///{db}")

    assert result.returncode == 1, result.stderr
    assert stored_urls(db) == {url for url, _, _ in records} - {f"{HOST}/story-41"}
    assert "Traceback" not in result.stderr
    [named] = [line for line in result.stderr.splitlines() if "story-41" in line]
    assert f"offset {offsets[41]}" in named and "WARC-Date" in named
    assert "79 record(s) imported, 1 skipped" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("canonical", [
    "http://host:abc/story", "https://host:{{port}}/x", "http://host:181020/x",
])
def test_a_malformed_canonical_does_not_abort_the_import(tmp_path: Path, canonical: str) -> None:
    article = (FIXTURES / "pages" / "article_en.html").read_bytes()
    bad = article.replace(b"<head>", f'<head><link rel="canonical" href="{canonical}">'.encode(), 1)
    assert bad != article
    records = [(f"{HOST}/before", http_block(page(1)), None),
               (f"{HOST}/bad", http_block(bad), None),
               (f"{HOST}/after", http_block(page(2)), None)]
    warc = tmp_path / "canonical.warc.gz"
    write_warc(warc, records)
    db = tmp_path / "archive.sqlite"

    result = run_cli("import-warc", str(warc), "--db", f"sqlite:///{db}")

    assert "Traceback" not in result.stderr
    stored = stored_urls(db)
    assert {f"{HOST}/before", f"{HOST}/after"} <= stored
    if f"{HOST}/bad" in stored:  # once the URL helpers tolerate it, the page is simply stored
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == 1
        assert any(f"{HOST}/bad" in line and "could not be stored" in line
                   for line in result.stderr.splitlines()), result.stderr


def _gzip_of_zeros(size: int) -> bytes:
    out = BytesIO()
    zeros = bytes(1024 * 1024)
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as packer:
        for _ in range(size // len(zeros)):
            packer.write(zeros)
    return out.getvalue()


@pytest.mark.slow
def test_a_gzip_bomb_is_skipped_in_bounded_memory(tmp_path: Path) -> None:
    bomb = _gzip_of_zeros(GIB)
    assert len(bomb) < 2 * 1024 * 1024
    records = [(f"{HOST}/bomb", http_block(bomb, "Content-Encoding: gzip"), None),
               (f"{HOST}/after", http_block(page(1)), None)]
    warc = tmp_path / "bomb.warc.gz"
    offsets = write_warc(warc, records)
    db = tmp_path / "archive.sqlite"
    # A fresh parent whose only child is the import, so ru_maxrss is that child's alone.
    probe = ("import resource, subprocess, sys; "
             "r = subprocess.run([sys.executable, '-m', 'crawler', *sys.argv[1:]]); "
             "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
             "file=sys.stderr); sys.exit(r.returncode)")
    result = subprocess.run(
        [sys.executable, "-c", probe, "import-warc", str(warc), "--db", f"sqlite:///{db}"],
        cwd=REPO, capture_output=True, text=True, timeout=600)

    peak_kb = int(result.stderr.rsplit("MAXRSS_KB", 1)[1].split()[0])
    assert peak_kb * 1024 < GIB, f"peak RSS {peak_kb} KiB"
    assert result.returncode == 1, result.stderr
    assert stored_urls(db) == {f"{HOST}/after"}
    [named] = [line for line in result.stderr.splitlines() if f"{HOST}/bomb" in line]
    assert f"offset {offsets[0]}" in named and "cap" in named


def _deflate(body: bytes) -> bytes:
    return zlib.compress(body)


@pytest.mark.slow
@pytest.mark.parametrize("coding, encode", [
    ("gzip", gzip.compress), ("deflate", _deflate), ("br", brotli.compress),
])
def test_encoded_bodies_are_decoded_and_capped(tmp_path: Path, coding: str, encode) -> None:
    over = b"<html><body>" + b"x" * DOWNLOAD_MAXSIZE + b"</body></html>"
    records = [(f"{HOST}/small", http_block(encode(page(1)), f"Content-Encoding: {coding}"), None),
               (f"{HOST}/big", http_block(encode(over), f"Content-Encoding: {coding}"), None),
               (f"{HOST}/raw-big", http_block(over), None)]
    warc = tmp_path / "encoded.warc.gz"
    write_warc(warc, records)
    db = tmp_path / "archive.sqlite"

    result = run_cli("import-warc", str(warc), "--db", f"sqlite:///{db}")

    assert result.returncode == 1, result.stderr
    assert stored_urls(db) == {f"{HOST}/small"}
    with sqlite3.connect(db) as conn:
        [(body,)] = conn.execute("SELECT body FROM snapshots").fetchall()
    assert unpack_body(body) == page(1)
    assert "1 record(s) imported, 2 skipped" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("gz", [False, True], ids=["warc", "warc.gz"])
def test_a_truncated_warc_keeps_the_whole_records(tmp_path: Path, gz: bool) -> None:
    records = [(f"{HOST}/story-{n}", http_block(page(n) * 50), None) for n in range(5)]
    whole = tmp_path / "whole.warc"
    offsets = write_warc(whole, records, gz=gz)
    warc = tmp_path / ("cut.warc.gz" if gz else "cut.warc")
    warc.write_bytes(whole.read_bytes()[:offsets[3] + (offsets[4] - offsets[3]) // 2])
    db = tmp_path / "archive.sqlite"

    result = run_cli("import-warc", str(warc), "--db", f"sqlite:///{db}")

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert stored_urls(db) == {f"{HOST}/story-{n}" for n in range(3)}
    [named] = [line for line in result.stderr.splitlines() if "stopped reading" in line]
    assert f"offset {offsets[3]}" in named


@pytest.mark.slow
def test_a_file_that_is_not_a_warc_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    good = tmp_path / "good.warc.gz"
    write_warc(good, [(f"{HOST}/story", http_block(page(1)), None)])
    notes = tmp_path / "notes.txt"
    notes.write_text("not a WARC\n", encoding="utf-8")
    db = tmp_path / "archive.sqlite"

    result = run_cli("import-warc", str(good), str(notes), "--db", f"sqlite:///{db}")

    assert result.returncode == 2, result.stderr
    assert "not a readable WARC file" in result.stderr and "Traceback" not in result.stderr
    assert not db.exists()


def test_a_record_whose_storage_fails_after_writing_leaves_no_trace(
        tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its savepoint is rolled back: none of its rows, every row of its batch-mates."""
    def failing_record_fetch(session: Session, fetch: FetchRecord, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = record_fetch(session, fetch, *args, **kwargs)
        if fetch.url.endswith("/story-2"):
            session.flush()
            raise RuntimeError("disk says no")
        return result

    monkeypatch.setattr(warc_import, "record_fetch", failing_record_fetch)
    warc = tmp_path / "five.warc.gz"
    offsets = write_warc(warc, [(f"{HOST}/story-{n}", http_block(page(n)), None) for n in range(5)])
    problems: list[warc_import.Problem] = []

    counts = warc_import.import_warcs(session_factory(engine), [warc], on_problem=problems.append)

    assert (counts["imported"], counts["skipped"]) == (4, 1)
    assert [(p.offset, p.url) for p in problems] == [(offsets[2], f"{HOST}/story-2")]
    assert "disk says no" in problems[0].reason
    with Session(engine) as session:
        urls = set(session.scalars(text("SELECT url FROM pages")))
        snapshots = session.scalar(text("SELECT count(*) FROM snapshots"))
    assert urls == {f"{HOST}/story-{n}" for n in (0, 1, 3, 4)} and snapshots == 4
