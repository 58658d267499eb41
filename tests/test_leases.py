"""Host leases and claims (storage/leases.py) on both backends: one worker per host,
claims that are never handed out twice, and work that comes back from a worker that
stopped or died."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from crawler.timeutil import utcnow
from crawler.vocabulary import RunOutcome, Trigger
from storage.engine import make_engine
from storage.frontier import DONE, PendingRequest, add_pending, mark_done
from storage.leases import (
    claim,
    lease_hosts,
    open_session,
    release,
    release_runs,
    renew,
    session_finished,
    unclaim,
    workload,
)
from storage.migrate import upgrade
from storage.models import CrawlRun, FrontierEntry, HostLease
from storage.runs import start_run

LEASE = timedelta(seconds=30)


def pages(host: str, count: int, *, priority: int = 0) -> list[PendingRequest]:
    return [PendingRequest(f"http://{host}/p{n}", "page", "Src", priority=priority + n)
            for n in range(count)]


def new_session(engine: Engine, workers: int = 2) -> tuple[int, list[int]]:
    with Session(engine) as session, session.begin():
        first = start_run(session, trigger=Trigger.MANUAL)
        runs = [first.id] + [start_run(session, trigger=Trigger.MANUAL,
                                       session_id=first.id).id for _ in range(workers - 1)]
        return first.id, runs


def lease(engine: Engine, session_id: int, run_id: int, want: int = 10,
          held: tuple[str, ...] = (), *, at: object = None) -> list[str]:
    now = at or utcnow()
    with Session(engine) as session, session.begin():
        return lease_hosts(session, session_id, run_id, want=want, held=held,
                           until=now + LEASE, now=now)  # type: ignore[operator]


def take(engine: Engine, session_id: int, run_id: int, host: str, limit: int = 10,
         *, at: object = None) -> list[str]:
    with Session(engine) as session, session.begin():
        return [r.url for r in claim(session, session_id, run_id, host, limit=limit,
                                     now=at or utcnow())]  # type: ignore[arg-type]


def add(engine: Engine, session_id: int, requests: list[PendingRequest]) -> None:
    with Session(engine) as session, session.begin():
        add_pending(session, session_id, requests)


def test_each_host_is_leased_by_one_run(engine: Engine) -> None:
    session_id, (a, b) = new_session(engine)
    add(engine, session_id, pages("one.example", 3) + pages("two.example", 3, priority=50)
        + pages("three.example", 3))
    first = lease(engine, session_id, a, want=2)
    assert first == ["two.example", "one.example"]  # highest priority first, then by name
    assert lease(engine, session_id, b) == ["three.example"]
    assert lease(engine, session_id, a, held=tuple(first)) == []
    assert take(engine, session_id, b, "one.example") == []  # not b's to claim
    with Session(engine) as session:
        holders = dict(session.execute(select(HostLease.host, HostLease.run_id)).all())
    assert holders == {"one.example": a, "two.example": a, "three.example": b}


def test_claims_come_in_priority_order_and_never_twice(engine: Engine) -> None:
    session_id, (a, _) = new_session(engine)
    add(engine, session_id, pages("one.example", 25))
    lease(engine, session_id, a)
    batches = [take(engine, session_id, a, "one.example") for _ in range(4)]
    assert [len(b) for b in batches] == [10, 10, 5, 0]
    assert batches[0][0] == "http://one.example/p24"
    assert len({url for batch in batches for url in batch}) == 25


def test_an_expired_lease_is_taken_over_with_its_claims(engine: Engine) -> None:
    session_id, (a, b) = new_session(engine)
    add(engine, session_id, pages("one.example", 5))
    lease(engine, session_id, a)
    assert len(take(engine, session_id, a, "one.example", limit=3)) == 3
    assert lease(engine, session_id, b) == []  # a's lease is live
    later = utcnow() + LEASE + timedelta(seconds=1)
    assert lease(engine, session_id, b, at=later) == ["one.example"]
    assert len(take(engine, session_id, b, "one.example", at=later)) == 5  # a's 3 came back
    with Session(engine) as session, session.begin():
        assert renew(session, session_id, a, until=later + LEASE) == set()  # a lost it


def test_renewal_keeps_a_lease(engine: Engine) -> None:
    session_id, (a, b) = new_session(engine)
    add(engine, session_id, pages("one.example", 5))
    lease(engine, session_id, a)
    later = utcnow() + LEASE + timedelta(seconds=1)
    with Session(engine) as session, session.begin():
        assert renew(session, session_id, a, until=later + LEASE) == {"one.example"}
    assert lease(engine, session_id, b, at=later) == []


def test_release_returns_claims_and_keeps_the_host_closed_for_the_delay(engine: Engine) -> None:
    session_id, (a, b) = new_session(engine)
    add(engine, session_id, pages("one.example", 5))
    lease(engine, session_id, a)
    taken = take(engine, session_id, a, "one.example", limit=2)
    now = utcnow()
    with Session(engine) as session, session.begin():
        release(session, session_id, a, ["one.example"], reopen_at=now + timedelta(seconds=2))
    assert lease(engine, session_id, b, at=now) == []
    assert lease(engine, session_id, b, at=now + timedelta(seconds=3)) == ["one.example"]
    assert set(taken) <= set(take(engine, session_id, b, "one.example",
                                  at=now + timedelta(seconds=3)))


def test_unclaimed_urls_go_back_to_the_pool(engine: Engine) -> None:
    session_id, (a, _) = new_session(engine)
    add(engine, session_id, pages("one.example", 4))
    lease(engine, session_id, a)
    taken = take(engine, session_id, a, "one.example")
    with Session(engine) as session, session.begin():
        unclaim(session, session_id, a, taken[:2])
    assert sorted(take(engine, session_id, a, "one.example")) == sorted(taken[:2])


def test_leases_and_claims_of_ended_runs_return_at_once(engine: Engine) -> None:
    session_id, (a, b) = new_session(engine)
    add(engine, session_id, pages("one.example", 4))
    lease(engine, session_id, a)
    take(engine, session_id, a, "one.example", limit=3)
    with Session(engine) as session, session.begin():
        session.get(CrawlRun, a).outcome = RunOutcome.INTERRUPTED  # type: ignore[union-attr]
        release_runs(session, session_id, reopen_at=utcnow())
    assert lease(engine, session_id, b) == ["one.example"]
    assert len(take(engine, session_id, b, "one.example")) == 4


def test_a_session_is_finished_when_nothing_is_pending_or_leased(engine: Engine) -> None:
    session_id, (a, b) = new_session(engine)
    add(engine, session_id, pages("one.example", 2))
    lease(engine, session_id, b)
    with Session(engine) as session, session.begin():
        assert not session_finished(session, session_id, a, now=utcnow())
        assert open_session(session) == session_id
        assert workload(session, session_id, now=utcnow()) == (1, 2)
        mark_done(session, session_id, [r.url for r in pages("one.example", 2)])
        assert not session_finished(session, session_id, a, now=utcnow())  # b may add work
        assert session_finished(session, session_id, b, now=utcnow())
        release(session, session_id, b, ["one.example"], reopen_at=utcnow())
        assert session_finished(session, session_id, a, now=utcnow())
        assert open_session(session) is None


def test_concurrent_workers_claim_each_url_once(engine: Engine) -> None:
    """Four threads, each its own connection, lease and claim until nothing is left."""
    session_id, runs = new_session(engine, workers=4)
    add(engine, session_id, [r for h in range(12) for r in pages(f"h{h}.example", 30)])
    claimed: Counter[str] = Counter()
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(run_id: int) -> None:
        held: list[str] = []
        try:
            while True:
                held += lease(engine, session_id, run_id, want=2, held=tuple(held))
                got = [url for host in held for url in take(engine, session_id, run_id, host,
                                                            limit=7)]
                if not got and not lease(engine, session_id, run_id, want=1, held=tuple(held)):
                    with Session(engine) as session, session.begin():
                        mark_done(session, session_id, [])
                        left = session.scalar(select(FrontierEntry.id).where(
                            FrontierEntry.session_id == session_id,
                            FrontierEntry.claimed_by.is_(None),
                            FrontierEntry.state != DONE).limit(1))
                        release(session, session_id, run_id, held, reopen_at=utcnow())
                    held = []
                    if left is None:
                        return
                    continue
                with lock:
                    claimed.update(got)
                with Session(engine) as session, session.begin():
                    mark_done(session, session_id, got)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(run_id,)) for run_id in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(claimed) == 12 * 30
    assert set(claimed.values()) == {1}


def test_upgrading_gives_pending_requests_their_host(db_url: str) -> None:
    """An interrupted crawl of an older Silkroad resumes under workers: revision 0008
    fills in the host of its pending rows (done ones are never claimed)."""
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0007")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO crawl_runs (id, trigger, started_at, outcome, pages_fetched, "
                "articles_archived, duplicates, off_topic, errors, stats, session_id) VALUES "
                "(1, 'manual', '2026-01-02 03:04:05', 'interrupted', 0, 0, 0, 0, 0, '{}', 1)"))
            conn.execute(text(
                "INSERT INTO frontier (session_id, url, kind, source, priority, depth, state) "
                "VALUES (1, :url, 'page', 'A', 0, 0, :state)"),
                [{"url": "http://Wire.Example:8080/a", "state": "pending"},
                 {"url": "https://silk.example/b?x=1", "state": "pending"},
                 {"url": "http://done.example/c", "state": "done"}])
        upgrade(engine)
        with engine.connect() as conn:
            hosts = dict(conn.execute(text("SELECT url, host FROM frontier")).all())
        assert hosts == {"http://Wire.Example:8080/a": "wire.example",
                         "https://silk.example/b?x=1": "silk.example",
                         "http://done.example/c": ""}
        with Session(engine) as session, session.begin():
            assert lease_hosts(session, 1, 1, want=5, held=(), until=utcnow() + LEASE,
                               now=utcnow()) == ["silk.example", "wire.example"]
    finally:
        engine.dispose()


def test_a_first_round_leases_no_more_than_the_fair_share(engine: Engine) -> None:
    """A worker plans its first round before it knows how many workers share the session:
    the round leases its fair share only, so the worker starting next finds hosts free."""
    from sqlalchemy.orm import sessionmaker

    from crawler.frontier_rounds import FrontierRounds, RoundPlan

    session_id, (a, b) = new_session(engine)
    add(engine, session_id, [p for n in range(8) for p in pages(f"h{n}.example", 3)])
    sessions = sessionmaker(engine)

    def first_round(run_id: int) -> list[str]:
        rounds = FrontierRounds(sessions, run_id=run_id, session_id=session_id,
                                lease_seconds=30, max_hosts=64, delay=0)
        plan = RoundPlan(held=frozenset(), maintain=True, lease_want=64, lease_budget=64)
        outcome = rounds.run(plan)
        assert outcome.share == 4
        assert sum(map(len, outcome.claimed.values())) == 12  # 3 pages on each host
        return outcome.leased

    first, second = first_round(a), first_round(b)
    assert len(first) == len(second) == 4
    assert set(first).isdisjoint(second)
