"""Country tags: the countries an article is about, not every country it names.

A Central Asian country is tagged when the headline names it as a party, when
the body keeps coming back to it, when a sentence names it together with
China, or when a sentence goes through the region's countries one by one. It
is not tagged when it is named only where something happens (the venue of a
meeting), along a transit route or as the next stop of a tour while another
Central Asian country takes part, nor when it is an aside in a story that
keeps returning to another one. A headline that names Central Asian countries
(not the region) says which ones the story is about; another one then needs to
be named side by side with China or to come back again and again. A third
country needs to be discussed at some length, a headline mention included.
"""

from __future__ import annotations

from crawler.analysis.topic_reading import CENTRAL_ASIA, OTHER, Hit, Reading, Span

__all__ = ["CountryTagger"]


class CountryTagger:
    """Turns a headline's and a body's readings into country codes."""

    def __init__(self, sides: dict[str, str], untagged: set[str],
                 scoring: dict[str, float]) -> None:
        self._sides = sides
        self._untagged = untagged
        self._scoring = scoring

    def tags(self, head: Reading, body: Reading, keep: bool) -> tuple[str, ...]:
        """The countries of a scored article: China (when kept) and whom it concerns."""
        s = self._scoring
        weights: dict[str, float] = {}
        central: dict[str, list[Hit]] = {}
        tagged = set()
        venues: set[str] = set()
        for code, hits in body.mentions.items():
            weights[code] = weight = sum(h.weight for h in hits)
            if self._sides.get(code, OTHER) == CENTRAL_ASIA:
                central[code] = hits
            elif weight >= s["other_tag_mentions"] and len({h.sid for h in hits}) >= 2:
                tagged.add(code)
        # A third country named in the headline is tagged when the story comes
        # back to it ("as US rivalry intensifies" is context).
        for code, hits in head.mentions.items():
            side = self._sides.get(code)
            if side == OTHER and len(
                    {h.sid for h in body.mentions.get(code, ())}) < s["title_other_support"]:
                continue
            if side == CENTRAL_ASIA and not any(h.party for h in hits):
                venues.add(code)  # "Xi meets Japarov in Astana"
                continue
            tagged.add(code)
        # A headline that names Central Asian countries, not the region, says which
        # ones the story is about: another one counts only beside China ("the
        # China–Kyrgyzstan–Uzbekistan railway") or when the body keeps returning to
        # it, not as the background of a paragraph.
        headline = {code for code, hits in head.mentions.items()
                    if self._sides.get(code) == CENTRAL_ASIA and any(h.party for h in hits)}
        if headline and not head.region:
            central = {code: hits for code, hits in central.items()
                       if code in headline or self._returns_to(code, hits, body)}
        # Countries named only as a venue, a transit route or the next stop of a
        # tour stay out when another Central Asian country takes part.
        parties = {code for code, hits in central.items() if any(h.party for h in hits)}
        tagged.update(venues if not parties else venues & parties)
        if parties:
            central = {code: hits for code, hits in central.items() if code in parties}
        # A Central Asian country named in one sentence of a story that keeps
        # returning to another one is an aside ("the current route through
        # Kazakhstan"), unless that sentence goes through the region's countries.
        focus = max((len({h.sid for h in hits}) for hits in central.values()), default=0)
        regional = body.region or head.region
        named = {code for code, hits in central.items() if any(h.direct for h in hits)}
        for code, hits in central.items():
            if any(self._enumerates_region(body.spans[h.sid]) for h in hits if h.party):
                tagged.add(code)
                continue
            if len({h.sid for h in hits if h.party}) <= 1 and focus >= s["focus_sentences"]:
                continue
            if (weights[code] >= s["tag_mentions"]
                    or any(h.direct and body.spans[h.sid].both_named for h in hits)
                    or regional and code in named and len(named) >= s["region_countries"]):
                tagged.add(code)
        if keep:
            tagged.add("CN")
            if (central and not regional
                    and not any(self._sides.get(c) == CENTRAL_ASIA for c in tagged)):
                tagged.add(max(central, key=lambda c: weights[c]))
        return tuple(sorted(tagged - self._untagged))

    def _returns_to(self, code: str, hits: list[Hit], body: Reading) -> bool:
        sentences = {h.sid for h in hits if h.party}
        return (len(sentences) >= self._scoring["focus_sentences"]
                or any(code in body.spans[sid].paired | body.spans[sid].linked
                       for sid in sentences))

    def _enumerates_region(self, span: Span) -> bool:
        if span.route:
            return False
        listed = (span.countries & span.enumerated) | span.linked
        return sum(1 for c in listed if self._sides.get(c) == CENTRAL_ASIA) >= 3

