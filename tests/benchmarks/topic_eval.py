"""Quality gate for the topic filter: precision, recall and F1 per language.

Scores the hand-labelled articles in tests/topic_eval/*.jsonl (or in another
folder of such files given with ``--set DIR``, e.g. tests/topic_eval_blind, a
set written without looking at the vocabulary) and, with ``--corpus DIR``,
every page of a folder of real-world news pages (the fundus, readability and
article-extraction-benchmark sets) as off-topic negatives. Prints the figures,
every confusion case and the exactness of the country tags on the positives,
plus the time taken per article.

With ``--real`` it scores real published coverage instead: the URL list
(tests/topic_eval_real/urls.jsonl: url, outlet, language, label, countries,
class, reason; facts only, no third-party text) joined to a cache of the pages
kept outside the repository. A cache entry is ``<id>.html`` or ``<id>.html.gz``
(the page as fetched, extracted here as a crawl would) or ``<id>.txt`` (a
``url:`` and a ``title:`` line, a ``---`` line, then the article text).

    python3 tests/benchmarks/topic_eval.py
    python3 tests/benchmarks/topic_eval.py --set tests/topic_eval_blind
    python3 tests/benchmarks/topic_eval.py --corpus ../shared/corpus --threshold 0.45
    python3 tests/benchmarks/topic_eval.py --real tests/topic_eval_real/urls.jsonl \\
        --cache /work/cache/topic-real
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from crawler.analysis.topic import TopicProfile, TopicVerdict  # noqa: E402

EVAL_DIR = ROOT / "tests" / "topic_eval"
CORE = {"CN", "KZ", "KG", "TJ", "TM", "UZ"}
CORPUS_FOLDERS = ("fundus", "readability", "article-extraction-benchmark")


@dataclass(frozen=True)
class Case:
    id: str
    lang: str
    title: str
    text: str
    label: bool
    countries: tuple[str, ...] = ()
    kind: str = ""  # the class of a real article (summit, spam-farm, ...)
    source: str = ""  # outlet and URL of a real article


def load_cases(folder: Path = EVAL_DIR) -> list[Case]:
    cases = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                cases.append(Case(row["id"], row["lang"], row["title"], row["text"],
                                  bool(row["label"]), tuple(sorted(row.get("countries", ())))))
    return cases


def load_corpus(corpus: Path) -> list[Case]:
    """Every page of the benchmark corpora, extracted, as a negative."""
    import trafilatura

    cases = []
    for folder in CORPUS_FOLDERS:
        paths = sorted((corpus / folder).rglob("*.html.gz")) + sorted(
            (corpus / folder).rglob("source.html"))
        for path in paths:
            raw = path.read_bytes()
            if path.suffix == ".gz":
                raw = gzip.decompress(raw)
            html = raw.decode("utf-8", errors="replace")
            text = trafilatura.extract(html, fast=True) or ""
            meta = trafilatura.extract_metadata(html)
            title = (meta.title if meta is not None else None) or ""
            name = str(path.relative_to(corpus))
            cases.append(Case(name, "corpus", title, text, False))
    return cases


def load_real(urls: Path, cache: Path) -> tuple[list[Case], list[str]]:
    """The labelled real articles whose page is in the cache, and the ids that are not."""
    cases, missing = [], []
    for line in urls.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        page = _cached_page(cache, row["id"], row["url"])
        if page is None:
            missing.append(row["id"])
            continue
        title, text = page
        cases.append(Case(row["id"], row["language"], title, text, bool(row["label"]),
                          tuple(sorted(row.get("countries", ()))), row.get("class", ""),
                          f"{row.get('outlet', '')} {row['url']}"))
    return cases, missing


def _cached_page(cache: Path, case_id: str, url: str) -> tuple[str, str] | None:
    for name in (f"{case_id}.html", f"{case_id}.html.gz"):
        path = cache / name
        if path.exists():
            raw = path.read_bytes()
            return _extract(gzip.decompress(raw) if name.endswith(".gz") else raw, url)
    path = cache / f"{case_id}.txt"
    if not path.exists():
        return None
    head, _, text = path.read_text(encoding="utf-8").partition("\n---\n")
    fields = dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)
    return fields.get("title", ""), text


def _extract(body: bytes, url: str) -> tuple[str, str]:
    """Title and text as a crawl extracts them from the page."""
    from crawler.analysis.decoding import decode_html
    from crawler.analysis.extraction import extract_article, parse_html

    tree = parse_html(decode_html(body, None).html)
    article = extract_article(tree, url) if tree is not None else None
    if article is None:
        return "", ""
    return article.title or "", article.text


@dataclass(frozen=True)
class Stats:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Result:
    stats: dict[str, Stats]
    verdicts: list[tuple[Case, TopicVerdict]]
    seconds: float
    text_bytes: int


def evaluate(profile: TopicProfile, cases: list[Case]) -> Result:
    verdicts: list[tuple[Case, TopicVerdict]] = []
    started = time.perf_counter()
    for case in cases:
        verdicts.append((case, profile.score(case.title, case.text, case.lang)))
    elapsed = time.perf_counter() - started
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for case, verdict in verdicts:
        cell = (0 if case.label else 1) if verdict.keep else (2 if case.label else 3)
        counts[case.lang][cell] += 1
        counts["all"][cell] += 1
    size = sum(len(c.title.encode()) + len(c.text.encode()) for c in cases)
    return Result({lang: Stats(*c) for lang, c in counts.items()}, verdicts, elapsed, size)


def tag_exactness(verdicts: list[tuple[Case, TopicVerdict]]) -> tuple[int, int, int, list[str]]:
    """(positives, exact on all tags, exact on CN + Central Asia, mismatches)."""
    total = exact = exact_core = 0
    misses = []
    for case, verdict in verdicts:
        if not case.label:
            continue
        total += 1
        got, want = set(verdict.countries), set(case.countries)
        exact += got == want
        exact_core += (got & CORE) == (want & CORE)
        if got != want:
            misses.append(f"  {case.id}: want {sorted(want)} got {sorted(got)}")
    return total, exact, exact_core, misses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="folder with fundus/, readability/, ...")
    parser.add_argument("--profile", type=Path, help="topic profile TOML (default: packaged)")
    parser.add_argument("--threshold", type=float, help="override the profile's threshold")
    parser.add_argument("--set", "--eval-dir", dest="eval_dir", type=Path, default=EVAL_DIR,
                        metavar="DIR", help="folder of labelled *.jsonl files "
                        "(default: tests/topic_eval)")
    parser.add_argument("--real", type=Path, metavar="URLS",
                        help="labelled real-news URL list (tests/topic_eval_real/urls.jsonl)")
    parser.add_argument("--cache", type=Path, metavar="DIR",
                        help="folder of cached pages for --real (<id>.html, .html.gz or .txt)")
    parser.add_argument("--flatten", action="store_true",
                        help="join each article's lines into one paragraph (layout robustness)")
    args = parser.parse_args(argv)

    profile = TopicProfile.load(args.profile, threshold=args.threshold)
    cases = load_cases(args.eval_dir)
    if args.flatten:
        cases = [replace(c, text=" ".join(c.text.split("\n"))) for c in cases]
    missing: list[str] = []
    if args.real:
        if args.cache is None:
            parser.error("--real needs --cache DIR")
        cases, missing = load_real(args.real, args.cache)
    if args.corpus:
        cases += load_corpus(args.corpus)
    result = evaluate(profile, cases)
    stats, verdicts = result.stats, result.verdicts

    print(f"profile {profile.version}, threshold {profile.threshold}, {len(cases)} articles")
    if missing:
        print(f"not in the cache ({len(missing)}): {' '.join(missing)}")
    print(f"{'lang':8} {'n':>5} {'tp':>4} {'fp':>4} {'fn':>4} {'tn':>5} "
          f"{'prec':>6} {'recall':>6} {'F1':>6}")
    for lang in sorted(stats, key=lambda k: (k == "all", k)):
        st = stats[lang]
        print(f"{lang:8} {st.tp + st.fp + st.fn + st.tn:5d} {st.tp:4d} {st.fp:4d} {st.fn:4d} "
              f"{st.tn:5d} {st.precision:6.3f} {st.recall:6.3f} {st.f1:6.3f}")

    print("\nconfusion cases:")
    wrong = [(c, v) for c, v in verdicts if c.label != v.keep]
    for case, verdict in wrong:
        kind = "FN" if case.label else "FP"
        print(f"  {kind} {case.id} score={verdict.score:.3f} countries={list(verdict.countries)}"
              f" | {case.title[:70]}")
        if case.source:
            print(f"       [{case.kind}] {case.source}")
    if not wrong:
        print("  none")

    total, exact, exact_core, misses = tag_exactness(verdicts)
    print(f"\ncountry tags on {total} positives: exact {exact}/{total}, "
          f"exact on CN+Central Asia {exact_core}/{total}")
    if args.real:
        for lang in sorted({c.lang for c in cases}):
            n, e, ec, _ = tag_exactness([(c, v) for c, v in verdicts if c.lang == lang])
            print(f"  {lang}: exact {e}/{n}, exact on CN+Central Asia {ec}/{n}")
    for line in misses:
        print(line)

    per_article = result.seconds / max(1, len(cases)) * 1000
    per_3kb = result.seconds / max(1, result.text_bytes / 3000) * 1000
    print(f"\ntime: {per_article:.2f} ms per article, {per_3kb:.2f} ms per 3 KB of text "
          f"({result.text_bytes / max(1, len(cases)) / 1000:.1f} KB per article on average)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
