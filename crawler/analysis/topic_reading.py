"""What one pass over a text found: names, sentences and the roles of names.

The topic scorer reads the headline and the body into these structures; the
verdict (crawler.analysis.topic) and the country tags (topic_tags) are
computed from them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from crawler.analysis.script import HAN_RANGES

__all__ = ["CENTRAL_ASIA", "CHINA", "OTHER", "Entry", "Hit", "Mention", "Reading", "Span",
           "credit", "mark_venues", "prose_length"]

CHINA = "cn"
CENTRAL_ASIA = "ca"
OTHER = "other"

_HAN = re.compile(f"[{HAN_RANGES}]")
_REGION = "@region"
# What shows that a name is only where something happens: "Astana, Kazakhstan",
# "the Kazakh capital", "哈萨克斯坦阿斯塔纳", "столице Казахстана".
_APPOSITION_GAP = re.compile(r"[\s,(\uff08/]*")
_VENUE_AFTER = re.compile(r"(?:'s)?\s+(?:capital|city|town)\b|首都|首府", re.IGNORECASE)
_VENUE_BEFORE = re.compile(r"(?:capital of|столиц\w*|city of)\s*(?:the\s+)?$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str  # country | region | link | theme | genre | spam | relation | geo | exclude
    key: str
    weight: float = 0.0
    sides: tuple[str, ...] = ()
    joint: float = 0.0
    tags: tuple[str, ...] = ()
    presence: bool = True  # whether a mention shows that its sides are there
    outright: bool = True  # whether a link names its sides (a border post only locates them)
    by_name: bool = False  # a country's name, demonym or leader, not its places or firms
    demonym: bool = False  # "Kazakh": may be the people of Xinjiang, not the country
    frontier: bool = False  # a place in Xinjiang: China's own side of the border


class Hit(NamedTuple):
    """One mention of a country, as the tags see it."""

    sid: int  # the sentence
    weight: float
    direct: bool  # the country itself, not a link that implies it
    party: bool  # named as an actor: not only as a venue, a transit route or a next stop


@dataclass(slots=True)
class Mention:
    start: int
    end: int
    entry: Entry
    listed: bool = False  # one item of an enumeration that includes third countries
    located: bool = False  # Central Asia as the far side of a border or a distance
    venue: bool = False  # where something happens ("in Astana, Kazakhstan"), not who

    @property
    def code(self) -> str:
        return self.entry.key if self.entry.kind == "country" else _REGION


@dataclass(slots=True)
class Span:
    """What one sentence (or the title) names."""

    china: float = 0.0  # named outright, not as one item of a list
    central_asia: float = 0.0
    china_any: float = 0.0  # named at all
    central_asia_any: float = 0.0
    link_joint: float = 0.0  # from names of both sides at once ("中哈", "Khorgos")
    weak_link: float = 0.0  # from a format that may not involve either side (the SCO)
    central_asia_named: float = 0.0  # outright, by a country, place, person or project
    relation: bool = False
    # Two parties named as a pair ("EU-Central Asia", "China and Kazakhstan"): a
    # third country with Central Asia, or China with Central Asia.
    third_pair: bool = False
    china_pair: bool = False
    route: bool = False  # a transit route ("via Uzbekistan and Kazakhstan")
    themed: bool = False  # names what a relation is about (trade, transport, ...)
    opening: Entry | None = None  # the first name of either side: whom the sentence is about
    countries: set[str] = field(default_factory=set)  # named outright, not by a place
    linked: set[str] = field(default_factory=set)  # by a China–country link ("中哈", "CKU")
    enumerated: set[str] = field(default_factory=set)  # items of a list of two or more
    paired: set[str] = field(default_factory=set)  # side by side with China ("China and X")
    rival: bool = False  # China named as one of two powers: "Russia and China", "中俄"

    @property
    def any_side(self) -> bool:
        return self.china_any > 0 or self.central_asia_any > 0

    @property
    def both_named(self) -> bool:
        return self.china > 0 and self.central_asia > 0

    @property
    def region_only(self) -> bool:
        """Central Asia named only as a region: a geographic aside unless repeated."""
        return self.central_asia > 0 and not self.central_asia_named


@dataclass
class Reading:
    """Everything one pass over a text found, sentence by sentence."""

    spans: dict[int, Span] = field(default_factory=lambda: defaultdict(Span))
    themes: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    genres: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    # country code -> (sentence id, weight, named as a country rather than implied by a link)
    mentions: dict[str, list[Hit]] = field(default_factory=lambda: defaultdict(list))
    spam: float = 0.0
    region: bool = False
    sentences: int = 1
    lead: tuple[int, ...] = ()  # the first sentences long enough to be prose
    # Central Asia named as a place (country, city, leader, project, region),
    # not only by a demonym that may mean an ethnic group of Xinjiang, by the
    # border post of a Xinjiang town or as the far side of a border.
    central_asia_place: bool = False

    def count(self, predicate: Any) -> int:
        return sum(1 for span in self.spans.values() if predicate(span))


def credit(span: Span, mention: Mention) -> None:
    entry = mention.entry
    if entry.kind == "country" and entry.by_name:
        span.countries.add(entry.key)
    if entry.kind == "link":
        if entry.joint >= 1.0 and entry.outright and not mention.listed:
            span.linked.update(entry.tags)
        if entry.presence:
            span.link_joint = max(span.link_joint, entry.joint)
        else:
            span.weak_link = max(span.weak_link, entry.joint)
    if not entry.presence:
        return
    outright = not mention.listed and entry.outright
    if CHINA in entry.sides:
        span.china_any += entry.weight
        span.china += entry.weight if outright else 0.0
    if CENTRAL_ASIA in entry.sides:
        outright = outright and not mention.located
        span.central_asia_any += entry.weight
        span.central_asia += entry.weight if outright else 0.0
        if entry.kind != "region" and outright:
            span.central_asia_named += entry.weight


def mark_venues(text: str, mentions: list[Mention]) -> None:
    """Flags names that say where something happens rather than who takes part."""
    ordered = sorted((m for m in mentions if m.entry.kind == "country"), key=lambda m: m.start)
    for before, mention in zip([None, *ordered], ordered, strict=False):
        entry = mention.entry
        if not entry.by_name:
            continue
        mention.venue = bool(
            before is not None and before.entry.key == entry.key and not before.entry.by_name
            and _APPOSITION_GAP.fullmatch(text, before.end, mention.start)
            or _VENUE_AFTER.match(text, mention.end)
            or _VENUE_BEFORE.search(text, max(0, mention.start - 20), mention.start))


def prose_length(sentence: str) -> int:
    """Characters, a Han character counting as two (it carries about a word)."""
    return len(sentence.strip()) + len(_HAN.findall(sentence))


