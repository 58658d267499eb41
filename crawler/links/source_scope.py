"""Which source of a seeds file a URL belongs to, in constant time per link.

A news page carries a few hundred links and a seeds file may name a hundred
sources: checking each link against each source's ``allowed_domains`` made
scoping the single largest cost of a crawl. Here the allowed hosts are
dictionaries, and each host is parsed once.

An allowed ``host:port`` matches that port only; a plain name matches the
host on any port and, unless it is an IP address, its subdomains too.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Protocol
from urllib.parse import urlsplit

from crawler.links.urls import host_key, is_ip_literal


class ScopedSource(Protocol):
    name: str
    allowed_domains: tuple[str, ...]

    def start_urls(self) -> tuple[str, ...]: ...


@lru_cache(maxsize=4096)
def _host_of(scheme: str, netloc: str) -> tuple[str, str] | None:
    """(host, host_key) of an http(s) URL's network location, or None when it has no host."""
    if scheme not in ("http", "https"):
        return None
    origin = f"{scheme}://{netloc}"
    host = (urlsplit(origin).hostname or "").lower()
    return (host, host_key(origin)) if host else None


def url_host(url: str) -> tuple[str, str] | None:
    """(host, host_key) of an http(s) URL, or None for anything else."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 -- raises ValueError for a malformed or out-of-range port
    except ValueError:
        return None
    return _host_of(parts.scheme, parts.netloc)


class SourceScope:
    """The sources of a seeds file, indexed by the hosts they allow."""

    def __init__(self, sources: Iterable[ScopedSource]) -> None:
        self.sources = tuple(sources)
        self._index = {source.name: index for index, source in enumerate(self.sources)}
        self._exact: dict[str, set[int]] = {}  # "host:port" entries: that port only
        self._hosts: dict[str, set[int]] = {}  # plain names: that host on any port
        self._parents: dict[str, set[int]] = {}  # plain non-IP names: their subdomains too
        for index, source in enumerate(self.sources):
            for allowed in source.allowed_domains:
                if ":" in allowed:
                    self._exact.setdefault(allowed, set()).add(index)
                    continue
                self._hosts.setdefault(allowed, set()).add(index)
                if not is_ip_literal(allowed):
                    self._parents.setdefault(allowed, set()).add(index)
        self.seed_hosts = frozenset(
            found[1] for s in self.sources for url in s.start_urls()
            if (found := url_host(url)) is not None)

    def _matches(self, found: tuple[str, str] | None) -> set[int]:
        if found is None:
            return set()
        host, key = found
        matches = set(self._exact.get(key, ()))
        matches.update(self._hosts.get(host, ()))
        if self._parents:
            rest = host
            while "." in rest:
                rest = rest.split(".", 1)[1]
                matches.update(self._parents.get(rest, ()))
        return matches

    def source_for(self, url: str, preferred: str | None = None) -> ScopedSource | None:
        """The preferred source when it allows ``url``, else the first one in the file that does."""
        matches = self._matches(url_host(url))
        if not matches:
            return None
        first = self._index.get(preferred) if preferred is not None else None
        return self.sources[first if first in matches else min(matches)]

    def allows(self, url: str) -> bool:
        """In some source's scope, or on the host of one of the seeds' own URLs."""
        found = url_host(url)
        return bool(self._matches(found)) or (found is not None and found[1] in self.seed_hosts)
