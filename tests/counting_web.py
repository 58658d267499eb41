"""A generated news web on loopback hosts that counts what crawlers ask of it.

Each site is a host of its own (127.0.x.y, one port for all, as on the real web)
with a home page and article pages linking to each other; a share of them name
China and Central Asia (so they are extracted and archived), the rest are
off-topic. The server records, per site, every request with its time, and the
most requests it was serving at once: what politeness tests check from the
side of the sites, whatever the crawler believes it did.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any

from crawler.demo.loopback_server import (
    FALLBACK_ADDRESS,
    LoopbackServer,
    bind_servers,
    serve_in_threads,
    stop_servers,
)
from tests.synthetic_web import article_page, off_topic, on_topic

ROBOTS = b"User-agent: *\nAllow: /\n"


@dataclass
class SiteLog:
    """What one site saw."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    max_in_flight: int = 0
    starts: list[float] = field(default_factory=list)  # monotonic, one per page request
    paths: Counter[str] = field(default_factory=Counter)


class CountingWeb:
    """``sites`` sites of ``pages`` pages each; ``on_topic_every``-th page is on topic.

    ``latency`` seconds of server think time per response make concurrent
    requests overlap, so that a crawler sending too many at once is seen doing it.
    """

    def __init__(self, sites: int, pages: int, *, on_topic_every: int = 10,
                 latency: float = 0.0, first_address: int = 60) -> None:
        self.pages = pages
        self.latency = latency
        self.addresses = [f"127.0.{first_address + s // 200}.{10 + s % 200}"
                          for s in range(sites)]
        self.logs = {address: SiteLog() for address in self.addresses}
        self._bodies = {address: self._site(s, pages, on_topic_every)
                        for s, address in enumerate(self.addresses)}
        self._servers: list[LoopbackServer] = []
        self._threads: list[threading.Thread] = []
        self.base_urls: dict[str, str] = {}

    @staticmethod
    def _site(index: int, pages: int, every: int) -> dict[str, bytes]:
        bodies = {}
        for n in range(pages):
            number = index * pages + n
            article = on_topic(number) if n % every == 0 else off_topic(number)
            links = {2 * n + 1, 2 * n + 2, (n * 13 + 5) % pages} - {n}
            anchors = "".join(f"<li><a href='/p/{k}.html'>Story {k}</a></li>"
                              for k in sorted(links) if k < pages)
            html = article_page(article).replace("<footer>", f"<ul>{anchors}</ul><footer>")
            bodies[f"/p/{n}.html"] = html.encode("utf-8")
        home = "".join(f"<a href='/p/{k}.html'>Top story {k}</a> " for k in range(min(3, pages)))
        bodies["/"] = f"<html><body><h1>Site {index}</h1>{home}</body></html>".encode()
        return bodies

    @property
    def page_count(self) -> int:
        return sum(len(bodies) for bodies in self._bodies.values())

    def urls(self) -> set[str]:
        return {self.base_urls[address] + path for address, bodies in self._bodies.items()
                for path in bodies}

    def seeds_toml(self) -> str:
        return "".join(f'[[sources]]\nname = "Site {s}"\nurls = ["{self.base_urls[a]}/"]\n'
                       f'language = "en"\n\n' for s, a in enumerate(self.addresses))

    def fetch_counts(self) -> Counter[str]:
        """Requests per page URL (robots.txt left out: every worker reads it once)."""
        counts: Counter[str] = Counter()
        for address, log in self.logs.items():
            with log.lock:
                for path, count in log.paths.items():
                    counts[self.base_urls[address] + path] += count
        return counts

    def reset(self) -> None:
        for address in self.addresses:
            self.logs[address] = SiteLog()

    def start(self) -> CountingWeb:
        handler = _handler(self)
        self._servers = bind_servers(lambda address: LoopbackServer(address, handler),
                                     self.addresses, fallback=FALLBACK_ADDRESS)
        for address, server in zip(self.addresses, self._servers, strict=True):
            self.base_urls[address] = f"http://{server.host}:{server.port}"
            server.site_address = address  # type: ignore[attr-defined]
        self._threads = serve_in_threads([(f"counting-web-{a}", s) for a, s in
                                          zip(self.addresses, self._servers, strict=True)])
        return self

    def stop(self) -> None:
        stop_servers(self._servers, self._threads)

    def __enter__(self) -> CountingWeb:
        return self.start()

    def __exit__(self, _type: type[BaseException] | None, _exc: BaseException | None,
                 _tb: TracebackType | None) -> None:
        self.stop()


def _handler(web: CountingWeb) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 10

        def do_GET(self) -> None:  # noqa: N802 - name fixed by BaseHTTPRequestHandler
            address = self.server.site_address  # type: ignore[attr-defined]
            log = web.logs[address]
            path = self.path.split("?")[0]
            if path == "/robots.txt":
                self._send(200, "text/plain", ROBOTS)
                return
            with log.lock:
                log.in_flight += 1
                log.max_in_flight = max(log.max_in_flight, log.in_flight)
                log.starts.append(time.monotonic())
                log.paths[path] += 1
            try:
                if web.latency:
                    time.sleep(web.latency)
                body = web._bodies[address].get(path)
                if body is None:
                    self._send(404, "text/html", b"<html><body>Not found</body></html>")
                else:
                    self._send(200, "text/html; charset=utf-8", body)
            finally:
                with log.lock:
                    log.in_flight -= 1

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def per_site_rates(web: CountingWeb) -> dict[str, float]:
    """Requests per second each site received, from its first request to its last."""
    rates = {}
    for address, log in web.logs.items():
        starts = sorted(log.starts)
        if len(starts) > 1:
            rates[address] = (len(starts) - 1) / (starts[-1] - starts[0])
    return rates


def busiest_window(web: CountingWeb, seconds: float) -> int:
    """The most requests one site received within any ``seconds``-long window."""
    worst = 0
    for log in web.logs.values():
        starts = sorted(log.starts)
        first = 0
        for last, at in enumerate(starts):
            while at - starts[first] > seconds:
                first += 1
            worst = max(worst, last - first + 1)
    return worst

