"""`export --output` never destroys: not the archive, not a device or a pipe, not an
existing file without --force, and never leaves half a file behind."""

from __future__ import annotations

import gzip
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from crawler.cli import export_cmd
from crawler.cli.main import cli
from tests.support import REPO
from tests.test_read_only_open import make_archive, snapshot

FORMATS = ["jsonl", "csv", "warc"]


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return make_archive(tmp_path / "archive.sqlite")


def export(archive: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["export", "--db", str(archive), *args],
                              env={"COLUMNS": "200"})


def assert_refused(result: Result, message: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0], lines


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("name", ["archive.sqlite", "link.sqlite", "hard.sqlite",
                                  "archive.sqlite-wal", "archive.sqlite-shm"])
def test_the_archive_itself_is_never_written(archive: Path, fmt: str, force: bool,
                                              name: str) -> None:
    (archive.parent / "link.sqlite").symlink_to(archive)
    os.link(archive, archive.parent / "hard.sqlite")
    before = snapshot(archive)
    result = export(archive, "--format", fmt, "-o", str(archive.parent / name),
                    *(["--force"] if force else []))
    assert_refused(result, "refusing to write over the archive itself")
    assert snapshot(archive) == before
    assert not (archive.parent / "archive.sqlite-wal").exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_existing_file_needs_force(archive: Path, fmt: str) -> None:
    target = archive.parent / "out"
    target.write_text("last week's export\n", encoding="utf-8")
    target.chmod(0o640)
    assert_refused(export(archive, "--format", fmt, "-o", str(target)),
                   "already exists: add --force")
    assert target.read_text(encoding="utf-8") == "last week's export\n"
    result = export(archive, "--format", fmt, "-o", str(target), "--force")
    assert result.exit_code == 0, result.output
    body = target.read_bytes()
    if fmt == "warc":
        assert b"WARC/1.1" in gzip.decompress(body)
    else:
        assert b"Rail deal" in body
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert leftovers(archive.parent) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_dev_null_is_refused_and_not_replaced(archive: Path, fmt: str) -> None:
    before = os.stat("/dev/null")
    assert_refused(export(archive, "--format", fmt, "-o", "/dev/null", "--force"),
                   "not a regular file")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_fifo_is_refused(archive: Path, fmt: str) -> None:
    fifo = archive.parent / "pipe"
    os.mkfifo(fifo)
    assert_refused(export(archive, "--format", fmt, "-o", str(fifo), "--force"),
                   "not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_folder_is_refused(archive: Path) -> None:
    assert_refused(export(archive, "-o", str(archive.parent), "--force"), "is a folder")


@pytest.mark.slow
def test_process_substitution_is_one_line_not_a_traceback(archive: Path) -> None:
    """`-o >(gzip ...)` names a pipe under /dev/fd: refused, pointing at `-o -`."""
    script = (f'"{sys.executable}" -m crawler export --db "{archive}" '
              f'-o >(cat > "{archive.parent}/piped")')
    result = subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("Error:") and "-o -" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pytest.mark.parametrize("existing", [False, True])
def test_a_failed_export_leaves_no_partial_file(archive: Path, fmt: str, existing: bool,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(session, filters):  # type: ignore[no-untyped-def]
        yield from real(session, filters)
        raise RuntimeError("the disk went away")

    real = export_cmd.iter_records
    monkeypatch.setattr(export_cmd, "iter_records", failing)
    target = archive.parent / "out"
    if existing:
        target.write_text("keep me\n", encoding="utf-8")
    result = export(archive, "--format", fmt, "-o", str(target), "--force")
    assert isinstance(result.exception, RuntimeError), result.output
    assert (target.read_text(encoding="utf-8") if existing else target.exists()) == (
        "keep me\n" if existing else False)
    assert leftovers(archive.parent) == []


def test_a_write_error_is_one_line_and_leaves_nothing(archive: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def full(session, filters):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")
        yield

    monkeypatch.setattr(export_cmd, "iter_records", full)
    target = archive.parent / "out.jsonl"
    assert_refused(export(archive, "-o", str(target)), "No space left on device")
    assert not target.exists() and leftovers(archive.parent) == []


@pytest.mark.parametrize("args", [[], ["-o", "-"]], ids=["no-output", "dash"])
def test_dash_writes_to_stdout(archive: Path, args: list[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(archive.parent)
    result = export(archive, *args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[0])["title"] == "Rail deal"
    assert not (archive.parent / "-").exists()


def test_warc_needs_a_file(archive: Path) -> None:
    assert_refused(export(archive, "--format", "warc", "-o", "-"), "give --output")


def test_a_new_file_gets_the_usual_permissions(archive: Path) -> None:
    target = archive.parent / "new.jsonl"
    result = export(archive, "-o", str(target))
    assert result.exit_code == 0, result.output
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


def test_a_file_named_like_the_temporary_one_is_left_alone(archive: Path) -> None:
    mine = archive.parent / "out.jsonl.part"
    mine.write_text("someone's download\n", encoding="utf-8")
    result = export(archive, "-o", str(archive.parent / "out.jsonl"))
    assert result.exit_code == 0, result.output
    assert mine.read_text(encoding="utf-8") == "someone's download\n"
