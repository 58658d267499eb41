"""Is the process that a ``running`` run names still that run's crawl?

``os.kill(pid, 0)`` alone is not enough: after a kill -9 or a reboot the pid
is handed to another process sooner or later, and a run that trusts it stays
``running`` for ever and blocks every scheduled crawl of its seeds. The crawl
process started at most a moment after its run row was written (a scheduled
crawl's row is written first, then its child started), so a process that
started well after that is someone else. Where the start time cannot be read
(no /proc), a run older than ``MAX_RUN_AGE`` is taken as dead.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawler.timeutil import utcnow

# A crawl child starts this long after its run row at most (slow disk, loaded machine).
START_TOLERANCE = timedelta(seconds=60)
MAX_RUN_AGE = timedelta(days=3)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs (it may be someone else's); a zombie does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    except (OverflowError, ValueError):
        return False
    return not _zombie(pid)


def _zombie(pid: int, proc: Path = Path("/proc")) -> bool:
    try:
        return (proc / str(pid) / "stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _boot_time(proc: Path) -> float | None:
    try:
        for line in (proc / "stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def process_started_at(pid: int, proc: Path = Path("/proc")) -> datetime | None:
    """When the process started, naive UTC as the archive stores times; None if unknown."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
        # The command name may hold spaces and parentheses: fields follow the last ')'.
        ticks = int(stat.rpartition(")")[2].split()[19])
        per_second = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    boot = _boot_time(proc)
    if boot is None:
        return None
    return datetime.fromtimestamp(boot + ticks / per_second, UTC).replace(tzinfo=None)


def run_process_alive(pid: int | None, started_at: datetime, *,
                      now: datetime | None = None) -> bool:
    """Whether the run's crawl process still runs: the pid exists, and is not a later
    process that reused it (judged by its start time, else by the run's age)."""
    if pid is None or not pid_alive(pid):
        return False
    process_start = process_started_at(pid)
    if process_start is not None:
        return process_start <= started_at + START_TOLERANCE
    return (now or utcnow()) - started_at <= MAX_RUN_AGE
