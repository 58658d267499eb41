"""Feeds the database frontier from the crawl: scheduled requests become pending
rows; handled ones become done in the archive writer's next transaction.

An extension, so that it hears every scheduled request from the crawl's start;
the archive pipeline takes what it gathered into each batch it writes.
"""

from __future__ import annotations

import threading
from typing import Any

from scrapy import signals
from sqlalchemy.orm import Session

from crawler.signals import frontier_done
from storage.frontier import PendingRequest, add_pending, mark_done


class FrontierRecorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[PendingRequest] = []
        self._done: list[str] = []

    @classmethod
    def from_crawler(cls, crawler: Any) -> FrontierRecorder:
        recorder = cls()
        crawler.signals.connect(recorder.request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(recorder.done, signal=frontier_done)
        return recorder

    def __bool__(self) -> bool:
        return bool(self._pending or self._done)

    def request_scheduled(self, request: Any, spider: Any = None) -> None:
        kind = request.meta.get("silkroad_kind")
        if kind is None:
            return
        entry = PendingRequest(
            url=request.url,
            kind=kind,
            source=request.cb_kwargs.get("source_name", ""),
            via=request.cb_kwargs.get("via"),
            reached_as=request.meta.get("reached_as"),
            priority=request.priority,
            depth=request.meta.get("depth", 0),
        )
        with self._lock:
            self._pending.append(entry)

    def done(self, urls: list[str]) -> None:
        with self._lock:
            self._done.extend(urls)

    def take(self) -> tuple[list[PendingRequest], list[str]]:
        """What waits to be written; ``restore`` it if its transaction rolls back."""
        with self._lock:
            pending, self._pending = self._pending, []
            done, self._done = self._done, []
        return pending, done

    def restore(self, pending: list[PendingRequest], done: list[str]) -> None:
        with self._lock:
            self._pending[:0] = pending
            self._done[:0] = done


def write_taken(session: Session, session_id: int, pending: list[PendingRequest],
                done: list[str]) -> None:
    """Called on the writer thread inside the batch's transaction."""
    add_pending(session, session_id, pending)
    mark_done(session, session_id, done)
