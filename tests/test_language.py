"""detect_language: scripts first, the page's lang attribute only where it agrees."""

from __future__ import annotations

import pytest

from crawler.analysis.language import detect_language, normalise_language_tag

ENGLISH = (
    "Kazakhstan and China agreed to run two more container trains a day through the "
    "Khorgos gateway, and officials said the plan would ease the queues at the border."
)
CHINESE = (
    "中哈两国交通部门本周签署协议，决定经霍尔果斯口岸每天增开两列集装箱班列，以缓解口岸货物积压。"
)
TRADITIONAL = "中國與中亞國家的經貿往來日益頻繁，專家指出鐵路運輸是雙方合作的重點。"
JAPANESE = (
    "中国と中央アジア諸国の協力は近年ますます深まっている。西安で開かれた首脳会議で合意が得られた。"
)
KOREAN = "한국과 중앙아시아 국가들은 에너지와 물류 분야의 협력을 확대하기로 했다."
RUSSIAN = (
    "Казахстан и Китай договорились ежедневно отправлять через Хоргос ещё два контейнерных "
    "поезда. Решение должно сократить очереди на границе."
)
KAZAKH = (
    "Қазақстан мен Қытай Қорғас арқылы күн сайын тағы екі контейнерлік пойыз жіберуге "
    "келісті. Бұл шешім шекарадағы кезекті азайтуға көмектеседі деп күтілуде."
)
KYRGYZ = (
    "Кыргызстандын өкмөтү Кытай менен жаңы темир жол боюнча келишимге кол койду. "
    "Бул долбоор өлкөнүн экономикасы үчүн маанилүү деп эсептелет."
)
UZBEK_CYRILLIC = (
    "Ўзбекистон ва Хитой темир йўл қурилиши бўйича келишувга эришди. "
    "Лойиҳа минтақа иқтисодиёти учун муҳим аҳамиятга эга."
)
TAJIK = (
    "Тоҷикистон ва Чин дар бораи сохтмони роҳи нав гуфтушунид карданд. "
    "Ин лоиҳа барои минтақа муҳим аст."
)
UKRAINIAN = "Україна та Китай обговорили нові маршрути для експорту зерна через Центральну Азію."
FRENCH = "Le sommet de Xi’an a réuni cinq présidents venus d’Asie centrale pour parler de commerce."
UZBEK_LATIN = "Oʻzbekiston va Xitoy temir yoʻl qurilishi boʻyicha kelishuvga erishdi."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ENGLISH, "en"),
        (CHINESE, "zh"),
        (TRADITIONAL, "zh"),
        (JAPANESE, "ja"),
        (KOREAN, "ko"),
        (RUSSIAN, "ru"),
        (KAZAKH, "kk"),
        (KYRGYZ, "ky"),
        (UZBEK_CYRILLIC, "uz"),
        (TAJIK, "tg"),
        (UKRAINIAN, "uk"),
        ("Ο πρόεδρος επισκέφθηκε την Αστάνα για συνομιλίες.", "el"),
        ("ყაზახეთისა და ჩინეთის პრეზიდენტები შეხვდნენ.", "ka"),
    ],
)
def test_script_alone_names_the_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    ("text", "html_lang", "expected"),
    [
        (CHINESE, "zh-CN", "zh"),
        (TRADITIONAL, "zh-Hant-TW", "zh"),
        (RUSSIAN, "ru-RU", "ru"),
        (RUSSIAN, "kk", "kk"),  # agrees with the script: a short Kazakh page may lack ә, қ
        (FRENCH, "fr", "fr"),
        (UZBEK_LATIN, "uz", "uz"),
        (ENGLISH, "en-GB", "en"),
        ("天安门广场", "ja", "ja"),  # a kanji-only headline: the page knows better
    ],
)
def test_html_lang_is_used_when_it_agrees_with_the_script(
    text: str, html_lang: str, expected: str
) -> None:
    assert detect_language(text, html_lang=html_lang) == expected


@pytest.mark.parametrize(
    ("text", "html_lang", "expected"),
    [
        (CHINESE, "en", "zh"),
        (ENGLISH, "zh-CN", "en"),
        (ENGLISH, "ru", "en"),
        (RUSSIAN, "en", "ru"),
        (KAZAKH, "ru", "kk"),  # clear Kazakh letters beat a site-wide template value
        (JAPANESE, "zh", "ja"),
        (CHINESE * 3, "ja", "zh"),
    ],
)
def test_script_overrules_a_contradicting_html_lang(
    text: str, html_lang: str, expected: str
) -> None:
    assert detect_language(text, html_lang=html_lang) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Президент Казахстана Қасым-Жомарт Токаев " + RUSSIAN * 3, "ru"),
        (CHINESE + " The Khorgos gateway (SEZ) opened in 2012.", "zh"),
        (ENGLISH + " 霍尔果斯", "en"),
        (ENGLISH + " Астана", "en"),
    ],
)
def test_a_few_foreign_words_do_not_flip_the_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    ("text", "html_lang", "hint", "expected"),
    [
        (FRENCH, None, "fr", "fr"),
        (FRENCH, None, None, None),
        (FRENCH, None, "zh", None),  # a hint in another script cannot be right
        ("", "kk-KZ", "ru", "kk"),
        ("", None, "ru", "ru"),
        ("12 345 — 2025", None, None, None),
        ("التعاون بين الصين وآسيا الوسطى يتوسع", "ar", None, "ar"),
        ("التعاون بين الصين وآسيا الوسطى يتوسع", "en", None, None),
    ],
)
def test_hint_and_fallbacks(
    text: str, html_lang: str | None, hint: str | None, expected: str | None
) -> None:
    assert detect_language(text, html_lang=html_lang, hint=hint) == expected


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("zh-Hans-CN", "zh"),
        ("ru_RU", "ru"),
        (" EN ", "en"),
        ("iw", "he"),
        ("x-default", None),
        ("", None),
        (None, None),
        ("english", None),
    ],
)
def test_normalise_language_tag(tag: str | None, expected: str | None) -> None:
    assert normalise_language_tag(tag) == expected
