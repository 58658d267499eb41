"""Where a command may write a file: never over the archive it reads, a device, a
pipe or a folder, never over an existing file without ``--force``, never half a file.

The output is written to a temporary file beside its final name and renamed over
it once complete, so a failed or interrupted export leaves what was there before.
A pipe (``-o >(gzip ...)``, a FIFO) cannot be written that way: it is refused
with a pointer to ``-o -``, which streams to stdout for the shell to pipe.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from crawler.errors import UsageError

STDOUT = "-"
_ARCHIVE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def output_target(path: str | None, *, archive: Path | None = None,
                  force: bool = False) -> Path | None:
    """The file to write (None: stdout), checked before anything is opened."""
    if path is None or path == STDOUT:
        return None
    given = Path(path).expanduser()
    try:
        existing = os.stat(given)
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise UsageError(f"cannot use {given} as output: {exc.strerror}") from None
    final = Path(os.path.realpath(given))
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise UsageError(f"{given} is a folder: give a file name")
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        raise UsageError(f"{given} is not a regular file (a device, pipe or socket): "
                         "refusing to replace it; use -o - to write to stdout")
    if archive is not None and _is_archive(given, final, archive):
        raise UsageError(f"refusing to write over the archive itself: {given}")
    if not final.parent.is_dir():
        raise UsageError(f"folder {final.parent} does not exist")
    if existing is not None and not force:
        raise UsageError(f"{given} already exists: add --force to replace it")
    return final


def _is_archive(given: Path, final: Path, archive: Path) -> bool:
    for suffix in _ARCHIVE_COMPANIONS:
        companion = Path(f"{archive}{suffix}")
        if final == Path(os.path.realpath(companion)):
            return True
        try:
            if os.path.samefile(given, companion):
                return True
        except OSError:
            continue
    return False


@contextmanager
def output_stream(target: Path | None, mode: str = "w") -> Iterator[IO[Any]]:
    """stdout, or a temporary file renamed to ``target`` when the block completes;
    on any failure the temporary file is removed and ``target`` left as it was."""
    if target is None:
        yield sys.stdout.buffer if "b" in mode else sys.stdout
        return
    try:
        descriptor, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                            dir=target.parent)
    except OSError as exc:
        raise UsageError(f"cannot write in {target.parent}: {exc.strerror}") from None
    partial = Path(name)
    text_options: dict[str, Any] = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
    try:
        os.chmod(partial, _file_mode(target))
        with os.fdopen(descriptor, mode, **text_options) as handle:
            yield handle
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@contextmanager
def output_file(target: Path) -> Iterator[Path]:
    """For writers that open a file by name (an SQLite database): an empty temporary
    file beside ``target``, renamed to it when the block completes; on any failure it
    and its -wal/-shm/-journal companions are removed and ``target`` left as it was."""
    try:
        descriptor, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                            dir=target.parent)
    except OSError as exc:
        raise UsageError(f"cannot write in {target.parent}: {exc.strerror}") from None
    os.close(descriptor)
    partial = Path(name)
    try:
        os.chmod(partial, _file_mode(target))
        yield partial
        os.replace(partial, target)
    except BaseException as exc:
        for suffix in _ARCHIVE_COMPANIONS:
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
        raise


def _file_mode(target: Path) -> int:
    """The replaced file's permissions, else what a plain ``open`` would give."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask
