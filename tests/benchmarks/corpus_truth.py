"""The real pages of ``../shared/corpus`` with what is true about each: title, date,
authors, language and body, as the fundus and readability test suites record them.

Their records are taken as they are, with a few exceptions written down here, where
the suite records something else than the article's people, its headline or its
language: publisher names in the author field (fundus keeps the byline as the page
shows it), site suffixes in readability's titles, no language at all in fundus.
Nothing of the pages is copied; the folder is read where it lies.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path

import lxml.html

#: Author fields that name an organisation, not people (excluded from the author score).
NOT_PEOPLE = frozenset({
    "associated press", "bbc news", "iab", "mac & i", "gear team", "afp, manila",
    "朝日新聞デジタル", "中日新聞web", "日刊現代", "東京新聞デジタル", "読売新聞オンライン",
    "दैनिक भास्कर", "habertürk", "anadolu ajansı", "ntv.com.tr",
})
#: readability records a date line as the byline of two pages.
_DATE_LINE = re.compile(r"\b(January|April|Updated)\b.*\d")
#: Labels and counts around the names in the suites' author fields; "avec ... et ..."
#: (with) separates names.
_AUTHOR_NOISE = re.compile(r"^(By|Par)\s+|\s+기자$|\s+\([a-z]+\)$")
#: "X 기자 외 1명" is X and one more reporter, whom the page's JSON-LD names.
_KOREAN_AND_ONE_MORE = re.compile(r"^(\S+) 기자 외 1명$")
_SECOND_REPORTER = re.compile(r'"author":\[\{"@type":"Person","name":"[^"]+"[^}]*\},'
                              r'\{"@type":"Person","name":"([^"]+)"')
_AUTHOR_SEPARATORS = re.compile(r"\s+\(avec\s+|\s+et\s+|\)$")

#: Site names (and sections) after the headline in the suites' titles.
_TITLE_SUFFIX = re.compile(
    r"(--时政--人民网| _探索者 _光明网|_科技_腾讯网| @ \S+ :: 痞客邦 PIXNET ::"
    r"| - Güncel haberler| \| IAB| ＜福娘童話集 きょうのイソップ童話＞)$")

#: The article's language, by fundus publisher and by readability page (BCP 47).
FUNDUS_LANGUAGES = {
    "People": "zh-Hans", "MediaIndonesia": "id", "Bhaskar": "hi", "TimesOfIndia": "en",
    "TheJapanNews": "en", "HankookIlbo": "ko", "MBN": "ko", "LBCGroup": "ar",
    "MalayMail": "en", "Kommersant": "ru", "AnadoluAjansi": "tr", "Haberturk": "tr",
    "NTVTR": "tr", "TaipeiTimes": "en", "Pravda": "ru", "VnExpress": "vi",
}
FUNDUS_COUNTRY_LANGUAGES = {"jp": "ja", "us": "en"}
READABILITY_LANGUAGES = {
    "aclu": "en", "aktualne": "cs", "article-author-tag": "en", "bbc-1": "en", "folha": "pt",
    "gitlab-blog": "en", "gmw": "zh-Hans", "heise": "de", "hukumusume": "ja", "iab-1": "en",
    "la-nacion": "es", "lemonde-1": "fr", "liberation-1": "fr", "medium-1": "en",
    "pixnet": "zh-Hant", "qq": "zh-Hans", "seattletimes-1": "en", "spiceworks": "en",
    "theverge": "en", "topicseed-1": "en", "wordpress": "en",
}


@dataclass(frozen=True)
class TruePage:
    name: str  # suite/file, for the report
    url: str
    html: bytes
    title: str | None
    authors: tuple[str, ...] | None  # people only; None: the page names none, or no people
    published: str | None  # YYYY-MM-DD as the page's own time zone has it
    language: str
    body: str


def corpus_pages(corpus: Path) -> list[TruePage]:
    return fundus_pages(corpus / "fundus") + readability_pages(corpus / "readability")


def fundus_pages(folder: Path) -> list[TruePage]:
    """One page per HTML file; a publisher's records are in the files' date order."""
    pages = []
    for country in sorted((folder / "test_data").iterdir()):
        meta = json.loads((country / "meta.info").read_text("utf-8"))
        for record_file in sorted(country.glob("*.json")):
            publisher = record_file.stem
            records = list(json.loads(record_file.read_text("utf-8")).values())
            files = sorted(country.glob(f"{publisher}_*.html.gz"))
            assert len(files) == len(records), record_file
            language = FUNDUS_LANGUAGES.get(publisher) or FUNDUS_COUNTRY_LANGUAGES[country.name]
            for file, record in zip(files, records, strict=True):
                pages.append(TruePage(
                    name=f"fundus/{country.name}/{file.name.removesuffix('.html.gz')}",
                    url=meta[file.name]["url"],
                    html=gzip.decompress(file.read_bytes()),
                    title=_title(record.get("title")),
                    authors=_people(_korean_authors(record.get("authors") or [], file)),
                    published=(record.get("publishing_date") or "")[:10] or None,
                    language=language,
                    body=_fundus_body(record["body"]),
                ))
    return pages


def readability_pages(folder: Path) -> list[TruePage]:
    pages = []
    for name, language in READABILITY_LANGUAGES.items():
        page = folder / "test-pages" / name
        record = json.loads((page / "expected-metadata.json").read_text("utf-8"))
        byline = record.get("byline")
        pages.append(TruePage(
            name=f"readability/{name}",
            url=f"https://{name}.example/news/2024/{name}.html",
            html=(page / "source.html").read_bytes(),
            title=_title(record.get("title")),
            authors=_people([byline] if byline else []),
            published=(record.get("publishedTime") or "")[:10] or None,
            language=language,
            body=_html_text((page / "expected.html").read_bytes()),
        ))
    return pages


def _title(title: str | None) -> str | None:
    if not title:
        return None
    return _TITLE_SUFFIX.sub("", " ".join(title.split()))


def _people(names: list[str]) -> tuple[str, ...] | None:
    people: list[str] = []
    for name in names:
        name = _AUTHOR_NOISE.sub("", " ".join(name.split()))
        if _DATE_LINE.search(name):
            continue
        people += [part for part in _AUTHOR_SEPARATORS.split(name)
                   if part and part.casefold() not in NOT_PEOPLE]
    return tuple(people) or None


def _korean_authors(names: list[str], file: Path) -> list[str]:
    if len(names) == 1 and (match := _KOREAN_AND_ONE_MORE.match(names[0])):
        html = gzip.decompress(file.read_bytes()).decode("utf-8")
        second = _SECOND_REPORTER.search(html)
        return [match.group(1)] + ([second.group(1)] if second else [])
    return names


def _fundus_body(body: dict[str, list]) -> str:
    parts = list(body.get("summary") or [])
    for section in body.get("sections") or []:
        parts += section.get("headline") or []
        parts += section.get("paragraphs") or []
    return "\n".join(parts)


def _html_text(html: bytes) -> str:
    tree = lxml.html.fromstring(html.decode("utf-8"))
    for element in tree.iter("script", "style"):
        element.drop_tree()
    return "\n".join(" ".join(text.split()) for text in tree.itertext() if text.strip())
