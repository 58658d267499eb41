"""The user's search syntax, parsed and rewritten as a safe FTS5 expression.

Users write words, "quoted phrases", ``pipe*`` prefixes, AND / OR / NOT
(uppercase; NOT is binary: ``pipeline NOT oil``) and parentheses; words next
to each other must all match. Every term reaches FTS5 double-quoted, after the
same transform as the indexed text (so 中吉乌铁路 becomes the phrase
"中吉 吉乌 乌铁 铁路"), which leaves no way for input to be read as FTS5 syntax,
and the expression is bound as a parameter, never spliced into SQL. Anything
we cannot make sense of is a ``QueryError`` with a one-line explanation.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from crawler.analysis.script import has_han
from crawler.errors import QueryError
from storage.search.fts_text import fts_text

OPERATORS = ("AND", "OR", "NOT")
MAX_TERMS = 64
MAX_DEPTH = 16
_TOKEN = re.compile(r'\s*(?:(?P<quote>")|(?P<paren>[()])|(?P<word>[^\s"()]+))')


@dataclass(frozen=True)
class Token:
    kind: str  # word | phrase | op | ( | )
    value: str
    prefix: bool = False


@dataclass(frozen=True)
class ParsedQuery:
    """``fts`` is the MATCH expression; ``terms`` the searchable terms, for display."""

    source: str
    fts: str
    terms: tuple[str, ...]


MIN_STEMMED_LENGTH = 5
MIN_STEM_LENGTH = 3
_CYRILLIC_WORD = re.compile(r"[\u0400-\u04ff]+")


def _tokens(query: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while True:
        match = _TOKEN.match(query, position)
        if match is None:
            break
        position = match.end()
        if match.group("quote"):
            close = query.find('"', position)
            if close < 0:
                raise QueryError('unbalanced quote: close the phrase with " '
                                 '(e.g. "gas pipeline")')
            phrase = query[position:close]
            position = close + 1
            prefix = query.startswith("*", position)
            if prefix:
                position += 1
            tokens.append(Token("phrase", phrase, prefix))
        elif match.group("paren"):
            tokens.append(Token(match.group("paren"), match.group("paren")))
        else:
            word = match.group("word")
            if word in OPERATORS:
                tokens.append(Token("op", word))
            else:
                stem = word.rstrip("*")
                if not stem:
                    raise QueryError("a lone * : put it right after a word, e.g. pipe*")
                if stem == word and (russian := russian_stem(word)) is not None:
                    tokens.append(Token("word", russian, prefix=True))
                else:
                    tokens.append(Token("word", stem, prefix=stem != word))
    return tokens


def russian_stem(word: str) -> str | None:
    """The Snowball stem of a Russian word, searched as a prefix so that every case
    and number matches (газопровод finds газопровода, газопроводом); None when the
    word is not Russian or too short for a stem to be safe."""
    if len(word) < MIN_STEMMED_LENGTH or not _CYRILLIC_WORD.fullmatch(word):
        return None
    stem = _russian_stemmer().stemWord(word.lower())
    if len(stem) < MIN_STEM_LENGTH or not word.lower().startswith(stem):
        return None
    return stem


@lru_cache(maxsize=1)
def _russian_stemmer():  # type: ignore[no-untyped-def]
    import snowballstemmer

    return snowballstemmer.stemmer("russian")


def _searchable(value: str) -> bool:
    """True when the tokenizer would find at least one token (a letter or digit)."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in value)


def _quote(value: str, prefix: bool) -> str:
    transformed = " ".join(fts_text(value).split())
    # A lone Han character only ever occurs inside bigrams: find it as their prefix.
    if len(transformed) == 1 and has_han(transformed):
        prefix = True
    return '"' + transformed.replace('"', '""') + '"' + (" *" if prefix else "")


class _Parser:
    """Recursive descent; NOT binds tighter than AND, AND tighter than OR (as in FTS5).

    Each rule returns the FTS5 text of its part, or None when the part holds
    nothing searchable (say, a lone "&"), which the rule above then drops.
    """

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.position = 0
        self.terms: list[str] = []

    def peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def parse(self) -> str | None:
        expression = self.or_expr(0)
        if self.peek() is not None:
            raise QueryError("unbalanced parentheses: a ) has no matching (")
        return expression

    def or_expr(self, depth: int) -> str | None:
        self.expect_operand(None)
        parts = [self.and_expr(depth)]
        while self.at_op("OR"):
            self.take()
            self.expect_operand("OR")
            parts.append(self.and_expr(depth))
        return _join(parts, "OR")

    def and_expr(self, depth: int) -> str | None:
        parts = [self.not_expr(depth)]
        while True:
            token = self.peek()
            if token is None or token.kind == ")" or self.at_op("OR"):
                return _join(parts, "AND")
            if self.at_op("AND"):
                self.take()
                self.expect_operand("AND")
            parts.append(self.not_expr(depth))

    def not_expr(self, depth: int) -> str | None:
        left = self.unary(depth)
        while self.at_op("NOT"):
            self.take()
            self.expect_operand("NOT")
            right = self.unary(depth)
            if left is None:
                raise QueryError("NOT needs something to search for before it, "
                                 "e.g. pipeline NOT oil")
            if right is not None:
                left = f"({left} NOT {right})"
        return left

    def unary(self, depth: int) -> str | None:
        token = self.take()
        if token.kind == "(":
            if depth >= MAX_DEPTH:
                raise QueryError(f"parentheses nested too deep (at most {MAX_DEPTH} levels)")
            if self.at(")"):
                raise QueryError("empty parentheses: put a term inside ( )")
            if self.peek() is None:
                raise QueryError("unbalanced parentheses: a ( is never closed")
            inner = self.or_expr(depth + 1)
            if not self.at(")"):
                raise QueryError("unbalanced parentheses: a ( is never closed")
            self.take()
            return inner
        if not _searchable(token.value):
            return None
        self.terms.append(token.value)
        if len(self.terms) > MAX_TERMS:
            raise QueryError(f"too many terms (at most {MAX_TERMS})")
        return _quote(token.value, token.prefix)

    def expect_operand(self, after: str | None) -> None:
        """Fail unless a term, phrase or ( comes next (``after``: the operator just read)."""
        token = self.peek()
        if token is not None and token.kind not in (")", "op"):
            return
        if after is not None:
            raise QueryError(f"{after} needs a term after it, e.g. {_EXAMPLES[after]}")
        if token is None:
            raise QueryError("unbalanced parentheses: a ( is never closed")
        if token.kind == ")":
            raise QueryError("unbalanced parentheses: a ) has no matching (")
        raise QueryError(f"{token.value} needs a term before it, e.g. {_EXAMPLES[token.value]}")

    def at(self, kind: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == kind

    def at_op(self, name: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "op" and token.value == name


_EXAMPLES = {"AND": "pipeline AND railway", "OR": "pipeline OR railway",
             "NOT": "pipeline NOT oil"}


def _join(parts: list[str | None], operator: str) -> str | None:
    kept = [part for part in parts if part is not None]
    if not kept:
        return None
    if len(kept) == 1:
        return kept[0]
    return "(" + f" {operator} ".join(kept) + ")"


def parse_query(query: str) -> ParsedQuery:
    """Turn what the user typed into an FTS5 MATCH expression, or raise ``QueryError``."""
    if not query.strip():
        raise QueryError("empty query: give at least one word, e.g. pipeline")
    parser = _Parser(_tokens(query))
    if not parser.tokens:
        raise QueryError("empty query: give at least one word, e.g. pipeline")
    expression = parser.parse()
    if expression is None:
        raise QueryError("nothing to search for: the query has no letters or digits")
    return ParsedQuery(query, expression, tuple(parser.terms))
