"""A programmable hostile web on loopback addresses, for the robustness tests.

The static loopback web (crawler/demo/loopback_web.py) serves files; a hostile web
must misbehave: stall in the middle of a body, never answer, stream 40 MB,
send decompression bombs, fail a given number of times before it succeeds.
So every path here is served by a handler, a small function of the request
(:class:`Exchange`), built from the behaviours below. Each site binds its own
127.0.0.x address and all share one port, on the static web's servers
(crawler/demo/loopback_server.py). Every request
is logged with its arrival time, so a test can check what the crawler asked
for, how often, how long it waited between tries, and what it never asked for.

``MappedResolver`` is a Scrapy DNS resolver for tests: it answers names listed
in ``SILKROAD_TEST_DNS`` (``name=address,...``) from that list, so a crawl can
meet host names that resolve to private addresses without any real DNS.
"""

from __future__ import annotations

import os
import struct
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import brotli
from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer

from crawler.demo.loopback_server import (
    LoopbackServer,
    bind_servers,
    render_sites,
    serve_in_threads,
    stop_servers,
)
from crawler.demo.loopback_server import can_bind as can_bind  # tests skip without the address

HTML = "text/html; charset=utf-8"
HOLD_SECONDS = 600.0  # "for minutes": until the web stops
_MIB = 1 << 20

Handler = Callable[["Exchange"], None]


@dataclass(frozen=True)
class Hit:
    site: str
    path: str
    query: str
    at: float
    headers: dict[str, str]


class Exchange:
    """One request as a handler sees it, with the ways to answer or to misbehave."""

    def __init__(self, web: HostileWeb, site: str, request: BaseHTTPRequestHandler,
                 count: int) -> None:
        self.web = web
        self.site = site
        self.request = request
        parts = urlsplit(request.path)
        self.path = parts.path or "/"
        self.query = parse_qs(parts.query)
        self.count = count  # 1 for the first request of this path, 2 for the second ...

    def send(self, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None,
             *, length: int | None = None) -> None:
        """Answer; ``length`` may announce more (or less) than ``body`` holds."""
        self.send_head(status, {"Content-Length": str(len(body) if length is None else length),
                                **(headers or {})})
        self.write(body)

    def send_head(self, status: int, headers: Mapping[str, str]) -> None:
        self.request.send_response(status)
        for name, value in headers.items():
            self.request.send_header(name, value)
        self.request.end_headers()

    def write(self, data: bytes) -> bool:
        """False once the client has gone away."""
        try:
            self.request.wfile.write(data)
            self.request.wfile.flush()
        except OSError:
            return False
        return True

    def hold(self, seconds: float = HOLD_SECONDS) -> None:
        """Keep the connection open, saying nothing, until the web stops."""
        self.web.stopping.wait(seconds)

    def render(self, text: str) -> str:
        return self.web.render(text)


# -- behaviours -------------------------------------------------------------------

def page(body: bytes | str, *, status: int = 200, content_type: str = HTML,
         headers: Mapping[str, str] | None = None) -> Handler:
    """A fixed answer; a ``str`` body is rendered and sent as UTF-8."""
    def handle(ex: Exchange) -> None:
        data = ex.render(body).encode("utf-8") if isinstance(body, str) else body
        ex.send(status, data, {"Content-Type": content_type, **(headers or {})})
    return handle


def redirect(location: str, status: int = 302) -> Handler:
    def handle(ex: Exchange) -> None:
        ex.send(status, b"", {"Location": ex.render(location), "Content-Type": HTML})
    return handle


def sequence(*handlers: Handler) -> Handler:
    """The n-th request of the path gets the n-th handler; the last one repeats."""
    def handle(ex: Exchange) -> None:
        handlers[min(ex.count, len(handlers)) - 1](ex)
    return handle


def stall(head: bytes, announced: int) -> Handler:
    """Announce ``announced`` bytes, send ``head``, then say nothing for minutes."""
    def handle(ex: Exchange) -> None:
        ex.send_head(200, {"Content-Type": HTML, "Content-Length": str(announced)})
        ex.write(head)
        ex.hold()
    return handle


def silent() -> Handler:
    """Read the request, never answer."""
    def handle(ex: Exchange) -> None:
        ex.hold()
    return handle


def stream(size: int, *, announce: bool = True) -> Handler:
    """``size`` bytes of HTML, generated on the fly; without ``announce`` no Content-Length
    (the body ends when the connection closes)."""
    chunk = (b"<p>" + b"filler " * 145 + b"</p>\n")[:1024] * 64

    def handle(ex: Exchange) -> None:
        headers = {"Content-Type": HTML}
        if announce:
            headers["Content-Length"] = str(size)
        ex.send_head(200, headers)
        ex.write(b"<!DOCTYPE html><html><head><title>Huge</title></head><body>")
        sent = 0
        while sent < size:
            piece = chunk[: size - sent]
            if not ex.write(piece):
                return
            sent += len(piece)
    return handle


def encoded(blob: bytes, encoding: str, content_type: str = HTML) -> Handler:
    """Pre-compressed bytes sent as they are, under ``Content-Encoding: encoding``."""
    def handle(ex: Exchange) -> None:
        ex.send(200, blob, {"Content-Type": content_type, "Content-Encoding": encoding})
    return handle


# -- decompression bombs ------------------------------------------------------------

def _raw_deflate_of_zeros(size: int) -> tuple[bytes, bytes, bytes, int]:
    """Raw deflate of ``size`` zero bytes (whole MiBs) in about 1/1000 of its size.

    After a full flush a deflate stream refers to nothing before it, so the
    compressed form of one MiB of zeros can be repeated: building 512 MiB costs
    one MiB of compression, not 512.
    """
    mib = bytes(_MIB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(mib) + compressor.flush(zlib.Z_FULL_FLUSH)
    middle = compressor.compress(mib) + compressor.flush(zlib.Z_FULL_FLUSH)
    last = compressor.flush(zlib.Z_FINISH)
    return first, middle, last, size // _MIB


def gzip_bomb(size: int) -> bytes:
    first, middle, last, mibs = _raw_deflate_of_zeros(size)
    crc = 0
    mib = bytes(_MIB)
    for _ in range(mibs):
        crc = zlib.crc32(mib, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return (header + first + middle * (mibs - 1) + last
            + struct.pack("<II", crc, (mibs * _MIB) & 0xFFFFFFFF))


def deflate_bomb(size: int) -> bytes:
    """zlib-wrapped deflate, what ``Content-Encoding: deflate`` means."""
    first, middle, last, mibs = _raw_deflate_of_zeros(size)
    adler = 1
    mib = bytes(_MIB)
    for _ in range(mibs):
        adler = zlib.adler32(mib, adler)
    return b"\x78\xda" + first + middle * (mibs - 1) + last + struct.pack(">I", adler)


def brotli_bomb(size: int) -> bytes:
    compressor = brotli.Compressor(quality=1)
    mib = bytes(_MIB)
    return b"".join([compressor.process(mib) for _ in range(size // _MIB)]
                    + [compressor.finish()])


# -- the web --------------------------------------------------------------------------

class HostileWeb:
    """Sites by name, each on its own loopback address; paths routed to handlers."""

    def __init__(self, addresses: Mapping[str, str]) -> None:
        self.addresses = dict(addresses)
        self.routes: dict[tuple[str, str], Handler] = {}
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._hits: list[Hit] = []
        self._counts: dict[tuple[str, str], int] = {}
        self._servers: dict[str, _Server] = {}
        self._threads: list[threading.Thread] = []

    def route(self, site: str, path: str, handler: Handler) -> None:
        if site not in self.addresses:
            raise KeyError(f"no site {site!r}")
        self.routes[(site, path)] = handler

    def start(self) -> HostileWeb:
        servers = bind_servers(lambda address: _Server(address, _Handler),
                               list(self.addresses.values()))
        self._servers = dict(zip(self.addresses, servers, strict=True))
        for name, server in self._servers.items():
            server.web, server.site = self, name
        self._threads = serve_in_threads([(f"hostile-{name}", server)
                                          for name, server in self._servers.items()])
        return self

    def stop(self) -> None:
        self.stopping.set()
        stop_servers(list(self._servers.values()), self._threads)

    def __enter__(self) -> HostileWeb:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def base_url(self, site: str) -> str:
        server = self._servers[site]
        return f"http://{server.server_name}:{server.server_port}"

    @property
    def port(self) -> int:
        return next(iter(self._servers.values())).server_port

    def render(self, text: str) -> str:
        return render_sites(text, self.base_url)

    def hits(self, site: str | None = None, path: str | None = None) -> list[Hit]:
        with self._lock:
            return [h for h in self._hits
                    if (site is None or h.site == site) and (path is None or h.path == path)]

    def _serve(self, site: str, request: BaseHTTPRequestHandler) -> None:
        path = urlsplit(request.path).path or "/"
        with self._lock:
            count = self._counts.get((site, path), 0) + 1
            self._counts[(site, path)] = count
            self._hits.append(Hit(site, path, urlsplit(request.path).query, time.monotonic(),
                                  dict(request.headers.items())))
        handler = self.routes.get((site, path))
        exchange = Exchange(self, site, request, count)
        if handler is None:
            exchange.send(404, b"<html><body><h1>Not found</h1></body></html>",
                          {"Content-Type": HTML})
        else:
            handler(exchange)


class _Server(LoopbackServer):
    web: HostileWeb
    site: str

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hang up on stalls and bombs: that is the point


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server_version = "HostileWeb/1.0"
    sys_version = ""
    timeout = 30
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - name fixed by BaseHTTPRequestHandler
        self.server.web._serve(self.server.site, self)

    def log_message(self, format: str, *args: Any) -> None:
        pass


# -- DNS for tests ------------------------------------------------------------------

def _mapped_names() -> dict[str, str]:
    pairs = (item.partition("=") for item in os.environ.get("SILKROAD_TEST_DNS", "").split(","))
    return {name.strip().lower(): address.strip() for name, _, address in pairs if name.strip()}


class MappedResolver(CachingThreadedResolver):  # type: ignore[misc]
    """Scrapy's caching resolver, answering the names of ``SILKROAD_TEST_DNS`` itself."""

    def getHostByName(self, name: str, timeout: Any = ()) -> Any:  # noqa: N802
        mapped = _mapped_names().get(name.lower())
        if mapped is not None:
            return defer.succeed(mapped)
        return super().getHostByName(name, timeout)
