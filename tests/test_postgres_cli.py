"""Every command on a PostgreSQL archive, as users run them, against a real server.

A read command on a database without an archive is a one-line error, never an
answer from an empty archive; on an archive it answers with its articles; an
SQLite snapshot of it (``export --format sqlite``) answers exactly as it does;
and the demo archived into PostgreSQL exports the same records as into SQLite.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from crawler.cli.main import cli as silkroad
from crawler.demo.loopback_web import LoopbackWeb, demo_web_dir
from crawler.scheduling.scheduled_crawl import CrawlJob
from crawler.scheduling.scheduler import CrawlScheduler
from crawler.scheduling.schedules import Schedule
from storage.engine import make_engine
from storage.migrate import head_revision, upgrade
from storage.search.index import index_drift
from tests import postgres_cluster
from tests.search_corpus import BY_KEY, DOCS, store
from tests.support import FAST_CRAWL, REPO, run_cli, write_seeds

READ_COMMANDS = [
    ["stats"], ["search", "pipeline"], ["show", "1"], ["export"], ["export", "--format", "csv"],
    ["runs"], ["health"], ["schedule", "--list"], ["browse", "--port", "0"],
]


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(silkroad, list(args), catch_exceptions=False,
                                env={"COLUMNS": "300", **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def table_names(url: str) -> list[str]:
    engine = make_engine(url, readonly=True)
    try:
        with engine.connect() as conn:
            return inspect(conn).get_table_names()
    finally:
        engine.dispose()


@pytest.fixture
def pg_archive(pg_url: str) -> dict[str, int]:
    engine = make_engine(pg_url)
    upgrade(engine)
    with Session(engine) as session:
        ids = store(session)
    engine.dispose()
    return ids


# -- a database without an archive -----------------------------------------------------------

@pytest.mark.parametrize("command", READ_COMMANDS + [
    ["export", "--format", "warc", "-o", "out.warc.gz"],
    ["export", "--format", "sqlite", "-o", "out.sqlite"],
], ids=lambda c: "-".join(c[:3]))
def test_a_read_command_on_an_empty_database_is_one_line(pg_url: str, command: list[str],
                                                         tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(*command, "--db", pg_url)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "no archive in PostgreSQL database" in err
    assert table_names(pg_url) == []  # nothing created there
    assert list(tmp_path.iterdir()) == []  # nor an SQLite archive here


def test_a_missing_database_or_server_is_one_line(postgres_server: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    missing = make_url(postgres_server).set(database="no_such_archive").render_as_string(False)
    down = "postgresql://silkroad:secret@127.0.0.1:1/archive"
    for command in (["stats"], ["db", "upgrade"], ["demo"], ["export", "--format", "sqlite",
                                                             "-o", "x.sqlite"]):
        for url, reason in ((missing, "does not exist"), (down, "refused")):
            code, out, err = invoke(*command, "--db", url)
            assert code == 2 and err.count("\n") == 1 and reason in err, (command, err)
            assert "secret" not in out + err and "Serving" not in out
    assert list(tmp_path.iterdir()) == []


def test_a_database_holding_other_tables_is_left_alone(pg_url: str) -> None:
    engine = make_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE invoices (id integer)"))
    engine.dispose()
    for command in (["stats"], ["export"], ["db", "upgrade"], ["demo"],
                    ["schedule", "--every", "1h"]):
        code, _, err = invoke(*command, "--db", pg_url)
        assert code == 2 and err.count("\n") == 1, (command, err)
        assert "not a Silkroad archive" in err and "holds other tables" in err
    assert table_names(pg_url) == ["invoices"]


def test_db_upgrade_starts_an_archive_and_hides_the_password(pg_url: str) -> None:
    with_password = make_url(pg_url).set(password="secret").render_as_string(False)
    code, out, _ = invoke("db", "upgrade", "--db", with_password)
    assert code == 0 and f"from empty to {head_revision()}" in out
    assert "secret" not in out and "***" in out
    code, out, _ = invoke("db", "upgrade", "--db", with_password)
    assert code == 0 and "is at the newest schema" in out
    code, out, _ = invoke("stats", "--format", "json", "--db", pg_url)
    assert code == 0 and json.loads(out)["totals"]["articles"] == 0  # an archive, empty


# -- an archive ------------------------------------------------------------------------------

def test_read_commands_answer_from_the_archive(pg_url: str, pg_archive: dict[str, int]) -> None:
    code, out, _ = invoke("stats", "--format", "json", "--db", pg_url)
    stats = json.loads(out)
    assert code == 0 and stats["totals"]["articles"] == len(DOCS)
    assert stats["file_bytes"] is None and stats["database_bytes"] > 0
    code, out, _ = invoke("stats", "--db", pg_url)
    assert code == 0 and "database size" in out and "丝路观察" in out
    code, out, _ = invoke("export", "--country", "TM", "--since", "2025-01-01", "--db", pg_url)
    assert code == 0
    assert {r["title"] for r in map(json.loads, out.splitlines())} == {
        d.title for d in DOCS if "TM" in d.countries and d.published >= "2025-01-01"}
    code, out, _ = invoke("show", str(pg_archive["cku-rail"]), "--format", "json", "--db", pg_url)
    assert code == 0 and json.loads(out)["title"] == BY_KEY["cku-rail"].title
    code, out, _ = invoke("runs", "--format", "json", "--db", pg_url)
    assert code == 0 and len(json.loads(out)) == 1
    code, out, _ = invoke("health", "--format", "json", "--db", pg_url)
    assert code == 0 and json.loads(out) == []  # a manual run without source counters
    code, out, _ = invoke("search", "中亚", "--format", "json", "--db", pg_url)
    assert code == 0 and {r["id"] for r in json.loads(out)} == {
        pg_archive["cku-rail"], pg_archive["summit"]}


def test_silkroad_db_in_the_environment_names_the_archive(pg_url: str,
                                                          pg_archive: dict[str, int]) -> None:
    code, out, _ = invoke("export", "--lang", "ru", env={"SILKROAD_DB": pg_url})
    assert code == 0 and len(out.splitlines()) == 2


def test_a_job_is_scheduled_listed_and_removed_on_postgres(pg_url: str, pg_archive: Any,
                                                           tmp_path: Path) -> None:
    seeds = tmp_path / "sources.toml"
    service = CrawlScheduler(pg_url)
    service.open()
    try:
        service.schedule_crawl(CrawlJob.create(str(seeds), pg_url), Schedule("every", "6h"))
    finally:
        service.close()
    code, out, _ = invoke("schedule", "--list", "--db", pg_url)
    assert code == 0 and f"crawl:{seeds}: every 6h, next run at" in out
    code, out, _ = invoke("schedule", "--remove", f"crawl:{seeds}", "--db", pg_url)
    assert code == 0 and "Removed job" in out
    assert "No scheduled jobs" in invoke("schedule", "--list", "--db", pg_url)[1]


# -- the SQLite snapshot ---------------------------------------------------------------------

def _answers(db: str, ids: dict[str, int]) -> dict[str, Any]:
    """What the read commands answer, less what differs by engine by design: sizes,
    search scores and snippets (ts_rank is not BM25)."""
    answers: dict[str, Any] = {}
    code, out, _ = invoke("stats", "--format", "json", "--db", db)
    assert code == 0
    answers["stats"] = {k: v for k, v in json.loads(out).items()
                        if k not in ("file_bytes", "database_bytes")}
    code, out, _ = invoke("export", "--db", db)
    assert code == 0
    answers["export"] = out
    code, out, _ = invoke("export", "--format", "csv", "--theme", "energy", "--db", db)
    answers["csv"] = out
    answers["show"] = [invoke("show", str(i), "--format", "json", "--db", db)[1]
                       for i in sorted(ids.values())]
    answers["runs"] = invoke("runs", "--format", "json", "--db", db)[1]
    for query in ("中亚", "pipeline", "Хоргос", '"gas pipeline"', "Khorgos OR railways"):
        code, out, err = invoke("search", query, "--format", "json", "--db", db)
        assert code == 0, err
        answers[f"search {query}"] = sorted(
            json.dumps({k: v for k, v in record.items() if k not in ("score", "snippet")},
                       ensure_ascii=False) for record in json.loads(out))
    return answers


def test_sqlite_snapshot_answers_as_the_postgres_archive(pg_url: str, pg_archive: dict[str, int],
                                                         tmp_path: Path) -> None:
    snapshot = tmp_path / "team.sqlite"
    result = run_cli("export", "--format", "sqlite", "-o", str(snapshot), "--db", pg_url)
    assert result.returncode == 0, result.stderr
    assert f"Wrote {snapshot}: {len(DOCS)} article(s)" in result.stdout
    assert _answers(f"sqlite:///{snapshot}", pg_archive) == _answers(pg_url, pg_archive)


def test_sqlite_snapshot_is_one_clean_archive_file(pg_url: str, pg_archive: dict[str, int],
                                                   tmp_path: Path) -> None:
    service = CrawlScheduler(pg_url)  # a job in the source: not copied (it would crawl there)
    service.open()
    service.schedule_crawl(CrawlJob.create(str(tmp_path / "s.toml"), pg_url),
                           Schedule("every", "1h"))
    service.close()
    snapshot = tmp_path / "team.sqlite"
    assert invoke("export", "--format", "sqlite", "-o", str(snapshot), "--db", pg_url)[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["team.sqlite"]  # no -wal, no .part
    with sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert conn.execute("PRAGMA quick_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (
            head_revision(),)
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "apscheduler_jobs" not in tables and "article_search" not in tables
    engine = create_engine(f"sqlite:///{snapshot}")
    with Session(engine) as session:
        assert index_drift(session).clean
        assert session.scalar(text("SELECT count(*) FROM articles_fts")) == len(DOCS)
    engine.dispose()


@pytest.mark.parametrize("args, message", [
    ([], "give --output FILE.sqlite"),
    (["-o", "-"], "give --output FILE.sqlite"),
    (["-o", "{tmp}/out.sqlite", "--lang", "en"], "--lang cannot apply"),
    (["-o", "{tmp}/existing.sqlite"], "already exists: add --force"),
    (["-o", "{tmp}/no/such/folder/x.sqlite"], "does not exist"),
])
def test_export_sqlite_refuses_in_one_line(db_url: str, args: list[str], message: str,
                                           tmp_path: Path) -> None:
    (tmp_path / "existing.sqlite").write_text("keep me")
    code, out, err = invoke("export", "--format", "sqlite",
                            *(a.format(tmp=tmp_path) for a in args), "--db", db_url)
    assert code == 2 and message in err and err.count("\n") == 1
    assert (tmp_path / "existing.sqlite").read_text() == "keep me"
    assert not (tmp_path / "out.sqlite").exists()


@pytest.fixture
def sqlite_archive(sqlite_url: str) -> str:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    with Session(engine) as session:
        store(session)
    engine.dispose()
    return sqlite_url


def test_export_sqlite_of_an_sqlite_archive_and_force(sqlite_archive: str, tmp_path: Path
                                                      ) -> None:
    archive = make_url(sqlite_archive).database
    code, _, err = invoke("export", "--format", "sqlite", "-o", archive, "--force",
                          "--db", sqlite_archive)
    assert code == 2 and "refusing to write over the archive itself" in err
    target = tmp_path / "copy.sqlite"
    target.write_text("last week's")
    code, out, _ = invoke("export", "--format", "sqlite", "-o", str(target), "--force",
                          "--db", sqlite_archive)
    assert code == 0 and "9 article(s)" in out
    assert invoke("export", "--db", str(target))[1] == invoke("export", "--db", sqlite_archive)[1]


# -- browse ------------------------------------------------------------------------------------

def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_browse_serves_a_snapshot_of_the_postgres_archive(pg_url: str, pg_archive: Any) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler", "browse", "--db", pg_url, "--port", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    database = make_url(pg_url).database
    base = f"http://127.0.0.1:{port}/{database}"
    try:
        rows = _wait_for_json(f"{base}/articles.json?" + urlencode(
            {"_search": "中亚", "_shape": "array", "_col": "title"}), process)
        assert {row["title"] for row in rows} == {BY_KEY["cku-rail"].title,
                                                  BY_KEY["summit"].title}
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert "Taking an SQLite snapshot of" in out and "Snapshot ready: 9 article(s)." in out
    served = re.search(r"Serving (\S+) read-only", err)
    assert served and not Path(served.group(1)).exists()  # the snapshot went with it


def _wait_for_json(url: str, process: subprocess.Popen[str], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"browse exited: {process.communicate()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError(f"browse did not answer at {url}")


# -- crawls into PostgreSQL (real crawls of the demo web) --------------------------------------

TIMESTAMPS = ("first_seen", "last_seen")


def _comparable(jsonl: str) -> list[dict[str, Any]]:
    """Records less what names a row (ids) or a moment (timestamps); the demo web's
    addresses may differ from run to run, so hosts and ports are folded too."""
    records = [json.loads(line) for line in jsonl.splitlines()]
    by_id = {r["id"]: r["content_hash"] for r in records}
    folded = []
    for record in records:
        record = {k: v for k, v in record.items() if k not in ("id", *TIMESTAMPS)}
        record["duplicate_of"] = by_id.get(record["duplicate_of"])
        folded.append(json.loads(re.sub(r"http://127\.0\.0\.\d+:\d+", "http://site",
                                        json.dumps(record, ensure_ascii=False))))
    return sorted(folded, key=lambda r: r["content_hash"])


@pytest.fixture(scope="module")
def pg_databases(postgres_server: str) -> Iterator[list[str]]:
    created: list[str] = []
    yield created
    for url in created:
        postgres_cluster.drop_database(postgres_server, url)


def _new_database(postgres_server: str, pg_databases: list[str]) -> str:
    url = postgres_cluster.create_database(postgres_server)
    pg_databases.append(url)
    return url


@pytest.fixture(scope="module")
def demo_pg(postgres_server: str, pg_databases: list[str]) -> str:
    url = _new_database(postgres_server, pg_databases)
    result = run_cli("demo", "--db", url)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Archived articles (14)" in result.stdout
    return url


@pytest.mark.slow
def test_demo_into_postgres_exports_what_sqlite_does(demo_pg: str, tmp_path: Path) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    result = run_cli("demo", "--db", sqlite_url)
    assert result.returncode == 0, result.stderr[-3000:]
    from_pg = run_cli("export", "--db", demo_pg)
    from_sqlite = run_cli("export", "--db", sqlite_url)
    assert from_pg.returncode == from_sqlite.returncode == 0
    assert len(from_pg.stdout.splitlines()) == 14
    assert _comparable(from_pg.stdout) == _comparable(from_sqlite.stdout)


@pytest.fixture(scope="module")
def demo_web() -> Iterator[LoopbackWeb]:
    with LoopbackWeb.from_directory(demo_web_dir()) as web:
        yield web


@pytest.mark.slow
def test_every_command_on_a_postgres_archive(demo_pg: str, demo_web: LoopbackWeb,
                                             postgres_server: str, pg_databases: list[str],
                                             tmp_path: Path) -> None:
    seeds = write_seeds(demo_web, demo_web_dir() / "sources.toml", tmp_path / "sources.toml")

    def ok(*args: str, env: dict[str, str] | None = None) -> str:
        result = run_cli(*args, env=env)
        assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-3000:])
        return result.stdout

    ok("crawl", "--seeds", str(seeds), "--db", demo_pg, *FAST_CRAWL)
    assert "Crawl ok" in ok("crawl", "--seeds", str(seeds), *FAST_CRAWL,
                            env={"SILKROAD_DB": demo_pg})
    scrapy_db = _new_database(postgres_server, pg_databases)
    scrapy = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "seeds", "-s", f"SEEDS_FILE={seeds}",
         "-s", f"SILKROAD_DB={scrapy_db}", *FAST_CRAWL],
        cwd=REPO, capture_output=True, text=True, timeout=240)
    assert scrapy.returncode == 0, scrapy.stderr[-3000:]
    assert json.loads(ok("stats", "--format", "json", "--db", scrapy_db))["totals"][
        "articles"] == 14

    assert "中吉乌铁路" in ok("search", "中吉乌铁路", "--db", demo_pg)
    first = json.loads(ok("export", "--db", demo_pg).splitlines()[0])
    assert json.loads(ok("show", str(first["id"]), "--format", "json", "--db", demo_pg))[
        "sightings"]
    assert ok("export", "--format", "csv", "--db", demo_pg).startswith("id,url,urls,")
    warc = tmp_path / "demo.warc.gz"
    assert "response" in ok("export", "--format", "warc", "-o", str(warc), "--db", demo_pg)
    runs = json.loads(ok("runs", "--format", "json", "--db", demo_pg))
    assert [r["outcome"] for r in runs] == ["ok", "ok", "ok"]
    assert {h["source"] for h in json.loads(ok("health", "--format", "json", "--db", demo_pg))}
    assert "Reprocessed" in ok("reprocess", "--db", demo_pg)

    imported = _new_database(postgres_server, pg_databases)
    assert "14 new article(s)" in ok("import-warc", str(warc), "--db", imported)
    assert ({r["content_hash"] for r in _comparable(ok("export", "--db", imported))}
            == {r["content_hash"] for r in _comparable(ok("export", "--db", demo_pg))})
