"""The text a crawl kept for each corpus page, read back from its archive.

On-topic pages have an article row: its text is what the pipeline stored.
The topic filter keeps no text for the other pages, but it keeps their
snapshot: the exact bytes and Content-Type the extraction worker was given.
Running the same pure ``analyse_page`` over that snapshot replays what the
worker computed, so every page's text still comes out of the pipeline's own
fetch, decoding and storage (where truncation or a wrong charset would
show). The replay is checked against the stored article texts.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from crawler.analysis.page_analysis import analyse_page
from crawler.analysis.snapshot_body import unpack_body
from crawler.links.urls import canonical_url


@dataclass(frozen=True)
class StoredJob:
    body: bytes
    url: str
    content_type: str | None


@dataclass(frozen=True)
class PipelineText:
    text: str
    origin: str  # article | replay | missing
    bytes_intact: bool
    replay_matches: bool | None = None  # for article rows: the replay gave the stored text


def replay(job: StoredJob) -> str:
    analysis = analyse_page(job.body, job.url, job.content_type)
    return analysis.article.text if analysis.article else ""


def stored_docs(db_path: Path, urls: Mapping[str, str]) -> set[str]:
    """The corpus pages a crawl stored a snapshot of, whatever their topic."""
    by_url = {canonical_url(url): doc_id for url, doc_id in urls.items()}
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT url, requested_url FROM snapshots").fetchall()
    return {doc for url, requested in rows
            if (doc := by_url.get(canonical_url(requested or url))) is not None}


def pipeline_texts(db_path: Path, urls: Mapping[str, str], files: Mapping[str, Path],
                   pool: Executor) -> dict[str, PipelineText]:
    """``urls``: loopback URL -> doc id; ``files``: doc id -> the file that was served."""
    by_url = {canonical_url(url): doc_id for url, doc_id in urls.items()}
    with sqlite3.connect(db_path) as db:
        stored = {snapshot_id: text for snapshot_id, text in db.execute(
            "SELECT s.snapshot_id, a.text FROM sightings s JOIN articles a ON a.id = s.article_id"
        )}
        snapshots = db.execute(
            "SELECT id, url, requested_url, content_type, body FROM snapshots ORDER BY id"
        ).fetchall()
    found: dict[str, tuple[int, StoredJob]] = {}
    for snapshot_id, url, requested, content_type, body in snapshots:
        doc_id = by_url.get(canonical_url(requested or url)) or by_url.get(canonical_url(url))
        if doc_id is not None and doc_id not in found:
            found[doc_id] = (snapshot_id, StoredJob(unpack_body(body), url, content_type))
    order = list(found)
    replays = dict(zip(order, pool.map(replay, [found[d][1] for d in order], chunksize=4),
                       strict=True))
    texts = {}
    for doc_id in urls.values():
        if doc_id not in found:
            texts[doc_id] = PipelineText("", "missing", False)
            continue
        snapshot_id, job = found[doc_id]
        served = hashlib.sha256(files[doc_id].read_bytes()).digest()
        intact = hashlib.sha256(job.body).digest() == served
        if snapshot_id in stored:
            texts[doc_id] = PipelineText(stored[snapshot_id], "article", intact,
                                         replays[doc_id] == stored[snapshot_id])
        else:
            texts[doc_id] = PipelineText(replays[doc_id], "replay", intact)
    return texts
