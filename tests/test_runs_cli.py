"""Run history and per-source health: `silkroad runs`, `silkroad health`, storage.health."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from crawler.cli.main import cli
from crawler.demo.loopback_web import LoopbackWeb
from storage.archive import finish_run, start_run
from storage.health import HealthPolicy, RunStats, assess, assess_archive, source_counts
from tests.support import FIXTURES, run_crawl, write_seeds

SCHED_WEB = FIXTURES / "webs" / "sched"
Counts = Mapping[str, int]


def runs_of(*series: Mapping[str, Counts], seeds_file: str = "/seeds.toml") -> list[RunStats]:
    """One RunStats per element: each maps source name -> its counters in that run."""
    start = datetime(2026, 1, 1)
    return [RunStats(i + 1, start + timedelta(hours=i), seeds_file, dict(sources))
            for i, sources in enumerate(series)]


def problem_codes(runs: list[RunStats], source: str = "S",
                  policy: HealthPolicy | None = None) -> list[str]:
    [health] = [h for h in assess(runs, policy) if h.source == source]
    return [p.code for p in health.problems]


GOOD: Counts = {"fetched": 6, "archived": 2, "no_article": 2}
QUIET: Counts = {"fetched": 6, "no_article": 2, "duplicates": 1}  # fetched fine, nothing new
NOTHING: Counts = {}  # the source fetched nothing at all (no counter in the run)


@pytest.mark.parametrize(("series", "codes"), [
    ([GOOD] * 4, []),
    ([GOOD, QUIET, QUIET], []),  # two quiet runs are normal for a slow site
    ([GOOD, QUIET, QUIET, QUIET], ["stale"]),
    ([GOOD, QUIET, QUIET, QUIET, GOOD], []),  # it came back
    ([QUIET] * 5, []),  # never had an article here: nothing to miss
    ([GOOD, NOTHING, NOTHING], ["unreachable"]),
    ([GOOD, QUIET, NOTHING, NOTHING, NOTHING], ["unreachable"]),  # not also "stale"
    ([GOOD, GOOD, NOTHING], []),  # one bad run is not a trend
    ([GOOD, {"http_errors": 3}, {"http_errors": 3}], ["unreachable"]),
    ([{"robots_denied": 4}, {"robots_denied": 4}], ["unreachable"]),  # shut out from the start
    ([GOOD, {"fetched": 1, "http_errors": 4}, {"fetched": 2, "robots_denied": 3}], ["failing"]),
    ([GOOD, {"fetched": 4, "http_errors": 1}, {"fetched": 4, "fetch_errors": 1}], []),
    ([GOOD, GOOD, {"fetched": 1, "http_errors": 9}], []),
    ([{"fetched": 10, "archived": 1, "no_article": 9}], ["extraction"]),
    ([{"fetched": 10, "archived": 1, "no_article": 4, "analysis_errors": 4}], ["extraction"]),
    ([{"fetched": 4, "no_article": 4}], []),  # too few pages to judge
    ([{"fetched": 10, "archived": 1, "no_article": 9}, GOOD, GOOD, GOOD], []),  # old news
    ([{"fetched": 5, "archived": 4, "undated": 3}], ["undated"]),
    ([{"fetched": 5, "archived": 2, "undated": 2}], []),  # too few articles to judge
    ([{"fetched": 10, "archived": 4, "undated": 4, "no_article": 6},
      {"fetched": 10, "archived": 0, "no_article": 10}], ["extraction", "undated"]),
])
def test_assess_flags_what_went_wrong(series: list[Counts], codes: list[str]) -> None:
    assert problem_codes(runs_of(*({"S": c} if c else {"Other": GOOD} for c in series))) == codes


@pytest.mark.parametrize(("policy", "codes"), [
    (HealthPolicy(), []),
    (HealthPolicy(stale_runs=2), ["stale"]),
    (HealthPolicy(failing_runs=1), ["unreachable"]),
])
def test_policy_thresholds(policy: HealthPolicy, codes: list[str]) -> None:
    runs = runs_of({"S": GOOD}, {"S": QUIET}, {"Other": GOOD})
    assert problem_codes(runs, policy=policy) == codes


def test_messages_say_what_and_how_much() -> None:
    runs = runs_of({"S": GOOD}, {"S": {"http_errors": 3}}, {"S": {"http_errors": 2,
                                                                  "robots_denied": 1}})
    [health] = assess(runs)
    assert not health.healthy
    [problem] = health.problems
    assert problem.message == ("no page fetched in the last 2 runs (it used to fetch 6): "
                               "5 HTTP errors (4xx/5xx), 1 robots.txt denials")
    assert health.as_dict()["problems"] == [{"code": "unreachable", "message": problem.message}]
    assert (health.runs, health.last_run_id) == (3, 3)


def test_a_source_is_judged_on_the_runs_of_its_own_seeds_file() -> None:
    runs = (runs_of({"S": GOOD}, {"S": GOOD}, seeds_file="/a.toml")
            + runs_of({"T": GOOD}, {"T": GOOD}, {"T": GOOD}, seeds_file="/b.toml"))
    runs = [RunStats(i + 1, run.started_at + timedelta(days=i), run.seeds_file, run.sources)
            for i, run in enumerate(runs)]
    report = {h.source: h for h in assess(runs)}
    assert report["S"].healthy and report["S"].runs == 2
    assert report["T"].healthy and report["T"].runs == 3
    assert [h.source for h in assess(runs, sources=["T", "Unknown"])] == ["T"]


@pytest.mark.parametrize(("stats", "expected"), [
    ({}, {}),
    ({"silkroad/source/CGTN/fetched": 4, "silkroad/source/CGTN/archived": 1},
     {"CGTN": {"fetched": 4, "archived": 1}}),
    ({"silkroad/source/24.kg/fetched": 2.0}, {"24.kg": {"fetched": 2}}),
    ({"silkroad/source/A/B/fetched": 3}, {"A/B": {"fetched": 3}}),  # a slash in the name
    ({"silkroad/source/X/outcome": "ok", "silkroad/pages_fetched": 9,
      "silkroad/source/fetched": 1}, {}),
])
def test_source_counts(stats: dict[str, Any], expected: dict[str, dict[str, int]]) -> None:
    assert source_counts(stats) == expected


# -- the archive's runs -------------------------------------------------------------------


def add_run(session: Session, *, trigger: str = "schedule", outcome: str = "ok",
            sources: Mapping[str, Counts] | None = None, seeds_file: str = "/seeds.toml",
            exit_status: int | None = 0) -> int:
    run = start_run(session, trigger=trigger, seeds_file=seeds_file, pid=4242)
    if outcome != "running":
        sources = sources or {}
        stats: dict[str, Any] = {f"silkroad/source/{name}/{key}": value
                                 for name, counts in sources.items()
                                 for key, value in counts.items()}
        totals = {key: sum(c.get(key, 0) for c in sources.values())
                  for key in ("fetched", "archived", "duplicates", "off_topic", "errors")}
        finish_run(session, run.id, outcome=outcome, exit_status=exit_status, counts=totals,
                   stats={**stats, "close_reason": "finished" if outcome == "ok" else "shutdown"})
    return run.id


@pytest.fixture
def history(engine: Engine) -> Iterator[list[int]]:
    """Steppe stays fine; Caravan went quiet after its first run, then vanished."""
    with Session(engine) as session, session.begin():
        ids = [
            add_run(session, trigger="manual", sources={"Steppe": GOOD, "Caravan": GOOD}),
            add_run(session, sources={"Steppe": GOOD, "Caravan": QUIET}),
            add_run(session, outcome="interrupted", exit_status=1, sources={"Steppe": QUIET}),
            add_run(session, sources={"Steppe": GOOD}),
            add_run(session, sources={"Steppe": GOOD}),
            add_run(session, outcome="running", exit_status=None),
        ]
    yield ids


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"})


def test_assess_archive_ignores_incomplete_runs(engine: Engine, history: list[int]) -> None:
    with Session(engine) as session:
        report = {h.source: h for h in assess_archive(session)}
    assert report["Steppe"].healthy and report["Steppe"].runs == 4
    assert [p.code for p in report["Caravan"].problems] == ["unreachable"]
    assert report["Caravan"].runs == 4 and report["Caravan"].last_run_id == history[4]


def test_runs_json_shows_every_run_newest_first(db_url: str, history: list[int]) -> None:
    result = invoke("runs", "--format", "json", "--db", db_url)
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [r["id"] for r in records] == history[::-1]
    assert [(r["trigger"], r["outcome"], r["exit_status"]) for r in records] == [
        ("schedule", "running", None), ("schedule", "ok", 0), ("schedule", "ok", 0),
        ("schedule", "interrupted", 1), ("schedule", "ok", 0), ("manual", "ok", 0)]
    first = records[-1]
    assert first["counts"] == {"fetched": 12, "archived": 4, "duplicates": 0, "off_topic": 0,
                               "errors": 0}
    assert first["sources"] == {"Steppe": dict(GOOD), "Caravan": dict(GOOD)}
    assert first["close_reason"] == "finished" and first["seeds_file"] == "/seeds.toml"
    assert first["duration_seconds"] >= 0 and first["started_at"].endswith("Z")
    assert records[0]["finished_at"] is None and records[0]["duration_seconds"] is None


def test_runs_limit_and_table(db_url: str, history: list[int]) -> None:
    result = invoke("runs", "--limit", "2", "--db", db_url)
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()
            if line.split() and line.split()[0].isdigit()}
    assert sorted(rows) == sorted([str(history[5]), str(history[4])])
    assert "running" in rows[str(history[5])] and "ok" in rows[str(history[4])]
    assert rows[str(history[4])][-5:] == ["6", "2", "0", "0", "0"]


def test_runs_on_an_empty_archive(db_url: str) -> None:
    assert invoke("db", "upgrade", "--db", db_url).exit_code == 0
    assert "No crawl runs yet." in invoke("runs", "--db", db_url).stdout
    assert json.loads(invoke("runs", "--format", "json", "--db", db_url).stdout) == []
    assert "No source has been crawled yet." in invoke("health", "--db", db_url).stdout


def test_health_reports_and_strict_exits_1(db_url: str, history: list[int]) -> None:
    table = invoke("health", "--db", db_url)
    assert table.exit_code == 0, table.output
    assert "UNHEALTHY" in table.stdout and "no page fetched in the last 2 runs" in table.stdout
    assert "1 of 2 source(s) unhealthy: Caravan" in table.stdout
    strict = invoke("health", "--strict", "--format", "json", "--db", db_url)
    assert strict.exit_code == 1
    report = {h["source"]: h for h in json.loads(strict.stdout)}
    assert report["Steppe"]["healthy"] and not report["Caravan"]["healthy"]
    combined = invoke("runs", "--health", "--format", "json", "--db", db_url)
    assert combined.exit_code == 0
    payload = json.loads(combined.stdout)
    assert len(payload["runs"]) == len(history)
    assert {h["source"] for h in payload["health"]} == {"Steppe", "Caravan"}


def test_health_of_one_seeds_file(db_url: str, history: list[int], tmp_path: Path) -> None:
    seeds = tmp_path / "steppe.toml"
    seeds.write_text('[[sources]]\nname = "Steppe"\nurls = ["http://127.0.0.1/"]\n',
                     encoding="utf-8")
    result = invoke("health", "--strict", "--seeds", str(seeds), "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "Steppe" in result.stdout and "Caravan" not in result.stdout


@pytest.mark.parametrize("command", [["schedule"], ["runs"], ["health"]])
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout and "silkroad " + command[0] in result.stdout


# -- real crawls --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def web() -> Iterator[LoopbackWeb]:
    with LoopbackWeb.from_directory(SCHED_WEB) as served:
        yield served


@pytest.mark.slow
def test_health_of_real_crawls_flags_a_site_that_went_down(web: LoopbackWeb, tmp_path: Path,
                                                           db_url: str) -> None:
    seeds = write_seeds(web, SCHED_WEB / "sources.toml", tmp_path / "sources.toml")
    first = run_crawl(seeds, db_url)
    assert first.returncode == 0, first.stderr[-3000:]
    web.set_override("tashkent", "/", status=503)
    try:
        for _ in range(2):
            again = run_crawl(seeds, db_url)
            assert again.returncode == 0, again.stderr[-3000:]
    finally:
        web.clear_override("tashkent", "/")

    result = invoke("runs", "--health", "--strict", "--format", "json", "--db", db_url)
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    oldest = payload["runs"][-1]
    assert oldest["counts"] == {"fetched": 9, "archived": 4, "duplicates": 1, "off_topic": 0,
                                "errors": 0}
    sources = oldest["sources"]
    assert {name: (c["fetched"], c["no_article"]) for name, c in sources.items()} == {
        "Dostyk Dispatch": (4, 2), "Tashkent Trade Wire": (5, 2)}
    # Which copy of the syndicated article comes first depends on the crawl's timing.
    assert sum(c.get("archived", 0) for c in sources.values()) == 4
    assert sum(c.get("duplicates", 0) for c in sources.values()) == 1
    health = {h["source"]: h for h in payload["health"]}
    assert health["Dostyk Dispatch"]["healthy"]
    [problem] = health["Tashkent Trade Wire"]["problems"]
    assert problem["code"] == "unreachable"
    assert problem["message"].startswith("no page fetched in the last 2 runs (it used to fetch 5)")
