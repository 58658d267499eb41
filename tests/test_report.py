"""`silkroad report`: the figures from the database on both backends, the page and its
images from the real command, its refusals, and the page drawn by headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from crawler.cli.main import cli
from crawler.reporting.charts import CHART_NAMES, build_charts, month_range, shorten
from crawler.reporting.filters import QuietRule, ReportFilters
from storage.coverage import coverage
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.records import ArticleFilter
from storage.stats import held_values
from tests.report_corpus import ORIGINAL, build
from tests.search_corpus import Doc, store
from tests.test_cli_errors import assert_refused, place  # noqa: F401 (a fixture)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def corpus(session: Session) -> dict[str, int]:
    return build(session)


def months(counts: Any, month: str) -> dict[str, int]:
    return {c.key: c.articles for c in counts if c.month == month}


# -- the figures, from the database ---------------------------------------------------------

def test_figures_of_the_whole_archive(session: Session, corpus: dict[str, int]) -> None:
    found = coverage(session)
    assert (found.articles, found.sightings, found.near_duplicates) == (11, 14, 1)
    assert (found.first_day, found.last_day) == ("2024-11-05", "2025-07-01")
    assert found.archive_articles == 11 and found.archive_last_day == "2025-07-01"
    assert months(found.by_country, "2025-05") == {"CN": 3, "KZ": 3}
    assert months(found.by_country, "2025-06")["KG"] == 2
    assert months(found.by_language, "2025-06") == {"en": 1, "zh": 2}
    assert months(found.by_theme, "2024-11") == {"energy": 1, "finance": 1}
    assert [(s.name, s.articles, s.last_article) for s in found.sources] == [
        ("Steppe Wire", 4, "2025-06-20"), ("丝路观察", 3, "2025-06-30"),
        ("Caravan Daily", 2, "2025-07-01"), ("Степь Новости", 2, "2025-04-11")]
    assert [(s.article_id, s.versions, s.sightings, s.sites) for s in found.reposted] == [
        (corpus["kz-rail"], 1, 3, 3), (corpus["pipeline"], 2, 2, 2), (corpus["tm-gas"], 1, 2, 2)]
    assert found.reposted[1].title == ORIGINAL.title and found.reposted[1].day == "2025-05-10"
    assert found.reposted[1].source == "Caravan Daily"


@pytest.mark.parametrize("filters, articles, reposted", [
    (ArticleFilter(country="TM"), 4, ["tm-gas"]),
    (ArticleFilter(theme="energy", since=date(2025, 1, 1)), 3, ["tm-gas"]),
    (ArticleFilter(until=date(2025, 4, 30)), 4, ["tm-gas"]),
    (ArticleFilter(country="KZ", theme="agriculture"), 2, ["pipeline"]),
    (ArticleFilter(country="JP"), 0, []),
])
def test_filters_apply_to_every_figure(session: Session, corpus: dict[str, int],
                                       filters: ArticleFilter, articles: int,
                                       reposted: list[str]) -> None:
    found = coverage(session, filters)
    assert found.articles == articles
    assert sum(c.articles for c in found.by_language) == articles
    assert sum(s.articles for s in found.sources) == articles
    assert [s.article_id for s in found.reposted] == [corpus[key] for key in reposted]
    assert found.archive_articles == 11  # the archive as a whole, whatever the filters
    assert len(found.sources) == 4  # every source, with none when none matches


def test_a_publication_date_after_the_last_crawl_is_not_the_archive_newest(
        session: Session, corpus: dict[str, int]) -> None:
    store(session, (Doc("future", "en", "A page from the future", "China and Kazakhstan "
                        "in 2031.", ("CN",), (), "Caravan Daily", "2031-01-01"),))
    found = coverage(session)
    assert found.last_day == "2031-01-01" and found.archive_last_day == "2025-07-01"


def test_an_empty_archive_has_empty_figures(session: Session) -> None:
    found = coverage(session)
    assert (found.articles, found.first_day, found.archive_last_day) == (0, None, None)
    assert found.by_country == () and found.sources == () and found.reposted == ()
    assert held_values(session, "countries") == ()


def test_tag_values(session: Session, corpus: dict[str, int]) -> None:
    assert set(held_values(session, "countries")) == {"CN", "KZ", "KG", "TJ", "TM", "UZ"}
    assert {"energy", "finance", "agriculture"} <= set(held_values(session, "themes"))


# -- charts, without a database -------------------------------------------------------------

@pytest.mark.parametrize("since, until, first, last", [
    ("2025", "2025", date(2025, 1, 1), date(2025, 12, 31)),
    ("2024-02", "2024-02", date(2024, 2, 1), date(2024, 2, 29)),
    ("2025-06-01", "2025-06-30", date(2025, 6, 1), date(2025, 6, 30)),
])
def test_report_takes_partial_dates(since: str, until: str, first: date, last: date) -> None:
    filters = ReportFilters.parse(since, until)
    assert (filters.since, filters.until) == (first, last)


def test_quiet_rule() -> None:
    rule = QuietRule.for_archive(30, "2025-07-01", None)
    assert rule.cutoff == date(2025, 6, 1)
    assert rule.is_quiet("2025-05-31") and not rule.is_quiet("2025-06-01")
    assert rule.is_quiet(None)
    assert QuietRule.for_archive(30, "2025-07-01", date(2025, 6, 15)).reference == date(2025, 6,
                                                                                         15)
    assert not QuietRule.for_archive(30, None, None).is_quiet("2020-01-01")


def test_month_range_and_titles() -> None:
    assert month_range("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    long = "Kazakhstan and China sign an agreement on the second line of the railway " * 2
    short = shorten(long)
    assert len(short) <= 60 and short.endswith("…") and short.startswith("Kazakhstan and")
    assert shorten("Rail deal") == "Rail deal" and shorten(None) == "(untitled)"


def test_charts_fill_months_and_mark_quiet_sources(session: Session,
                                                   corpus: dict[str, int]) -> None:
    found = coverage(session)
    charts = {c.name: c for c in build_charts(found,
                                              QuietRule.for_archive(30, "2025-07-01", None))}
    assert tuple(charts) == CHART_NAMES
    rows = charts["articles-by-country"].spec["data"]["values"]  # type: ignore[index]
    assert {"month": "2025-01", "country": "CN", "articles": 0} in rows  # a month with none
    sources = charts["sources-by-volume"].spec["data"]["values"]  # type: ignore[index]
    status = {row["source"]: row["status"] for row in sources}
    assert status == {"Steppe Wire": "active", "丝路观察": "active", "Caravan Daily": "active",
                      "Степь Новости": "quiet"}


# -- the command ----------------------------------------------------------------------------

def run_report(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["report", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def page_specs(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="chart-specs">(.*?)</script>',
                      html, re.S)
    assert found is not None
    return dict(json.loads(found.group(1)))


def assert_offline_page(html: str) -> None:
    assert re.findall(r"<script[^>]*\bsrc=", html) == []
    assert re.findall(r"""<link[^>]*href=["']?https?:""", html) == []
    assert "window.vegaEmbed" in html and "vegaEmbed(box" in html  # the library is inlined


def test_report_page(db_url: str, session: Session, corpus: dict[str, int],
                     tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = run_report("-o", str(out), "--db", db_url)
    assert f"written to {out}" in result.stdout and "6 of 6 charts drawn" in result.stdout
    html = out.read_text(encoding="utf-8")
    assert_offline_page(html)
    specs = page_specs(html)
    assert set(specs) == set(CHART_NAMES)
    assert all("vega-lite/v6" in spec["$schema"] for spec in specs.values())
    rows = specs["sources-by-volume"]["data"]["values"]
    volume = {row["source"]: row["articles"] for row in rows}
    assert volume == {"Steppe Wire": 4, "丝路观察": 3, "Caravan Daily": 2, "Степь Новости": 2}
    assert "all articles of the archive" in html and "Quiet: a source whose newest" in html
    assert ORIGINAL.title in html  # the most reposted stories' table


def test_report_filters_are_on_the_page(db_url: str, session: Session, corpus: dict[str, int],
                                        tmp_path: Path) -> None:
    out = tmp_path / "kz.html"
    run_report("-o", str(out), "--country", "kz", "--theme", "AGRICULTURE", "--since",
               "2025-01-01", "--db", db_url)
    html = out.read_text(encoding="utf-8")
    assert "dated 2025-01-01 or later, about country KZ, on theme agriculture" in html
    specs = page_specs(html)
    stacked = specs["articles-by-language"]["data"]["values"]
    assert sum(row["articles"] for row in stacked) == 2


@pytest.mark.parametrize("args, notice", [
    (["--since", "2030-01-01"], "No article matches the selection"),
    (["--country", "JP"], "No article matches the selection"),
])
def test_a_filter_that_matches_nothing_says_so(db_url: str, session: Session,
                                               corpus: dict[str, int], tmp_path: Path,
                                               args: list[str], notice: str) -> None:
    out = tmp_path / "none.html"
    result = run_report("-o", str(out), *args, "--db", db_url)
    assert "0 article(s)" in result.stdout and "0 of 6 charts drawn" in result.stdout
    html = out.read_text(encoding="utf-8")
    assert notice in html and page_specs(html) == {}


def test_an_empty_archive_gives_a_report_that_says_so(engine: Engine, db_url: str,
                                                      tmp_path: Path) -> None:
    out = tmp_path / "empty.html"
    run_report("-o", str(out), "--images", str(tmp_path / "img"), "--db", db_url)
    html = out.read_text(encoding="utf-8")
    assert "The archive holds no article yet" in html
    assert sorted(p.name for p in (tmp_path / "img").iterdir()) == []


@pytest.mark.slow
def test_report_images_for_slides(db_url: str, session: Session, corpus: dict[str, int],
                                  tmp_path: Path) -> None:
    images = tmp_path / "slides"
    result = run_report("-o", str(tmp_path / "r.html"), "--images", str(images), "--db", db_url)
    assert f"PNG and SVG of 6 chart(s) in {images}" in result.stdout
    assert sorted(p.name for p in images.iterdir()) == sorted(
        f"{name}.{ext}" for name in CHART_NAMES for ext in ("png", "svg"))
    for name in CHART_NAMES:
        png = (images / f"{name}.png").read_bytes()
        assert png.startswith(PNG_MAGIC) and len(png) > 10_000
        root = ET.parse(images / f"{name}.svg").getroot()
        assert root.tag.endswith("svg") and float(root.get("width", 0)) > 300
    svg_text = (images / "sources-by-volume.svg").read_text(encoding="utf-8")
    assert "Steppe Wire" in svg_text and "丝路观察" in svg_text
    # Again without --force: refused, the images left as they were.
    before = (images / "sources-by-volume.png").read_bytes()
    again = CliRunner().invoke(cli, ["report", "-o", str(tmp_path / "other.html"), "--images",
                                     str(images), "--db", db_url])
    assert again.exit_code == 2 and "already exists: add --force" in again.stderr
    assert (images / "sources-by-volume.png").read_bytes() == before
    assert not (tmp_path / "other.html").exists()


# -- refusals: one line, exit 2, nothing written -------------------------------------------

@pytest.fixture
def archive_place(place: dict[str, str]) -> dict[str, str]:  # noqa: F811
    engine = make_engine(place["db"])
    upgrade(engine)
    with Session(engine) as session:
        store(session)
    engine.dispose()
    (Path(place["tmp"]) / "old.html").write_text("an older report", encoding="utf-8")
    return place


@pytest.mark.parametrize("args, message", [
    (["--country", "XX"],
     "--country 'XX' is not one of the countries articles are tagged with (CN, KZ"),
    (["--theme", "nosuch"],
     "--theme 'nosuch' is not one of the themes articles are tagged with (trade, transport"),
    (["--since", "2025-13-01"], "not a date"),
    (["--until", "2025-6"], "--until: not a date (want YYYY, YYYY-MM or YYYY-MM-DD)"),
    (["--since", "2025-07", "--until", "2025-06"], "is after --until"),
    (["--since", "2025-06-01", "--until", "2025-01-01"], "is after --until"),
    (["--quiet-days", "0"], "--quiet-days"),
    (["-o", "{tmp}/missing/r.html"], "does not exist"),
    (["-o", "{tmp}"], "is a folder"),
    (["-o", "{tmp}/old.html"], "already exists: add --force"),
    (["--images", "{tmp}/ok.toml"], "is not a folder"),
    (["--images", "{tmp}/no/such/dir"], "does not exist"),
])
def test_bad_input_is_refused(archive_place: dict[str, str], args: list[str],
                              message: str) -> None:
    output = [] if "-o" in args else ["-o", "{tmp}/r.html"]
    assert_refused(["report", *output, *args, "--db", "{db}"], archive_place, message)
    assert (Path(archive_place["tmp"]) / "old.html").read_text() == "an older report"


def test_no_archive_is_refused(place: dict[str, str]) -> None:  # noqa: F811
    assert_refused(["report", "-o", "{tmp}/r.html"], place, "no archive at")


# -- in a real browser ----------------------------------------------------------------------

@pytest.mark.skipif(not Path(CHROMIUM).exists(),
                    reason="Chromium is not installed (.ci/run installs Debian's chromium)")
def test_the_report_draws_its_charts_in_chromium(sqlite_url: str, tmp_path: Path) -> None:
    """Offline: the page is opened from a file, with the network switched off."""
    engine = make_engine(sqlite_url)
    upgrade(engine)
    with Session(engine) as session:
        build(session)
    engine.dispose()
    out = tmp_path / "report.html"
    run_report("-o", str(out), "--db", sqlite_url)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
             "--proxy-server=127.0.0.1:9", "--virtual-time-budget=15000"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", out.as_uri()], capture_output=True,
                         text=True, timeout=120).stdout
    assert 'data-charts-rendered="6"' in dom, dom[-3000:]
    charts = re.findall(r'<div class="chart[^"]*" data-chart="([\w-]+)"[^>]*>(.*?)</svg>', dom,
                        re.S)
    assert sorted(name for name, _ in charts) == sorted(CHART_NAMES)
    assert all('class="marks"' in body and "<path" in body for _, body in charts)
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *flags, "--window-size=1400,1600", f"--screenshot={shot}",
                    out.as_uri()], capture_output=True, timeout=120)
    png = shot.read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 50_000  # a blank page is a few kB
