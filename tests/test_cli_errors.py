"""Bad input at the edge: every command answers a user mistake with one line on
stderr and exit status 2, no traceback, and writes nothing (no database, no
output file) in the folder it ran in."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from crawler.cli.export_cmd import FORMULA_PREFIXES, csv_safe
from crawler.cli.main import cli
from storage.engine import make_engine
from storage.migrate import upgrade
from tests.support import run_cli, store_one_article

# Every command, with what it needs to get as far as its options.
COMMANDS = {
    "crawl": ["crawl", "--seeds", "{seeds}"], "demo": ["demo"], "search": ["search", "x"],
    "show": ["show", "1"], "export": ["export"], "stats": ["stats"], "runs": ["runs"],
    "health": ["health"], "schedule": ["schedule", "--every", "1h", "--seeds", "{seeds}"],
    "browse": ["browse"], "import-warc": ["import-warc", "{warc}"], "reprocess": ["reprocess"],
    "db upgrade": ["db", "upgrade"],
    "report": ["report", "-o", "{tmp}/report.html"],
}
GOOD_SEEDS = '[[sources]]\nname = "A"\nurls = ["http://127.0.0.1:9/"]\n'
CLICK_USAGE = ("Usage:", "Try '")


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A folder to run in, with a good seeds file and a WARC path; nothing else."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SILKROAD_DB", raising=False)
    (tmp_path / "ok.toml").write_text(GOOD_SEEDS, encoding="utf-8")
    return {"seeds": str(tmp_path / "ok.toml"), "warc": str(tmp_path / "ok.toml"),
            "db": f"sqlite:///{tmp_path / 'archive.sqlite'}", "tmp": str(tmp_path)}


def listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def invoke(args: list[str], place: dict[str, str], env: dict[str, str] | None = None) -> Result:
    filled = [arg.format(**place) for arg in args]
    return CliRunner().invoke(cli, filled, env={"COLUMNS": "200", **(env or {})})


def assert_refused(args: list[str], place: dict[str, str], message: str,
                   env: dict[str, str] | None = None) -> Result:
    folder = Path(place["tmp"])
    before = listing(folder)
    result = invoke(args, place, env)
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert all(line.startswith(CLICK_USAGE) for line in lines if line not in errors), lines
    assert "Traceback" not in result.output
    assert listing(folder) == before, "a failing command wrote files"
    return result


# -- unknown flags and bad values ---------------------------------------------------------

@pytest.mark.parametrize("command", [*COMMANDS.values(), []], ids=[*COMMANDS, "silkroad"])
def test_unknown_flags(place: dict[str, str], command: list[str]) -> None:
    assert_refused([*command, "--bogus"], place, "No such option")


@pytest.mark.parametrize("args, message", [
    (["search", "x", "--since", "2025-13-01"], "not a date"),
    (["search", "x", "--until", "yesterday"], "--until: not a date (want YYYY, YYYY-MM or "
                                              "YYYY-MM-DD): 'yesterday'"),
    (["search", "x", "--since", "2025-6"], "want YYYY, YYYY-MM or YYYY-MM-DD"),
    (["search", "x", "--since", "2025-13"], "not a date"),
    (["export", "--since", "25"], "not a date"),
    (["search", "x", "--since", "2025-07", "--until", "2025-06"], "is after --until"),
    (["export", "--since", "2025-02-30"], "not a date"),
    (["export", "--since", "2025-06-01", "--until", "2025-01-01"], "is after --until"),
    (["reprocess", "--since", "01/02/2025"], "not a date"),
    (["export", "--country", "Kazakhstan"], "ISO 3166 alpha-2"),
    (["search", "x", "--country", "K"], "ISO 3166 alpha-2"),
    (["export", "--lang", "English please"], "language code"),
    (["export", "--format", "warc"], "give --output"),
    (["export", "--format", "warc", "-o", "{tmp}/a.warc.gz", "--country", "KZ"],
     "--country cannot apply"),
    (["export", "-o", "{tmp}/missing/a.jsonl"], "does not exist"),
    (["export", "-o", "{tmp}"], "is a folder"),
    (["export", "--format", "xml"], "Invalid value for '--format'"),
    (["crawl", "--seeds", "{seeds}", "-s", "NOEQUALS"], "-s wants NAME=VALUE"),
    (["crawl", "--seeds", "{seeds}", "--max-pages", "0"], "--max-pages"),
    (["crawl", "--seeds", "{seeds}", "--depth", "-1"], "--depth"),
    (["schedule", "--every", "banana", "--seeds", "{seeds}"], "not a duration"),
    (["schedule", "--cron", "99 * * * *", "--seeds", "{seeds}"], "not a cron expression"),
    (["runs", "--limit", "0"], "--limit"),
    (["search", ""], "empty query"),
    (["search", '"unbalanced'], "unbalanced quote"),
    (["show", "abc"], "not a valid integer"),
    (["browse", "--port", "99999"], "--port"),
])
def test_bad_values(place: dict[str, str], args: list[str], message: str) -> None:
    assert_refused([*args, "--db", "{db}"] if args[0] != "crawl" else args, place, message)


@pytest.mark.parametrize("url, message", [
    ("postgresql://x", "no database name in 'postgresql://x'"),
    ("mysql://u@h/db", "unsupported database 'mysql'"),
    ("sqlite:////nonexistent/dir/a.db", "folder /nonexistent/dir does not exist"),
    ("not a url::", "not a database URL or file path"),
    ("sqlite:relative.db", "not a database URL or file path"),
    ("", "--db is empty"),
])
@pytest.mark.parametrize("command", list(COMMANDS.values()), ids=list(COMMANDS))
def test_bad_database_urls(place: dict[str, str], command: list[str], url: str,
                           message: str) -> None:
    assert_refused([*command, "--db", url], place, message)


def test_a_bad_database_url_in_the_environment(place: dict[str, str]) -> None:
    assert_refused(["runs"], place, "unsupported database", env={"SILKROAD_DB": "mysql://x/y"})


# -- seeds files ----------------------------------------------------------------------------

BAD_SEEDS: list[tuple[bytes | None, str]] = [
    (None, "seeds file not found"),
    (b"\xff\xfe\x00[", "is not UTF-8 text"),
    (b"sources = [", "malformed TOML"),
    (b'title = "no sources"', "has no"),
    (b'[[sources]]\nurls = ["http://a.example/"]', "needs a non-empty `name`"),
    (b'[[sources]]\nname = "A"', "needs at least one of urls, feeds, sitemaps"),
    (b'[[sources]]\nname = "A"\nurls = ["file:///etc/passwd"]', "not an http(s) URL"),
    (b'[[sources]]\nname = "A"\nurls = ["javascript:alert(1)"]', "not an http(s) URL"),
    (b'[[sources]]\nname = "A"\nurls = ["http://a.example/"]\nfeeds = ["ftp://a.example/f"]',
     "not an http(s) URL"),
    (b'[[sources]]\nname = "A"\nurls = ["http://a.example/"]\nfeed = []', "unknown key(s) feed"),
    (b'[[sources]]\nname = "A"\nurls = ["http://a.example/"]\n'
     b'[[sources]]\nname = "A"\nurls = ["http://b.example/"]', "must be unique"),
    (b'[[sources]]\nname = "A"\nurls = ["http://a.example/"]\nallowed_domains = "a.example"',
     "must be a list of host names"),
]


@pytest.mark.parametrize("content, message", BAD_SEEDS,
                         ids=[m.split()[0] + str(i) for i, (_, m) in enumerate(BAD_SEEDS)])
@pytest.mark.parametrize("command", [
    ["crawl", "--seeds", "{tmp}/bad.toml"],
    ["schedule", "--every", "1h", "--seeds", "{tmp}/bad.toml"],
    ["health", "--seeds", "{tmp}/bad.toml"],
], ids=["crawl", "schedule", "health"])
def test_missing_or_malformed_seeds(place: dict[str, str], command: list[str],
                                    content: bytes | None, message: str) -> None:
    if content is not None:
        (Path(place["tmp"]) / "bad.toml").write_bytes(content)
    assert_refused([*command, "--db", "{db}"], place, message)


def test_a_folder_as_seeds_file(place: dict[str, str]) -> None:
    (Path(place["tmp"]) / "seeds.d").mkdir()
    assert_refused(["crawl", "--seeds", "{tmp}/seeds.d", "--db", "{db}"], place,
                   "cannot read seeds file")


def test_error_messages_are_printed_verbatim(place: dict[str, str]) -> None:
    (Path(place["tmp"]) / "bad.toml").write_text('title = "x"')
    assert_refused(["crawl", "--seeds", "{tmp}/bad.toml"], place, "no [[sources]] tables")


# -- unknown sources ---------------------------------------------------------------------

@pytest.fixture
def archive(place: dict[str, str]) -> dict[str, str]:
    """An archive holding one article of source 'Steppe Wire', its title a formula."""
    engine = make_engine(place["db"])
    upgrade(engine)
    store_one_article(engine, title='=HYPERLINK("http://evil.example","rail")',
                      author="@author")
    engine.dispose()
    return place


@pytest.mark.parametrize("name", ["Nope", "steppe wire", "x' OR '1'='1", "%"])
def test_export_of_an_unknown_source_is_an_error(archive: dict[str, str], name: str) -> None:
    result = assert_refused(["export", "--source", name, "-o", "{tmp}/out.jsonl",
                             "--db", "{db}"], archive, f"no source named {name!r}")
    assert "'Steppe Wire'" in result.stderr


def test_export_of_a_known_source(archive: dict[str, str]) -> None:
    result = invoke(["export", "--source", "Steppe Wire", "--db", "{db}"], archive)
    assert result.exit_code == 0 and result.stdout.count("\n") == 1


def test_search_of_an_unknown_source_is_an_error(archive: dict[str, str]) -> None:
    assert_refused(["search", "rail", "--source", "Nope", "--db", "{db}"], archive,
                   "no source named 'Nope'")


def test_reprocess_of_an_unknown_source_is_an_error(archive: dict[str, str]) -> None:
    assert_refused(["reprocess", "--source", "Nope", "--db", "{db}"], archive, "Nope")


@pytest.mark.parametrize("args, message, valid", [
    (["search", "rail", "--theme", "nosuch"], "--theme 'nosuch' is not one of the themes",
     "trade, transport, energy"),
    (["export", "--theme", "Transportation"], "'transportation' is not one of the themes",
     "migration"),
    (["search", "rail", "--country", "XX"], "--country 'XX' is not one of the countries",
     "CN, KZ, KG, TJ, TM, UZ"),
    (["export", "--lang", "xx"], "--lang 'xx': no article in that language", "languages: en)"),
    (["search", "rail", "--lang", "zh"], "--lang 'zh': no article", "languages: en)"),
])
def test_unknown_filter_values_list_the_valid_ones(archive: dict[str, str], args: list[str],
                                                   message: str, valid: str) -> None:
    result = assert_refused([*args, "--db", "{db}"], archive, message)
    assert valid in result.stderr


@pytest.mark.parametrize("args", [
    ["--theme", "migration"],  # in the topic profile, held by no article yet
    ["--theme", "TRANSPORT"], ["--country", "kz"], ["--country", "CA"], ["--lang", "EN"],
])
def test_known_filter_values_are_accepted(archive: dict[str, str], args: list[str]) -> None:
    result = invoke(["export", *args, "--db", "{db}"], archive)
    assert result.exit_code == 0, result.output


def test_import_of_a_missing_warc_writes_nothing(place: dict[str, str]) -> None:
    assert_refused(["import-warc", "{tmp}/missing.warc.gz", "--db", "{db}"], place,
                   "not found")


# -- reading never writes -------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["runs"], ["health"], ["search", "rail"], ["stats", "--format", "json"], ["export"],
    ["show", "1"],
], ids=lambda args: args[0])
def test_reading_a_missing_archive_is_an_error_without_a_file(place: dict[str, str],
                                                              args: list[str]) -> None:
    """Not "No matches." from an empty archive: that would hide a mistyped --db."""
    assert_refused([*args, "--db", "{db}"], place, "no archive at")


# -- CSV is formula-safe ---------------------------------------------------------------------

@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx",
                                   "\uff1d1+1", "\uff0bx", "\uff0dx", "\uff20x"])
def test_csv_safe_neutralises_formulas(value: str) -> None:
    assert value.startswith(FORMULA_PREFIXES)
    assert csv_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["China", "中国", "", " =not at the start", 3, None, -0.5])
def test_csv_safe_leaves_everything_else(value: object) -> None:
    assert csv_safe(value) == value


def test_csv_export_is_formula_safe(archive: dict[str, str]) -> None:
    result = invoke(["export", "--format", "csv", "--db", "{db}"], archive)
    assert result.exit_code == 0, result.output
    header, row = list(csv.reader(io.StringIO(result.stdout)))
    record = dict(zip(header, row, strict=True))
    assert record["title"] == "'=HYPERLINK(\"http://evil.example\",\"rail\")"
    assert record["author"] == "'@author"
    assert not any(cell.startswith(FORMULA_PREFIXES) for cell in row)


# -- as a user runs it ------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["stats", "--db", "not a url::"], "not a database URL"),
    (["crawl", "--seeds", "missing.toml", "--db", "sqlite:///{tmp}/a.sqlite"],
     "seeds file not found"),
    (["export", "--db", "sqlite:///{tmp}/a.sqlite"], "no archive at"),
])
def test_in_a_real_process(tmp_path: Path, args: list[str], message: str) -> None:
    filled = [arg.format(tmp=tmp_path) for arg in args]
    result = run_cli(*filled, cwd=None, env={"SILKROAD_DB": ""})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("Error:") and message in result.stderr
    assert "Traceback" not in result.stderr and list(tmp_path.iterdir()) == []


