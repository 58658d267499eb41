"""The archive lock (storage/archive_lock.py) on both backends: one holder at a time,
released with its holder's death, archive-wide and nothing wider."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine

from crawler.cli.main import cli
from storage.archive_lock import ArchiveLock
from storage.engine import make_engine
from tests.support import REPO

HOLDER = """\
import sys, time
from storage.archive_lock import ArchiveLock
from storage.engine import make_engine
lock = ArchiveLock(make_engine(sys.argv[1]), "schedule")
assert lock.try_acquire()
print("held", flush=True)
time.sleep(300)
"""


def fresh_engine(url: str) -> Engine:
    return make_engine(url)


def test_one_holder_at_a_time(db_url: str) -> None:
    first_engine, second_engine = fresh_engine(db_url), fresh_engine(db_url)
    first = ArchiveLock(first_engine, "schedule")
    second = ArchiveLock(second_engine, "schedule")
    try:
        assert first.try_acquire() and first.alive()
        assert not second.try_acquire() and not second.held
        assert second.holder() == f"silkroad schedule pid {os.getpid()} on {os.uname().nodename}"
        assert first.try_acquire()  # already ours
        assert ArchiveLock(second_engine, "other-role").try_acquire()
        first.release()
        assert not first.held
        assert second.try_acquire()
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()
        first_engine.dispose()
        second_engine.dispose()


def test_another_archive_has_its_own_lock(db_url: str, other_db_url: str) -> None:
    engines = [fresh_engine(db_url), fresh_engine(other_db_url)]
    locks = [ArchiveLock(engine, "schedule") for engine in engines]
    try:
        assert [lock.try_acquire() for lock in locks] == [True, True]
    finally:
        for lock, engine in zip(locks, engines, strict=True):
            lock.release()
            engine.dispose()


def test_a_standby_takes_the_lock_when_its_holder_is_killed(db_url: str) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, db_url], cwd=REPO,
                              stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
    engine = fresh_engine(db_url)
    lock = ArchiveLock(engine, "schedule")
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        assert not lock.try_acquire()
        assert f"pid {holder.pid} " in (lock.holder() or "")
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        killed = time.monotonic()
        stop = threading.Event()
        threading.Timer(10, stop.set).start()
        assert lock.wait(stop, poll=0.1), "the dead holder's lock was never released"
        stop.set()
        print(f"lock taken over {time.monotonic() - killed:.2f}s after kill -9")
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        lock.release()
        engine.dispose()


def test_a_second_scheduler_refuses_in_one_line(db_url: str, tmp_path: Path) -> None:
    seeds = tmp_path / "sources.toml"
    seeds.write_text('[[sources]]\nname = "A"\nurls = ["http://127.0.0.1:9/"]\n',
                     encoding="utf-8")
    engine = fresh_engine(db_url)
    lock = ArchiveLock(engine, "schedule")
    try:
        assert lock.try_acquire()
        result = CliRunner().invoke(cli, ["schedule", "--every", "1h", "--seeds", str(seeds),
                                          "--db", db_url])
    finally:
        lock.release()
        engine.dispose()
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert "another scheduler runs on this archive (silkroad schedule pid " in result.stderr
    assert "--standby" in result.stderr
    assert "Created job" not in result.stdout


def test_a_broken_postgres_connection_is_a_lost_lock(pg_url: str) -> None:
    """The server ended the holder's connection (a restart, a network cut): the lock went
    with it, ``alive`` says so, and another holder can take it."""
    engines = [fresh_engine(pg_url), fresh_engine(pg_url)]
    lock, other = (ArchiveLock(engine, "schedule") for engine in engines)
    try:
        assert lock.try_acquire() and lock.alive()
        with engines[1].begin() as connection:
            ended = connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE starts_with(application_name, 'silkroad schedule pid ')").scalars().all()
        assert ended == [True]
        assert not lock.alive() and not lock.held
        assert other.try_acquire()
    finally:
        lock.release()
        other.release()
        for engine in engines:
            engine.dispose()
