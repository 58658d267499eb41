"""Body F1 on the 181-page article-extraction-benchmark, overall and per language.

Our page analysis on each page file (as ``extraction_ceiling.product_text``, with
the page's own URL) next to the benchmark's own trafilatura call. A page's group is
the language of its true body, told here by script and English function words
and not by the product's detector, so the groups stay the same across versions.

    python3 -m tests.benchmarks.article_f1_languages \\
        --corpus ../shared/corpus/article-extraction-benchmark
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

import trafilatura

from crawler.analysis.page_analysis import analyse_page
from tests.benchmarks import article_f1
from tests.benchmarks.served_corpus import CorpusDoc, load_benchmark_corpus

HTML_TYPE = "text/html; charset=utf-8"
_SCRIPTS = (("ja", re.compile(r"[\u3040-\u30ff]")), ("ko", re.compile(r"[\uac00-\ud7af]")),
            ("zh", re.compile(r"[\u4e00-\u9fff]")), ("ru", re.compile(r"[\u0400-\u04ff]")))
_ENGLISH = frozenset("the a an and of to in on for with is are was were that it".split())


def group(text: str) -> str:
    for name, script in _SCRIPTS:
        if len(script.findall(text)) > 50:
            return name
    words = re.findall(r"[a-z]+", text.lower())
    return "en" if sum(w in _ENGLISH for w in words) >= 0.15 * max(1, len(words)) else "latin"


def our_text(doc: CorpusDoc) -> str:
    analysis = analyse_page(doc.html, doc.url, HTML_TYPE)
    return analysis.article.text if analysis.article else ""


def reference_text(doc: CorpusDoc) -> str:
    html = doc.html.decode("utf-8", errors="replace")
    return trafilatura.extract(html, include_comments=False) or ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path,
                        default=Path("../shared/corpus/article-extraction-benchmark"))
    args = parser.parse_args(argv)
    docs = load_benchmark_corpus(args.corpus)
    truth = {doc.doc_id: doc.truth or "" for doc in docs}
    ours = {doc.doc_id: our_text(doc) for doc in docs}
    reference = {doc.doc_id: reference_text(doc) for doc in docs}
    groups: dict[str, list[str]] = defaultdict(list)
    for doc in docs:
        groups[group(truth[doc.doc_id])].append(doc.doc_id)
    print(f"{'pages':<10} {'n':>4}  {'ours P/R/F1':<22}  {'trafilatura P/R/F1':<22}  empty")
    for name, ids in [("all", list(truth)), *sorted(groups.items(), key=lambda g: -len(g[1]))]:
        mine, theirs = article_f1.score(truth, ours, ids), article_f1.score(truth, reference, ids)
        print(f"{name:<10} {len(ids):>4}  {_prf(mine):<22}  {_prf(theirs):<22}  "
              f"{mine.empty_predictions}/{theirs.empty_predictions}")
    return 0


def _prf(score: article_f1.Score) -> str:
    return f"{score.precision:.3f}/{score.recall:.3f}/{score.f1:.3f}"


if __name__ == "__main__":
    sys.exit(main())
