"""A corpus of article pages laid out as a loopback web a crawler can discover.

Each original site becomes one loopback host (127.0.0.x, one shared port)
with an index page linking to that site's articles at their original paths;
the seeds file names one source per site, starting at its index page. The
same article URLs feed trafilatura's CLI, so both crawl the same web.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from dataclasses import dataclass
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

from crawler.links.urls import canonical_url
from tests.benchmarks.static_web import Routes

INDEX_PATH = "/bench-index.html"
ROBOTS_PATH = "/robots.txt"
HTML_TYPE = "text/html; charset=utf-8"
ROBOTS_TYPE = "text/plain; charset=utf-8"
ROBOTS_TXT = "User-agent: *\nDisallow:\n"


@dataclass(frozen=True)
class CorpusDoc:
    doc_id: str
    url: str  # where it was published: its host decides its loopback site
    html: bytes
    truth: str | None  # the true article body, when known


@dataclass(frozen=True)
class SiteEntry:
    name: str
    address: str
    start_path: str
    language: str | None = None


@dataclass(frozen=True)
class LaidOutCorpus:
    """The corpus on disk: files, routes, and where each document will be served."""

    routes: Routes
    sites: list[SiteEntry]
    paths: dict[str, tuple[str, str]]  # doc_id -> (address, path)
    files: dict[str, Path]  # doc_id -> html file

    def url(self, doc_id: str, port: int) -> str:
        address, path = self.paths[doc_id]
        return f"http://{address}:{port}{path}"


def load_benchmark_corpus(folder: Path) -> list[CorpusDoc]:
    """The article-extraction-benchmark layout: ``html/ID.html.gz`` and ``ground-truth.json``."""
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    docs = []
    for doc_id, entry in sorted(truth.items()):
        with gzip.open(folder / "html" / f"{doc_id}.html.gz", "rb") as fh:
            docs.append(CorpusDoc(doc_id, entry["url"], fh.read(), entry.get("articleBody", "")))
    return docs


def loopback_address(index: int) -> str:
    """The index-th site's address: 127.0.0.2, 127.0.0.3, ... then 127.0.1.1 ..."""
    high, low = divmod(index + 1, 254)
    return f"127.0.{high}.{low + 1}"


def _path_of(url: str) -> str:
    parts = urlsplit(canonical_url(url))
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def lay_out(docs: list[CorpusDoc], folder: Path) -> LaidOutCorpus:
    """Write every page and one index page per site; nothing is served yet."""
    folder.mkdir(parents=True, exist_ok=True)
    robots = write_robots(folder)
    by_host: dict[str, list[CorpusDoc]] = defaultdict(list)
    for doc in docs:
        by_host[(urlsplit(doc.url).hostname or "unknown").lower()].append(doc)
    routes: Routes = {}
    sites, paths, files = [], {}, {}
    for index, (host, host_docs) in enumerate(sorted(by_host.items())):
        address = loopback_address(index)
        site: dict[str, tuple[str, str]] = {}
        for doc in host_docs:
            path = _path_of(doc.url)
            if path in site or path == INDEX_PATH:
                path = f"{path}{'&' if '?' in path else '?'}bench-doc={doc.doc_id[:12]}"
            file = folder / f"{doc.doc_id}.html"
            file.write_bytes(doc.html)
            site[path] = (str(file), HTML_TYPE)
            paths[doc.doc_id] = (address, path)
            files[doc.doc_id] = file
        index_file = folder / f"index-{index:04d}.html"
        index_file.write_text(_index_page(host, [paths[d.doc_id][1] for d in host_docs]),
                              encoding="utf-8")
        site[INDEX_PATH] = (str(index_file), HTML_TYPE)
        site[ROBOTS_PATH] = robots
        routes[address] = site
        sites.append(SiteEntry(name=host, address=address, start_path=INDEX_PATH))
    return LaidOutCorpus(routes=routes, sites=sites, paths=paths, files=files)


def write_robots(folder: Path) -> tuple[str, str]:
    """Real sites answer robots.txt; a 404 would count as an HTTP error per host."""
    path = folder / "robots.txt"
    path.write_text(ROBOTS_TXT, encoding="utf-8")
    return str(path), ROBOTS_TYPE


def _index_page(host: str, paths: list[str]) -> str:
    links = "".join(f'<li><a href="{escape(p)}">{escape(p)}</a></li>' for p in paths)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(host)}'
            f"</title></head><body><h1>{escape(host)}</h1><ul>{links}</ul></body></html>")


def seeds_toml(sites: list[SiteEntry], port: int) -> str:
    """One source per site, scoped to its loopback host and port."""
    out = []
    for site in sites:
        start = f"http://{site.address}:{port}{site.start_path}"
        out.append("[[sources]]")
        out.append(f"name = {json.dumps(site.name, ensure_ascii=False)}")
        out.append(f"urls = [{json.dumps(start)}]")
        if site.language:
            out.append(f"language = {json.dumps(site.language)}")
        out.append("")
    return "\n".join(out)
