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
# The region's languages in Latin letters, and Spanish: written for these tests.
LATIN_TEXTS = {
    "uz": "Toshkentda boʻlib oʻtgan uchrashuvda Oʻzbekiston va Xitoy vakillari savdo hamda "
          "transport sohasidagi hamkorlikni muhokama qildi. Tomonlar yangi loyihalar boʻyicha "
          "kelishuvlar imzoladi va bu yil yuk tashish hajmini oshirishga kelishib oldi.",
    "kk": "Qazaqstan men Qytai arasyndaǵy sauda bıyl da ósti. Ükimet bul jobalar boiynşa jaña "
          "kelisimderge qol qoidy jäne temir jol tasymaly üşin jaña terminal aşylady dep "
          "habarlady.",
    "tk": "Türkmenistan bilen Hytaý arasynda tebigy gaz boýunça täze ylalaşyk baglaşyldy. Bu "
          "taslama sebitde ykdysady hyzmatdaşlygy we ulag ulgamyny ösdürmek üçin möhüm ädim "
          "bolup durýar.",
    "tr": "Türkiye ile Çin arasında yeni bir demiryolu anlaşması imzalandı. Bakanlık, bu hattın "
          "Orta Asya üzerinden yük taşımacılığını daha hızlı ve ucuz hale getireceğini açıkladı.",
    "az": "Azərbaycan və Çin arasında nəqliyyat sahəsində yeni saziş imzalanıb. Bu layihə Orta "
          "Dəhliz üzrə yükdaşımaların həcmini artırmaq üçün mühüm addım hesab olunur.",
    "es": "El presidente de Kazajistán se reunió con una delegación china para hablar de los "
          "nuevos corredores comerciales. Según el ministerio, las exportaciones por ferrocarril "
          "crecieron más de un veinte por ciento este año.",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ENGLISH, "en"),
        (CHINESE, "zh-Hans"),
        (TRADITIONAL, "zh-Hant"),
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
        (CHINESE, "zh-CN", "zh-Hans"),
        (TRADITIONAL, "zh-Hant-TW", "zh-Hant"),
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
        (CHINESE, "en", "zh-Hans"),
        (TRADITIONAL, "zh-CN", "zh-Hant"),  # the characters say more than a template's tag
        (ENGLISH, "zh-CN", "en"),
        (ENGLISH, "ru", "en"),
        (RUSSIAN, "en", "ru"),
        (KAZAKH, "ru", "kk"),  # clear Kazakh letters beat a site-wide template value
        (JAPANESE, "zh", "ja"),
        (CHINESE * 3, "ja", "zh-Hans"),
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
        (CHINESE + " The Khorgos gateway (SEZ) opened in 2012.", "zh-Hans"),
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
        (FRENCH, None, None, "fr"),
        (FRENCH, None, "zh", "fr"),
        ("Oyun bitti.", None, "tr", "tr"),  # too few words to tell: the source's language
        ("Oyun bitti.", None, "zh", None),  # a hint in another script cannot be right
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
        ("utf-8", None),  # content-language holding a charset
        ("xx", None),
        ("eng", None),
    ],
)
def test_normalise_language_tag(tag: str | None, expected: str | None) -> None:
    assert normalise_language_tag(tag) == expected


@pytest.mark.parametrize("language", sorted(LATIN_TEXTS))
def test_latin_script_languages_of_the_region(language: str) -> None:
    assert detect_language(LATIN_TEXTS[language]) == language


@pytest.mark.parametrize("language", sorted(LATIN_TEXTS))
def test_a_site_wide_english_tag_gives_way_to_the_text(language: str) -> None:
    assert detect_language(LATIN_TEXTS[language], html_lang="en") == language


@pytest.mark.parametrize(
    ("text", "html_lang", "expected"),
    [
        (ENGLISH, "fr", "en"),  # a strong English text under a wrong tag
        (FRENCH, "fr-FR", "fr"),
        ("Vláda schválila nový rozpočet na příští rok.", "cs", "cs"),  # no word list: the tag
        (ENGLISH + " Ilham Əliyev and Kassym-Jomart Tokayev met in Astana.", None, "en"),
    ],
)
def test_latin_text_and_the_page_tag(text: str, html_lang: str, expected: str) -> None:
    assert detect_language(text, html_lang=html_lang) == expected


@pytest.mark.parametrize(
    ("text", "html_lang", "expected"),
    [
        ("西安和北京", "zh-TW", "zh-Hant"),  # no telling character: the page's tag
        ("西安和北京", "zh-Hans-CN", "zh-Hans"),
        ("西安和北京", "zh", "zh"),
        ("西安和北京", "utf-8", "zh"),
    ],
)
def test_chinese_script_from_the_page_when_the_text_cannot_tell(
    text: str, html_lang: str, expected: str
) -> None:
    assert detect_language(text, html_lang=html_lang) == expected


@pytest.mark.parametrize("html_lang", ["utf-8", "xx", "x-default", "english"])
def test_a_tag_that_is_no_language_code_is_ignored(html_lang: str) -> None:
    assert detect_language("12 345 — 2025", html_lang=html_lang) is None
    assert detect_language(FRENCH, html_lang=html_lang) == "fr"
