"""The user's search syntax, parsed into a small tree and written out for each engine.

Users write words, "quoted phrases", ``pipe*`` prefixes, AND / OR / NOT
(uppercase) and parentheses; words next to each other must all match. NOT
excludes the term after it from what the terms beside it find: ``pipeline NOT
oil``, ``pipeline AND NOT oil`` and ``NOT oil pipeline`` are the same query (the
engines' NOT is binary, so a NOT with nothing beside it to search for is an
error). The parser builds a tree of terms (a word or a
phrase, maybe a prefix), AND, OR and NOT, which is rendered twice:

* for SQLite FTS5, every term double-quoted after the same transform as the
  indexed text (so 中吉乌铁路 becomes the phrase "中吉 吉乌 乌铁 铁路");
* for PostgreSQL's ``to_tsquery``, every word of a term single-quoted and the
  words of one term chained with ``<->`` (followed by), ``:*`` on a prefix,
  ``&``, ``|`` and ``a & !b``.

Quoting leaves no way for input to be read as either engine's syntax, and the
expression is bound as a parameter, never spliced into SQL. Anything we cannot
make sense of is a ``QueryError`` with a one-line explanation.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from crawler.analysis.script import has_han
from crawler.errors import QueryError
from storage.search.fts_text import fts_text, index_words

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
class Term:
    """A word or phrase as the index sees it (transformed); ``prefix``: its last word is."""

    text: str
    prefix: bool


@dataclass(frozen=True)
class Group:
    """All (``AND``) or any (``OR``) of two or more parts."""

    operator: str
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """``left`` but not ``right``."""

    left: Node
    right: Node


Node = Term | Group | Not


@dataclass(frozen=True)
class ParsedQuery:
    """``fts``: the FTS5 MATCH expression; ``tsquery``: the text for PostgreSQL's
    ``to_tsquery``; ``terms``: the searchable terms, for display; ``loose``: a
    tsquery that matches a superset of ``tsquery`` and that the GIN index answers
    alone (no phrases, no NOT), for picking candidates."""

    source: str
    fts: str
    terms: tuple[str, ...]
    tsquery: str = ""
    loose: str = ""


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


def _term(value: str, prefix: bool) -> Term:
    transformed = " ".join(fts_text(value).split())
    # A lone Han character only ever occurs inside bigrams: find it as their prefix.
    if len(transformed) == 1 and has_han(transformed):
        prefix = True
    return Term(transformed, prefix)


def to_fts5(node: Node) -> str:
    """The FTS5 MATCH expression of ``node``."""
    if isinstance(node, Term):
        return '"' + node.text.replace('"', '""') + '"' + (" *" if node.prefix else "")
    if isinstance(node, Not):
        return f"({to_fts5(node.left)} NOT {to_fts5(node.right)})"
    return "(" + f" {node.operator} ".join(map(to_fts5, node.parts)) + ")"


_TS_OPERATORS = {"AND": " & ", "OR": " | "}


def to_tsquery(node: Node, loose: bool = False) -> str:
    """The ``to_tsquery`` text of ``node``: the same words as FTS5 would see, quoted.

    ``loose`` drops what the GIN index cannot answer without reading each document:
    a phrase's order (its words ANDed) and NOT (its left side alone).
    """
    if isinstance(node, Term):
        words = ["'" + word.replace("'", "''") + "'" for word in index_words(node.text)]
        if node.prefix:
            words[-1] += ":*"
        return words[0] if len(words) == 1 else \
            "(" + (" & " if loose else " <-> ").join(words) + ")"
    if isinstance(node, Not):
        if loose:
            return to_tsquery(node.left, loose)
        return f"({to_tsquery(node.left)} & !{to_tsquery(node.right)})"
    return "(" + _TS_OPERATORS[node.operator].join(to_tsquery(part, loose)
                                                   for part in node.parts) + ")"


class _Parser:
    """Recursive descent; NOT binds tighter than AND, AND tighter than OR (as in FTS5),
    and ``AND NOT`` is NOT.

    Each rule returns the tree of its part, or None when the part holds
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

    def parse(self) -> Node | None:
        expression = self.or_expr(0)
        if self.peek() is not None:
            raise QueryError("unbalanced parentheses: a ) has no matching (")
        return expression

    def or_expr(self, depth: int) -> Node | None:
        self.expect_operand(None)
        parts = [self.and_expr(depth)]
        while self.at_op("OR"):
            self.take()
            self.expect_operand("OR")
            parts.append(self.and_expr(depth))
        return _join(parts, "OR")

    def and_expr(self, depth: int) -> Node | None:
        """Terms side by side, each maybe behind AND or NOT: the ones without NOT, all
        of them, and none of the ones with NOT. ``a NOT b c``, ``a AND NOT b c`` and
        ``NOT b a c`` all mean (a AND c) NOT b, as FTS5 would read the first."""
        wanted: list[Node | None] = []
        unwanted: list[Node | None] = []
        while True:
            token = self.peek()
            if token is None or token.kind == ")" or self.at_op("OR"):
                break
            if self.at_op("AND"):
                self.take()
                if not self.at_op("NOT"):
                    self.expect_operand("AND")
                    continue
            if self.at_op("NOT"):
                self.take()
                self.expect_operand("NOT")
                unwanted.append(self.unary(depth))
            else:
                wanted.append(self.unary(depth))
        kept = _join(wanted, "AND")
        if kept is None and any(part is not None for part in unwanted):
            raise QueryError("NOT needs something to search for beside it, "
                             "e.g. pipeline NOT oil")
        for part in unwanted:
            if part is not None and kept is not None:
                kept = Not(kept, part)
        return kept

    def unary(self, depth: int) -> Node | None:
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
        return _term(token.value, token.prefix)

    def expect_operand(self, after: str | None) -> None:
        """Fail unless a term, phrase or ( comes next (``after``: the operator just read)."""
        token = self.peek()
        if token is not None and (token.kind not in (")", "op")
                                  or (token.value == "NOT" and after in (None, "OR"))):
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


def _join(parts: list[Node | None], operator: str) -> Node | None:
    kept = tuple(part for part in parts if part is not None)
    if not kept:
        return None
    if len(kept) == 1:
        return kept[0]
    return Group(operator, kept)


def parse_query(query: str) -> ParsedQuery:
    """Turn what the user typed into expressions for both engines, or raise ``QueryError``."""
    if not query.strip():
        raise QueryError("empty query: give at least one word, e.g. pipeline")
    parser = _Parser(_tokens(query))
    if not parser.tokens:
        raise QueryError("empty query: give at least one word, e.g. pipeline")
    tree = parser.parse()
    if tree is None:
        raise QueryError("nothing to search for: the query has no letters or digits")
    return ParsedQuery(query, to_fts5(tree), tuple(parser.terms), to_tsquery(tree),
                       to_tsquery(tree, loose=True))
