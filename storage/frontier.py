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
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage.models import FrontierEntry, HostLease
from storage.upsert import PerDialect

# A request scheduled twice (two resumed runs of a session, two workers finding one link,
# a redirect back) stays one row: the frontier is the dupefilter of all the workers.
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


def url_host(url: str) -> str:
    """The host a URL is fetched from, as Scrapy keys its download slots (no port)."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


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
