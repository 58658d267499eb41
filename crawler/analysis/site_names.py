"""What to call a site: the name it gives itself, never its address dressed up as one.

trafilatura names a site that declares no name (no ``og:site_name``, no name in
the title) after its URL's host, port included, so a site on a port was named
``127.0.0.1:8080``. The archive keeps only a declared name, and readers see the
seed source's name, else the declared name, else the bare host.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# trafilatura's own fallback: the URL's host and port, without "www.".
_URL_SITE = re.compile(r"https?://(?:www\.)?([^/]+)")


def declared_site_name(site_name: str | None, url: str) -> str | None:
    """``site_name`` unless it is only the address of ``url`` (trafilatura's fallback,
    also found in archives made before this check)."""
    if not site_name:
        return None
    fallback = _URL_SITE.match(url)
    return None if fallback and site_name == fallback.group(1) else site_name


def site_label(source: str | None, site_name: str | None, url: str) -> str:
    """How a reader knows where an article comes from: the seed source's name, else the
    site's declared name, else the host of ``url``."""
    return source or declared_site_name(site_name, url) or urlsplit(url).hostname or url
