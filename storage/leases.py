"""Crawl workers sharing one session's frontier: host leases and claimed URLs.

A worker (one Scrapy process, on this machine or another) *leases a host* of
its session, *claims* a small batch of that host's pending URLs and fetches
them; its heartbeat renews the lease. One host is leased by one worker at a
time, so the per-site delay, concurrency and AutoThrottle of that worker are
the site's, whatever the number of workers. URLs stay pending until the
transaction that stores their result marks them done (storage/frontier.py), so
a worker killed at any moment loses nothing: its claims go back to the pool
when its lease expires, when another worker takes the host over, or at once
when its run is found dead (``release_runs``; storage/runs.py judges that).

Every function takes a session and never commits; the caller's transaction
(``BEGIN IMMEDIATE`` on SQLite, where one writer at a time makes the
read-then-lease atomic) holds them together. On PostgreSQL the lease is one
``INSERT .. ON CONFLICT DO UPDATE .. WHERE expired`` and claims skip rows that
another transaction has locked (``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, func, or_, select, update
from sqlalchemy.orm import Session

from crawler.vocabulary import RunOutcome
from storage.frontier import PENDING, PendingRequest
from storage.models import CrawlRun, FrontierEntry, HostLease
from storage.upsert import insert_for

F, L = FrontierEntry, HostLease


def _live_lease_of_another(session_id: int, run_id: int, now: datetime) -> object:
    return exists().where(
        L.session_id == session_id, L.host == F.host, L.expires_at > now,
        or_(L.run_id.is_(None), L.run_id != run_id))


def lease_hosts(session: Session, session_id: int, run_id: int, *, want: int,
                held: Collection[str], until: datetime, now: datetime) -> list[str]:
    """Up to ``want`` more hosts with unclaimed pending work that no live lease holds,
    leased to ``run_id`` until ``until``; the most promising (highest priority) first.

    A host taken over from an expired lease gets back the URLs its holder claimed."""
    if want <= 0:
        return []
    candidates = session.scalars(
        select(F.host)
        .where(F.session_id == session_id, F.state == PENDING, F.claimed_by.is_(None),
               ~_live_lease_of_another(session_id, run_id, now))
        .group_by(F.host)
        .order_by(func.max(F.priority).desc(), F.host)
        .limit(want + len(held))
    ).all()
    leased = []
    for host in candidates:
        if host in held:
            continue
        if _take(session, session_id, run_id, host, until=until, now=now):
            _return_claims(session, session_id, host, keep=run_id)
            leased.append(host)
            if len(leased) == want:
                break
    return leased


def _take(session: Session, session_id: int, run_id: int, host: str, *, until: datetime,
          now: datetime) -> bool:
    statement = insert_for(session, L).values(
        session_id=session_id, host=host, run_id=run_id, expires_at=until)
    statement = statement.on_conflict_do_update(
        index_elements=[L.session_id, L.host],
        set_={"run_id": run_id, "expires_at": until},
        where=or_(L.expires_at <= now, L.run_id == run_id),
    ).returning(L.host)
    return session.execute(statement).first() is not None


def _return_claims(session: Session, session_id: int, host: str, *, keep: int) -> None:
    session.execute(
        update(F)
        .where(F.session_id == session_id, F.host == host, F.state == PENDING,
               F.claimed_by.is_not(None), F.claimed_by != keep)
        .values(claimed_by=None)
        .execution_options(synchronize_session=False))


def _claim_statement() -> Any:
    holds = exists().where(L.session_id == bindparam("p_session_id"),
                           L.host == bindparam("p_host"), L.run_id == bindparam("p_run_id"),
                           L.expires_at > bindparam("p_now"))
    chosen = (
        select(F.id)
        .where(F.session_id == bindparam("p_session_id"), F.state == PENDING,
               F.host == bindparam("p_host"), F.claimed_by.is_(None), holds)
        .order_by(F.priority.desc(), F.id)
        .limit(bindparam("p_limit"))
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return (update(F).where(F.id.in_(chosen)).values(claimed_by=bindparam("p_run_id"))
            .returning(F.url, F.kind, F.source, F.via, F.reached_as, F.priority, F.depth)
            .execution_options(synchronize_session=False))


# Built once: a worker claims many times a second, and building the statement cost as
# much as running it.
_CLAIM = _claim_statement()


def claim(session: Session, session_id: int, run_id: int, host: str, *, limit: int,
          now: datetime) -> list[PendingRequest]:
    """Up to ``limit`` pending, unclaimed URLs of a host this run holds a live lease on,
    now claimed by it: the highest priority first, then the oldest."""
    rows = session.execute(_CLAIM, {"p_session_id": session_id, "p_host": host,
                                    "p_run_id": run_id, "p_now": now, "p_limit": limit}).all()
    requests = [PendingRequest(*row) for row in rows]
    requests.sort(key=lambda r: -r.priority)
    return requests


def unclaim(session: Session, session_id: int, run_id: int, urls: Iterable[str]) -> None:
    """Claimed URLs this run will not fetch after all: anyone's to claim again."""
    urls = list(urls)
    for start in range(0, len(urls), 500):
        session.execute(
            update(F)
            .where(F.session_id == session_id, F.claimed_by == run_id, F.state == PENDING,
                   F.url.in_(urls[start:start + 500]))
            .values(claimed_by=None)
            .execution_options(synchronize_session=False))


def renew(session: Session, session_id: int, run_id: int, *, until: datetime) -> set[str]:
    """Extend this run's leases; the hosts it still holds (one taken over after it
    expired is lost)."""
    session.execute(update(L).where(L.session_id == session_id, L.run_id == run_id)
                    .values(expires_at=until).execution_options(synchronize_session=False))
    return set(session.scalars(select(L.host).where(L.session_id == session_id,
                                                    L.run_id == run_id)))


def release(session: Session, session_id: int, run_id: int, hosts: Iterable[str], *,
            reopen_at: datetime) -> None:
    """Give hosts up: what this run claimed there and did not store goes back to the
    pool, and the host stays closed until ``reopen_at`` (the site's delay since the
    last request), so that the next worker does not fetch from it too soon."""
    for host in hosts:
        session.execute(
            update(F)
            .where(F.session_id == session_id, F.host == host, F.state == PENDING,
                   F.claimed_by == run_id)
            .values(claimed_by=None).execution_options(synchronize_session=False))
        session.execute(
            update(L).where(L.session_id == session_id, L.host == host, L.run_id == run_id)
            .values(run_id=None, expires_at=reopen_at)
            .execution_options(synchronize_session=False))


def release_runs(session: Session, session_id: int, *, reopen_at: datetime,
                 run_ids: Collection[int] | None = None) -> None:
    """Leases and claims of runs of the session that ended (or of ``run_ids``) return
    to the pool: a killed worker's hosts do not wait for their leases to expire."""
    ended: object
    if run_ids is not None:
        if not run_ids:
            return
        ended = list(run_ids)
    else:
        ended = (select(CrawlRun.id)
                 .where(CrawlRun.session_id == session_id,
                        CrawlRun.outcome != RunOutcome.RUNNING)
                 .scalar_subquery())
    session.execute(
        update(F)
        .where(F.session_id == session_id, F.state == PENDING, F.claimed_by.in_(ended))
        .values(claimed_by=None).execution_options(synchronize_session=False))
    session.execute(
        update(L).where(L.session_id == session_id, L.run_id.in_(ended))
        .values(run_id=None, expires_at=reopen_at).execution_options(synchronize_session=False))


def budget_spent(session: Session, session_id: int, run_ids: Collection[int]) -> int:
    """URLs of the session that runs ``run_ids`` claimed: those stored (a done row keeps
    its claimant) and those held now, what a page budget shared by those runs has spent.

    It locks the first of those runs' rows until the caller's transaction ends, so that
    workers sharing one budget count and claim one at a time and never spend its last
    pages twice (SQLite's writer lock does the same there)."""
    session.execute(select(CrawlRun.id).where(CrawlRun.id == min(run_ids)).with_for_update())
    return session.scalar(
        select(func.count()).select_from(F)
        .where(F.session_id == session_id, F.claimed_by.in_(list(run_ids)))) or 0


def session_finished(session: Session, session_id: int, run_id: int, *, now: datetime) -> bool:
    """Nothing left to fetch: no pending request, and no other worker holds a live lease
    (one that does may still be storing pages that bring new links)."""
    pending = session.scalar(select(exists().where(F.session_id == session_id,
                                                   F.state == PENDING)))
    if pending:
        return False
    return not session.scalar(select(exists().where(
        L.session_id == session_id, L.run_id.is_not(None), L.run_id != run_id,
        L.expires_at > now)))


def workload(session: Session, session_id: int, *, now: datetime) -> tuple[int, int]:
    """(hosts with pending work, live workers) of a session: a worker's fair share of
    hosts is the first divided by the second."""
    hosts = session.scalar(
        select(func.count(func.distinct(F.host)))
        .where(F.session_id == session_id, F.state == PENDING)) or 0
    workers = session.scalar(
        select(func.count()).select_from(CrawlRun)
        .where(CrawlRun.session_id == session_id, CrawlRun.outcome == RunOutcome.RUNNING)
    ) or 0
    return hosts, max(1, workers)


def open_session(session: Session) -> int | None:
    """The newest crawl session with pending work (the one a worker joins by default)."""
    return session.scalar(
        select(F.session_id).where(F.state == PENDING)
        .order_by(F.session_id.desc()).limit(1))


def lease_until(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)
