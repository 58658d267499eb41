"""Does the topic prefilter ever skip a page the full analysis would have had to read?

Analyses every page of a folder (``*.html``, ``*.htm``, ``*.html.gz``, recursively)
twice, in full and as a crawl does (``prefilter=True``), and counts:

- pages the prefilter extracts, and the time each way;
- misses: pages skipped although the full analysis found an article naming both
  China and Central Asia (the only articles that can be kept); must be 0;
- differences: pages extracted both ways with different results; must be 0.

    python tests/benchmarks/prefilter_check.py ../shared/corpus
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from crawler.analysis.page_analysis import analyse_page, topic_profile  # noqa: E402

HTML_TYPE = "text/html"


def page_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*")
                  if path.name.endswith((".html", ".htm", ".html.gz"))
                  and path.name != "expected.html")  # readability's cleaned copies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="folders of HTML pages")
    args = parser.parse_args(argv)
    profile = topic_profile()
    files = [path for folder in args.folders for path in page_files(folder)]
    if not files:
        parser.error("no HTML pages in " + ", ".join(map(str, args.folders)))
    extracted = both = misses = differences = 0
    full_seconds = quick_seconds = 0.0
    for path in files:
        body = path.read_bytes()
        body = gzip.decompress(body) if path.suffix == ".gz" else body
        url = f"https://pages.example/{path.name}"
        started = time.perf_counter()
        full = analyse_page(body, url, HTML_TYPE)
        middle = time.perf_counter()
        quick = analyse_page(body, url, HTML_TYPE, prefilter=True)
        full_seconds += middle - started
        quick_seconds += time.perf_counter() - middle
        extracted += quick.extracted
        names_both = full.article is not None and profile.may_keep(
            full.article.title or "", full.article.text)
        both += names_both
        if names_both and not quick.extracted:
            misses += 1
            print(f"MISS {path}")
        elif quick.extracted and quick != full:
            differences += 1
            print(f"DIFFERENT {path}")
    n = len(files)
    print(f"{n} pages: {extracted} extracted with the prefilter, {n - extracted} skipped; "
          f"{both} whose article names both sides; misses {misses}; differences {differences}")
    print(f"per page: full analysis {1000 * full_seconds / n:.1f} ms, "
          f"with the prefilter {1000 * quick_seconds / n:.1f} ms")
    return 1 if misses or differences else 0


if __name__ == "__main__":
    sys.exit(main())
