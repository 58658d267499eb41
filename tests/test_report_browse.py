"""The coverage report in the browser: `silkroad browse` serves it at /-/report, filtered
by the query string, and links to it from Datasette's menus."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from storage.engine import make_engine
from storage.migrate import upgrade
from tests.report_corpus import build
from tests.support import REPO
from tests.test_report import assert_offline_page, page_specs


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db_file = tmp_path_factory.mktemp("report-browse") / "archive.sqlite"
    engine = make_engine(f"sqlite:///{db_file}")
    upgrade(engine)
    with Session(engine) as session:
        build(session)
    engine.dispose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler", "browse", "--db", str(db_file), "--port", str(port)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while fetch_ok(f"{url}/-/versions.json") is False:
            assert process.poll() is None, process.stderr.read()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "browse did not start"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def fetch_ok(url: str) -> bool:
    try:
        return fetch(url)[0] == 200
    except (urllib.error.URLError, ConnectionError):
        return False


def test_the_report_is_served_with_its_filters(base: str) -> None:
    status, html = fetch(f"{base}/-/report?country=tm&since=&theme=")
    assert status == 200
    assert_offline_page(html)
    assert "articles about country TM" in html and '<form class="filters"' in html
    stacked = page_specs(html)["articles-by-language"]["data"]["values"]
    assert sum(row["articles"] for row in stacked) == 4


def test_a_bad_filter_is_explained(base: str) -> None:
    status, html = fetch(f"{base}/-/report?country=XX")
    assert status == 400 and "--country &#x27;XX&#x27; is not one of the countries" in html


def test_datasette_links_to_the_report(base: str) -> None:
    for page in ("/", "/archive"):  # in plain view on the home and database pages
        status, html = fetch(f"{base}{page}")
        assert status == 200 and '<a href="/-/report">Coverage report</a>' in html, page


def test_the_written_report_has_no_form(tmp_path: Path) -> None:
    """The file is for reading offline: no form that would submit to nowhere."""
    from crawler.reporting.filters import QuietRule, ReportFilters
    from crawler.reporting.page import ReportPage, render_page
    from crawler.timeutil import utcnow
    from storage.coverage import Coverage

    empty = Coverage(0, 0, 0, None, None, 0, None, (), (), (), (), ())
    html = render_page(ReportPage(empty, [], ReportFilters(), QuietRule(30, None), "x",
                                  utcnow()))
    assert "<form" not in html and "The archive holds no article yet" in html
