"""Read commands open the archive read-only: a file that is not a Silkroad archive
(another application's database, an empty or corrupt file, an archive of a newer
Silkroad) is one line on stderr, exit status 2, and the file stays byte for byte
as it was, not switched to WAL and without -wal/-shm beside it."""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.cli.main import cli
from storage.engine import make_engine
from storage.migrate import current_revision, head_revision, upgrade
from tests.support import REPO, store_one_article

READ_COMMANDS = {
    "search": ["search", "rail"], "show": ["show", "1"], "stats": ["stats"],
    "export": ["export"], "export-csv": ["export", "--format", "csv"], "runs": ["runs"],
    "health": ["health"], "browse": ["browse", "--port", "0"],
}


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"})


def snapshot(path: Path) -> tuple[bytes, int, list[str]]:
    """The file's bytes and mtime, and whatever SQLite may have left beside it."""
    beside = sorted(p.name for p in path.parent.iterdir() if p.name != path.name)
    return path.read_bytes(), path.stat().st_mtime_ns, beside


def assert_one_line_error(result: Result, message: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.stderr
    assert message in lines[0], lines[0]


def make_archive(path: Path, revision: str = "head") -> Path:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine, revision)
    if revision == "head":
        store_one_article(engine)
    engine.dispose()
    return path


@pytest.fixture
def foreign(tmp_path: Path) -> Path:
    """Another application's database: one table, rollback journal."""
    path = tmp_path / "notes.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("INSERT INTO notes (body) VALUES ('mine, not yours')")
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize("command", READ_COMMANDS.values(), ids=READ_COMMANDS)
def test_a_foreign_database_is_refused_and_left_alone(foreign: Path, command: list[str]) -> None:
    before = snapshot(foreign)
    assert_one_line_error(invoke(*command, "--db", str(foreign)),
                          f"not a Silkroad archive: {foreign}")
    assert snapshot(foreign) == before
    assert foreign.read_bytes()[18] == 1, "switched to WAL"


WRITE_COMMANDS = {
    "reprocess": ["reprocess"], "db upgrade": ["db", "upgrade"], "demo": ["demo"],
    "crawl": ["crawl", "--seeds", "{seeds}"], "import-warc": ["import-warc", "{warc}"],
}


@pytest.mark.parametrize("command", WRITE_COMMANDS.values(), ids=WRITE_COMMANDS)
def test_write_commands_do_not_take_over_a_foreign_database(foreign: Path,
                                                            command: list[str]) -> None:
    seeds = foreign.parent / "seeds.toml"
    seeds.write_text('[[sources]]\nname = "A"\nurls = ["http://127.0.0.1:9/"]\n',
                     encoding="utf-8")
    warc = foreign.parent / "one.warc"
    with warc.open("wb") as out:
        writer = WARCWriter(out, gzip=False)
        writer.write_record(writer.create_warc_record(
            "http://127.0.0.1:9/", "response", payload=io.BytesIO(b"<p>x</p>"),
            http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html")],
                                          protocol="HTTP/1.1")))
    before = snapshot(foreign)
    args = [arg.format(seeds=seeds, warc=warc) for arg in command]
    assert_one_line_error(invoke(*args, "--db", str(foreign)), "not a Silkroad archive")
    assert snapshot(foreign) == before
    assert foreign.read_bytes()[18] == 1, "switched to WAL"


def test_an_empty_file_is_not_an_archive_to_read(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    before = snapshot(empty)
    assert_one_line_error(invoke("stats", "--db", str(empty)), "not a Silkroad archive")
    assert snapshot(empty) == before


@pytest.mark.parametrize("command", [["stats"], ["search", "rail"], ["reprocess"],
                                     ["db", "upgrade"]], ids=lambda c: c[0])
def test_an_archive_of_a_newer_silkroad(tmp_path: Path, command: list[str]) -> None:
    path = make_archive(tmp_path / "new.sqlite")
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    conn.commit()
    conn.close()
    before = snapshot(path)
    assert_one_line_error(invoke(*command, "--db", str(path)),
                          "schema revision '9999_from_the_future', newer than this silkroad")
    assert snapshot(path) == before


@pytest.mark.parametrize("damage, message", [
    (lambda b: b"this is not SQLite at all" * 40, "not an SQLite database"),
    (lambda b: b[:100] + b"\xff" * 3996 + b[4096:], "not a usable SQLite database"),
], ids=["not-sqlite", "corrupt-pages"])
@pytest.mark.parametrize("command", [["stats"], ["show", "1"], ["db", "upgrade"]],
                         ids=lambda c: c[0])
def test_a_corrupt_file(tmp_path: Path, damage, message: str,  # type: ignore[no-untyped-def]
                        command: list[str]) -> None:
    path = make_archive(tmp_path / "bad.sqlite")
    path.write_bytes(damage(path.read_bytes()))
    before = snapshot(path)
    assert_one_line_error(invoke(*command, "--db", str(path)), message)
    assert snapshot(path) == before


def test_an_older_archive_of_ours_is_upgraded_by_a_read_command(tmp_path: Path) -> None:
    path = make_archive(tmp_path / "old.sqlite", revision="0004")
    result = invoke("stats", "--format", "json", "--db", str(path))
    assert result.exit_code == 0, result.output
    engine = make_engine(f"sqlite:///{path}", readonly=True)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_reading_an_archive_leaves_it_as_it_was(tmp_path: Path) -> None:
    path = make_archive(tmp_path / "archive.sqlite")
    before = snapshot(path)
    for command in (["stats"], ["search", "rail"], ["show", "1"], ["export"], ["runs"]):
        result = invoke(*command, "--db", str(path))
        assert result.exit_code == 0, (command, result.output)
    assert snapshot(path) == before


@pytest.mark.parametrize("article_id", ["99999999999999999999", "9223372036854775808", "0"])
def test_show_of_an_id_out_of_range(tmp_path: Path, article_id: str) -> None:
    path = make_archive(tmp_path / "archive.sqlite")
    assert_one_line_error(invoke("show", article_id, "--db", str(path)), "Invalid value")


def test_the_immutable_decision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from storage.archive_file import on_read_only_storage, read_only_uri

    path = make_archive(tmp_path / "archive.sqlite")
    assert not on_read_only_storage(path)
    denied = {path}
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) not in denied)
    assert on_read_only_storage(path)
    denied = {path.parent}
    assert on_read_only_storage(path)
    assert read_only_uri(tmp_path / "a?b#c%.sqlite", immutable=True).endswith(
        "/a%3Fb%23c%25.sqlite?mode=ro&immutable=1")


# -- read-only storage, for real: root without the capabilities that ignore permissions --

@pytest.fixture
def read_only_archive() -> Iterator[Path]:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to drop CAP_DAC_OVERRIDE")
    folder = Path(__import__("tempfile").mkdtemp(prefix="silkroad-ro-"))
    path = make_archive(folder / "archive.sqlite")
    path.chmod(0o444)
    folder.chmod(0o555)
    yield path
    folder.chmod(0o755)
    shutil.rmtree(folder)


def run_without_write_permission(*args: str) -> subprocess.CompletedProcess[str]:
    """`silkroad ARGS` as root that file permissions bind, like any user on read-only media."""
    return subprocess.run(
        ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
         sys.executable, "-m", "crawler", *args],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"})


@pytest.mark.slow
def test_an_archive_on_read_only_storage_can_be_read(read_only_archive: Path) -> None:
    before = snapshot(read_only_archive)
    stats = run_without_write_permission("stats", "--format", "json",
                                         "--db", str(read_only_archive))
    assert stats.returncode == 0, stats.stderr
    assert '"articles": 1' in stats.stdout
    found = run_without_write_permission("search", "rail", "--format", "json",
                                         "--db", str(read_only_archive))
    assert found.returncode == 0 and "Rail deal" in found.stdout, found.stderr
    assert snapshot(read_only_archive) == before


def test_the_read_engine_writes_nothing(tmp_path: Path) -> None:
    path = make_archive(tmp_path / "archive.sqlite")
    engine = make_engine(f"sqlite:///{path}", readonly=True)
    with engine.connect() as conn, pytest.raises(Exception, match="readonly"):
        conn.execute(text("DELETE FROM articles"))
    engine.dispose()
