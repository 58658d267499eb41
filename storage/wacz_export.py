"""The archive as one WACZ file (WACZ 1.1.1): what ReplayWeb.page and pywb open directly.

A ZIP holding the WARC (``archive/data.warc.gz``, stored uncompressed so a player
can seek into it), its CDXJ index (``indexes/index.cdx``), the list of archived
articles (``pages/pages.jsonl``: one entry per article, at the capture that holds
that version, with its title and text for the player's search), and
``datapackage.json`` with each file's size and SHA-256 (``datapackage-digest.json``
fixes the package itself).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from warcio.timeutils import datetime_to_iso_date

from crawler import __version__
from storage.cdxj import write_cdxj
from storage.models import Article, Sighting, Snapshot
from storage.warc_export import write_warc

WACZ_VERSION = "1.1.1"
WARC_NAME = "data.warc.gz"
_CHUNK = 1024 * 1024


def write_wacz(session: Session, stream: IO[bytes], *, title: str = "",
               version: str = "1.1") -> Counter[str]:
    """Write the whole archive as a WACZ to ``stream`` (seekable); returns record counts
    by type and ``pages``, the number of articles listed."""
    with tempfile.TemporaryDirectory(prefix="silkroad-wacz-") as folder:
        warc = Path(folder) / WARC_NAME
        with warc.open("wb") as out:
            counts = write_warc(session, out, filename=WARC_NAME, version=version)
        index = Path(folder) / "index.cdx"
        with warc.open("rb") as source, index.open("w", encoding="utf-8") as out:
            write_cdxj(source, out, filename=WARC_NAME)
        pages = Path(folder) / "pages.jsonl"
        with pages.open("w", encoding="utf-8") as out:
            counts["pages"] = _write_pages(session, out)
        with zipfile.ZipFile(stream, "w") as package:
            resources = [
                _add(package, warc, "archive/" + WARC_NAME, zipfile.ZIP_STORED),
                _add(package, index, "indexes/index.cdx", zipfile.ZIP_DEFLATED),
                _add(package, pages, "pages/pages.jsonl", zipfile.ZIP_DEFLATED),
            ]
            created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            datapackage = json.dumps({
                "profile": "data-package",
                "resources": resources,
                "title": title or "Silkroad Archive",
                "created": created,
                "wacz_version": WACZ_VERSION,
                "software": f"Silkroad Archive {__version__}",
            }, indent=2).encode("utf-8")
            package.writestr(_entry("datapackage.json", zipfile.ZIP_DEFLATED), datapackage)
            package.writestr(_entry("datapackage-digest.json", zipfile.ZIP_DEFLATED), json.dumps({
                "path": "datapackage.json",
                "hash": "sha256:" + hashlib.sha256(datapackage).hexdigest(),
            }, indent=2))
    return counts


def _entry(name: str, compression: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, datetime.now(UTC).timetuple()[:6])
    info.compress_type = compression
    return info


def _add(package: zipfile.ZipFile, path: Path, name: str, compression: int) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as source, package.open(_entry(name, compression), "w",
                                                 force_zip64=True) as target:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            target.write(chunk)
    return {"name": Path(name).name, "path": name, "hash": "sha256:" + digest.hexdigest(),
            "bytes": path.stat().st_size}


def _write_pages(session: Session, out: IO[str]) -> int:
    out.write(json.dumps({"format": "json-pages-1.0", "id": "pages",
                          "title": "Archived articles", "hasText": True}) + "\n")
    count = 0
    for entry in _pages(session):
        out.write(json.dumps(entry, ensure_ascii=False) + "\n")
        count += 1
    return count


def _pages(session: Session) -> Iterator[dict[str, Any]]:
    """Each article at the capture it was first seen in: the URL and date that replay it."""
    first = (select(Sighting.article_id, func.min(Sighting.id).label("sighting_id"))
             .where(Sighting.snapshot_id.is_not(None))
             .group_by(Sighting.article_id).subquery())
    rows = session.execute(
        select(Article.id, Article.title, Article.text, Snapshot.url, Snapshot.fetched_at)
        .join(first, first.c.article_id == Article.id)
        .join(Sighting, Sighting.id == first.c.sighting_id)
        .join(Snapshot, Snapshot.id == Sighting.snapshot_id)
        .order_by(Article.id)
        .execution_options(yield_per=200)
    )
    for article_id, title, text, url, fetched_at in rows:
        entry: dict[str, Any] = {"id": f"article-{article_id}", "url": url,
                                 "ts": datetime_to_iso_date(fetched_at, use_micros=True)}
        if title:
            entry["title"] = title
        entry["text"] = text
        yield entry
