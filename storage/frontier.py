"""The crawl frontier in the database: what a crawl session still has to fetch.

A session is a crawl and the runs that resume it after an interruption
(kill -9, SIGTERM, a crash). Every scheduled request is written here as
pending; it becomes done in the same transaction that stores its result, so
after any interruption the pending rows are exactly the work left. Which
session a new crawl continues is decided with its runs, in storage/runs.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage.models import FrontierEntry
from storage.upsert import PerDialect

# A request scheduled twice (two resumed runs of a session, a redirect back) stays one row.
_ADD_PENDING = PerDialect(lambda insert: insert(FrontierEntry.__table__)
                          .on_conflict_do_nothing(index_elements=["session_id", "url"]))

PENDING = "pending"
DONE = "done"


@dataclass(frozen=True)
class PendingRequest:
    url: str
    kind: str  # a crawler.vocabulary.FetchKind: page | feed | sitemap | robots
    source: str
    via: str | None = None
    reached_as: str | None = None
    priority: int = 0
    depth: int = 0


def add_pending(session: Session, session_id: int, requests: Iterable[PendingRequest]) -> None:
    rows = [
        {"session_id": session_id, "url": r.url, "kind": r.kind, "source": r.source,
         "via": r.via, "reached_as": r.reached_as, "priority": r.priority, "depth": r.depth,
         "state": PENDING}
        for r in requests
    ]
    if rows:
        session.execute(_ADD_PENDING(session), rows)


def mark_done(session: Session, session_id: int, urls: Iterable[str]) -> None:
    urls = list(dict.fromkeys(urls))
    for start in range(0, len(urls), 500):
        session.execute(
            update(FrontierEntry)
            .where(FrontierEntry.session_id == session_id,
                   FrontierEntry.url.in_(urls[start : start + 500]))
            .values(state=DONE)
        )


def pending_requests(session: Session, session_id: int) -> list[PendingRequest]:
    rows = session.scalars(
        select(FrontierEntry)
        .where(FrontierEntry.session_id == session_id, FrontierEntry.state == PENDING)
        .order_by(FrontierEntry.priority.desc(), FrontierEntry.id)
    )
    return [PendingRequest(r.url, r.kind, r.source, r.via, r.reached_as, r.priority, r.depth)
            for r in rows]


def done_urls(session: Session, session_id: int) -> set[str]:
    return set(session.scalars(
        select(FrontierEntry.url).where(FrontierEntry.session_id == session_id,
                                        FrontierEntry.state == DONE)
    ))


def pending_counts(session: Session) -> dict[int, int]:
    """Pending requests by session id (for `silkroad runs`)."""
    rows = session.execute(
        select(FrontierEntry.session_id, func.count())
        .where(FrontierEntry.state == PENDING)
        .group_by(FrontierEntry.session_id)
    )
    return {session_id: count for session_id, count in rows}


def close_session(session: Session, session_id: int) -> None:
    """A session that completed needs no frontier any more."""
    session.execute(delete(FrontierEntry).where(FrontierEntry.session_id == session_id))
