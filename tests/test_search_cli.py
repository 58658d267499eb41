"""`silkroad search`, `show` and `stats` as users run them.

The acceptance cases run the real command in a subprocess; the formatting
details run in-process through Click's runner, which is much quicker.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from crawler.analysis.topic_vocabulary import profile_tags
from crawler.cli.demo_cmd import show_run_articles
from crawler.cli.main import cli as silkroad
from storage.records import RECORD_FIELDS
from tests.search_corpus import BY_KEY, DOCS, keys_for, store
from tests.support import run_cli


@pytest.fixture
def archive(db_url: str, session: Session) -> dict[str, int]:
    ids = store(session)
    session.close()
    return ids


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(silkroad, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


# --- acceptance, in a subprocess ----------------------------------------------------------

def test_search_chinese_central_asia_json(db_url: str, archive: dict[str, int]) -> None:
    result = run_cli("search", "中亚", "--format", "json", "--db", db_url)
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    expected = {d.key for d in DOCS if d.language == "zh" and "中亚" in d.title + d.text}
    assert keys_for(archive, [r["id"] for r in records]) == expected == {"cku-rail", "summit"}
    for record in records:
        assert set(RECORD_FIELDS) | {"score", "snippet"} == set(record)
        assert record["language"] == "zh" and "**中亚**" in record["snippet"]
    assert [r["score"] for r in records] == sorted((r["score"] for r in records), reverse=True)


def test_search_pipeline_in_turkmenistan_json(db_url: str, archive: dict[str, int]) -> None:
    result = run_cli("search", "pipeline", "--country", "TM", "--format", "json", "--db", db_url)
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert keys_for(archive, [r["id"] for r in records]) == {"tm-gas"}
    assert all("TM" in r["countries"] and "pipeline" in r["text"] for r in records)


def test_search_phrase_finds_its_phrase(db_url: str, archive: dict[str, int]) -> None:
    result = run_cli("search", '"gas pipeline"', "--format", "json", "--db", db_url)
    records = json.loads(result.stdout)
    assert keys_for(archive, [r["id"] for r in records]) == {"tm-gas"}
    assert "**gas pipeline**" in records[0]["snippet"]


def test_search_and_not_excludes(db_url: str, archive: dict[str, int]) -> None:
    result = run_cli("search", "China AND NOT Kazakhstan", "--format", "json", "--db", db_url)
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert keys_for(archive, [r["id"] for r in records]) == {"tm-gas"}
    assert not any("Kazakhstan" in r["title"] + r["text"] for r in records)


LEAKS = ("Traceback", "fts5", "sqlite", "syntax error", "OperationalError", "tsquery",
         "psycopg", "ProgrammingError")


@pytest.mark.parametrize("query", ['"unclosed', "NOT oil"])
def test_malformed_query_exits_2_with_one_line(db_url: str, archive: dict[str, int],
                                               query: str) -> None:
    result = run_cli("search", query, "--db", db_url)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:")
    assert not any(leak in result.stderr for leak in LEAKS)


# --- formats and the other commands, in-process ---------------------------------------------

def test_search_table_shows_titles_and_count(db_url: str, archive: dict[str, int]) -> None:
    code, out, _ = invoke("search", "Ashgabat", "--db", db_url)
    assert code == 0
    assert "2 match(es)" in out
    assert BY_KEY["tm-gas"].title[:30] in out.replace("\n", " ") or "Turkmenistan" in out
    assert "Chinese painters" in out


def test_search_no_matches(db_url: str, archive: dict[str, int]) -> None:
    code, out, err = invoke("search", "nothingmatchesthis", "--db", db_url)
    assert (code, out) == (0, "") and "No matches" in err


def test_search_csv_is_formula_safe(db_url: str, session: Session) -> None:
    store(session, (replace(BY_KEY["kz-rail"], title="=HYPERLINK(\"http://evil\") railway"),))
    code, out, _ = invoke("search", "railway", "--format", "csv", "--db", db_url)
    assert code == 0
    header, row = list(csv.reader(io.StringIO(out)))
    assert header == [*RECORD_FIELDS, "score", "snippet"]
    assert row[header.index("title")].startswith("'=")
    assert "**Railways**" in row[header.index("snippet")]


@pytest.mark.parametrize("args, expected", [
    (["--lang", "ru"], {"ru-rail"}),
    (["--source", "Steppe Wire"], {"kz-rail"}),
    (["--since", "2025-03-01"], {"kz-rail"}),
    (["--until", "2025-03-01"], {"ru-rail"}),
    (["--since", "2025-03"], {"kz-rail"}),
    (["--since", "2025-05", "--until", "2025-05"], {"kz-rail"}),  # 2 May is in May
    (["--until", "2025-02"], {"ru-rail"}),  # 8 February: through the month's last day
    (["--since", "2025", "--until", "2025"], {"kz-rail", "ru-rail"}),
    (["--until", "2024"], set()),
    (["--since", "2026"], set()),
    (["--theme", "trade"], {"kz-rail"}),
    (["--limit", "1", "--lang", "en"], {"kz-rail"}),
])
def test_search_filter_options(db_url: str, archive: dict[str, int], args: list[str],
                               expected: set[str]) -> None:
    code, out, err = invoke("search", "Khorgos OR Хоргос", "--format", "json", "--db", db_url,
                            *args)
    assert code == 0, err
    assert keys_for(archive, [r["id"] for r in json.loads(out)]) == expected


def test_export_takes_partial_dates(db_url: str, archive: dict[str, int]) -> None:
    code, out, err = invoke("export", "--since", "2025-06", "--until", "2025-06", "--db", db_url)
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    june = {d.key for d in DOCS if d.published.startswith("2025-06")}
    assert keys_for(archive, [r["id"] for r in records]) == june == {"uz-water", "cku-rail",
                                                                     "summit"}


@pytest.mark.parametrize("lang, expected", [
    ("zh", {"cku-rail", "summit", "aiib", "tw-rail"}),
    ("ZH", {"cku-rail", "summit", "aiib", "tw-rail"}),
    ("zh-Hant", {"tw-rail"}),
    ("zh-hant", {"tw-rail"}),
])
def test_lang_zh_is_every_chinese(db_url: str, session: Session, lang: str,
                                  expected: set[str]) -> None:
    traditional = replace(BY_KEY["summit"], key="tw-rail", language="zh-Hant",
                          title="中吉烏鐵路動工", text="中吉烏鐵路今年夏天動工。")
    ids = store(session, (*DOCS, traditional))
    session.close()
    code, out, err = invoke("export", "--lang", lang, "--db", db_url)
    assert code == 0, err
    assert keys_for(ids, [json.loads(line)["id"] for line in out.splitlines()]) == expected
    code, _, err = invoke("export", "--lang", "zh-Hans", "--db", db_url)
    assert code == 2 and "languages: en, ru, zh, zh-Hant)" in err


@pytest.mark.parametrize("query", ["AND", "pipeline OR", "(pipeline", "pipeline)", "", "*",
                                   "()", "a NOT NOT b", '"gas" "pipe'])
def test_every_malformed_query_is_one_line(db_url: str, archive: dict[str, int],
                                           query: str) -> None:
    code, out, err = invoke("search", query, "--db", db_url)
    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1 and err.startswith("Error:")
    assert not any(leak in err for leak in LEAKS)


@pytest.mark.parametrize("args, message", [
    (["--since", "yesterday"], "not a date"),
    (["--limit", "0"], "0"),
])
def test_search_bad_options_exit_2(db_url: str, archive: dict[str, int], args: list[str],
                                   message: str) -> None:
    code, _, err = invoke("search", "pipeline", "--db", db_url, *args)
    assert code == 2 and message in err


def test_show_json_and_table(db_url: str, archive: dict[str, int]) -> None:
    code, out, _ = invoke("show", str(archive["cku-rail"]), "--format", "json", "--db", db_url)
    assert code == 0
    detail = json.loads(out)
    assert detail["title"] == BY_KEY["cku-rail"].title
    assert detail["site"] == detail["source"] == BY_KEY["cku-rail"].source
    [sighting] = detail["sightings"]
    assert sighting["url"] == BY_KEY["cku-rail"].url and sighting["first_run_id"] == 1
    [snapshot] = sighting["snapshots"]
    assert snapshot["status"] == 200 and snapshot["recorded"] and snapshot["size"] > 0
    code, out, _ = invoke("show", str(archive["cku-rail"]), "--db", db_url)
    assert code == 0
    assert BY_KEY["cku-rail"].title in out and "HTTP 200" in out and "recorded from" in out


def test_show_unknown_id_exits_2(db_url: str, archive: dict[str, int]) -> None:
    code, _, err = invoke("show", "9999", "--db", db_url)
    assert code == 2 and "no article with id 9999" in err


def test_stats_json_and_table(db_url: str, archive: dict[str, int]) -> None:
    code, out, _ = invoke("stats", "--format", "json", "--db", db_url)
    assert code == 0
    stats = json.loads(out)
    assert stats["totals"]["articles"] == len(DOCS)
    assert stats["by_language"] == {"en": 4, "zh": 3, "ru": 2}
    assert stats["by_country"]["KZ"] == sum("KZ" in d.countries for d in DOCS)
    assert stats["database_bytes"] > 0
    code, out, _ = invoke("stats", "--db", db_url)
    assert code == 0 and "By country" in out and "丝路观察" in out
    assert ("file size" if db_url.startswith("sqlite") else "database size") in out


@pytest.mark.parametrize("command", ["search", "show", "stats", "browse"])
def test_help_has_an_example(command: str) -> None:
    code, out, _ = invoke(command, "--help")
    assert code == 0 and "Example:" in out


@pytest.mark.parametrize("command", ["search", "export"])
def test_help_lists_the_themes_and_date_forms(command: str) -> None:
    code, out, _ = invoke(command, "--help")
    flat = " ".join(out.split())
    assert code == 0 and "YYYY, YYYY-MM or YYYY-MM-DD" in flat
    assert all(theme in flat for theme in profile_tags().themes)


def test_demo_table_shows_whole_titles(db_url: str, archive: dict[str, int],
                                       capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    show_run_articles(db_url, {})
    out = capsys.readouterr().out
    assert len(BY_KEY["tm-gas"].title) > 48 and BY_KEY["tm-gas"].title in out
