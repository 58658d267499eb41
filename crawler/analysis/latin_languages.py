"""Which language a text in Latin letters is in, by its most frequent short words.

Scripts tell Chinese from Russian; in Latin letters the archive meets English, the
region's Turkic languages (Uzbek, Kazakh and Turkmen in their Latin alphabets,
Turkish, Azerbaijani) and the large European ones. The words that make up a fifth
or more of any running text in a language tell them apart well enough, at regex
speed, without a statistical model.
"""

from __future__ import annotations

import re
from collections import Counter

#: Share of a text's words found in the best list above which that list's language wins.
STOPWORD_SHARE = 0.15

#: Schwa is written in Azerbaijani alone among Latin-script languages.
_SCHWA = re.compile("[əƏ]")
AZERBAIJANI_SCHWA_SHARE = 0.1  # of the words; in Azerbaijani text about one word in two

_WORD = re.compile(r"[^\W\d_]+(?:['ʻʼ’`][^\W\d_]+)*")

STOPWORDS: dict[str, frozenset[str]] = {
    language: frozenset(words.split())
    for language, words in {
        "en": "the a an and or but of to in on at for with by from as is are was were be been "
              "has have had it its this that these those which who will would said not than "
              "also after",
        "es": "el los las del que y en por con para una un es se su al como más pero sus fue "
              "este esta entre ha lo",
        "pt": "o os as do da dos das que e em no na para com um uma não ao por se mais foi "
              "pelo pela é",
        "fr": "le la les des du de et est une un dans pour qui sur au aux pas avec que il ce "
              "sont par été",
        "de": "der die das und ist nicht ein eine den dem mit von zu auf für sich auch im des "
              "es wird dass bei wie",
        "it": "il lo la gli le di del della che e è un una per con non nel sono da dei alla "
              "anche più",
        "tr": "ve bir bu için ile da de olarak daha çok gibi olan sonra kadar ancak ise değil "
              "göre üzere yılında",
        "az": "və bu ilə üçün da də bir olan olub edib isə ki qədər görə sonra həm artıq",
        "uz": "va bilan uchun bu ham esa edi bo'yicha boʻyicha yil emas bo'lgan boʻlgan "
              "hamda o'z oʻz ko'ra koʻra qilish",
        "kk": "jäne men bul osy üşin boiynşa bolyp degen eken da de bar tūrǵysynda",
        "tk": "we bilen üçin bu hem boýunça bolup edildi arasynda ýaly ýurdumyzyň bolsa",
    }.items()
}


def stopword_shares(text: str) -> dict[str, float]:
    """Each listed language's share of the text's words (a text with Azerbaijani's
    schwa throughout is Azerbaijani alone); empty for a text without words."""
    words = [word.lower() for word in _WORD.findall(text)]
    if not words:
        return {}
    if len(_SCHWA.findall(text)) >= max(3, AZERBAIJANI_SCHWA_SHARE * len(words)):
        return {"az": 1.0}
    counts = Counter(words)
    return {language: sum(counts[word] for word in stopwords) / len(words)
            for language, stopwords in STOPWORDS.items()}
