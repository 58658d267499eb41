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
    except (OSError, AttributeError):
        return False


def watch_parent(parent_pid: int, *, grace: float = 0.0,
                 first: int = signal.SIGKILL) -> threading.Thread:
    """Send this process ``first`` once ``parent_pid`` is no longer its parent, then SIGKILL
    after ``grace`` seconds if it is still running (a SIGTERM lets a crawl close its run)."""
    thread = threading.Thread(target=_watch, args=(parent_pid, grace, first),
                              name="parent-watch", daemon=True)
    thread.start()
    return thread


def _watch(parent_pid: int, grace: float, first: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_SECONDS)
    log.warning("parent process %d is gone: ending process %d", parent_pid, os.getpid())
    os.kill(os.getpid(), first)
    if first != signal.SIGKILL:
        time.sleep(grace)
        os.kill(os.getpid(), signal.SIGKILL)


def watch_parent_from_env(*, grace: float, first: int = signal.SIGTERM) -> bool:
    """Watch the parent named by ``$SILKROAD_PARENT_PID`` (set by the scheduler for its crawl
    children); returns whether a watch started."""
    value = os.environ.pop(PARENT_PID_ENV, "")
    if not value.isdigit():
        return False
    watch_parent(int(value), grace=grace, first=first)
    return True
