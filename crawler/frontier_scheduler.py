"""A Scrapy scheduler backed by the session's frontier in the database.

Every crawl process is a *worker* of a crawl session: ``silkroad crawl`` is one,
``silkroad crawl --workers N`` starts N, ``silkroad worker`` adds one from any
machine that reaches the archive. A worker's scheduler

- writes the requests the spider schedules as pending frontier rows (in the
  archive writer's transaction, with the page that linked to them); the
  frontier's one row per URL is the dupefilter of all workers;
- leases a few hosts of its session (its fair share: hosts with work divided by
  live workers), claims their pending URLs and hands them to the engine, never
  more than ``CONCURRENT_REQUESTS_PER_DOMAIN`` of one host in the downloader at
  once (Scrapy 2.19 lets about 15 through with ``DOWNLOAD_DELAY=0``, whatever
  that setting says);
- holds at most one claim batch (``SILKROAD_CLAIM_BATCH``) claimed and not yet
  stored, over all its hosts together: the batch is the worker's budget, split
  over its hosts and claimed again as pages are stored, so a worker killed at
  any moment costs at most that many pages fetched twice;
- renews its leases and its run's heartbeat, gives back hosts it has nothing to
  do for (closed for the site's delay, so that the next worker does not fetch too
  soon), and hands the work of dead workers back to the pool
  (storage/leases.py, storage/runs.py);
- keeps its spider open while the session has pending work or another worker
  holds a live lease (one that may still store pages with new links);
- with a page budget (``SILKROAD_PAGE_BUDGET``, shared by the runs of
  ``SILKROAD_PAGE_BUDGET_RUNS``: the workers of one ``crawl --workers N
  --max-pages M``), claims no more than the budget has left, and closes once it
  is spent and what it claimed is stored.

As one host is crawled by one worker at a time, Scrapy's per-slot delay,
concurrency and AutoThrottle hold per site summed over all workers. The
database work runs on a thread of its own, never on the reactor.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from scrapy import Request, signals
from scrapy.core.scheduler import BaseScheduler
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import task

from crawler.extensions.archive_database import ArchiveDatabase, archive_database
from crawler.extensions.frontier_recorder import FrontierRecorder
from crawler.extensions.run_record import RunRecord
from crawler.frontier_rounds import FrontierRounds, RoundOutcome, RoundPlan
from crawler.links.seen_urls import SeenUrls
from crawler.signals import frontier_added, frontier_committed, frontier_done
from crawler.vocabulary import Stat
from storage.frontier import PendingRequest, url_host

log = logging.getLogger(__name__)

TICK_SECONDS = 0.1
MAINTENANCE_SECONDS = 2.0  # dead workers found, fair share recomputed
RETRY_EMPTY_SECONDS = 0.5  # a host (or the pool) found empty is asked again after this
LINGER_SECONDS = 1.0  # a host with nothing to do is kept this long before it is given up
ORPHAN_SECONDS = 2.0  # claimed, handed out, and still not done after an idle spell this long


class FrontierScheduler(BaseScheduler):
    def __init__(self, crawler: Any, *, claim_batch: int, heartbeat_seconds: float,
                 lease_seconds: float, max_hosts: int, page_budget: int | None = None,
                 budget_runs: tuple[int, ...] = ()) -> None:
        self.crawler = crawler
        self.claim_batch = max(1, claim_batch)
        self.heartbeat_seconds = heartbeat_seconds
        self.lease_seconds = lease_seconds
        self.max_hosts = max(1, max_hosts)
        self.per_host = max(1, crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 8))
        self.window = max(self.claim_batch, self.per_host)
        self.max_hosts = min(self.max_hosts, self.claim_batch)  # each host needs a claim
        self.delay = crawler.settings.getfloat("DOWNLOAD_DELAY")
        self.share = self.max_hosts
        self.page_budget = page_budget
        self.budget_runs = budget_runs
        self._budget_spent = self._closing = False
        self.spider: Any = None
        self.database: ArchiveDatabase | None = None
        self.record: Any = None
        self.recorder: FrontierRecorder | None = None
        self.run_id = self.session_id = 0
        self._ready: dict[str, list[tuple[int, int, Request]]] = {}
        self._ready_hosts: deque[str] = deque()
        self._ready_count = 0
        self._ready_urls: set[str] = set()
        self._order = itertools.count()
        self._outstanding: dict[str, set[str]] = {}  # claimed, not yet stored, by host
        self._host_of: dict[str, str] = {}
        self._held: set[str] = set()
        self._draining: set[str] = set()
        self._empty_since: dict[str, float] = {}  # host -> when its last claim found nothing
        self._pool_empty_at = -math.inf
        self._seen = SeenUrls()  # spares the database duplicate inserts
        self._handed = 0
        self._enqueued = 0
        self._commits = 0
        self._finished_at: tuple[int, int] | None = None  # (commits, enqueued) when found done
        self._next_heartbeat = self._next_maintenance = 0.0
        self._next_finish_check = 0.0
        self._orphan_watch: tuple[float, int, frozenset[str]] | None = None
        self._busy = False
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="frontier")
        self._loop = task.LoopingCall(self._tick)

    @classmethod
    def from_crawler(cls, crawler: Any) -> FrontierScheduler:
        settings = crawler.settings
        return cls(
            crawler,
            # The budget bounds the worker's requests in flight: as many as Scrapy's.
            claim_batch=int(settings.get("SILKROAD_CLAIM_BATCH")
                            or settings.getint("CONCURRENT_REQUESTS", 16)),
            heartbeat_seconds=settings.getfloat("SILKROAD_HEARTBEAT_SECONDS", 5.0),
            lease_seconds=settings.getfloat("SILKROAD_LEASE_SECONDS", 30.0),
            # A host waiting out its delay holds one request: one host per request slot.
            max_hosts=int(settings.get("SILKROAD_WORKER_HOSTS")
                          or settings.getint("CONCURRENT_REQUESTS", 16)),
            page_budget=int(settings["SILKROAD_PAGE_BUDGET"])
            if settings.get("SILKROAD_PAGE_BUDGET") else None,
            budget_runs=tuple(int(run) for run in settings.getlist("SILKROAD_PAGE_BUDGET_RUNS")),
        )

    # -- Scrapy's scheduler interface ------------------------------------------

    def open(self, spider: Any) -> None:
        self.spider = spider
        self.database = archive_database(self.crawler)
        self.record = self.crawler.get_extension(RunRecord)
        self.recorder = self.crawler.get_extension(FrontierRecorder)
        if self.record is None or self.recorder is None:
            raise RuntimeError("the frontier scheduler needs the RunRecord and "
                               "FrontierRecorder extensions (EXTENSIONS)")
        self.crawler.signals.connect(self._committed, signal=frontier_committed)
        self.crawler.signals.connect(self._spider_idle, signal=signals.spider_idle)
        self._loop.start(TICK_SECONDS, now=True)

    def close(self, reason: str) -> None:
        """Give every host and every claim not stored back at once: what this worker did
        not finish is the next one's, without waiting for its leases to expire."""
        self._closed = True
        if self._loop.running:
            self._loop.stop()
        if self.database is not None and self.run_id:
            try:
                rounds = self._rounds()
                self._executor.submit(rounds.give_back, sorted(self._held)).result(timeout=60)
            except Exception:  # noqa: BLE001 - the leases expire anyway; say why they linger
                log.exception("could not give back the hosts of run %d", self.run_id)
        self._executor.shutdown(wait=False, cancel_futures=True)

    def has_pending_requests(self) -> bool:
        return self._ready_count > 0

    def enqueue_request(self, request: Request) -> bool:
        """A new request becomes a pending frontier row (fetched once claimed, by this
        worker or another); a retry or a redirect of one this worker holds stays here."""
        kind = request.meta.get("silkroad_kind")
        meta = request.meta
        redirected_from = meta.get("redirect_urls") or []
        if redirected_from and not request.dont_filter and (
                request.url in self._seen or request.url in redirected_from):
            # A redirect to what the crawl has already (a loop, a page linked elsewhere):
            # the URLs it came from are dealt with.
            self.crawler.signals.send_catch_log(frontier_done, urls=list(redirected_from))
            return False
        own = request.dont_filter or "retry_times" in meta or bool(redirected_from)
        if kind is None or own:
            self._seen.add(request.url)
            if kind is not None and request.url not in self._host_of:
                assert self.recorder is not None
                self.recorder.add(_entry(request), claimed=True)
                self._track(request.url)
                self._added()
            self._push(request)
            return True
        if not self._seen.first(request.url):
            return False
        assert self.recorder is not None
        self.recorder.add(_entry(request))
        self._added()
        return True

    def next_request(self) -> Request | None:
        """The next request of a host with room: fewer than its concurrency in the
        downloader, and fewer than a claim batch fetched and not yet stored."""
        if not self._ready_count:
            return None
        in_flight = self._in_flight()
        for _ in range(len(self._ready_hosts)):
            host = self._ready_hosts[0]
            self._ready_hosts.rotate(-1)
            queue = self._ready.get(host)
            if not queue:
                continue
            handed = len(self._outstanding.get(host, ())) - len(queue)
            if in_flight[host] >= self._concurrency(host) or handed >= self.window:
                continue
            _, _, request = heapq.heappop(queue)
            self._ready_count -= 1
            self._ready_urls.discard(request.url)
            if not queue:
                del self._ready[host]
                self._ready_hosts.remove(host)
            self._handed += 1
            return request
        return None

    # -- local state ---------------------------------------------------------------

    def _push(self, request: Request) -> None:
        host = urlparse_cached(request).hostname or ""
        queue = self._ready.get(host)
        if queue is None:
            queue = self._ready[host] = []
            self._ready_hosts.append(host)
        heapq.heappush(queue, (-request.priority, next(self._order), request))
        self._ready_count += 1
        self._ready_urls.add(request.url)

    def _track(self, url: str) -> None:
        host = url_host(url)
        self._outstanding.setdefault(host, set()).add(url)
        self._host_of[url] = host

    def _forget(self, url: str) -> None:
        host = self._host_of.pop(url, None)
        if host is not None:
            urls = self._outstanding.get(host)
            if urls is not None:
                urls.discard(url)
                if not urls:
                    del self._outstanding[host]

    def _drop_ready(self, host: str) -> list[str]:
        """Forget the host's claimed requests not handed out yet; their URLs."""
        queue = self._ready.pop(host, [])
        if queue:
            self._ready_hosts.remove(host)
            self._ready_count -= len(queue)
        urls = [request.url for _, _, request in queue]
        for url in urls:
            self._ready_urls.discard(url)
            self._forget(url)
        return urls

    def _added(self) -> None:
        self._enqueued += 1
        self.crawler.signals.send_catch_log(frontier_added)

    def _in_flight(self) -> Counter[str]:
        engine = self.crawler.engine
        active = engine.downloader.active if engine is not None else ()
        return Counter(urlparse_cached(request).hostname or "" for request in active)

    def _concurrency(self, host: str) -> int:
        engine = self.crawler.engine
        slot = engine.downloader.slots.get(host) if engine is not None else None
        return min(slot.concurrency, self.per_host) if slot is not None else self.per_host

    def _site_delay(self, host: str) -> float:
        engine = self.crawler.engine
        slot = engine.downloader.slots.get(host) if engine is not None else None
        return slot.delay if slot is not None else self.delay

    # -- signals -------------------------------------------------------------------

    def _committed(self, urls: list[str], added: int) -> None:
        self._commits += 1
        for url in urls:
            self._forget(url)
        if added:
            self._empty_since.clear()
            self._pool_empty_at = -math.inf

    def _spider_idle(self) -> None:
        assert self.recorder is not None
        if self._finished and not self._ready_count and not self.recorder.busy:
            log.info("crawl session %d has nothing left to fetch", self.session_id)
            return
        if (self._budget_spent and not self._outstanding and not self.recorder.busy
                and not self._closing):
            log.info("the page budget (%d pages) is spent", self.page_budget)
            self._closing = True
            asyncio.ensure_future(self.crawler.engine.close_spider_async(
                reason="closespider_pagecount"))
        self._next_finish_check = 0.0
        raise DontCloseSpider

    @property
    def _finished(self) -> bool:
        """The session had nothing left when last asked, and nothing came since."""
        return self._finished_at == (self._commits, self._enqueued)

    # -- the loop: decide on the reactor, touch the database on a thread -------------

    def _tick(self) -> None:
        if self._closed:
            return
        if not self.run_id:  # the run starts when the pipelines open (after the spider)
            self.run_id, self.session_id = self.record.run_id, self.record.session_id
            if not self.run_id:
                return
        self._watch_orphans()
        if self._busy:
            return
        plan = self._plan(time.monotonic())
        if plan is None:
            return
        self._busy = True
        commits, enqueued = self._commits, self._enqueued
        future = asyncio.get_running_loop().run_in_executor(self._executor,
                                                             self._rounds().run, plan)
        future.add_done_callback(lambda done: self._apply(done, plan, commits, enqueued))

    def _plan(self, now: float) -> RoundPlan | None:
        assert self.recorder is not None
        plan = RoundPlan(held=frozenset(self._held))
        if now >= self._next_heartbeat:
            plan.heartbeat, self._next_heartbeat = True, now + self.heartbeat_seconds
        if now >= self._next_maintenance:
            plan.maintain, self._next_maintenance = True, now + MAINTENANCE_SECONDS
        active = self._held - self._draining
        if len(active) > self.share:
            host = min(active, key=lambda h: len(self._outstanding.get(h, ())))
            self._draining.add(host)
            plan.unclaim = self._drop_ready(host)
            active.discard(host)
        if not self._budget_spent:
            plan.claims = self._claims(active, now)
        for host in self._held:
            if self._outstanding.get(host) or self._ready.get(host):
                continue
            if host in self._draining or (
                    host in self._empty_since
                    and now - self._empty_since[host] >= LINGER_SECONDS):
                plan.release[host] = self._site_delay(host)
        if (len(active) < self.share and now - self._pool_empty_at >= RETRY_EMPTY_SECONDS
                and not self._budget_spent):
            plan.lease_want = self.share - len(active)
            plan.lease_budget = self._free() - sum(plan.claims.values())
        idle = not self._ready_count and not self._outstanding and not self.recorder.busy
        if idle and now >= self._next_finish_check:
            plan.check_finished, self._next_finish_check = True, now + RETRY_EMPTY_SECONDS
        if not (plan.heartbeat or plan.maintain or plan.claims or plan.release or plan.unclaim
                or plan.lease_want or plan.check_finished):
            return None
        return plan

    def _free(self) -> int:
        """What is left of the worker's budget: a claim batch, less the URLs it holds
        claimed and not yet stored."""
        return self.claim_batch - sum(map(len, self._outstanding.values()))

    def _claims(self, active: set[str], now: float) -> dict[str, int]:
        """The free budget split over the hosts that may have more: each first up to an
        equal share of the whole budget (the hosts holding least first), then what is left
        to the hosts with fewer requests ready than they may fetch at once."""
        free = self._free()
        hosts = [host for host in active
                 if now - self._empty_since.get(host, -math.inf) >= RETRY_EMPTY_SECONDS]
        if free <= 0 or not hosts:
            return {}
        hosts.sort(key=lambda host: len(self._outstanding.get(host, ())))
        share = max(1, self.claim_batch // len(active))
        claims: dict[str, int] = {}
        for host in hosts:
            want = min(free, share - len(self._outstanding.get(host, ())))
            if want > 0:
                claims[host] = want
                free -= want
        for host in hosts:
            want = min(free, self.per_host - len(self._ready.get(host, ()))
                       - claims.get(host, 0))
            if want > 0:
                claims[host] = claims.get(host, 0) + want
                free -= want
        return claims

    def _rounds(self) -> FrontierRounds:
        assert self.database is not None
        return FrontierRounds(self.database.sessions, run_id=self.run_id,
                              session_id=self.session_id,
                              lease_seconds=self.lease_seconds, max_hosts=self.max_hosts,
                              delay=self.delay, page_budget=self.page_budget,
                              budget_runs=self.budget_runs)

    def _apply(self, done: asyncio.Future[RoundOutcome], plan: RoundPlan, commits: int,
               enqueued: int) -> None:
        self._busy = False
        if self._closed:
            return
        try:
            outcome = done.result()
        except Exception:  # noqa: BLE001 - the database may come back; the next tick retries
            log.exception("crawl session %d: frontier round failed", self.session_id)
            return
        now = time.monotonic()
        stats = self.crawler.stats
        if outcome.share is not None:
            self.share = outcome.share
        if outcome.budget_left == 0:
            self._budget_spent = True
        for host in outcome.lost:
            log.warning("lost the lease on %s (expired and taken over)", host)
            self._drop_ready(host)
            self._held.discard(host)
            self._draining.discard(host)
        for host in plan.release:
            self._held.discard(host)
            self._draining.discard(host)
            self._empty_since.pop(host, None)
        self._held.update(outcome.leased)
        if outcome.leased:
            stats.inc_value(Stat.HOSTS_LEASED, len(outcome.leased))
        elif plan.lease_want:
            self._pool_empty_at = now
        unknown: list[str] = []
        for host, entries in outcome.claimed.items():
            if len(entries) < outcome.asked.get(host, 0):
                self._empty_since.setdefault(host, now)
            else:
                self._empty_since.pop(host, None)
            stats.inc_value(Stat.FRONTIER_CLAIMED, len(entries))
            for entry in entries:
                self._track(entry.url)
                request = self.spider.request_for(entry)
                if request is None:
                    unknown.append(entry.url)
                else:
                    self._push(request)
        if unknown:
            log.warning("%d frontier request(s) of sources this seeds file does not name: "
                        "marked done unfetched", len(unknown))
            self.crawler.signals.send_catch_log(frontier_done, urls=unknown)
        assert self.recorder is not None
        if (outcome.finished and commits == self._commits and enqueued == self._enqueued
                and not self.recorder.busy):
            self._finished_at = (commits, enqueued)
        if self._ready_count or self._finished or self._budget_spent:
            wake_engine(self.crawler)

    # -- requests that can never be done ---------------------------------------------

    def _watch_orphans(self) -> None:
        """A claimed request handed out whose callback never reported it (a spider error):
        once nothing moves for a while, it is marked done, else the session never ends."""
        assert self.recorder is not None
        engine = self.crawler.engine
        quiet = (engine is not None and not engine.downloader.active
                 and engine.scraper.slot is not None and engine.scraper.slot.is_idle()
                 and not self.recorder.busy)
        handed = frozenset(self._host_of.keys() - self._ready_urls) if quiet else frozenset()
        if not handed:
            self._orphan_watch = None
            return
        now = time.monotonic()
        if self._orphan_watch is None or self._orphan_watch[1] != self._handed:
            self._orphan_watch = (now, self._handed, handed)
            return
        since, _, first = self._orphan_watch
        if now - since < ORPHAN_SECONDS:
            return
        orphans = sorted(first & handed)
        self._orphan_watch = None
        if orphans:
            log.warning("%d claimed request(s) were handed out and never reported done "
                        "(see the spider errors): marked done", len(orphans))
            self.crawler.stats.inc_value(Stat.FRONTIER_ORPHANS, len(orphans))
            self.crawler.signals.send_catch_log(frontier_done, urls=orphans)


def _entry(request: Request) -> PendingRequest:
    return PendingRequest(
        url=request.url,
        kind=request.meta["silkroad_kind"],
        source=request.cb_kwargs.get("source_name", ""),
        via=request.cb_kwargs.get("via"),
        reached_as=request.meta.get("reached_as"),
        priority=request.priority,
        depth=request.meta.get("depth", 0),
    )


def wake_engine(crawler: Any) -> bool:
    """Have the engine ask for requests now rather than on its 5 s heartbeat.

    Scrapy (2.18-2.19) has no public call for it: the private
    ``ExecutionEngine._slot.nextcall.schedule()``, as the archive pipeline uses
    (tests/test_scrapy_private_apis.py checks it against the installed Scrapy)."""
    engine = crawler.engine
    schedule = getattr(getattr(getattr(engine, "_slot", None), "nextcall", None),
                       "schedule", None)
    if callable(schedule):
        schedule()
        return True
    return False
