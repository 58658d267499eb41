"""Guess an article's language from the scripts its text is written in.

The archive needs en/zh/ru reliably and the Central Asian languages roughly;
scripts settle most of that at regex speed, without a statistical model.
The page's ``<html lang>`` is used only where it agrees with the script,
because CMS templates often keep one site-wide value for every language.
"""

from __future__ import annotations

import re

from crawler.analysis.chinese_script import chinese_tag
from crawler.analysis.latin_languages import STOPWORD_SHARE, stopword_shares
from crawler.analysis.script import count_han

#: How much of the text is looked at; the opening paragraphs are representative.
SAMPLE_CHARS = 10_000

#: Kana share of the CJK characters above which Han text is Japanese.
KANA_SHARE_JAPANESE = 0.1

#: Share of the Cyrillic letters that must be language-specific before the text
#: is not Russian (so a Russian article quoting a Kazakh name stays Russian).
SPECIFIC_LETTER_SHARE = 0.005

#: A page's own tag for a Latin-script text gives way only to a language whose frequent
#: words make up this much of the text, twice as much as the tagged language's do.
OVERRULE_TAG_SHARE = 0.2

_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")

# Scripts that (nearly) belong to one language.
_SINGLE_LANGUAGE_SCRIPTS = {
    "el": re.compile(r"[\u0370-\u03ff]"),
    "ka": re.compile(r"[\u10a0-\u10ff]"),
    "hy": re.compile(r"[\u0530-\u058f]"),
    "th": re.compile(r"[\u0e00-\u0e7f]"),
    "he": re.compile(r"[\u0590-\u05ff]"),
}
_OTHER_SCRIPTS = re.compile(
    r"[\u0370-\u03ff\u0530-\u058f\u0590-\u05ff\u0600-\u06ff\u0750-\u077f"
    r"\u0900-\u0dff\u0e00-\u0e7f\u10a0-\u10ff]"
)

# Letters that Russian lacks, by the language they point to (checked in order:
# Tatar and Bashkir share Kazakh's letters but add their own).
_CYRILLIC_MARKERS = (
    ("tt", re.compile(r"[җҖ]")),
    ("ba", re.compile(r"[ҙҫҡҘҪҠ]")),
    ("kk", re.compile(r"[әұһӘҰҺ]")),
    ("tg", re.compile(r"[ҷӣӯҶӢӮ]")),
    ("uz", re.compile(r"[ўҳЎҲ]")),
    ("uk", re.compile(r"[їєґЇЄҐ]")),
    # Mongolian shares these too; the archive's region makes Kyrgyz the better bet.
    ("ky", re.compile(r"[ңөүҢӨҮ]")),
)
_KAZAKH_ALSO = re.compile(r"[қғҚҒңҢөүӨҮіІ]")
_BELARUSIAN_I = re.compile(r"[іІ]")
_UZBEK_ALSO = re.compile(r"[қғҚҒ]")

_CYRILLIC_LANGUAGES = frozenset(
    {"ru", "kk", "ky", "uz", "tg", "uk", "be", "bg", "sr", "mk", "mn", "tt", "ba", "cv", "az"}
)
# Languages whose pages are never in Latin letters (Uzbek, Kazakh, Turkmen,
# Azerbaijani and Serbian are, so they are missing here).
_NEVER_LATIN = frozenset(
    {"zh", "ja", "ko", "ru", "uk", "be", "bg", "mk", "ky", "tg", "mn", "ba", "cv"}
    | {"el", "ka", "hy", "th", "he", "ar", "fa", "ur", "ps", "ug", "hi", "bn", "ta"}
)
# Languages written only in CJK, Cyrillic or Latin letters: a page in another
# script that claims one of them is mislabelled.
_MAIN_SCRIPTS_ONLY = frozenset({"zh", "ja", "ko", "en", "fr", "de", "es", "it", "pt", "tr"}) | (
    _CYRILLIC_LANGUAGES - {"az", "tt", "uz", "kk"}
)
_OLD_CODES = {"iw": "he", "in": "id", "ji": "yi"}

#: Every ISO 639-1 code: a tag whose primary subtag is not one of them (``utf``,
#: ``x-default``, a made-up ``xx``) names no language.
ISO_639_1 = frozenset(
    "aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy "
    "da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht "
    "hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky "
    "la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny "
    "oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg sh si sk sl sm sn so sq sr "
    "ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi "
    "yo za zh zu".split()
)


def detect_language(text: str, html_lang: str | None = None, hint: str | None = None) -> str | None:
    """ISO 639-1 code of the text's language, or None when it cannot be told; for
    Chinese told by its characters, with the script: ``zh-Hans`` or ``zh-Hant``."""
    page_lang = normalise_language_tag(html_lang)
    hint_lang = normalise_language_tag(hint)
    sample = text[:SAMPLE_CHARS]

    han = count_han(sample)
    kana = len(_KANA.findall(sample))
    hangul = len(_HANGUL.findall(sample))
    cyrillic = len(_CYRILLIC.findall(sample))
    latin = len(_LATIN.findall(sample))
    other = len(_OTHER_SCRIPTS.findall(sample))
    # One CJK character carries about as much as a short word.
    cjk_weight = 3 * (han + kana + hangul)

    main_script = max(cjk_weight, cyrillic, latin, other)
    if main_script == 0:
        # No letters: only the page or the source can say.
        return page_lang or hint_lang
    if cjk_weight == main_script:
        language = _cjk_language(han, kana, hangul, page_lang)
        return chinese_tag(sample, html_lang) if language == "zh" else language
    if cyrillic == main_script:
        return _cyrillic_language(sample, cyrillic, page_lang)
    if latin == main_script:
        return _latin_language(sample, page_lang, hint_lang)
    return _other_script_language(sample, page_lang, hint_lang)


def normalise_language_tag(tag: str | None) -> str | None:
    """Primary subtag of a BCP 47 tag or locale (``zh-Hant-TW``, ``ru_RU``), lowercased;
    None unless it is an ISO 639-1 code (``content-language: utf-8`` names no language)."""
    if not tag:
        return None
    primary = re.split(r"[-_]", tag.strip(), maxsplit=1)[0].lower()
    primary = _OLD_CODES.get(primary, primary)
    return primary if primary in ISO_639_1 else None


def _cjk_language(han: int, kana: int, hangul: int, page_lang: str | None) -> str:
    if hangul > han + kana:
        return "ko"
    if kana > KANA_SHARE_JAPANESE * (han + kana):
        return "ja"
    if kana == 0 and hangul == 0 and page_lang in ("ja", "ko") and han < 50:
        # A headline in kanji alone says too little to overrule the page.
        return page_lang
    return "zh"


def _cyrillic_language(sample: str, cyrillic: int, page_lang: str | None) -> str:
    threshold = max(1.0, SPECIFIC_LETTER_SHARE * cyrillic)
    for language, marker in _CYRILLIC_MARKERS:
        found = len(marker.findall(sample))
        if not found:
            continue
        if language == "kk":
            found += len(_KAZAKH_ALSO.findall(sample))
        if found >= threshold:
            if language == "uz" and not _UZBEK_ALSO.search(sample) and _BELARUSIAN_I.search(sample):
                return "be"
            if language == "ky" and page_lang == "mn":
                return "mn"
            return language
    if page_lang in _CYRILLIC_LANGUAGES:
        return page_lang
    return "ru"


def _latin_language(sample: str, page_lang: str | None, hint_lang: str | None) -> str | None:
    shares = stopword_shares(sample)
    best = max(shares, key=lambda language: shares[language]) if shares else None
    share = shares[best] if best else 0.0
    if page_lang and page_lang not in _NEVER_LATIN:
        # Templates keep one site-wide tag: a Spanish text under lang="en" is Spanish.
        if best and best != page_lang and share >= OVERRULE_TAG_SHARE \
                and shares.get(page_lang, 0.0) * 2 < share:
            return best
        return page_lang
    if best and share >= STOPWORD_SHARE:
        return best
    if hint_lang and hint_lang not in _NEVER_LATIN:
        return hint_lang
    return None


def _other_script_language(sample: str, page_lang: str | None, hint_lang: str | None) -> str | None:
    for language, script in _SINGLE_LANGUAGE_SCRIPTS.items():
        if script.search(sample):
            return language
    # Arabic script serves several languages, and other scripts are unknown here.
    for claimed in (page_lang, hint_lang):
        if claimed and claimed not in _MAIN_SCRIPTS_ONLY:
            return claimed
    return None
