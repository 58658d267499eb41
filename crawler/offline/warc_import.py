"""Ingest WARC files made by other crawlers (wget --warc-file, Heritrix, Browsertrix) or
exported by this archive.

Each capture (crawler/offline/warc_records.py) is stored as a crawl would have stored
it: an HTML page is analysed with the crawl's settings (decode → prefilter → extract →
topic → hash) and goes through `record_fetch`, so the same bytes get the same outcome
whether crawled or imported; robots.txt and redirects are kept as they are. A revisit
is followed to the payload it repeats (in the batch being imported, or in the archive)
and recorded as a fetch of its own URL: a sighting there, a revisit if the page's
bytes are unchanged. The URLs a capture was reached under (``reached-as`` metadata,
or a redirect met just before it) become its sightings too.

Captures are stored in batched transactions, each in its own savepoint: one bad
record costs only itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urljoin

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.analysis.fingerprint import body_digest
from crawler.analysis.page_analysis import ARCHIVABLE, PageAnalysis, analyse_page
from crawler.analysis.snapshot_body import unpack_body
from crawler.links.urls import canonical_url, host_key, page_identity
from crawler.offline.warc_records import (
    MAX_BODY,
    Capture,
    Problem,
    check_readable,
    describe,
    iter_captures,
)
from crawler.settings import SILKROAD_TOPIC_PREFILTER
from crawler.vocabulary import PageOutcome
from storage.archive import (
    REVISIT,
    FetchRecord,
    SourceCache,
    StoreResult,
    finish_run,
    is_write_conflict,
    record_fetch,
    start_run,
)
from storage.models import Page, Snapshot, Source

__all__ = ["Problem", "check_readable", "import_warcs"]

log = logging.getLogger(__name__)

BATCH = 100
BATCH_BYTES = 4 * MAX_BODY
REDIRECT_MEMORY = 10_000  # redirects waiting for the capture they lead to
WRITE_ATTEMPTS = 5  # per capture, when concurrent writers deadlock (PostgreSQL)
WAITING_REVISITS = 10_000  # revisits (no bodies) waiting for a later original
NO_PAYLOAD = "revisit of a payload in neither the WARC nor the archive"
IGNORED = "ignored/"  # counts key prefix: records with nothing to import, by reason


@dataclass
class _Batch:
    """Analysed captures waiting to be stored, and their payloads by digest: a revisit
    may repeat a capture that is not in the archive yet."""

    items: list[tuple[Capture, PageAnalysis | None]] = field(default_factory=list)
    size: int = 0
    payloads: dict[str, Capture] = field(default_factory=dict)

    def add(self, capture: Capture, analysis: PageAnalysis | None) -> None:
        assert capture.body is not None
        self.items.append((capture, analysis))
        self.size += len(capture.body)
        for digest in (capture.payload_digest, *_digests(capture.body)):
            if digest and (key := normal_digest(digest)):
                self.payloads[key] = capture
        self.payloads[f"url:{capture.url}"] = capture

    def full(self) -> bool:
        return len(self.items) >= BATCH or self.size >= BATCH_BYTES


class _Importer:
    def __init__(self, sessions: sessionmaker[Session], source: str | None,
                 problem: Callable[[Problem], None], counts: Counter[str]) -> None:
        self.sessions = sessions
        self.source = source
        self.problem = problem
        self.counts = counts
        self.cache = SourceCache()
        self.languages: dict[str, str | None] = {}
        self.redirects: OrderedDict[str, str] = OrderedDict()
        self.batch = _Batch()
        self.waiting: deque[Capture] = deque()
        self.run_id = 0

    def add(self, capture: Capture) -> None:
        if capture.kind == "revisit" and _own_block(capture) and not _importable(capture):
            self.ignored(_why_not(capture))
            return
        if capture.kind == "revisit":
            resolved = self._resolve(capture)
            if resolved is None:
                self._wait(capture)
                return
            capture = resolved
        self._admit(capture)

    def _admit(self, capture: Capture) -> None:
        """Analyse a capture with its payload and queue it for storing."""
        capture = self._reached(capture)
        analysis = None
        if not _importable(capture):
            self.ignored(_why_not(capture))
            return
        if not (capture.is_robots_txt or capture.is_redirect):
            try:
                analysis = analyse_page(capture.body or b"", capture.url,
                                        capture.header("Content-Type"),
                                        language_hint=self._language(capture.url),
                                        prefilter=SILKROAD_TOPIC_PREFILTER)
            except Exception as exc:  # a page the extractor chokes on costs only itself
                self.problem(Problem(capture.path, capture.offset, capture.url,
                                     f"analysis failed: {describe(exc)}"))
                return
        self.batch.add(capture, analysis)
        if self.batch.full():
            self.flush()

    def _wait(self, revisit: Capture) -> None:
        """A revisit may come before the record it repeats (two URLs of one page fetched
        at once, or a WARC set split across files): it waits for the end of the import."""
        self.waiting.append(revisit)
        if len(self.waiting) > WAITING_REVISITS:
            self.waiting.popleft()
            self.ignored(NO_PAYLOAD)

    def resolve_waiting(self) -> None:
        """Import the revisits that came before their originals, now that all are stored."""
        self.flush()
        waiting, self.waiting = self.waiting, deque()
        for revisit in waiting:
            resolved = self._resolve(revisit)
            if resolved is None:
                self.ignored(NO_PAYLOAD)
            else:
                self._admit(resolved)
        self.flush()

    def ignored(self, reason: str) -> None:
        self.counts[IGNORED + reason] += 1

    def flush(self) -> None:
        """Store the batch in one transaction, each capture in its own savepoint."""
        batch, self.batch = self.batch, _Batch()
        if not batch.items:
            return
        with self.sessions.begin() as session:
            for capture, analysis in batch.items:
                stored = self._store_one(session, capture, analysis)
                if stored is not None:
                    self._count(*stored)

    def _store_one(self, session: Session, capture: Capture, analysis: PageAnalysis | None
                   ) -> tuple[StoreResult, str] | None:
        """Store one capture in its own savepoint; a concurrent writer's deadlock
        (PostgreSQL) is no fault of the capture, so it is tried again."""
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with session.begin_nested():
                    return self._store(session, capture, analysis)
            except Exception as exc:  # its savepoint is rolled back; the batch goes on
                self.cache.ids.clear()  # it may name a source made in the rolled-back savepoint
                if is_write_conflict(exc) and attempt < WRITE_ATTEMPTS:
                    self.counts["write_conflicts"] += 1
                    log.info("write conflict storing %s, trying again: %s",
                             capture.url, describe(exc))
                    continue
                self.problem(Problem(capture.path, capture.offset, capture.url,
                                     f"could not be stored: {describe(exc)}"))
                break
        return None

    def _count(self, result: StoreResult, outcome: str) -> None:
        self.counts["imported"] += 1
        if result.article_state == "new":
            self.counts["archived"] += 1
        elif result.article_state == "duplicate":
            self.counts["duplicates"] += 1
        elif outcome == REVISIT:
            self.counts["revisits"] += 1
        else:
            self.counts[outcome] += 1

    # -- revisits and redirects ---------------------------------------------------

    def _resolve(self, revisit: Capture) -> Capture | None:
        """The revisit with the payload it repeats, and that capture's status and headers
        where its own block has none worth replaying (a 304, or no block at all)."""
        original = self._in_batch(revisit)
        if original is None:
            with self.sessions() as session:
                original = _in_archive(session, revisit)
        if original is None:
            return None
        status, headers = (revisit.status, revisit.headers) if _own_block(revisit) else (
            original.status, original.headers)
        return replace(revisit, status=status, headers=headers, body=original.body)

    def _in_batch(self, revisit: Capture) -> Capture | None:
        payloads = self.batch.payloads
        if revisit.payload_digest:
            key = normal_digest(revisit.payload_digest)
            return payloads.get(key) if key else None
        return payloads.get(f"url:{revisit.refers_to_url or revisit.url}")

    def _reached(self, capture: Capture) -> Capture:
        """Note where a redirect leads; a capture it led to was reached under its URL."""
        if capture.is_redirect:
            target = urljoin(capture.url, capture.header("Location") or "")
            if _differ(capture.url, target):
                self.redirects[target] = capture.reached_as[0] if capture.reached_as \
                    else capture.url
                while len(self.redirects) > REDIRECT_MEMORY:
                    self.redirects.popitem(last=False)
        source = self.redirects.pop(capture.url, None)
        if not capture.reached_as and source is not None:
            return replace(capture, reached_as=(source,))
        return capture

    # -- storing --------------------------------------------------------------------

    def _store(self, session: Session, capture: Capture, analysis: PageAnalysis | None
               ) -> tuple[StoreResult, str]:
        body = capture.body or b""
        outcome: str
        if analysis is None:
            outcome = PageOutcome.ROBOTS if capture.is_robots_txt else PageOutcome.REDIRECT
            page_url, article, encoding = canonical_url(capture.url), None, None
        else:
            outcome, encoding = analysis.outcome, analysis.encoding
            page_url = page_identity(capture.url, analysis.canonical_url)
            article = analysis.article if analysis.outcome == ARCHIVABLE else None
            if canonical_url(capture.url) == page_url and session.scalar(
                    select(Page.last_digest).where(Page.url == page_url)) == body_digest(body):
                outcome, article = REVISIT, None  # as a crawl: unchanged bytes, not analysed
        fetch = FetchRecord(
            page_url=page_url,
            url=capture.reached_as[0] if capture.reached_as else capture.url,
            final_url=capture.url,
            status=capture.status,
            headers=capture.headers,
            body=body,
            fetched_at=capture.fetched_at,
            source=self.source or host_key(capture.url),
            discovered_via="warc",
            encoding=encoding,
        )
        return record_fetch(session, fetch, article, run_id=self.run_id, outcome=outcome,
                            sources=self.cache), outcome

    def _language(self, url: str) -> str | None:
        """The language the source is known to publish in: the crawl's language hint."""
        name = self.source or host_key(url)
        if name not in self.languages:
            with self.sessions() as session:
                self.languages[name] = session.scalar(
                    select(Source.language).where(Source.name == name))
        return self.languages[name]


def _in_archive(session: Session, revisit: Capture) -> Capture | None:
    """The stored snapshot a revisit repeats: at the URL and date it refers to, else the
    latest at its own URL, else (a SHA-256 digest) any snapshot with that payload."""
    queries = []
    if revisit.refers_to_url and revisit.refers_to_date:
        start = revisit.refers_to_date.replace(microsecond=0)
        queries.append(select(Snapshot).where(
            Snapshot.url == revisit.refers_to_url, Snapshot.fetched_at >= start,
            Snapshot.fetched_at < start + timedelta(seconds=1)).limit(5))
    queries.append(select(Snapshot).where(
        Snapshot.url == (revisit.refers_to_url or revisit.url),
        Snapshot.fetched_at <= revisit.fetched_at).order_by(Snapshot.fetched_at.desc()).limit(5))
    sha256 = _sha256_hex(revisit.payload_digest)
    if sha256:
        queries.append(select(Snapshot).where(Snapshot.body_sha256 == sha256).limit(1))
    for query in queries:
        for snapshot in session.scalars(query):
            body = unpack_body(snapshot.body)
            if revisit.payload_digest and not digest_matches(revisit.payload_digest, body):
                continue
            return replace(revisit, status=snapshot.status, headers=snapshot.headers or {},
                           body=body)
    return None


def _own_block(revisit: Capture) -> bool:
    """A revisit that says how the payload was served (not a 304, not an empty block)."""
    return revisit.status not in (0, 304) and bool(revisit.headers)


def _importable(capture: Capture) -> bool:
    return capture.is_robots_txt or capture.is_redirect or (
        capture.status == 200 and capture.is_html)


def _why_not(capture: Capture) -> str:
    if capture.status != 200:
        return f"status {capture.status}"
    media = (capture.header("Content-Type") or "").split(";", 1)[0].strip().lower()
    return f"not HTML ({media})"


def _differ(url: str, other: str) -> bool:
    try:
        return canonical_url(url) != canonical_url(other)
    except ValueError:
        return False


# -- payload digests ------------------------------------------------------------------

def _digests(body: bytes) -> tuple[str, str]:
    return (f"sha1:{base64.b32encode(hashlib.sha1(body).digest()).decode()}",
            f"sha256:{base64.b32encode(hashlib.sha256(body).digest()).decode()}")


def normal_digest(value: str) -> str | None:
    """``algorithm:BASE32`` for a WARC digest written in base32 or base16, any case."""
    algorithm, _, code = value.strip().partition(":")
    algorithm, code = algorithm.strip().lower(), code.strip()
    try:
        size = hashlib.new(algorithm).digest_size
        if len(code) == 2 * size and all(c in "0123456789abcdefABCDEF" for c in code):
            raw = bytes.fromhex(code)
        else:
            raw = base64.b32decode(code.upper() + "=" * (-len(code) % 8))
    except (ValueError, binascii.Error, TypeError):
        return None
    return f"{algorithm}:{base64.b32encode(raw).decode()}"


def digest_matches(value: str, body: bytes) -> bool:
    key = normal_digest(value)
    if key is None:
        return False
    algorithm = key.split(":", 1)[0]
    return key == f"{algorithm}:{base64.b32encode(hashlib.new(algorithm, body).digest()).decode()}"


def _sha256_hex(value: str | None) -> str | None:
    key = normal_digest(value) if value else None
    if not key or not key.startswith("sha256:"):
        return None
    return base64.b32decode(key[7:]).hex()


# -- the import -----------------------------------------------------------------------

def import_warcs(
    sessions: sessionmaker[Session],
    paths: list[Path],
    *,
    source: str | None = None,
    on_record: Callable[[], None] | None = None,
    on_problem: Callable[[Problem], None] | None = None,
) -> Counter[str]:
    """Import every capture; returns counts (records, imported, archived, duplicates,
    revisits, off_topic, no_article, robots, redirect, skipped, stopped, and
    ``ignored/<reason>`` for records with nothing to import).

    Skipped records and unreadable tails are passed to ``on_problem`` as they are
    met and counted (``skipped``, ``stopped``); the others are imported regardless.
    """
    for path in paths:
        check_readable(path)
    counts: Counter[str] = Counter()

    def problem(found: Problem) -> None:
        counts["stopped" if found.fatal else "skipped"] += 1
        log.info("%s", found)
        if on_problem:
            on_problem(found)

    importer = _Importer(sessions, source, problem, counts)
    with sessions.begin() as session:
        importer.run_id = start_run(session, trigger="import",
                                    seeds_file=", ".join(map(str, paths))).id
    outcome = "failed"
    try:
        for path in paths:
            for capture in iter_captures(path, problem, importer.ignored):
                counts["records"] += 1
                if on_record:
                    on_record()
                importer.add(capture)
            importer.flush()  # a revisit refers to records of its own file
        importer.resolve_waiting()
        outcome = "partial" if counts["skipped"] or counts["stopped"] else "ok"
    finally:
        with sessions.begin() as session:
            finish_run(session, importer.run_id, outcome=outcome,
                       exit_status=0 if outcome == "ok" else 1,
                       counts={"fetched": counts["imported"], "archived": counts["archived"],
                               "duplicates": counts["duplicates"],
                               "off_topic": counts["off_topic"],
                               "errors": counts["skipped"] + counts["stopped"]},
                       stats=dict(counts))
    return counts
