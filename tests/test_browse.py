"""`silkroad browse` end to end: the real command serving a small archive, searched in Chinese.

One server for the module; its JSON API is checked over HTTP, and the page a
user sees is rendered by headless Chromium (Debian's ``chromium``, which
``.ci/run`` installs).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from crawler.cli.main import cli as silkroad
from storage.engine import make_engine
from storage.migrate import upgrade
from tests.search_corpus import BY_KEY, DOCS, store
from tests.support import REPO

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-dev-shm-usage")


@dataclass(frozen=True)
class Server:
    base: str  # http://127.0.0.1:PORT/DBNAME
    db_file: Path
    digest_before: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=20) as response:
        return json.loads(response.read())


def wait_until_serving(url: str, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"browse exited early: {process.stderr.read()}")  # type: ignore[union-attr]
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError(f"browse did not answer at {url} within {timeout}s")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db_file = tmp_path_factory.mktemp("browse") / "silkroad.sqlite"
    engine = make_engine(f"sqlite:///{db_file}")
    upgrade(engine)
    with Session(engine) as session:
        store(session)
    engine.dispose()
    digest = file_digest(db_file)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler", "browse", "--db", f"sqlite:///{db_file}",
         "--port", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/-/versions.json", process)
        yield Server(f"http://127.0.0.1:{port}/silkroad", db_file, digest)
    finally:
        process.terminate()
        process.wait(timeout=20)


def search_titles(server: Server, query: str) -> set[str]:
    url = f"{server.base}/articles.json?" + urlencode(
        {"_search": query, "_shape": "array", "_col": "title"})
    return {row["title"] for row in get_json(url)}  # type: ignore[union-attr]


def titles(*keys: str) -> set[str]:
    return {BY_KEY[key].title for key in keys}


@pytest.mark.parametrize("query, expected", [
    ("中亚", titles(*(d.key for d in DOCS if "中亚" in d.title + d.text))),
    ("中吉乌铁路", titles("cku-rail")),
    ("吉乌铁", titles("cku-rail")),
    ("RAILWAYS", titles("kz-rail")),
    ('"gas pipeline"', titles("tm-gas")),
    ("pipeline NOT Turkmenistan", titles("uz-water")),
    ("газопровод", titles("ru-gas")),
    ('"gas pipeline', titles("tm-gas", "uz-water")),  # lenient box: unclosed quote, words
])
def test_search_box_query(server: Server, query: str, expected: set[str]) -> None:
    assert search_titles(server, query) == expected


def test_ranked_search_query_has_highlighted_snippets(server: Server) -> None:
    rows = get_json(f"{server.base}/search.json?" + urlencode({"q": "铁路", "_shape": "array"}))
    [row] = rows  # type: ignore[misc]
    assert row["title"] == BY_KEY["cku-rail"].title and "**铁路**" in row["snippet"]


def test_facets_and_labels_come_from_the_shipped_metadata(server: Server) -> None:
    data = get_json(f"{server.base}/articles.json?_labels=on")
    facets = data["facet_results"]  # type: ignore[index]
    assert {"language", "countries", "source_id"} <= set(facets)
    languages = {item["value"]: item["count"] for item in facets["language"]["results"]}
    assert languages == {"en": 4, "zh": 3, "ru": 2}
    sources = {item["label"] for item in facets["source_id"]["results"]}
    assert "丝路观察" in sources


def test_archive_is_served_read_only(server: Server) -> None:
    request = urllib.request.Request(
        f"{server.base}.json?" + urlencode({"sql": "delete from articles"}))
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=20)
    assert file_digest(server.db_file) == server.digest_before


@pytest.mark.parametrize("db, message", [
    ("sqlite:///{tmp}/missing.sqlite", "no archive at"),
    ("sqlite:///{tmp}/no/such/folder/a.sqlite", "does not exist"),
    ("sqlite:///:memory:", "needs an archive file"),
])
def test_browse_without_an_archive_exits_2(tmp_path: Path, db: str, message: str) -> None:
    result = CliRunner().invoke(silkroad, ["browse", "--db", db.format(tmp=tmp_path)])
    assert result.exit_code == 2 and message in result.stderr


def render(url: str, profile: Path) -> str:
    result = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.skipif(not Path(CHROMIUM).exists(),
                    reason="Chromium is not installed (.ci/run installs Debian's chromium)")
def test_chinese_search_in_a_real_browser(server: Server, tmp_path: Path) -> None:
    dom = render(f"{server.base}/articles?_search={quote('中吉乌')}", tmp_path / "profile")
    assert BY_KEY["cku-rail"].title in dom
    assert BY_KEY["summit"].title not in dom and BY_KEY["tm-gas"].title not in dom
    assert "1 row where search matches" in dom
    dom = render(f"{server.base}/articles?_search={quote('中亚')}", tmp_path / "profile")
    assert BY_KEY["cku-rail"].title in dom and BY_KEY["summit"].title in dom
    assert BY_KEY["aiib"].title not in dom


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to drop CAP_DAC_OVERRIDE")
def test_an_archive_on_read_only_storage_is_served(tmp_path: Path) -> None:
    """Root without the capabilities that ignore permissions sees the archive and its
    folder read-only, as any user of read-only media does: Datasette's mode=ro
    would need to create the -shm, so browse serves it immutable."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="silkroad-ro-browse-"))
    db_file = folder / "silkroad.sqlite"
    engine = make_engine(f"sqlite:///{db_file}")
    upgrade(engine)
    with Session(engine) as session:
        store(session)
    engine.dispose()
    db_file.chmod(0o444)
    folder.chmod(0o555)
    digest, port = file_digest(db_file), free_port()
    process = subprocess.Popen(
        ["setpriv", "--bounding-set=-dac_override,-dac_read_search", sys.executable,
         "-m", "crawler", "browse", "--db", str(db_file), "--port", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)},
    )
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/-/versions.json", process)
        rows = get_json(f"http://127.0.0.1:{port}/silkroad/articles.json?_shape=array&_col=title")
        assert {row["title"] for row in rows} == {doc.title for doc in DOCS}  # type: ignore[union-attr]
        assert file_digest(db_file) == digest
        assert [p.name for p in folder.iterdir()] == ["silkroad.sqlite"]
    finally:
        process.terminate()
        process.wait(timeout=20)
        folder.chmod(0o755)
        shutil.rmtree(folder)
