"""The crawl frontier in the database: what a crawl session still has to fetch.

A session is a crawl and the runs that resume it after an interruption
(kill -9, SIGTERM, a crash). Every scheduled request is written here as
pending; it becomes done in the same transaction that stores its result, so
after any interruption the pending rows are exactly the work left.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from crawler.timeutil import utcnow
from storage.models import CrawlRun, FrontierEntry

log = logging.getLogger(__name__)

PENDING = "pending"
DONE = "done"
FAILED_RUNS_LIMIT = 3  # runs of one session that ended failed before its frontier is given up


@dataclass(frozen=True)
class PendingRequest:
    url: str
    kind: str  # page | feed | sitemap | robots
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
        session.execute(insert(FrontierEntry).on_conflict_do_nothing(), rows)


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


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def settle_dead_runs(session: Session) -> list[int]:
    """Runs still marked running whose process is gone (kill -9) become interrupted."""
    dead = [
        run for run in session.scalars(select(CrawlRun).where(CrawlRun.outcome == "running"))
        if not _alive(run.pid)
    ]
    for run in dead:
        run.outcome = "interrupted"
        run.finished_at = run.finished_at or utcnow()
    return [run.id for run in dead]


def resumable_session(session: Session) -> int | None:
    """The session to continue: the latest run ended without completing and left work,
    and no live crawl is continuing it already.

    A session whose runs keep failing (the same requests breaking every resume) is
    given up after ``FAILED_RUNS_LIMIT`` failed runs: its frontier is dropped and the
    next crawl starts again from the seeds, instead of resuming into the same failure.
    """
    settle_dead_runs(session)
    latest = session.scalar(
        select(CrawlRun).where(CrawlRun.outcome != "running", CrawlRun.trigger != "import")
        .order_by(CrawlRun.id.desc()).limit(1)
    )
    if latest is None or latest.outcome == "ok":
        return None
    session_id = latest.session_id or latest.id
    busy = session.scalar(
        select(func.count()).select_from(CrawlRun)
        .where(CrawlRun.outcome == "running", CrawlRun.session_id == session_id)
    )
    if busy:
        return None
    failed = session.scalar(
        select(func.count()).select_from(CrawlRun)
        .where(CrawlRun.session_id == session_id, CrawlRun.outcome == "failed")
    ) or 0
    if failed >= FAILED_RUNS_LIMIT:
        log.warning("crawl session %d failed %d times: giving up its pending requests and "
                    "starting again from the seeds", session_id, failed)
        close_session(session, session_id)
        return None
    left = session.scalar(
        select(func.count()).select_from(FrontierEntry)
        .where(FrontierEntry.session_id == session_id, FrontierEntry.state == PENDING)
    )
    return session_id if left else None
