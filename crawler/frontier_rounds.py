"""One database round of a crawl worker's frontier scheduler, in one transaction.

The scheduler (crawler/frontier_scheduler.py) decides on the reactor thread what
a round should do: renew its leases and heartbeat, settle dead workers, give
hosts up, lease more, claim batches, ask whether the session is finished. The
round does it on the scheduler's own thread, with storage/leases.py and
storage/runs.py, and says what came of it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from crawler.timeutil import utcnow
from storage import leases
from storage.frontier import PendingRequest
from storage.runs import heartbeat, settle_dead_runs

log = logging.getLogger(__name__)


@dataclass
class RoundPlan:
    """What one database round does, decided on the reactor thread."""

    held: frozenset[str]
    heartbeat: bool = False
    maintain: bool = False
    claims: dict[str, int] = field(default_factory=dict)  # host -> URLs to claim
    lease_want: int = 0
    lease_budget: int = 0  # URLs to claim on the hosts newly leased, split among them
    release: dict[str, float] = field(default_factory=dict)  # host -> site delay
    unclaim: list[str] = field(default_factory=list)
    check_finished: bool = False


@dataclass
class RoundOutcome:
    """What came of it: hosts leased and lost, URLs claimed, the worker's fair share."""

    leased: list[str] = field(default_factory=list)
    lost: set[str] = field(default_factory=set)
    claimed: dict[str, list[PendingRequest]] = field(default_factory=dict)
    asked: dict[str, int] = field(default_factory=dict)  # host -> URLs asked for
    finished: bool = False
    share: int | None = None
    budget_left: int | None = None  # pages the shared page budget allows still


class FrontierRounds:
    """The database side of one worker: its run, its session, its settings."""

    def __init__(self, sessions: sessionmaker[Session], *, run_id: int, session_id: int,
                 lease_seconds: float, max_hosts: int, delay: float,
                 page_budget: int | None = None, budget_runs: Collection[int] = ()) -> None:
        self.sessions = sessions
        self.run_id = run_id
        self.session_id = session_id
        self.lease_seconds = lease_seconds
        self.max_hosts = max_hosts
        self.delay = delay
        self.page_budget = page_budget
        self.budget_runs = tuple(budget_runs) or (run_id,)

    def run(self, plan: RoundPlan) -> RoundOutcome:
        """On the frontier thread: one transaction."""
        outcome = RoundOutcome()
        now = utcnow()
        until = leases.lease_until(now, self.lease_seconds)
        run, session_id = self.run_id, self.session_id
        with self.sessions.begin() as session:
            if plan.maintain:
                dead = settle_dead_runs(session, session_id=session_id,
                                        close_reason="its crawl process is gone")
                if dead:
                    log.warning("crawl worker run(s) %s of session %d are gone: their hosts "
                                "and claims return to the pool", dead, session_id)
                leases.release_runs(session, session_id,
                                    reopen_at=leases.lease_until(now, self.delay))
                hosts, workers = leases.workload(session, session_id, now=now)
                outcome.share = min(self.max_hosts, max(1, math.ceil(hosts / workers)))
            if plan.heartbeat:
                heartbeat(session, run)
                outcome.lost = set(plan.held) - leases.renew(session, session_id, run,
                                                              until=until)
            if plan.unclaim:
                leases.unclaim(session, session_id, run, plan.unclaim)
            for host, delay in plan.release.items():
                leases.release(session, session_id, run, [host],
                               reopen_at=leases.lease_until(now, delay))
            held = set(plan.held) - outcome.lost - set(plan.release)
            want = plan.lease_want
            if want and outcome.share is not None:
                # The share the reactor planned with may be stale (a worker's first round
                # plans with its most): taking more would leave a starting worker idle
                # until this one gave the surplus back.
                want = min(want, outcome.share - len(held))
            if want > 0:
                outcome.leased = leases.lease_hosts(session, session_id, run,
                                                    want=want, held=held,
                                                    until=until, now=now)
            outcome.asked = {**plan.claims, **split(plan.lease_budget, outcome.leased)}
            if self.page_budget is not None and outcome.asked:
                left = self.page_budget - leases.budget_spent(session, session_id,
                                                              self.budget_runs)
                outcome.asked = within(outcome.asked, left)
                outcome.budget_left = max(0, left - sum(outcome.asked.values()))
            for host, limit in outcome.asked.items():
                if host in outcome.lost or host in plan.release or limit <= 0:
                    continue
                outcome.claimed[host] = leases.claim(session, session_id, run, host,
                                                     limit=limit, now=now)
            if plan.check_finished:
                outcome.finished = leases.session_finished(session, session_id, run, now=now)
        return outcome

    def give_back(self, held: Iterable[str]) -> None:
        """Every host and every claim not stored back to the pool (a worker that stops)."""
        now = utcnow()
        with self.sessions.begin() as session:
            leases.release(session, self.session_id, self.run_id, list(held),
                           reopen_at=leases.lease_until(now, self.delay))
            leases.release_runs(session, self.session_id, reopen_at=now,
                                run_ids=[self.run_id])


def split(budget: int, hosts: list[str]) -> dict[str, int]:
    """``budget`` URLs over ``hosts`` as evenly as it goes (none for some if it is short)."""
    if budget <= 0 or not hosts:
        return {}
    each, extra = divmod(budget, len(hosts))
    return {host: each + (index < extra) for index, host in enumerate(hosts)
            if each + (index < extra)}


def within(asked: dict[str, int], left: int) -> dict[str, int]:
    """The claims cut down, in order, to what a page budget with ``left`` pages allows."""
    kept = {}
    for host, limit in asked.items():
        if left <= 0:
            break
        kept[host] = min(limit, left)
        left -= kept[host]
    return kept
