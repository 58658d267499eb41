"""Memory and CPU of a process and all its descendants, polled from /proc.

A crawl is several processes (the crawl itself, the fork server, the
extraction workers), so a figure for one pid says little. Every poll walks
/proc for the current tree and sums resident memory (RSS, which counts pages
shared between processes once per process, and PSS, which splits them
fairly) and CPU time. CPU is summed per process from its last poll, so a
process's final fraction of a poll interval is lost; that is all.
Linux only; psutil is not needed.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICK = os.sysconf("SC_CLK_TCK")
MB = 1024 * 1024


@dataclass(frozen=True)
class TreeSample:
    at: float  # time.time()
    rss: int
    pss: int
    cpu: float  # CPU seconds of every process seen so far
    processes: int
    root_cpu: float = 0.0  # CPU seconds of the root process alone


def _stat(pid: int) -> tuple[int, float, int, int] | None:
    """(parent pid, CPU seconds, RSS bytes, start time) or None when the process is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    ppid = int(fields[1])
    cpu = (int(fields[11]) + int(fields[12])) / _TICK
    return ppid, cpu, int(fields[21]) * _PAGE, int(fields[19])


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_pids(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                parents[int(entry.name)] = stat[0]
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in parents:
            found.append(pid)
            todo.extend(children.get(pid, ()))
    return found


def command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


@dataclass(frozen=True)
class ProcessPeak:
    """One process of the tree: its command line and its peak RSS over the polls."""

    pid: int
    command: str
    peak_rss: int


@dataclass
class ProcessTreeSampler:
    """Polls the tree under ``root`` on a background thread until stopped."""

    root: int
    interval: float = 0.25
    samples: list[TreeSample] = field(default_factory=list)
    _cpu: dict[tuple[int, int], float] = field(default_factory=dict)
    _peaks: dict[tuple[int, int], ProcessPeak] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> ProcessTreeSampler:
        self._thread = threading.Thread(target=self._run, name="tree-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> TreeSample | None:
        rss = pss = 0
        root_cpu = 0.0
        pids = tree_pids(self.root)
        for pid in pids:
            stat = _stat(pid)
            if stat is None:
                continue
            _ppid, cpu, resident, started = stat
            self._cpu[(pid, started)] = cpu
            seen = self._peaks.get((pid, started))
            if seen is None or resident > seen.peak_rss:
                command = seen.command if seen is not None else command_line(pid)
                self._peaks[(pid, started)] = ProcessPeak(pid, command, resident)
            if pid == self.root:
                root_cpu = cpu
            rss += resident
            pss += _pss(pid)
        if not pids:
            return None
        sample = TreeSample(time.time(), rss, pss, sum(self._cpu.values()), len(pids),
                            root_cpu)
        self.samples.append(sample)
        return sample

    @property
    def peak_rss(self) -> int:
        return max((s.rss for s in self.samples), default=0)

    @property
    def peak_pss(self) -> int:
        return max((s.pss for s in self.samples), default=0)

    @property
    def cpu_seconds(self) -> float:
        return sum(self._cpu.values())

    @property
    def processes(self) -> list[ProcessPeak]:
        """Every process seen in the tree, the root first, each with its peak RSS."""
        return sorted(self._peaks.values(), key=lambda p: (p.pid != self.root, p.pid))

    @property
    def peak_processes(self) -> int:
        return max((s.processes for s in self.samples), default=0)
