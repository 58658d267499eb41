"""Keep crawls out of the crawling machine's own networks (SSRF).

A page we do not control can link or redirect to ``http://127.0.0.1:6379/``, to
the cloud metadata service at 169.254.169.254, or to a public-looking name whose
DNS answer is a private address. Every request passes through downloader
middlewares, redirects and robots.txt included, and goes out only when

- its scheme is http or https, and
- its host is one the seeds file names (the hosts of the sources' URLs, feeds
  and sitemaps, and their ``allowed_domains`` entries, each exactly as written,
  port included), or every address of its host is public.

So a user may seed an intranet site or a loopback test web on purpose, but a
page can never lead the crawl to a private address the user did not name, not
even one next to a named one (127.0.0.53 beside a seeded 127.0.0.51).

Names are resolved with the reactor's resolver, Scrapy's caching resolver:
the connection that follows reuses the answer that was checked, so a DNS server
cannot answer "public" to the check and "private" to the connection.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.exceptions import IgnoreRequest, NotConfigured

from crawler.links.urls import host_key
from crawler.vocabulary import Stat

log = logging.getLogger(__name__)

Resolver = Callable[[str], Awaitable[Sequence[str]]]

FETCHED_SCHEMES = ("http", "https")
_NUMERIC_HOST = re.compile(r"[0-9a-fA-FxX.]+")


class SsrfRefused(IgnoreRequest):
    """A request the SSRF guard would not send."""


def is_public_address(address: str) -> bool:
    """Globally routable unicast: not private, loopback, link-local, shared, reserved."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def literal_address(host: str) -> str | None:
    """The address a host names by itself, without DNS: IPv4/IPv6 literals and the
    short, decimal, octal and hex IPv4 forms (``127.1``, ``2130706433``, ``0x7f.1``)
    that socket libraries accept."""
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host) and any(c.isdigit() for c in host):
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return None
    return None


def named_hosts(sources: Iterable[Any]) -> frozenset[str]:
    """Every host the seeds file names, as ``crawler.links.urls.host_key`` spells it."""
    hosts: set[str] = set()
    for source in sources:
        hosts.update(host_key(url) for url in source.start_urls())
        hosts.update(domain.lower() for domain in source.allowed_domains)
    return frozenset(hosts)


def refusal(addresses: Sequence[str]) -> str | None:
    """Why a host with these addresses may not be fetched, or None when it may."""
    if not addresses:
        return "no address"
    private = [a for a in addresses if not is_public_address(a)]
    if private:
        return f"non-public address {private[0]}"
    return None


async def reactor_resolve(host: str) -> Sequence[str]:
    """The address the crawl's own connection will use (Scrapy's DNS cache)."""
    from scrapy.utils.defer import maybe_deferred_to_future
    from twisted.internet import reactor

    return [await maybe_deferred_to_future(reactor.resolve(host))]  # type: ignore[attr-defined,arg-type]


class SsrfGuardMiddleware:
    def __init__(self, allowed_hosts: Iterable[str] | None, stats: Any,
                 resolve: Resolver = reactor_resolve) -> None:
        self._allowed = None if allowed_hosts is None else frozenset(allowed_hosts)
        self.stats = stats
        self.resolve = resolve
        self.crawler: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> SsrfGuardMiddleware:
        if not crawler.settings.getbool("SILKROAD_SSRF_GUARD", True):
            raise NotConfigured
        middleware = cls(None, crawler.stats)
        middleware.crawler = crawler
        return middleware

    @property
    def allowed_hosts(self) -> frozenset[str]:
        if self._allowed is None:
            # The spider reads the seeds file; it exists before the first request.
            spider = getattr(self.crawler, "spider", None)
            self._allowed = named_hosts(getattr(spider, "sources", ()))
            log.debug("SSRF guard: hosts named by the seeds: %s", sorted(self._allowed))
        return self._allowed

    async def process_request(self, request: Request) -> None:
        reason = await self.check(request.url)
        if reason is not None:
            self.stats.inc_value(Stat.SSRF_REFUSED)
            log.warning("refused %s: %s", request.url, reason)
            raise SsrfRefused(f"not fetched: {reason}")

    async def check(self, url: str) -> str | None:
        """None when ``url`` may be fetched, else the reason it may not."""
        parts = urlsplit(url)
        if parts.scheme not in FETCHED_SCHEMES:
            return f"scheme {parts.scheme or '(none)'}: only http and https are fetched"
        host = parts.hostname
        if not host:
            return "no host"
        if host_key(url) in self.allowed_hosts:
            return None
        literal = literal_address(host)
        addresses = [literal] if literal is not None else list(await self.resolve(host))
        reason = refusal(addresses)
        return None if reason is None else f"{host}: {reason}, not named in the seeds"
