"""Topic relevance: is an extracted article about China–Central Asia relations?

The archive keeps a page only when its text concerns China *and* Central Asia,
so the score is built from evidence for both sides and, above all, from the
two sides being named together (in the title, in one sentence, in neighbouring
sentences). Round-ups that list many countries, pages about one side only and
spam copies of real articles are what it must turn away; so are stories whose
headline and lead are about someone else (a third country's summit with
Central Asia, where China is the rival), Xinjiang pages that name Central Asia
only as the far side of the border, and passing mentions.

All vocabulary lives in ``topic_profile.toml``; topic_lexicon compiles it into
one regular expression (a trie of every term, so one pass over the text finds
every mention in every language), this module reads a text into sentences and
mentions (topic_reading) and turns them into a verdict, and topic_tags picks
the countries the article is about.
"""

from __future__ import annotations

import logging
import math
import re
import tomllib
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, replace
from itertools import islice, pairwise
from pathlib import Path
from typing import Any

from crawler.analysis.script import HAN_RANGES, has_han
from crawler.analysis.topic_lexicon import Lexicon, first_chars, fold_table, trie
from crawler.analysis.topic_reading import (
    CENTRAL_ASIA,
    CHINA,
    OTHER,
    Entry,
    Hit,
    Mention,
    Reading,
    Span,
    credit,
    mark_venues,
    prose_length,
)
from crawler.analysis.topic_tags import CountryTagger
from crawler.errors import TopicProfileError

__all__ = ["DEFAULT_PROFILE_PATH", "TopicProfile", "TopicProfileError", "TopicSignals",
           "TopicVerdict"]

log = logging.getLogger(__name__)

DEFAULT_PROFILE_PATH = Path(__file__).with_name("topic_profile.toml")

_HAN_AHEAD = f"(?=[{HAN_RANGES}])"  # raw patterns in Chinese start with a Han
_SENTENCE_END = re.compile(
    r"[.!?\u2026]+[\"'\u00bb\u201d)\]]*(?=\s)|[\u3002\uff01\uff1f\uff1b!?;]+|\n")
_WORDY = re.compile(r"\w\w")
_NOT_TERMS = frozenset({"sides", "tags"})
# What may stand between two names of an enumeration ("Russia, China and Kazakhstan").
_ENUMERATION_GAP = re.compile(
    r"\s*[,;/\uff0c\u3001\uff1b]?\s*(?:and|or|as well as|и|или|а также|和|与|及|以及|或)?\s*"
    r"(?:the\s+)?", re.IGNORECASE)
# What may stand between the two parties of a format or a pair ("EU-Central Asia",
# "Japan and five Central Asian countries", "美国与中亚五国").
_PAIR_GAP = re.compile(
    r"[\s\-\u2010-\u2015+/]*(?:(?:and|plus|&|и|с|与|和|同|及)[\s]*)?"
    r"(?:(?:the\s+)?(?:five|5|пяти|пять|五)[\s]*)?", re.IGNORECASE)
# ... or a host and its guests ("Modi held a summit with the leaders of Central
# Asia", "特朗普在白宫接待中亚五国元首").
_MEETING_GAP = re.compile(
    r"[^.!?\u3002\uff01\uff1f\n]{0,40}?(?:summit|talks|hosts?|hosted|hosting|саммит|встреч|"
    r"переговор|принял|峰会|会晤|会谈|接待)[^.!?\u3002\uff01\uff1f\n]{0,40}", re.IGNORECASE)
# How far after "bordering", "60 km from", "西邻" a name is still the place located.
_LOCATED_REACH = 40
_LOCATED_BEFORE = 12  # ... and before "接壤", "交界" ("与哈萨克斯坦接壤")
_TAG_BAR_GAP = re.compile(r"[ \t]+")
_LIST_MARKS = re.compile(r"[,;\uff0c\u3001\uff1b]")
_CAPTION_LEAD = " \t\n([\uff08\u3010"  # what may come before a caption's "Photo:"


@dataclass(frozen=True)
class TopicVerdict:
    score: float
    keep: bool
    countries: tuple[str, ...]
    themes: tuple[str, ...]
    profile_version: str


@dataclass(frozen=True)
class TopicSignals:
    """What a short text (a link's anchor, a URL slug) promises about the topic."""

    china: float
    central_asia: float
    joint: float
    themes: int
    spam: float


class TopicProfile:
    """A compiled vocabulary and the rules that turn mentions into a verdict."""

    version: str
    threshold: float

    def __init__(self, data: dict[str, Any], *, threshold: float | None = None) -> None:
        try:
            self.version = str(data["version"])
            self.threshold = float(data["threshold"] if threshold is None else threshold)
            self._scoring = {k: float(v) for k, v in data["scoring"].items()}
            self._spam = data["spam"]
            self._frontier_themes = tuple(data.get("subjects", {}).get("frontier_themes", ()))
            self._fold = fold_table(data.get("normalise", {}).get("zh_traditional", ""))
            self._foldable = re.compile(
                "[" + "".join(re.escape(chr(code)) for code in sorted(self._fold)) + "]")
            self._sides: dict[str, str] = {}
            self._untagged: set[str] = set()
            self._lexicons = {"ci": Lexicon(True), "cs": Lexicon(False), "zh": Lexicon(True)}
            self._raw: list[tuple[str, list[Entry]]] = []
            self._load_vocabulary(data)
            self._regex = self._compile()
            self._raw_other = [(index, re.compile(pattern))
                               for index, (pattern, _) in enumerate(self._raw)
                               if not has_han(pattern[:1])]
            self._sides_present = (self._compile(CENTRAL_ASIA), self._compile(CHINA))
            self._tagger = CountryTagger(self._sides, self._untagged, self._scoring)
        except (KeyError, TypeError, ValueError, re.error) as exc:
            raise TopicProfileError(f"malformed topic profile: {exc!r}") from exc
        self._cache: dict[tuple[str, str], list[Entry]] = {}

    @classmethod
    def load(cls, path: str | Path | None = None, *,
             threshold: float | None = None) -> TopicProfile:
        profile_path = Path(path) if path is not None else DEFAULT_PROFILE_PATH
        try:
            data = tomllib.loads(profile_path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise TopicProfileError(f"cannot read topic profile {profile_path}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise TopicProfileError(f"topic profile {profile_path} is not TOML: {exc}") from exc
        profile = cls(data, threshold=threshold)
        log.debug("loaded topic profile %s from %s", profile.version, profile_path)
        return profile

    # -- building ---------------------------------------------------------

    def _load_vocabulary(self, data: dict[str, Any]) -> None:
        s = self._scoring
        for table, country in data["countries"].items():
            code = country.get("code", table)
            self._sides[code] = country["side"]
            if not country.get("tag", True):
                self._untagged.add(code)
            for kind in ("names", "demonyms", "places", "frontier", "people", "companies"):
                entry = Entry("country", code, s["places" if kind == "frontier" else kind],
                              (country["side"],),
                              by_name=kind in ("names", "demonyms", "people"),
                              demonym=kind == "demonyms", frontier=kind == "frontier")
                self._add_terms(country.get(kind, {}), entry)
        for key, region in data["regions"].items():
            self._add_terms(region, Entry("region", key, float(region["weight"]),
                                          (region["side"],)))
        for key, link in data["links"].items():
            entry = Entry("link", key, float(link["weight"]), tuple(link["sides"]),
                          float(link["joint"]), tuple(link["tags"]),
                          bool(link.get("presence", True)),
                          outright=bool(link.get("outright", True)))
            self._add_terms(link, entry)
        for key, theme in data["themes"].items():
            self._add_terms(theme, Entry("theme", key, 1.0))
        for key, genre in data.get("genres", {}).items():
            self._add_terms(genre, Entry("genre", key, 1.0))
        for strength in ("strong", "weak", "farm"):
            if strength in self._spam:
                weight = float(self._spam[f"{strength}_weight"])
                self._add_terms(self._spam[strength], Entry("spam", strength, weight))
        self._add_terms(data.get("exclusions", {}), Entry("exclude", "exclude"))
        self._add_terms(data.get("relations", {}), Entry("relation", "relation"))
        geography = data.get("geography", {})
        self._add_terms(geography, Entry("geo", "after"))
        self._add_terms(geography.get("before", {}), Entry("geo", "before"))
        roles = data.get("roles", {})
        self._add_terms(roles.get("route", {}), Entry("route", "route"))
        self._add_terms(roles.get("onward", {}), Entry("onward", "onward"))
        self._add_terms(roles.get("caption", {}), Entry("caption", "caption"))

    def _add_terms(self, table: dict[str, Any], entry: Entry) -> None:
        for language, terms in table.items():
            if language in _NOT_TERMS or not isinstance(terms, list):
                continue
            for term in terms:
                self._add_term(str(term).translate(self._fold), entry, language)

    def _add_term(self, term: str, entry: Entry, language: str) -> None:
        if term.startswith("re:"):
            self._raw.append((term[3:], [entry]))
        elif has_han(term):
            self._lexicons["zh"].add(term, entry)
        elif term.startswith("="):
            self._lexicons["cs"].add(term[1:], entry)
        elif term.strip():
            self._lexicons["ci"].add(term, entry)
        else:
            raise ValueError(f"empty term in {entry.kind} {entry.key} ({language})")

    def _compile(self, side: str | None = None) -> re.Pattern[str]:
        """Every term; or, given a ``side``, only the terms that show that side is there."""
        def wanted(entry: Entry) -> bool:
            return side is None or (entry.presence and side in entry.sides)

        ci, cs, zh = ([tokens for tokens, entry in self._lexicons[name].terms if wanted(entry)]
                      for name in ("ci", "cs", "zh"))
        raw = [(i, p) for i, (p, entries) in enumerate(self._raw)
               if any(wanted(entry) for entry in entries)]
        # Leading character classes and one shared word-start test let the engine
        # dismiss most positions at once: this is what keeps scoring fast.
        words = (rf"(?<!\w)(?:(?P<ci>(?i:{first_chars(ci)}{trie(ci)})(?!\w))"
                 rf"|(?P<cs>{first_chars(cs)}(?:{trie(cs)})(?!\w)))")
        han = rf"(?P<zh>(?i:{first_chars(zh)}{trie(zh)}))"
        raw_han = [f"(?P<r{i}>{p})" for i, p in raw if has_han(p[:1])]
        raw_other = [f"(?P<r{i}>{p})" for i, p in raw if not has_han(p[:1])]
        parts = [words, han]
        if raw_han:
            parts.append(f"{_HAN_AHEAD}(?:{'|'.join(raw_han)})")
        # For matching, raw patterns that may start with anything are scanned
        # one by one (`_raw_other`): in the alternation they would be tried at
        # every position of the text.
        return re.compile("|".join(parts if side is None else parts + raw_other))

    # -- matching ---------------------------------------------------------

    def _mentions(self, text: str) -> list[tuple[int, int, list[Entry]]]:
        found = []
        for match in self._regex.finditer(text):
            group = match.lastgroup or ""
            if group.startswith("r"):
                entries = self._raw[int(group[1:])][1]
            else:
                cache_key = (group, match.group())
                cached = self._cache.get(cache_key)
                if cached is None:
                    cached = self._lexicons[group].resolve(match.group())
                    if len(self._cache) > 100_000:
                        self._cache.clear()
                    self._cache[cache_key] = cached
                entries = cached
            if entries:
                found.append((match.start(), match.end(), entries))
        # Raw patterns that start with anything: where nothing else matched.
        starts = [start for start, _, _ in found]
        extra = []
        for index, pattern in self._raw_other:
            for match in pattern.finditer(text):
                at = bisect_right(starts, match.start())
                before = found[at - 1] if at else None
                after = found[at] if at < len(found) else None
                if (before is None or before[1] <= match.start()) and (
                        after is None or match.end() <= after[0]):
                    extra.append((match.start(), match.end(), self._raw[index][1]))
        return sorted(found + extra, key=lambda hit: hit[0]) if extra else found

    def may_keep(self, *texts: str) -> bool:
        """False when the texts together do not name China or do not name Central Asia.

        ``score`` keeps nothing that lacks either side, so an article taken from a
        page whose every text fails this test cannot be kept, and a crawl need not
        extract it. One search per side and text, no reading of sentences; the
        rarer side goes first.
        """
        folded = [self._normalise(text) for text in texts]
        return all(any(regex.search(text) for text in folded)
                   for regex in self._sides_present)

    def signals(self, text: str) -> TopicSignals:
        """Topic evidence in a short text, for ranking links before fetching them."""
        reading = self._read(self._normalise(text), split=False)
        span = reading.spans[0]
        return TopicSignals(span.china_any, span.central_asia_any, self._joint(span),
                            len(reading.themes), reading.spam)

    def _normalise(self, text: str) -> str:
        # Most pages hold few characters to fold, and translate() looks at every one.
        fold = self._fold
        return self._foldable.sub(lambda match: fold[ord(match.group())], text)

    def _read(self, text: str, *, split: bool = True, theme_weight: float = 1.0) -> Reading:
        reading = Reading()
        ends = [m.end() for m in _SENTENCE_END.finditer(text)] if split else []
        if split:
            parts = _SENTENCE_END.split(text)
            reading.sentences = max(1, sum(1 for part in parts if _WORDY.search(part)))
            starts = [0, *ends]
            prose = (sid for sid, begin in enumerate(starts)
                     if prose_length(text[begin:ends[sid] if sid < len(ends) else len(text)])
                     >= self._scoring["lead_chars"])
            reading.lead = tuple(islice(prose, int(self._scoring["lead"])))
        reading.spans[0] = Span()
        names: dict[int, list[Mention]] = defaultdict(list)
        located: dict[int, list[int]] = defaultdict(list)  # sentence -> where its cues end
        onward: dict[int, list[int]] = defaultdict(list)
        captions: set[int] = set()  # sentences that open with "Photo:", "图为"
        for start, end, entries in self._mentions(text):
            sid = bisect_right(ends, start)
            for entry in entries:
                kind = entry.kind
                if kind == "theme":
                    reading.themes[entry.key] += theme_weight
                    reading.spans[sid].themed = True
                elif kind == "genre":
                    reading.genres[entry.key] += theme_weight
                elif kind == "spam":
                    reading.spam += entry.weight
                elif kind == "relation":
                    reading.spans[sid].relation = True
                elif kind == "geo":
                    located[sid].append(end if entry.key == "after" else -start)
                elif kind == "route":
                    reading.spans[sid].route = True
                elif kind == "onward":
                    onward[sid].append(end)
                elif kind == "caption":
                    if not text[ends[sid - 1] if sid else 0:start].strip(_CAPTION_LEAD):
                        captions.add(sid)
                elif kind != "exclude":
                    names[sid].append(Mention(start, end, entry))
        for sid, mentions in names.items():
            begin = ends[sid - 1] if 0 < sid <= len(ends) else 0
            finish = ends[sid] if sid < len(ends) else len(text)
            span = reading.spans[sid]
            span.enumerated = self._mark_enumerations(
                text, mentions, _LIST_MARKS.subn("", text[begin:finish])[1])
            span.rival = span.rival or span.enumerated == {"CN", "RU"}
            self._mark_pairs(text, mentions, span)
            self._mark_furniture(text, mentions)
            mark_venues(text, mentions)
            span.opening = next((m.entry for m in sorted(mentions, key=lambda m: m.start)
                                 if m.entry.presence and m.entry.sides), None)
            for mention in mentions:
                entry = mention.entry
                mention.located = CENTRAL_ASIA in entry.sides and any(
                    0 <= mention.start - cue <= _LOCATED_REACH if cue >= 0
                    else 0 <= -cue - mention.end <= _LOCATED_BEFORE
                    for cue in located.get(sid, ()))
                credit(span, mention)
                reading.region |= entry.kind == "region"
                reading.central_asia_place |= (CENTRAL_ASIA in entry.sides and entry.presence
                                               and entry.outright and not entry.demonym
                                               and not mention.located)
                if not (mention.listed or mention.located or sid in captions):
                    direct = entry.kind == "country"
                    party = (not span.route and not mention.venue
                             and (entry.by_name or not direct)
                             and not any(cue <= mention.start for cue in onward.get(sid, ())))
                    codes = (entry.key,) if direct else entry.tags
                    for code in codes:
                        reading.mentions[code].append(Hit(sid, entry.weight, direct, party))
        return reading

    def _mark_furniture(self, text: str, mentions: list[Mention]) -> None:
        """Three or more country names separated by nothing but spaces are a tag bar."""
        ordered = [m for m in sorted(mentions, key=lambda m: m.start)
                   if m.entry.kind == "country"]
        run: list[Mention] = []
        for mention in ordered:
            if run and not _TAG_BAR_GAP.fullmatch(text, run[-1].end, mention.start):
                run = []
            run.append(mention)
            if len({m.entry.key for m in run}) >= 3:
                for item in run:
                    item.listed = True

    def _mark_pairs(self, text: str, mentions: list[Mention], span: Span) -> None:
        """Notes which parties a sentence names as a pair, side by side."""
        def party(mention: Mention) -> str:
            entry = mention.entry
            if entry.kind == "link":
                return "both" if entry.joint >= 1.0 and entry.outright else ""
            if entry.kind == "region":
                return CENTRAL_ASIA
            if entry.kind != "country" or entry.key.startswith("~"):
                return ""
            return self._sides.get(entry.key, "")

        ordered = sorted(mentions, key=lambda m: m.start)
        span.china_pair |= any(party(m) == "both" for m in ordered)
        chain: list[Mention] = ordered[:1]
        for left, right in pairwise(ordered):
            if _PAIR_GAP.fullmatch(text, left.end, right.start):
                chain.append(right)
            else:
                self._note_paired(chain, span)
                chain = [right]
            sides = {party(left), party(right)}
            if CENTRAL_ASIA not in sides or not (
                    _PAIR_GAP.fullmatch(text, left.end, right.start)
                    or party(right) == CENTRAL_ASIA
                    and _MEETING_GAP.fullmatch(text, left.end, right.start)):
                continue
            span.third_pair |= OTHER in sides
            span.china_pair |= CHINA in sides
        self._note_paired(chain, span)

    def _note_paired(self, chain: list[Mention], span: Span) -> None:
        """Central Asian countries named side by side with China ("China–Kyrgyzstan–Uzbekistan")."""
        entries = [m.entry for m in chain if m.entry.kind == "country" and m.entry.by_name]
        if any(self._sides.get(e.key) == CHINA for e in entries):
            span.paired.update(e.key for e in entries if self._sides.get(e.key) == CENTRAL_ASIA)

    def _mark_enumerations(self, text: str, mentions: list[Mention], marks: int) -> set[str]:
        """Flags names that are one item of a list reaching beyond China and Central Asia.

        Returns the codes named as items of any list of two or more, which is what
        tells a sentence going through the region's countries from one that names
        three of them in passing ("Uzbek officials ... via Turkmenistan ... than
        via Kazakhstan").
        """
        s = self._scoring
        places = [m for m in mentions if m.entry.kind in ("country", "region")]
        codes = {m.code for m in places}
        others = sum(1 for code in codes if self._sides.get(code) == OTHER)
        if others >= s["list_others"] and (
                len(codes) >= s["list_always"]
                or len(codes) >= s["list_countries"] + 1 and marks >= s["list_marks"]):
            for mention in places:
                mention.listed = True
            return codes
        runs: list[list[Mention]] = []
        for mention in places:
            last = runs[-1][-1] if runs else None
            if (last is not None and 0 <= mention.start - last.end <= 24
                    and _ENUMERATION_GAP.fullmatch(text, last.end, mention.start)):
                runs[-1].append(mention)
            else:
                runs.append([mention])
        enumerated: set[str] = set()
        for run in runs:
            # World regions share one code, yet each is an item of its own.
            items = {m.code if m.code not in self._untagged else f"{m.code}@{m.start}"
                     for m in run}
            if len(items) >= 2:
                enumerated.update(m.code for m in run)
            if len(items) >= s["list_countries"] and any(
                    self._sides.get(m.code) == OTHER for m in run):
                for mention in run:
                    mention.listed = True
        return enumerated

    # -- scoring ----------------------------------------------------------

    def score(self, title: str, text: str, language: str | None = None) -> TopicVerdict:
        """Score one article; `language` is only a hint, since pages mix scripts."""
        s = self._scoring
        head = self._read(self._normalise(title or ""), split=False,
                          theme_weight=s["title_theme"])
        body = self._read(self._normalise(text or ""))
        heading = head.spans[0]
        if self._rival_headline(heading):
            heading = replace(heading, china=0.0)

        china_sentences = body.count(lambda sp: sp.china > 0) + (heading.china > 0)
        ca_sentences = body.count(lambda sp: sp.central_asia > 0) + (heading.central_asia > 0)
        related = min(china_sentences, ca_sentences) >= s["relation_sides"]
        # The SCO relates China and Central Asia only where both are there outright,
        # not when its members are merely listed.
        both_outright = min(china_sentences, ca_sentences) > 0
        joints = sorted((self._joint(span, related, weak=both_outright)
                         for span in body.spans.values()), reverse=True)
        joints = [value for value in joints if value > 0]

        evidence = self._title_evidence(heading, body, confirmed=bool(joints),
                                        weak=both_outright)
        evidence += sum(s["joint"] * value * s["joint_decay"] ** k
                        for k, value in enumerate(joints))
        evidence += s["near"] * self._near_pairs(body)
        # A lead sentence naming China and a Central Asian country, under a
        # headline that names China or no country at all: the story opens on them.
        if (heading.china_any > 0 or not (heading.any_side or head.mentions)) and any(
                self._names_pair(body.spans[sid]) for sid in body.lead):
            evidence += s["lead_joint"]
        evidence += s["single"] * min(china_sentences, ca_sentences)
        # Sentences that refer back to the pair ("the two sides agreed") are about
        # it too, once a sentence has named both.
        paired = body.count(lambda sp: sp.both_named) > 0
        density = body.count(lambda sp: sp.any_side or paired and sp.relation) / body.sentences
        evidence *= min(1.0, max(s["density_floor"], density / s["density_ref"]))
        evidence *= self._genre_factor(head, body)
        # A travel guide or blog that names the pair in at most one sentence is
        # about a place on one side of the border (a Horgos day trip, Ili lavender).
        travel = head.genres.get("travel", 0.0) + body.genres.get("travel", 0.0)
        if travel >= s["travel_hits"] and body.count(
                lambda sp: sp.both_named) <= s["travel_joints"]:
            evidence *= s["travel"]
        if not self._joint(heading, weak=both_outright) and any(
                self._sides.get(c) == OTHER for c in head.mentions):
            evidence *= s["title_other"]
        if ca_sentences == 1 and not heading.central_asia and any(
                span.region_only for span in body.spans.values()):
            evidence *= s["region_aside"]
        evidence *= self._subject_factor(heading, body)
        if self._about_frontier(heading, head, body):
            evidence *= s["frontier"]
        if not (head.central_asia_place or body.central_asia_place):
            evidence *= s["demonyms_only"]

        spam = head.spam + body.spam
        score = 1.0 - math.exp(-evidence / s["scale"])
        score *= max(0.0, 1.0 - float(self._spam["penalty"]) * spam)
        is_spam = spam >= float(self._spam["drop"])
        if is_spam:
            score *= 0.1
        has_china = heading.china_any > 0 or body.count(lambda sp: sp.china_any > 0) > 0
        has_ca = heading.central_asia_any > 0 or body.count(lambda sp: sp.central_asia_any > 0) > 0
        keep = score >= self.threshold and has_china and has_ca and not is_spam
        themes = defaultdict(float, body.themes)
        for key, hits in head.themes.items():
            themes[key] += hits
        return TopicVerdict(
            score=round(score, 4),
            keep=keep,
            countries=self._tagger.tags(head, body, keep),
            themes=self._themes(themes),
            profile_version=self.version,
        )

    def _subject_factor(self, heading: Span, body: Reading) -> float:
        """Discount for stories whose headline and lead are about someone else.

        The headline and the first sentences say who the story is about. A third
        country paired with Central Asia there ("EU-Central Asia summit", "Japan and
        five Central Asian countries"), or a headline that names a third country and
        Central Asia but not China, with no China–Central Asia pair beside it, makes
        China the rival in the background. China or Central Asia absent from
        both, with at most a couple of sentences naming the two together further
        down, makes the relation a passing mention.
        """
        s = self._scoring
        lead = [heading, *(body.spans[sid] for sid in body.lead)]
        factor = 1.0
        # The first sentence that names a pair says whose relation the story is about.
        first = next((sp for sp in lead if sp.third_pair or sp.china_pair), None)
        third = first is not None and not first.china_pair or first is None and (
            heading.central_asia > 0 and not heading.china_any and any(
                self._sides.get(code) == OTHER for code in heading.countries))
        third |= self._rival_headline(heading)
        if third:
            factor *= s["third_party"]
        both = body.count(lambda sp: sp.both_named)
        china = [sp for sp in body.spans.values() if sp.china_any > 0]
        # China in a single sentence, beside a third country ("migrants in
        # Russia, while China is its largest trading partner"), under a headline
        # without it: one of the country's partners, not the story.
        lone = (len(china) == 1 and not heading.china_any and any(
            self._sides.get(code) == OTHER for code in china[0].countries))
        if not self._joint(heading) and both <= s["passing_joints"] and (lone or not (
                any(sp.china_any > 0 for sp in lead)
                and any(sp.central_asia_any > 0 for sp in lead))):
            factor *= s["passing"]
        return factor

    def _rival_headline(self, heading: Span) -> bool:
        """A headline that opens on a third country and names China only as one of
        the two powers ("... amid rivalry with Russia, China", "牵制中俄")."""
        opening = heading.opening
        return bool(opening is not None and self._sides.get(opening.key) == OTHER
                    and opening.key not in heading.enumerated
                    and heading.china_any > 0 and (heading.rival or not heading.china))

    def _about_frontier(self, heading: Span, head: Reading, body: Reading) -> bool:
        """Whether the story is about a place in Xinjiang rather than about a relation.

        A headline (or, under a headline that names neither side, the first
        sentence) that opens on Kashgar or Ili and names no Central Asian country,
        city, leader or project is a travel or local story, however often the
        body then crosses the border. Central Asia named there as a region counts
        only beside what a relation is about ("Xinjiang's trade with Central
        Asia"); and a headline about Xinjiang's trade itself leaves it to the
        body, since the region's partners are mostly its Central Asian neighbours.
        """
        subject = heading if heading.any_side or not body.lead else body.spans[body.lead[0]]
        opening = subject.opening
        return bool(opening is not None and opening.frontier
                    and not subject.central_asia_named
                    and not (subject.central_asia and subject.themed)
                    and not any(head.themes.get(key) for key in self._frontier_themes))

    def _joint(self, span: Span, related: bool = False, *, weak: bool = True) -> float:
        """How much one sentence counts as naming China and Central Asia together."""
        s = self._scoring
        if span.both_named:
            return 1.0
        value = max(span.link_joint, span.weak_link) if weak else span.link_joint
        if span.china_any > 0 and span.central_asia_any > 0:
            value = max(value, s["list_joint"])
        if not value and related and span.relation:
            value = s["relation_joint"]
        return value

    def _names_pair(self, span: Span) -> bool:
        """Whether a sentence names China and a Central Asian country by name."""
        sides = {self._sides.get(code) for code in span.countries}
        return span.both_named and CHINA in sides and CENTRAL_ASIA in sides

    def _near_pairs(self, body: Reading) -> int:
        """Neighbouring sentences that name one side each ("... to China. Kazakh farmers ...")."""
        count = 0
        for sid, span in body.spans.items():
            after = body.spans.get(sid + 1)
            if after is None or span.both_named or after.both_named:
                continue
            if (span.china > 0 and after.central_asia > 0) or (
                    span.central_asia > 0 and after.china > 0):
                count += 1
        return min(count, 3)

    def _genre_factor(self, head: Reading, body: Reading) -> float:
        """Discount for sports results and market or weather round-ups."""
        s = self._scoring
        themes = sum(head.themes.values()) + sum(body.themes.values())
        genre = max((head.genres.get(k, 0.0) + body.genres.get(k, 0.0)
                     for k in set(head.genres) | set(body.genres) if k != "travel"),
                    default=0.0)
        if genre >= s["genre_hits"] and genre >= s["genre_ratio"] * themes:
            # The more the genre outweighs the themes, the surer the round-up.
            return s["genre"] * max(s["genre_floor"], s["genre_ratio"] * themes / genre)
        return 1.0 if themes else s["no_theme"]

    def _title_evidence(self, title: Span, body: Reading, *, confirmed: bool,
                        weak: bool) -> float:
        s = self._scoring
        joint = self._joint(title, weak=weak)
        if joint:
            return s["title_both"] * joint * (1.0 if confirmed else s["title_unconfirmed"])
        body_china = body.count(lambda sp: sp.china > 0) > 0
        body_ca = body.count(lambda sp: sp.central_asia > 0) > 0
        if (title.china > 0 and body_ca) or (title.central_asia > 0 and body_china):
            return s["title_one"]
        return 0.0

    def _themes(self, hits: dict[str, float]) -> tuple[str, ...]:
        if not hits:
            return ()
        floor = max(self._scoring["theme_hits"], 0.3 * max(hits.values()))
        return tuple(sorted(key for key, count in hits.items() if count >= floor))
