"""The seeds file: which sites to crawl and where each one starts.

Format (DESIGN.md §4), one table per source::

    [[sources]]
    name = "Modern Diplomacy"
    urls = ["https://moderndiplomacy.eu/..."]
    language = "en"                         # optional hint
    allowed_domains = ["moderndiplomacy.eu"]  # optional; default: hosts of `urls`
    feeds = []                              # optional RSS/Atom URLs
    sitemaps = []                           # optional sitemap URLs
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.errors import SeedsError
from crawler.links.urls import host_key, is_http_url

DEFAULT_SEEDS_FILE = "seeds/sources.toml"
_KNOWN_KEYS = {"name", "urls", "language", "allowed_domains", "feeds", "sitemaps", "enabled"}


@dataclass(frozen=True)
class Source:
    name: str
    urls: tuple[str, ...]
    language: str | None = None
    allowed_domains: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()

    def start_urls(self) -> tuple[str, ...]:
        return self.urls + self.feeds + self.sitemaps


@dataclass(frozen=True)
class SeedsFile:
    path: Path
    sources: tuple[Source, ...]
    schedule: dict[str, Any] = field(default_factory=dict)

    def source(self, name: str) -> Source:
        for src in self.sources:
            if src.name == name:
                return src
        raise SeedsError(f"no source named {name!r} in {self.path}")


def default_seeds_path() -> Path:
    """./seeds/sources.toml when run from a checkout, else the copy shipped in the package."""
    local = Path(DEFAULT_SEEDS_FILE)
    if local.is_file():
        return local
    return Path(str(resources.files("seeds") / "sources.toml"))


def load_seeds(path: str | Path) -> SeedsFile:
    """Read and validate a seeds file; every problem is a one-line SeedsError."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SeedsError(f"seeds file not found: {path}") from None
    except OSError as exc:
        raise SeedsError(f"cannot read seeds file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SeedsError(f"seeds file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise SeedsError(f"malformed TOML in {path}: {exc}") from None
    tables = data.get("sources")
    if not isinstance(tables, list) or not tables:
        raise SeedsError(f"{path} has no [[sources]] tables")
    sources = tuple(
        src for i, table in enumerate(tables) if (src := _parse_source(path, i, table)) is not None
    )
    names = [s.name for s in sources]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SeedsError(f"{path}: source names must be unique, repeated: {', '.join(dupes)}")
    if not sources:
        raise SeedsError(f"{path}: every source is disabled")
    schedule = data.get("schedule", {})
    if not isinstance(schedule, dict):
        raise SeedsError(f"{path}: [schedule] must be a table")
    return SeedsFile(path=path, sources=sources, schedule=schedule)


def _parse_source(path: Path, index: int, table: Any) -> Source | None:
    where = f"{path}: source #{index + 1}"
    if not isinstance(table, dict):
        raise SeedsError(f"{where} is not a table")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SeedsError(f"{where} needs a non-empty `name`")
    where = f"{path}: source {name!r}"
    unknown = sorted(set(table) - _KNOWN_KEYS)
    if unknown:
        raise SeedsError(f"{where}: unknown key(s) {', '.join(unknown)}")
    if table.get("enabled", True) is False:
        return None
    urls = _url_list(where, table, "urls")
    feeds = _url_list(where, table, "feeds")
    sitemaps = _url_list(where, table, "sitemaps")
    if not (urls or feeds or sitemaps):
        raise SeedsError(f"{where} needs at least one of urls, feeds, sitemaps")
    allowed = table.get("allowed_domains")
    if allowed is None:
        allowed = sorted({host_key(u) for u in urls + feeds + sitemaps})
    elif not isinstance(allowed, list) or not all(isinstance(d, str) and d for d in allowed):
        raise SeedsError(f"{where}: `allowed_domains` must be a list of host names")
    else:
        for domain in allowed:
            problem = _domain_problem(domain)
            if problem:
                raise SeedsError(f"{where}: `allowed_domains` has {domain!r}: {problem}")
    language = table.get("language")
    if language is not None and not isinstance(language, str):
        raise SeedsError(f"{where}: `language` must be a string such as \"en\"")
    return Source(
        name=name.strip(),
        urls=urls,
        language=language,
        allowed_domains=tuple(d.lower().strip() for d in allowed),
        feeds=feeds,
        sitemaps=sitemaps,
    )


def _url_list(where: str, table: dict[str, Any], key: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise SeedsError(f"{where}: `{key}` must be a list of URLs")
    for url in value:
        problem = _port_problem(url.strip()) if isinstance(url, str) else None
        if problem:
            raise SeedsError(f"{where}: `{key}` has a URL with {problem}: {url!r}")
        if not isinstance(url, str) or not is_http_url(url):
            raise SeedsError(f"{where}: `{key}` has a value that is not an http(s) URL: {url!r}")
    return tuple(value)


def _port_problem(url: str) -> str | None:
    """Why the URL's port is unusable, or None. urllib accepts ``host:abc`` until
    ``.port`` is read, which the crawl does only once it has started."""
    try:
        port = urlsplit(url).port
    except ValueError:
        port = 0
    return "a bad port (want 1-65535)" if port == 0 else None


def _domain_problem(domain: str) -> str | None:
    """Why an ``allowed_domains`` entry can never match a URL's host, or None."""
    parts = urlsplit("http://" + domain.strip())
    if parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        return "want a host name or host:port, not a URL"
    if not parts.hostname:
        return "no host name"
    return _port_problem("http://" + domain.strip())
