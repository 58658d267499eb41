"""Article-body F1 as the article-extraction-benchmark scores it.

Texts are cut into ``\\w+`` tokens and compared as bags of 4-token shingles;
runs of Chinese, Japanese or Korean characters, written without spaces, are cut
into overlapping character bigrams instead (a whole clause would be one token);
each page's true/false positives and misses are normalised to sum to one so
long articles weigh no more than short ones. Precision is averaged over
pages that predicted something, recall over pages that have a true body,
and F1 is taken from the two averages (not averaged per page).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import mean

from crawler.analysis.script import HAN_RANGES

SHINGLE = 4
_TOKEN = re.compile(r"\w+", re.UNICODE)
_CJK_RUN = re.compile(rf"[\u3040-\u30ff{HAN_RANGES}\uac00-\ud7af]+")


@dataclass(frozen=True)
class Overlap:
    tp: float
    fp: float
    fn: float


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float
    pages: int
    empty_predictions: int


def tokens(text: str) -> list[str]:
    """``\\w+`` words, with CJK runs inside them as character bigrams."""
    found: list[str] = []
    for word in _TOKEN.findall(text or ""):
        if not _CJK_RUN.search(word):
            found.append(word)
            continue
        for piece in re.split(f"({_CJK_RUN.pattern})", word):
            if not piece:
                continue
            if _CJK_RUN.fullmatch(piece):
                found += [piece[i:i + 2] for i in range(max(1, len(piece) - 1))]
            else:
                found.append(piece)
    return found


def _shingles(text: str) -> Counter[tuple[str, ...]]:
    words = tokens(text)
    grams = (tuple(words[i:i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1)))
    return Counter(gram for gram in grams if gram)


def overlap(true: str, predicted: str) -> Overlap:
    expected, found = _shingles(true), _shingles(predicted)
    tp = float(sum((expected & found).values()))
    fp = float(sum((found - expected).values()))
    fn = float(sum((expected - found).values()))
    total = tp + fp + fn
    return Overlap(tp / total, fp / total, fn / total) if total else Overlap(0.0, 0.0, 0.0)


def _precision(o: Overlap) -> float:
    if o.fp == o.fn == 0:
        return 1.0
    return 0.0 if o.tp == o.fp == 0 else o.tp / (o.tp + o.fp)


def _recall(o: Overlap) -> float:
    if o.fp == o.fn == 0:
        return 1.0
    return 0.0 if o.tp == o.fn == 0 else o.tp / (o.tp + o.fn)


def score(truth: Mapping[str, str], predicted: Mapping[str, str | None],
          ids: Iterable[str] | None = None) -> Score:
    """Score predictions for ``ids`` (default: every page with a truth); a missing
    prediction counts as an empty one."""
    keys = list(truth if ids is None else ids)
    overlaps = [overlap(truth[k], predicted.get(k) or "") for k in keys]
    precision = mean([_precision(o) for o in overlaps if o.tp + o.fp > 0] or [0.0])
    recall = mean([_recall(o) for o in overlaps if o.tp + o.fn > 0] or [0.0])
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    empty = sum(1 for k in keys if not (predicted.get(k) or "").strip())
    return Score(precision, recall, f1, len(keys), empty)
