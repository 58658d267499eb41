"""URL rules: which links we follow and under which name we store a page.

Pages are keyed by a canonical URL so that one page reached under several
URLs (tracking parameters, fragments, reordered queries) is stored once.
Hosts are compared exactly as written, so 127.0.0.2 and 127.0.0.3 are two
sites, as a test web needs.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "mc_cid",
        "mc_eid", "igshid", "_ga", "_gl", "spm", "from", "share_token", "ref_src",
        "cmpid", "ocid", "xtor",
        # Session ids: every visit gets new URLs for the same pages (a crawler trap).
        "sid", "sessionid", "session_id", "phpsessid", "jsessionid", "aspsessionid", "cfid",
        "cftoken",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hmsr", "hmpl")
_PATH_SESSION = re.compile(r";(?:jsessionid|phpsessid|sid)=[^/?#]*", re.IGNORECASE)


def is_http_url(url: str) -> bool:
    """An http(s) URL with a host that has a canonical form: ``host:abc``,
    ``host:{{port}}`` (a CMS template left unfilled), ``host:1:2``, ``host:181020``
    or ``[zz]`` is not one, and would make ``canonical_url`` raise."""
    try:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        parts.port  # noqa: B018 -- raises ValueError for a malformed or out-of-range port
        canonical_url(url)
    except ValueError:
        return False
    return True


def host_key(url: str) -> str:
    """The host a source is scoped to: host name, plus the port when it is not the default."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return f"{host}:{port}" if port and port != default else host


def is_ip_literal(host: str) -> bool:
    """An IPv4 or bracketed IPv6 host: compared whole, never as a parent domain."""
    return host.replace(".", "").isdigit() or host.startswith("[")


def canonical_url(url: str) -> str:
    """w3lib canonical form, minus fragments and tracking parameters."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.query:
        query = [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)
        ]
        parts = parts._replace(query=urlencode(query))
    path = _PATH_SESSION.sub("", parts.path)  # /page;jsessionid=ABC
    url = urlunsplit(parts._replace(path=path, fragment=""))
    return canonicalize_url(url, keep_fragments=False)


def page_identity(final_url: str, declared_canonical: str | None) -> str:
    """The URL a page is stored under: its declared canonical (rel=canonical / og:url)
    when that stays on the same host, else the canonical form of where we got it.

    A canonical pointing at the site's root from a deeper page is a CMS bug, not
    a statement that every article is the home page: it is ignored. So is one that
    cannot be parsed (a bad port, an invalid host): the page is still stored, under
    the URL it was fetched from.
    """
    fetched = canonical_url(final_url)
    if not declared_canonical or not is_http_url(declared_canonical):
        return fetched
    try:
        declared = canonical_url(declared_canonical)
    except ValueError:
        return fetched
    if host_key(declared) != host_key(fetched):
        return fetched
    if urlsplit(declared).path in ("", "/") and urlsplit(fetched).path not in ("", "/"):
        return fetched
    return declared
