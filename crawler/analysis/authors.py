"""Who wrote an article: the people in its byline, without labels, publishers or dates.

trafilatura reads bylines as the page prints them, so what it finds can be a label
alone ("作者", "By"), a label around the name ("박준석 기자 외", "Автор: ..."), the
publisher ("한국일보", "Condé Nast", "The Washington Times https"), a date run on
("... July", "Last Updated January 7"), an editor rather than an author ("责编"),
or one name twice. Each name is cleaned by rules that hold across the archive's
languages; what is left is the people, joined by "; " as trafilatura joins them.
When nothing is left, the page's ``<meta name="author">`` and then a byline line
found at the head of the text are asked in turn.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

SEPARATOR = "; "

_LEADING_LABEL = re.compile(
    r"(?i)^(?:(?:written\s+)?by|par|por|von|di|door|av|oleh|autor|auteur|author|reporter"
    r"|text[eo]?|redaksi|автор[ыа]?|текст|本报记者|新华社记者|特约记者|记者|記者"
    r"|作者|撰文|文|通讯员|(?:photo|фото)\s*[/&]\s*text)\s*[:：/／|]\s*"
    r"|^(?:(?:written\s+)?by|par|por|von|oleh|автор[ыа]?|本报记者|新华社记者|记者|記者|作者)\s+"
    r"|^(?:本报记者|新华社记者|记者|記者|作者)(?=\w)"
)
_TRAILING_LABEL = re.compile(
    r"(?i)\s*(?:기자|특파원|선임기자|记者|記者|特派員|編集委員|reporter|correspondent"
    r"|staff\s+writer)?\s*(?:외\s*\d*\s*명?)?$"
)
_EDITOR = re.compile(r"(?i)^(?:责编|责任编辑|编辑|編集)|^(?:editor|edited\s+by|редактор)\b")
# Months that are no one's surname ("Theresa May" keeps hers), and "před" (Czech: ago).
_TRAILING_DATE_WORD = re.compile(
    r"(?i)\s+(?:january|february|march|april|july|august|september|october|november"
    r"|december|updated|published|před|ago)\.?$"
)
_NO_NAME = re.compile(r"(?i)\d|\b(?:updated|published|обновлено|güncelleme)\b")
_URL_BITS = re.compile(r"(?i)https?\b|\bwww\b|\.(?:com|net|org)\b|\bcom\b")
_ORGANISATION_WORDS = re.compile(
    r"(?i)\b(?:inc|ltd|llc|gmbh|corp|corporation|team|staff|desk|newsroom|redaksi|redaktion"
    r"|rédaction|редакция)\b\.?|编辑部|編集部"
)
_COPYRIGHT = re.compile(r"(?i)copyright|\(c\)|©|all rights reserved|\d{4}")
_NOT_KEY = re.compile(r"[\W_]+")
_HAN_OR_HANGUL = r"[\u3400-\u9fff\uac00-\ud7af]{2,4}"
_SPACELESS_NAMES = re.compile(rf"{_HAN_OR_HANGUL}(?:\s+{_HAN_OR_HANGUL})+")
_NAME_LIST = re.compile(r"\s*(?:[;,，、]|\s(?:and|und|et|и|y|e)\s)\s*")
LABELS = frozenset({
    "by", "author", "authors", "autor", "auteur", "автор", "авторы", "作者", "记者", "記者",
    "责编", "责任编辑", "编辑", "기자", "기자 외", "staff", "editor", "reporter", "redaksi",
})
_HOST_NOISE = frozenset({"www", "com", "net", "org", "co", "news", "example"})


def clean_authors(found: str | None, *, declared: str | None = None,
                  organisations: Iterable[str] = (), url: str | None = None,
                  byline: str | None = None) -> str | None:
    """The people among trafilatura's ``found`` authors; else among the page's declared
    author; else in a ``byline`` line; None when no one is named.

    ``organisations``: the site's and publisher's names as the page gives them
    (og:site_name, a copyright line, JSON-LD publisher); a name that is one of
    them, or the site's host, is no person.
    """
    orgs = [publisher for name in organisations if len(_key(publisher := _publisher(name))) >= 2]
    orgs += _host_labels(url)
    for candidates in (_split(found, SEPARATOR), _split(declared), _split(byline)):
        people = _people(candidates, orgs)
        if people:
            return SEPARATOR.join(people)
    return None


def _split(value: str | None, separator: str | None = None) -> list[str]:
    if not value:
        return []
    if separator:
        return value.split(separator.strip())
    names = _NAME_LIST.split(value)
    # Chinese and Korean names have no spaces inside: a space parts two of them.
    return [part for name in names
            for part in (name.split() if _SPACELESS_NAMES.fullmatch(name) else [name])]


def _people(names: list[str], orgs: list[str]) -> list[str]:
    people: list[str] = []
    seen: set[str] = set()
    for raw in names:
        name = _clean(raw)
        key = _key(name)
        if not name or key in seen or not _is_person(name, key, orgs):
            continue
        seen.add(key)
        people.append(name)
    return people


def _clean(name: str) -> str:
    name = " ".join(name.split()).strip(" :：|,-–—()（）")
    if _EDITOR.match(name):
        return ""
    previous = None
    while name != previous:
        previous = name
        name = _LEADING_LABEL.sub("", name)
        name = _TRAILING_LABEL.sub("", name)
        name = _TRAILING_DATE_WORD.sub("", name)
        name = name.strip(" :：|,-–—()（）")
    return name


def _is_person(name: str, key: str, orgs: list[str]) -> bool:
    if len(key) < 2 or name.casefold() in LABELS:
        return False
    if _URL_BITS.search(name) or _ORGANISATION_WORDS.search(name) or _NO_NAME.search(name):
        return False
    return not any(_names_organisation(name, key, org) for org in orgs)


def _names_organisation(name: str, key: str, org: str) -> bool:
    """The organisation itself, most of its name ("Mac" of "Mac & i"), or its name
    with more around it ("The Washington Times https"): word by word, or character by
    character in scripts without spaces."""
    org_key = _key(org)
    if key == org_key or (key in org_key and len(key) >= 0.6 * len(org_key)):
        return True
    if len(org_key) < 3:
        return False
    if re.search(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]", org):
        return org_key in key
    words, org_words = name.casefold().split(), org.casefold().split()
    return any(words[i:i + len(org_words)] == org_words
               for i in range(len(words) - len(org_words) + 1))


def _publisher(name: str) -> str:
    """"Copyright (c) Condé Nast 2023" -> "Condé Nast"."""
    return " ".join(_COPYRIGHT.sub(" ", name).split()).strip(" .,")


def _host_labels(url: str | None) -> list[str]:
    host = urlsplit(url).hostname if url else None
    if not host:
        return []
    return [label for label in host.lower().split(".")
            if label not in _HOST_NOISE and len(_key(label)) >= 4]


def _key(text: str) -> str:
    return _NOT_KEY.sub("", text).casefold()
