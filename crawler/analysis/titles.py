"""An article's headline from its page title: the site's name and section cut off.

Page titles carry the site after the headline ("... | Reuters", "...--时政--人民网",
"...：朝日新聞デジタル", "...-정치ㅣ한국일보"), so the same story reposted elsewhere
would have two titles, and a search for a site's name would find every one of its
pages. The headline the page shows (its ``<h1>``) is the best witness where the
title holds it; otherwise the title's trailing segments are cut while they name the
site (its ``og:site_name``, the host, a Chinese portal's "...网"), a short section
or a date. The raw title is kept elsewhere, for citation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

#: An <h1> inside the title is its headline only if it is at least this much of it.
H1_SHARE = 0.5

# Between headline and site: spaced bars and dashes, and the unspaced separators
# of Chinese, Japanese and Korean sites (_ -- ｜ ： ㅣ).
_SEPARATOR = re.compile(
    r"\s+[|｜·•*–—:@-]\s+|\s*(?:::|--|｜|：|ㅣ|_)\s*|-[^\W\d_\s]{1,4}ㅣ"  # "-정치ㅣ": section
)
_CJK_SECTION = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]{1,4}")
_LATIN_SECTION = re.compile(r"[^\W\d_][^\W\d_]{2,19}")  # one word: "Esporte", "Politics"
_DATE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")
_PORTAL = re.compile(r"[\u3400-\u9fff]{1,6}[网網]")  # 人民网, 光明网, 腾讯网
_BYLINE = re.compile(r"(?i)by\s+\S+(\s+\S+){0,3}")
_NOT_KEY = re.compile(r"[\W_]+")
_HOST_NOISE = frozenset({"www", "m", "com", "net", "org", "co", "news", "html", "example"})


def headline(title: str | None, *, h1s: Iterable[str] = (), site_names: Iterable[str] = (),
             url: str | None = None) -> str | None:
    """``title`` without the site's name, section or date around the headline."""
    if not title:
        return title
    title = " ".join(title.split())
    inner = _h1_inside(title, h1s)
    if inner:
        return inner
    names = {key for name in site_names if len(key := _key(name)) >= 2}
    hosts = _host_labels(url)
    parts = _SEPARATOR.split(title)
    seps = _SEPARATOR.findall(title)
    cut_site = False
    after: str | None = None  # the separator after the segment looked at, once one is cut
    while len(parts) > 1:
        if len(parts) > 2 and _site_like(parts[-2] + seps[-1] + parts[-1], names, set(),
                                         exact=True):
            parts[-2:] = [parts[-2] + seps[-1] + parts[-1]]  # "史蒂文的家_藍天": one name
            seps.pop()
        tail, separator = parts[-1].strip(), seps[-1]
        site = _site_like(tail, names, hosts)
        # A section sits between headline and site, set off as the site is.
        section = cut_site and separator == after and bool(
            _CJK_SECTION.fullmatch(tail) or _LATIN_SECTION.fullmatch(tail))
        if not (tail == "" or site or section or _BYLINE.fullmatch(tail)
                or _DATE.fullmatch(tail)):
            break
        cut_site = cut_site or site
        after = separator
        parts.pop()
        seps.pop()
    if len(parts) > 1 and _site_like(parts[0].strip(), names, hosts):
        parts.pop(0)
        seps.pop(0)
    rest = parts[0] + "".join(sep + part for sep, part in zip(seps, parts[1:], strict=True))
    return rest.strip() or title


def _h1_inside(title: str, h1s: Iterable[str]) -> str | None:
    """The part of the title an <h1> spells (spacing aside), when it is most of it."""
    squashed, positions = _squash_with_positions(title)
    for h1 in h1s:
        wanted = "".join(h1.split()).casefold()
        if len(wanted) < H1_SHARE * len(squashed) or wanted == squashed:
            continue
        start = squashed.find(wanted)
        if start >= 0:
            return title[positions[start]:positions[start + len(wanted) - 1] + 1]
    return None


def _squash_with_positions(text: str) -> tuple[str, list[int]]:
    kept = [(i, char) for i, char in enumerate(text) if not char.isspace()]
    return "".join(char for _, char in kept).casefold(), [i for i, _ in kept]


def _site_like(segment: str, names: set[str], hosts: set[str], *, exact: bool = False) -> bool:
    """The site's name, most of it, or (unless ``exact``) its name with more around it."""
    key = _key(segment)
    if not key:
        return False
    if _PORTAL.fullmatch(segment):
        return True
    for name in names:
        if key == name or (key in name and len(key) >= 0.6 * len(name)) \
                or (not exact and name in key and len(name) >= 3):
            return True
    return any(host in key or (key in host and len(key) >= 0.6 * len(host)) for host in hosts)


def _host_labels(url: str | None) -> set[str]:
    host = urlsplit(url).hostname if url else None
    if not host:
        return set()
    return {_key(label) for label in host.lower().split(".")
            if len(_key(label)) >= 3 and label not in _HOST_NOISE}


def _key(text: str) -> str:
    return _NOT_KEY.sub("", text).casefold()
