"""The crawl frontier in the database: what a crawl session still has to fetch.

A session is a crawl and the runs that resume it after an interruption
(kill -9, SIGTERM, a crash). Every scheduled request is written here as
pending; it becomes done in the same transaction that stores its result, so
after any interruption the pending rows are exactly the work left. Which
session a new crawl continues is decided with its runs, in storage/runs.py;
how crawl workers share a session's pending rows (host leases, claims) is
storage/leases.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import FrontierEntry, HostLease

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


def url_host(url: str) -> str:
    """The host a URL is fetched from, as Scrapy keys its download slots (no port)."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def dialect_insert(session: Session, table: Any) -> Any:
    """``INSERT`` with ``ON CONFLICT`` for the session's backend (same API on both)."""
    name = session.get_bind().dialect.name
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(table)


def add_pending(session: Session, session_id: int, requests: Iterable[PendingRequest], *,
                claimed_by: int | None = None) -> None:
    """New requests, unless the session has them already (the frontier is the crawl's
    dupefilter, shared by its workers); ``claimed_by`` a run that fetches them itself."""
    rows = [
        {"session_id": session_id, "url": r.url, "kind": r.kind, "source": r.source,
         "via": r.via, "reached_as": r.reached_as, "priority": r.priority, "depth": r.depth,
         "state": PENDING, "host": url_host(r.url), "claimed_by": claimed_by}
        for r in requests
    ]
    if rows:
        statement = dialect_insert(session, FrontierEntry).on_conflict_do_nothing(
            index_elements=["session_id", "url"])
        session.execute(statement, rows)


def mark_done(session: Session, session_id: int, urls: Iterable[str]) -> None:
    urls = list(dict.fromkeys(urls))
    for start in range(0, len(urls), 500):
        session.execute(
            update(FrontierEntry)
            .where(FrontierEntry.session_id == session_id,
                   FrontierEntry.url.in_(urls[start : start + 500]))
            .values(state=DONE)
        )


def entry_request(row: FrontierEntry) -> PendingRequest:
    return PendingRequest(row.url, row.kind, row.source, row.via, row.reached_as, row.priority,
                          row.depth)


def pending_requests(session: Session, session_id: int) -> list[PendingRequest]:
    rows = session.scalars(
        select(FrontierEntry)
        .where(FrontierEntry.session_id == session_id, FrontierEntry.state == PENDING)
        .order_by(FrontierEntry.priority.desc(), FrontierEntry.id)
    )
    return [entry_request(r) for r in rows]


def state_counts(session: Session, session_id: int) -> dict[str, int]:
    """Requests of a session by state: ``{"pending": n, "done": m}``."""
    rows = session.execute(
        select(FrontierEntry.state, func.count())
        .where(FrontierEntry.session_id == session_id)
        .group_by(FrontierEntry.state)
    )
    return {PENDING: 0, DONE: 0, **{state: count for state, count in rows}}


def pending_counts(session: Session) -> dict[int, int]:
    """Pending requests by session id (for `silkroad runs`)."""
    rows = session.execute(
        select(FrontierEntry.session_id, func.count())
        .where(FrontierEntry.state == PENDING)
        .group_by(FrontierEntry.session_id)
    )
    return {session_id: count for session_id, count in rows}


def close_session(session: Session, session_id: int) -> None:
    """A session that completed needs no frontier (nor host leases) any more."""
    session.execute(delete(FrontierEntry).where(FrontierEntry.session_id == session_id))
    session.execute(delete(HostLease).where(HostLease.session_id == session_id))
