"""Several static web sites on loopback addresses, for the demo and the integration tests.

The crawler scopes links by host, so each "site" of the offline web needs a host of
its own: every site binds its own 127.0.0.x address, and all of them share one port
so that URLs differ only by host, as on the real web. Where only 127.0.0.1 exists
(macOS) the sites fall back to distinct ports on 127.0.0.1; ``base_url`` always tells
the truth, and content written with ``{{site:NAME}}`` placeholders follows it.

Sites are plain folders. ``_site.toml`` in a site's root describes what a real server
would do differently for a path (another encoding on the wire, a wrong or missing
charset in the header, a status, a redirect, extra headers); nothing whose name starts
with ``_`` or ``.`` is ever served. Tests may also replace a path's body, status or
headers while the web runs, to see what a re-crawl does with a changed article.
"""

from __future__ import annotations

import email.utils
import hashlib
import html
import logging
import math
import threading
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from crawler.demo.loopback_server import (
    FALLBACK_ADDRESS,
    LoopbackServer,
    bind_servers,
    render_sites,
    serve_in_threads,
    stop_servers,
)

logger = logging.getLogger(__name__)

_IDLE_CONNECTION_TIMEOUT = 10.0

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8",
    ".xml": "application/xml", ".rss": "application/rss+xml", ".atom": "application/atom+xml",
    ".txt": "text/plain; charset=utf-8", ".csv": "text/csv; charset=utf-8",
    ".json": "application/json", ".toml": "application/toml",
    ".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".gif": "image/gif", ".ico": "image/x-icon",
}
_FEED_STEMS = {"rss": "application/rss+xml", "feed": "application/rss+xml",
               "atom": "application/atom+xml"}
_TEXT_SUFFIXES = {".html", ".htm", ".xml", ".rss", ".atom", ".txt", ".json", ".toml",
                  ".csv", ".css", ".js", ".svg"}
_NOT_MODIFIED_HEADERS = ("ETag", "Last-Modified", "Cache-Control", "Expires", "Vary")
_PATH_RULE_KEYS = {"encoding", "content_type", "status", "location", "headers", "etag",
                   "last_modified"}


@dataclass(frozen=True)
class SiteSpec:
    """A folder to serve as one site; ``name`` is what ``{{site:NAME}}`` refers to."""

    name: str
    root: Path
    address: str


@dataclass(frozen=True)
class RequestRecord:
    """One request as a site received it, so tests can check what a crawler asked for
    (robots.txt first, its User-Agent, conditional headers) and what it never asked for."""

    site: str
    method: str
    path: str
    headers: dict[str, str]
    status: int


@dataclass(frozen=True)
class _PathRule:
    """One ``[paths."/x"]`` table of ``_site.toml``."""

    encoding: str | None = None
    content_type: str | None = None
    status: int | None = None
    location: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: bool = True
    last_modified: float | None = None


@dataclass(frozen=True)
class _Override:
    body: bytes | str | None
    status: int | None
    headers: Mapping[str, str]
    last_modified: float


@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class _Site:
    spec: SiteSpec
    rules: dict[str, _PathRule]
    redirects: dict[str, str]
    server: _SiteServer | None = None


def demo_web_dir() -> Path:
    """The bundled offline demo web (``seeds/demo``), wherever the package is installed."""
    return Path(str(resources.files("seeds") / "demo"))


class LoopbackWeb:
    """Several static sites, each on its own loopback address, served from background threads."""

    def __init__(self, sites: Sequence[SiteSpec], *, port: int = 0) -> None:
        names = [spec.name for spec in sites]
        if len(set(names)) != len(names):
            raise ValueError(f"site names must be unique: {names}")
        self.specs: tuple[SiteSpec, ...] = tuple(sites)
        self._port = port
        self._sites = {spec.name: _load_site(spec) for spec in sites}
        self._base_urls: dict[str, str] = {}
        self._lock = threading.Lock()
        self._log: list[RequestRecord] = []
        self._overrides: dict[tuple[str, str], _Override] = {}
        self._threads: list[threading.Thread] = []

    @classmethod
    def from_directory(cls, web_dir: Path, *, port: int = 0) -> LoopbackWeb:
        """Build the web described by ``web_dir/web.toml`` (``[[sites]]`` name, dir, address)."""
        web_dir = Path(web_dir)
        with open(web_dir / "web.toml", "rb") as fh:
            config = tomllib.load(fh)
        specs = []
        for entry in config.get("sites", []):
            try:
                specs.append(SiteSpec(entry["name"], web_dir / entry["dir"], entry["address"]))
            except KeyError as exc:
                raise ValueError(f"{web_dir / 'web.toml'}: a site lacks {exc}") from None
        if not specs:
            raise ValueError(f"{web_dir / 'web.toml'} declares no [[sites]]")
        return cls(specs, port=port)

    def start(self) -> LoopbackWeb:
        if self._base_urls:
            return self
        servers = bind_servers(lambda address: _SiteServer(address, _Handler),
                               [spec.address for spec in self.specs], self._port,
                               fallback=FALLBACK_ADDRESS)
        named = []
        for spec, server in zip(self.specs, servers, strict=True):
            site = self._sites[spec.name]
            server.web, server.site = self, site
            site.server = server
            self._base_urls[spec.name] = f"http://{server.host}:{server.port}"
            named.append((f"loopback-web-{spec.name}", server))
        self._threads = serve_in_threads(named)
        logger.info("Loopback web serving %s", self._base_urls)
        return self

    def stop(self) -> None:
        servers = [site.server for site in self._sites.values() if site.server is not None]
        stop_servers(servers, self._threads)
        for site in self._sites.values():
            site.server = None
        self._threads = []
        self._base_urls.clear()

    def __enter__(self) -> LoopbackWeb:
        return self.start()

    def __exit__(self, _exc_type: type[BaseException] | None, _exc: BaseException | None,
                 _tb: TracebackType | None) -> None:
        self.stop()

    @property
    def site_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.specs)

    def base_url(self, site: str) -> str:
        if not self._base_urls:
            raise RuntimeError("the loopback web is not running")
        try:
            return self._base_urls[site]
        except KeyError:
            raise KeyError(f"no site {site!r}; sites are {sorted(self._base_urls)}") from None

    def render(self, text: str) -> str:
        return render_sites(text, self.base_url)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def requests_for(self, site: str) -> list[RequestRecord]:
        return [record for record in self.requests if record.site == site]

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def set_override(self, site: str, path: str, *, body: bytes | str | None = None,
                     status: int | None = None, headers: Mapping[str, str] | None = None) -> None:
        """Serve ``path`` differently until cleared; a ``str`` body is rendered and encoded
        like the file it replaces, and a new body gets a newer Last-Modified."""
        if site not in self._sites:
            raise KeyError(f"no site {site!r}")
        with self._lock:
            previous = self._overrides.get((site, path))
            stamp = float(math.ceil(time.time()))
            if previous is not None:
                stamp = max(stamp, previous.last_modified + 1)
            self._overrides[(site, path)] = _Override(body, status, dict(headers or {}), stamp)

    def clear_override(self, site: str, path: str) -> None:
        with self._lock:
            self._overrides.pop((site, path), None)

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._log.append(record)

    def _override_for(self, site: str, path: str) -> _Override | None:
        with self._lock:
            return self._overrides.get((site, path))

    def _respond(self, site: _Site, target: str,
                 request_headers: Mapping[str, str]) -> _Response:
        path = unquote(urlsplit(target).path) or "/"
        if _is_hidden(path):
            return self._page(HTTPStatus.NOT_FOUND, path)
        override = self._override_for(site.spec.name, path)
        if override is None and path in site.redirects:
            return self._redirect(HTTPStatus.MOVED_PERMANENTLY, site.redirects[path])
        rule = site.rules.get(path, _PathRule())
        status = (override.status if override else None) or rule.status
        modified: float | None = None
        if override is not None and override.body is not None:
            suffix = Path(path).suffix.lower() or ".html"
            response = self._content(override.body, path, suffix, rule, status)
            modified = override.last_modified
        elif (file := _resolve_file(site.spec.root, path)) is None:
            response = self._missing(path, rule, status)
        elif file.is_dir():
            return self._redirect(HTTPStatus.MOVED_PERMANENTLY, path + "/")
        else:
            suffix = file.suffix.lower()
            source = file.read_text("utf-8") if suffix in _TEXT_SUFFIXES else file.read_bytes()
            response = self._content(source, path, suffix, rule, status)
            modified = rule.last_modified or file.stat().st_mtime
        if modified is not None and response.status == HTTPStatus.OK and rule.etag:
            _add_validators(response, modified)
            if _not_modified(response, request_headers):
                kept = {k: v for k, v in response.headers.items() if k in _NOT_MODIFIED_HEADERS}
                response = _Response(HTTPStatus.NOT_MODIFIED, kept)
        for name, value in {**rule.headers, **(override.headers if override else {})}.items():
            _set_header(response.headers, name, self.render(str(value)))
        return response

    def _content(self, source: bytes | str, path: str, suffix: str, rule: _PathRule,
                 status: int | None) -> _Response:
        body = (self.render(source).encode(rule.encoding or "utf-8") if isinstance(source, str)
                else source)
        content_type = rule.content_type or _content_type(path, suffix, rule.encoding)
        response = _Response(status or HTTPStatus.OK, {"Content-Type": content_type}, body)
        if rule.location:
            response.headers["Location"] = self.render(rule.location)
        return response

    def _missing(self, path: str, rule: _PathRule, status: int | None) -> _Response:
        """A path without a file: a rule may still answer it (a redirect, a 410 ...)."""
        if not status or status == HTTPStatus.OK:
            status = HTTPStatus.NOT_FOUND
        if rule.location:
            return self._redirect(status, rule.location)
        return self._page(status, path)

    def _redirect(self, status: int, location: str) -> _Response:
        target = self.render(location)
        body = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Moved</title></head>'
                f'<body><p>Moved to <a href="{html.escape(target)}">{html.escape(target)}</a>'
                f'.</p></body></html>').encode()
        return _Response(status, {"Location": target, "Content-Type": _CONTENT_TYPES[".html"]},
                         body)

    @staticmethod
    def _page(status: int, path: str) -> _Response:
        phrase = _phrase(status)
        body = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
                f'<title>{status} {phrase}</title></head><body><h1>{phrase}</h1>'
                f'<p>{html.escape(path)}</p></body></html>').encode()
        return _Response(status, {"Content-Type": _CONTENT_TYPES[".html"]}, body)


class _SiteServer(LoopbackServer):
    web: LoopbackWeb
    site: _Site

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.exception("Loopback web: error while serving %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SilkroadLoopbackWeb/1.0"
    sys_version = ""
    timeout = _IDLE_CONNECTION_TIMEOUT
    server: _SiteServer

    def do_GET(self) -> None:  # noqa: N802 - name fixed by BaseHTTPRequestHandler
        self._serve()

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve()

    def _serve(self) -> None:
        site, web = self.server.site, self.server.web
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = "-".join(part.capitalize() for part in name.split("-"))
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        try:
            response = web._respond(site, self.path, headers)
        except Exception:
            logger.exception("Loopback web: cannot serve %s%s", site.spec.name, self.path)
            response = web._page(HTTPStatus.INTERNAL_SERVER_ERROR, self.path)
        if response.status != HTTPStatus.NOT_MODIFIED:
            response.headers["Content-Length"] = str(len(response.body))
        web._record(RequestRecord(site.spec.name, self.command, self.path, headers,
                                  int(response.status)))
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s: " + format, self.server.site.spec.name, *args)


def _load_site(spec: SiteSpec) -> _Site:
    root = Path(spec.root)
    if not root.is_dir():
        raise FileNotFoundError(f"site {spec.name!r}: no directory {root}")
    config_file = root / "_site.toml"
    config: dict[str, Any] = {}
    if config_file.is_file():
        with open(config_file, "rb") as fh:
            config = tomllib.load(fh)
    rules = {path: _parse_rule(config_file, path, table)
             for path, table in config.get("paths", {}).items()}
    redirects = {str(old): str(new) for old, new in config.get("redirects", {}).items()}
    return _Site(SiteSpec(spec.name, root, spec.address), rules, redirects)


def _parse_rule(config_file: Path, path: str, table: Mapping[str, Any]) -> _PathRule:
    unknown = set(table) - _PATH_RULE_KEYS
    if unknown:
        raise ValueError(f"{config_file}: [paths.{path!r}] has unknown keys {sorted(unknown)}")
    stamp = table.get("last_modified")
    if isinstance(stamp, datetime):
        modified: float | None = (stamp if stamp.tzinfo else
                                  stamp.replace(tzinfo=UTC)).timestamp()
    elif isinstance(stamp, date):
        modified = datetime(stamp.year, stamp.month, stamp.day, tzinfo=UTC).timestamp()
    else:
        modified = None
    return _PathRule(
        encoding=table.get("encoding"), content_type=table.get("content_type"),
        status=table.get("status"), location=table.get("location"),
        headers={str(k): str(v) for k, v in table.get("headers", {}).items()},
        etag=bool(table.get("etag", True)), last_modified=modified)


def _is_hidden(path: str) -> bool:
    return any(part.startswith(("_", ".")) for part in path.split("/") if part)


def _resolve_file(root: Path, path: str) -> Path | None:
    relative = path.lstrip("/")
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root.resolve()):
        return None
    if path.endswith("/"):
        candidate = candidate / "index.html"
    if candidate.is_dir():
        return candidate if (candidate / "index.html").is_file() else None
    return candidate if candidate.is_file() else None


def _content_type(path: str, suffix: str, encoding: str | None) -> str:
    if suffix == ".xml" and Path(path).stem.lower() in _FEED_STEMS:
        return _FEED_STEMS[Path(path).stem.lower()]
    content_type = _CONTENT_TYPES.get(suffix, "application/octet-stream")
    if encoding and "charset=" in content_type:
        content_type = content_type.split(";")[0] + f"; charset={encoding}"
    return content_type


def _add_validators(response: _Response, modified: float) -> None:
    digest = hashlib.sha256(response.body).hexdigest()[:32]
    response.headers["ETag"] = f'"{digest}"'
    response.headers["Last-Modified"] = email.utils.formatdate(modified, usegmt=True)


def _not_modified(response: _Response, request_headers: Mapping[str, str]) -> bool:
    """RFC 9110 §13.2.2: If-None-Match wins over If-Modified-Since when both are sent."""
    if_none_match = request_headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or response.headers["ETag"] in tags
    if_modified_since = request_headers.get("If-Modified-Since")
    if if_modified_since is None:
        return False
    try:
        since = email.utils.parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    modified = email.utils.parsedate_to_datetime(response.headers["Last-Modified"])
    return modified <= since


def _set_header(headers: dict[str, str], name: str, value: str) -> None:
    for existing in [key for key in headers if key.lower() == name.lower()]:
        del headers[existing]
    headers[name] = value


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
