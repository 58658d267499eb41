"""HTTP servers on loopback addresses: what the demo web and the test webs share.

The crawler scopes links by host, so an offline web gives each site a 127.x.y.z
address of its own, and all of them share one port so that URLs differ only by
host, as on the real web. This module binds such a group of servers, serves each
from a daemon thread and stops them, without resolving any name (no DNS wait);
what a site answers is left to the web built on it.
"""

from __future__ import annotations

import errno
import logging
import re
import socket
import socketserver
import threading
from collections.abc import Callable, Sequence
from http.server import ThreadingHTTPServer
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

SITE_PLACEHOLDER = re.compile(r"\{\{site:([^{}\s]+)\}\}")
FALLBACK_ADDRESS = "127.0.0.1"
BIND_ATTEMPTS = 5
POLL_INTERVAL = 0.05  # seconds: how soon a stopped server's thread notices


class LoopbackServer(ThreadingHTTPServer):
    """A threading HTTP server that names itself by address and can drop its connections."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: Any) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name, which may wait on DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.host, self.port

    @property
    def host(self) -> str:
        return str(self.server_address[0])

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def finish_request(self, request: Any, client_address: Any) -> None:
        self._track(request, True)
        try:
            super().finish_request(request, client_address)
        finally:
            self._track(request, False)

    def _track(self, connection: socket.socket, live: bool) -> None:
        with self._connections_lock:
            (self._connections.add if live else self._connections.discard)(connection)

    def close_connections(self) -> None:
        """Drop open connections (idle keep-alives outlive ``shutdown``)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


Server = TypeVar("Server", bound=LoopbackServer)


def bind_servers(make: Callable[[tuple[str, int]], Server], addresses: Sequence[str],
                 port: int = 0, *, fallback: str | None = None) -> list[Server]:
    """One server per address, all on one port where the addresses allow it.

    With ``port`` 0 a free port is chosen, and chosen again if another address
    already holds it. Where an address does not exist (macOS has only 127.0.0.1)
    and ``fallback`` is given, every server binds ``fallback`` on a port of its own.
    """
    for attempt in range(BIND_ATTEMPTS):
        try:
            return _bind_on(make, addresses, port)
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL and fallback:
                logger.info("Loopback web: %s; every site falls back to %s with its own port",
                            exc, fallback)
                return _bind_on(make, [fallback] * len(addresses), port)
            if exc.errno != errno.EADDRINUSE or port:
                raise
            logger.debug("Loopback web: shared port taken (attempt %d), retrying", attempt + 1)
    raise OSError(errno.EADDRINUSE, "no port free on every loopback address of the web")


def _bind_on(make: Callable[[tuple[str, int]], Server], addresses: Sequence[str],
             port: int) -> list[Server]:
    servers: list[Server] = []
    shared = port
    try:
        for address in addresses:
            taken = any(server.host == address for server in servers)
            server = make((address, 0 if taken else shared))
            servers.append(server)
            if not shared:
                shared = server.port
    except OSError:
        for server in servers:
            server.server_close()
        raise
    return servers


def serve_in_threads(servers: Sequence[tuple[str, LoopbackServer]]) -> list[threading.Thread]:
    """Serve each named server from a daemon thread of that name."""
    threads = [threading.Thread(target=server.serve_forever,
                                kwargs={"poll_interval": POLL_INTERVAL}, name=name, daemon=True)
               for name, server in servers]
    for thread in threads:
        thread.start()
    return threads


def stop_servers(servers: Sequence[LoopbackServer], threads: Sequence[threading.Thread],
                 *, join_timeout: float = 5.0) -> None:
    """Stop serving, release the ports, drop open connections, wait for the threads."""
    for server in servers:
        server.shutdown()
        server.server_close()
        server.close_connections()
    for thread in threads:
        thread.join(timeout=join_timeout)


def render_sites(text: str, base_url: Callable[[str], str]) -> str:
    """``text`` with every ``{{site:NAME}}`` replaced by that site's base URL."""
    return SITE_PLACEHOLDER.sub(lambda match: base_url(match.group(1)), text)


def can_bind(address: str) -> bool:
    """Whether this machine has ``address`` (Linux has all of 127/8, macOS 127.0.0.1)."""
    with socket.socket() as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return False
    return True
