"""Compiles the topic profile's terms into one regular expression.

A term is a word or phrase, a stem (``казахстан*``), a case-sensitive token
(``=SCO``), a Chinese substring or a raw pattern (see topic_profile.toml). The
terms of every list become a trie, so one pass of one regular expression over a
text finds every mention in every language; ``Lexicon.resolve`` maps a matched
string back to the entries of the term it matched.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

__all__ = ["APOSTROPHES", "Lexicon", "first_chars", "fold_table", "split_term", "trie"]

STAR = "\x00"  # a word that may go on (stems)
SEP = "\x01"  # a space or a hyphen between the words of a phrase
SEP_CLASS = r"[\s\-\u2010-\u2015]*"
SEP_CHARS = re.compile(r"[\s\-\u2010-\u2015]+")
APOSTROPHES = "\u2019\u2018\u02bb\u02bc\u0060\u00b4\u02b9\u2032"


class Lexicon:
    """Maps a matched string back to the entries of the term that matched it."""

    def __init__(self, fold_case: bool) -> None:
        self.fold_case = fold_case
        self.exact: dict[str, list[Any]] = defaultdict(list)
        self.stems: dict[str, list[Any]] = defaultdict(list)
        self.complex: list[tuple[re.Pattern[str], list[Any]]] = []
        self.terms: list[tuple[list[str], Any]] = []

    def add(self, term: str, entry: Any) -> None:
        tokens = split_term(term.lower() if self.fold_case else term)
        self.terms.append((tokens, entry))
        stars = tokens.count(STAR)
        if stars == 0:
            _append_new(self.exact[_key("".join(tokens))], entry)
        elif stars == 1 and tokens[-1] == STAR:
            _append_new(self.stems[_key("".join(tokens[:-1]))], entry)
        else:
            flags = re.IGNORECASE if self.fold_case else 0
            self.complex.append((re.compile(_token_pattern(tokens), flags), [entry]))

    def resolve(self, matched: str) -> list[Any]:
        text = matched.lower() if self.fold_case else matched
        key = _key(text)
        if key in self.exact:
            return self.exact[key]
        for pattern, entries in self.complex:
            if pattern.fullmatch(text):
                return entries
        for end in range(len(key), 0, -1):
            if key[:end] in self.stems:
                return self.stems[key[:end]]
        return []


def _append_new(entries: list[Any], entry: Any) -> None:
    if entry not in entries:
        entries.append(entry)


def split_term(term: str) -> list[str]:
    """A term as parts: characters, `STAR` for a `*`, `SEP` for spaces and hyphens."""
    parts: list[str] = []
    for char in term.strip():
        if char == "*":
            parts.append(STAR)
        elif SEP_CHARS.fullmatch(char):
            if parts and parts[-1] != SEP:
                parts.append(SEP)
        else:
            parts.append(char)
    return parts


def _key(text: str) -> str:
    return SEP_CHARS.sub("", text.replace(SEP, "").replace(STAR, ""))


def _token_regex(token: str) -> str:
    if token == STAR:
        return r"\w*"
    if token == SEP:
        return SEP_CLASS
    return re.escape(token)


def _token_pattern(tokens: list[str]) -> str:
    return "".join(_token_regex(t) for t in tokens)


def trie(sequences: list[list[str]]) -> str:
    """One regex for many terms: shared prefixes are matched once, longest first."""
    root: dict[str, Any] = {}
    for tokens in sequences:
        node = root
        for token in tokens:
            node = node.setdefault(token, {})
        node[""] = {}
    return _emit(root) or r"(?!)"


def first_chars(sequences: list[list[str]]) -> str:
    """A lookahead for the first characters of the terms: most positions fail at once."""
    chars = sorted({tokens[0] for tokens in sequences if tokens})
    return "(?=[" + "".join(re.escape(c) for c in chars) + "])" if chars else ""


def _emit(node: dict[str, Any]) -> str:
    # Stems go last so that a longer phrase through the same prefix wins.
    children = sorted((t for t in node if t), key=lambda t: (t == STAR, t))
    alternatives = [_token_regex(t) + _emit(node[t]) for t in children]
    if not alternatives:
        return ""
    body = "|".join(alternatives)
    if "" in node:
        return f"(?:{body})?"
    return body if len(alternatives) == 1 else f"(?:{body})"


def fold_table(pairs: str) -> dict[int, str]:
    """The folding applied to profile and page alike: apostrophes, ё, Traditional Chinese."""
    table = {ord(c): "'" for c in APOSTROPHES}
    table[ord("ё")] = "е"
    table[ord("Ё")] = "Е"
    for pair in pairs.split():
        if len(pair) != 2:
            raise ValueError(f"zh_traditional entry {pair!r} is not two characters")
        table[ord(pair[0])] = pair[1]
    return table
