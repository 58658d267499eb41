"""A lean static web on loopback for throughput benchmarks.

The benchmark's server shares the two cores with the crawler it feeds, so it
must cost next to nothing: one asyncio loop in a child process, HTTP/1.1
keep-alive, files read from disk (the page cache keeps them warm), no logging,
no templating. Every site gets its own 127.0.0.x address on one shared port,
so a crawler sees as many hosts as the web has sites.

Run as a script it serves a routes file and prints ``ready PORT`` once every
address listens::

    python tests/benchmarks/static_web.py routes.json

``routes.json``: ``{"127.0.0.2": {"/path?query": ["/abs/file", "text/html; charset=utf-8"]}}``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

Routes = dict[str, dict[str, tuple[str, str]]]

_NOT_FOUND = b"<!DOCTYPE html><html><head><title>404</title></head><body>Not found</body></html>"
_MAX_HEADER_BYTES = 64 * 1024


def write_routes(routes: Routes, path: Path) -> Path:
    path.write_text(json.dumps(routes), encoding="utf-8")
    return path


def _response(status: str, content_type: str, body: bytes, *, head: bool, close: bool) -> bytes:
    headers = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: {'close' if close else 'keep-alive'}\r\n\r\n"
    ).encode("latin-1")
    return headers if head else headers + body


def _handler(site: dict[str, tuple[str, str]]):  # type: ignore[no-untyped-def]
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _version = (lines[0].split(" ") + ["", "", ""])[:3]
                close = any(
                    line.lower().startswith("connection:") and "close" in line.lower()
                    for line in lines[1:]
                )
                parts = urlsplit(target)
                key = parts.path + (f"?{parts.query}" if parts.query else "")
                route = site.get(key) or site.get(parts.path)
                if route is None:
                    reply = _response("404 Not Found", "text/html; charset=utf-8", _NOT_FOUND,
                                      head=method == "HEAD", close=close)
                else:
                    body = Path(route[0]).read_bytes()
                    reply = _response("200 OK", route[1], body, head=method == "HEAD",
                                      close=close)
                writer.write(reply)
                await writer.drain()
                if close:
                    return
        finally:
            writer.close()

    return handle


async def _serve(routes: Routes) -> None:
    hosts = list(routes)
    servers = []
    first = await asyncio.start_server(_handler(routes[hosts[0]]), hosts[0], 0,
                                       limit=_MAX_HEADER_BYTES, backlog=512)
    port = first.sockets[0].getsockname()[1]
    servers.append(first)
    for host in hosts[1:]:
        servers.append(await asyncio.start_server(_handler(routes[host]), host, port,
                                                  limit=_MAX_HEADER_BYTES, backlog=512))
    print(f"ready {port}", flush=True)
    await asyncio.Event().wait()


class StaticWebProcess:
    """The server in a child process, so its CPU never shares a GIL with the measuring side."""

    def __init__(self, routes_file: Path) -> None:
        self.routes_file = routes_file
        self.port: int | None = None
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> StaticWebProcess:
        self._process = subprocess.Popen(
            [sys.executable, __file__, str(self.routes_file)],
            stdout=subprocess.PIPE, text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().split()
        if len(line) != 2 or line[0] != "ready":
            self.stop()
            raise RuntimeError(f"static web did not start (said {line!r})")
        self.port = int(line[1])
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)
        self._process = None

    def __enter__(self) -> StaticWebProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


if __name__ == "__main__":
    table = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    try:
        asyncio.run(_serve({host: {k: tuple(v) for k, v in site.items()}
                            for host, site in table.items()}))
    except KeyboardInterrupt:
        pass
