"""Child processes that end when their parent dies, even by kill -9.

A killed crawl's extraction workers (about 135 MB each) and a killed
scheduler's crawl child would otherwise run on for ever, reparented to init.
A daemon thread notices the parent is gone (the parent pid changes) and ends
this process; on Linux ``PR_SET_PDEATHSIG`` does it at once as well, but only
when the parent's main thread created the child: the signal follows the
creating thread, which may end long before the parent does.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import time

log = logging.getLogger(__name__)

PARENT_PID_ENV = "SILKROAD_PARENT_PID"
POLL_SECONDS = 0.25
_PR_SET_PDEATHSIG = 1


def die_with_parent(signum: int) -> bool:
    """Ask the kernel to send ``signum`` when the parent thread exits (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0  # type: ignore[no-any-return]
    except (OSError, AttributeError) as exc:
        log.debug("no death signal from the parent (%s): the watch thread alone ends us", exc)
        return False


Steps = tuple[tuple[int, float], ...]
KILL: Steps = ()  # SIGKILL at once


def watch_parent(parent_pid: int, steps: Steps = KILL) -> threading.Thread:
    """Once ``parent_pid`` is no longer this process's parent, send this process each
    signal of ``steps`` in turn, waiting its seconds before the next: a crawl is given
    SIGTERM first, to close its run as a stop by the scheduler would."""
    thread = threading.Thread(target=_watch, args=(parent_pid, steps),
                              name="parent-watch", daemon=True)
    thread.start()
    return thread


def _watch(parent_pid: int, steps: Steps) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_SECONDS)
    log.warning("parent process %d is gone: ending process %d", parent_pid, os.getpid())
    for signum, wait in (*steps, (signal.SIGKILL, 0.0)):
        os.kill(os.getpid(), signum)
        time.sleep(wait)


def watch_parent_from_env(steps: Steps) -> bool:
    """Watch the parent named by ``$SILKROAD_PARENT_PID`` (set by the scheduler for its crawl
    children); returns whether a watch started."""
    value = os.environ.pop(PARENT_PID_ENV, "")
    if not value.isdigit():
        return False
    watch_parent(int(value), steps)
    return True
