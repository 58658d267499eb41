"""What the crawl will write to the database frontier in the archive writer's next
transaction: new requests (pending), and the requests dealt with (done).

Requests become pending rows in the same transaction as the pages that linked
to them, or before it, never after: a page counts as done only once its links
are in the frontier, so a crawl killed at any moment loses none. An extension,
so that the frontier scheduler (crawler/frontier_scheduler.py) and the spider
can hand it what they have and the archive pipeline take it into each batch.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from crawler.signals import frontier_done
from storage.frontier import PendingRequest, add_pending, mark_done


@dataclass
class FrontierWrites:
    """One transaction's share: new requests, new requests this run fetches itself
    (retries, redirects: claimed by it at once), and URLs done."""

    pending: list[PendingRequest] = field(default_factory=list)
    claimed: list[PendingRequest] = field(default_factory=list)
    done: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.pending or self.claimed or self.done)


class FrontierRecorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._writes = FrontierWrites()
        self._in_transit = 0  # taken by the archive writer, not yet settled

    @classmethod
    def from_crawler(cls, crawler: Any) -> FrontierRecorder:
        recorder = cls()
        crawler.signals.connect(recorder.done, signal=frontier_done)
        return recorder

    def __bool__(self) -> bool:
        return bool(self._writes)

    @property
    def busy(self) -> bool:
        """Writes wait or are under way: the database frontier is not the whole story yet."""
        return bool(self._writes) or self._in_transit > 0

    def add(self, entry: PendingRequest, *, claimed: bool = False) -> None:
        with self._lock:
            (self._writes.claimed if claimed else self._writes.pending).append(entry)

    def done(self, urls: list[str]) -> None:
        with self._lock:
            self._writes.done.extend(urls)

    def take(self) -> FrontierWrites:
        """What waits to be written; ``restore`` it if its transaction rolls back, and
        say when the write is ``settled`` either way."""
        with self._lock:
            writes, self._writes = self._writes, FrontierWrites()
            self._in_transit += 1
        return writes

    def settled(self) -> None:
        """The write of what was taken committed or rolled back (on the reactor thread,
        with the news of it, so that nobody sees the frontier between the two)."""
        with self._lock:
            self._in_transit = max(0, self._in_transit - 1)

    def restore(self, writes: FrontierWrites) -> None:
        with self._lock:
            self._writes.pending[:0] = writes.pending
            self._writes.claimed[:0] = writes.claimed
            self._writes.done[:0] = writes.done


def write_taken(session: Session, session_id: int, run_id: int, writes: FrontierWrites,
                stored: list[str]) -> list[str]:
    """Called on the writer thread inside the batch's transaction, with the request URLs
    of the pages it stores; returns every URL it marked done."""
    add_pending(session, session_id, writes.pending)
    add_pending(session, session_id, writes.claimed, claimed_by=run_id)
    done = writes.done + stored
    mark_done(session, session_id, done)
    return done
