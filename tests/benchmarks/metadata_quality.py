"""Metadata and body quality on real multilingual pages, next to trafilatura alone.

For every fundus and readability page of ``../shared/corpus`` (78 pages, 16
languages) the page analysis (``analyse_page``, as a crawl's worker runs it) and
``trafilatura.bare_extraction(..., with_metadata=True)`` on the same bytes decoded
as UTF-8 are scored against the suites' records (see ``corpus_truth``):

- stored: an article came out; lost: none came out where the other side gets
  body F1 >= 0.9;
- title close (one starts with the other, or difflib ratio >= 0.8) / exact
  (case and spacing aside); suffix kept: the title is the true one plus more;
- date on the same day;
- authors a clean match: the same set of names, case aside (pages whose record
  names people only); a bare label ("作者", "By", "기자") counted apart;
- language: the tag is a real ISO 639-1 code (a script subtag allowed) and names
  the true language; "with script" also wants zh-Hans / zh-Hant right;
- body F1 as the article-extraction-benchmark scores it, CJK by character bigrams;
- text opens with the headline: its first line is the true title, or close to it.

    python3 -m tests.benchmarks.metadata_quality --corpus ../shared/corpus
    python3 -m tests.benchmarks.metadata_quality --corpus ../shared/corpus --details
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

import trafilatura
from trafilatura.settings import Document

from crawler.analysis.language import ISO_639_1
from crawler.analysis.page_analysis import analyse_page
from tests.benchmarks import article_f1
from tests.benchmarks.corpus_truth import TruePage, corpus_pages

HTML_TYPE = "text/html; charset=utf-8"
GOOD_BODY = 0.9
_NAME_SPLIT = re.compile(r"\s*(?:;|,|、|，|\band\b|&)\s*")
#: Bylines that name no one: a label alone.
LABELS = frozenset({
    "by", "author", "authors", "автор", "авторы", "作者", "记者", "記者", "责编", "责任编辑",
    "编辑", "기자", "기자 외", "editor", "staff", "redaksi",
})


@dataclass(frozen=True)
class Found:
    text: str
    title: str | None
    author: str | None
    published: str | None
    language: str | None


def ours(page: TruePage) -> Found | None:
    analysis = analyse_page(page.html, page.url, HTML_TYPE)
    article = analysis.article
    if article is None:
        return None
    return Found(article.text, article.title, article.author, article.published,
                 article.language)


def trafilatura_alone(page: TruePage) -> Found | None:
    document = trafilatura.bare_extraction(
        page.html.decode("utf-8", errors="replace"), url=page.url, with_metadata=True)
    if not isinstance(document, Document) or not (document.text or "").strip():
        return None
    return Found(document.text, document.title, document.author, document.date, None)


def _norm(text: str) -> str:
    return " ".join(text.casefold().replace("’", "'").split())


def title_close(true: str, found: str) -> bool:
    a, b = _norm(true), _norm(found)
    return a.startswith(b) or b.startswith(a) or SequenceMatcher(None, a, b).ratio() >= 0.8


def suffix_kept(true: str, found: str) -> bool:
    a, b = _norm(true), _norm(found)
    return b.startswith(a) and len(re.sub(r"\W", "", b[len(a):])) > 0


def names(author: str | None) -> set[str]:
    return {_norm(name) for name in _NAME_SPLIT.split(author or "") if name.strip()}


def is_bare_label(author: str | None) -> bool:
    return bool(author) and any(name in LABELS for name in names(author))


def valid_tag(tag: str | None) -> bool:
    if tag is None:
        return True
    primary, _, script = tag.partition("-")
    return primary in ISO_639_1 and script in ("", "Hans", "Hant")


def language_right(true: str, found: str | None, *, script: bool) -> bool:
    if not found or not valid_tag(found):
        return False
    if script:
        return found == true
    return found.split("-")[0] == true.split("-")[0]


@dataclass
class Tally:
    stored: int = 0
    lost: int = 0
    title_close: int = 0
    title_exact: int = 0
    suffix_kept: int = 0
    dated_same: int = 0
    authors_clean: int = 0
    bare_labels: int = 0
    language: int = 0
    language_script: int = 0
    bad_tags: int = 0
    opens_with_headline: int = 0


def tally(pages: list[TruePage], results: dict[str, Found | None],
          others: dict[str, Found | None], f1s_other: dict[str, float]) -> Tally:
    t = Tally()
    for page in pages:
        found = results[page.name]
        if found is None:
            t.lost += f1s_other[page.name] >= GOOD_BODY and others[page.name] is not None
            continue
        t.stored += 1
        if page.title and found.title:
            t.title_close += title_close(page.title, found.title)
            t.title_exact += _norm(page.title) == _norm(found.title)
            t.suffix_kept += suffix_kept(page.title, found.title)
        if page.published and found.published:
            t.dated_same += found.published[:10] == page.published
        if page.authors:
            t.authors_clean += names(found.author) == {_norm(name) for name in page.authors}
        t.bare_labels += is_bare_label(found.author)
        t.language += language_right(page.language, found.language, script=False)
        t.language_script += language_right(page.language, found.language, script=True)
        t.bad_tags += not valid_tag(found.language)
        first = found.text.strip().split("\n", 1)[0]
        t.opens_with_headline += bool(page.title) and len(first) <= 1.5 * len(page.title or "") \
            and title_close(page.title or "", first)
    return t


def page_f1(truth: str, found: Found | None) -> float:
    return article_f1.score({"p": truth}, {"p": found.text if found else ""}).f1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus"))
    parser.add_argument("--details", action="store_true", help="one line per page")
    args = parser.parse_args(argv)
    pages = corpus_pages(args.corpus)
    ours(pages[0])  # the topic profile and lazy imports, outside the clock
    started = time.process_time()
    our = {page.name: ours(page) for page in pages}
    our_seconds = time.process_time() - started
    alone = {page.name: trafilatura_alone(page) for page in pages}
    truth = {page.name: page.body for page in pages}
    f1_ours = {page.name: page_f1(page.body, our[page.name]) for page in pages}
    f1_alone = {page.name: page_f1(page.body, alone[page.name]) for page in pages}
    a, b = tally(pages, our, alone, f1_alone), tally(pages, alone, our, f1_ours)
    n = len(pages)
    titled = sum(1 for p in pages if p.title)
    dated = sum(1 for p in pages if p.published)
    people = sum(1 for p in pages if p.authors)
    body = (article_f1.score(truth, {k: v.text if v else "" for k, v in our.items()}),
            article_f1.score(truth, {k: v.text if v else "" for k, v in alone.items()}))
    rows = [
        ("article stored", f"{a.stored}/{n}", f"{b.stored}/{n}"),
        (f"lost where the other gets F1 >= {GOOD_BODY}", str(a.lost), str(b.lost)),
        ("title close / exact", f"{a.title_close} / {a.title_exact} of {titled}",
         f"{b.title_close} / {b.title_exact} of {titled}"),
        ("title with the site suffix kept", str(a.suffix_kept), str(b.suffix_kept)),
        ("date same day", f"{a.dated_same}/{dated}", f"{b.dated_same}/{dated}"),
        ("authors, clean match (people)", f"{a.authors_clean}/{people}",
         f"{b.authors_clean}/{people}"),
        ("author a bare label", str(a.bare_labels), str(b.bare_labels)),
        ("language right / with script", f"{a.language} / {a.language_script} of {n}",
         "no language"),
        ("language tag not a real code", str(a.bad_tags), "-"),
        ("text opens with the headline", str(a.opens_with_headline), str(b.opens_with_headline)),
        ("body F1 (CJK by character bigrams)", f"{body[0].f1:.3f}", f"{body[1].f1:.3f}"),
    ]
    width = max(len(row[0]) for row in rows)
    print(f"{len(pages)} pages, ours {our_seconds:.1f} s of CPU")
    print(f"{'field':<{width}}  {'ours':<18}  trafilatura alone")
    for field, mine, theirs in rows:
        print(f"{field:<{width}}  {mine:<18}  {theirs}")
    if args.details:
        for page in pages:
            _detail(page, our[page.name], alone[page.name], f1_ours[page.name],
                    f1_alone[page.name])
    return 0


def _detail(page: TruePage, found: Found | None, alone: Found | None, f1: float,
            f1_alone: float) -> None:
    print(f"\n{page.name}  F1 {f1:.3f} (alone {f1_alone:.3f})  lang {page.language}")
    print(f"  title  true {page.title!r}\n         ours {found and found.title!r}"
          f"\n         alone {alone and alone.title!r}")
    print(f"  author true {page.authors!r}\n         ours {found and found.author!r}"
          f"\n         alone {alone and alone.author!r}")
    print(f"  date   true {page.published} ours {found and found.published}"
          f" alone {alone and alone.published}  lang ours {found and found.language}")
    if found:
        print(f"  starts {found.text[:150]!r}")


if __name__ == "__main__":
    sys.exit(main())
