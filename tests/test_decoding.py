"""decode_html: legacy encodings under every combination of right, wrong and missing labels."""

from __future__ import annotations

import gzip
import html
import json
import random
from pathlib import Path

import pytest

from crawler.analysis.decoding import DecodedPage, decode_html

SIMPLIFIED = (
    "中哈两国交通部门本周签署协议，决定经霍尔果斯口岸每天增开两列集装箱班列。"
    "两国海关将在共用的查验场所实行“一次查验”，朱镕基时代修建的铁路支线也将扩建。"
)
TRADITIONAL = "中國與中亞國家的經貿往來日益頻繁。專家指出，鐵路運輸與能源管道是雙方合作的重點。"
RUSSIAN = (
    "Казахстан и Китай договорились ежедневно отправлять через Хоргос ещё два "
    "контейнерных поезда. Экспедиторы давно жаловались на двойные проверки."
)
WESTERN = "Le sommet de Xi’an a réuni cinq présidents — « une étape », dit l’analyste ; coût : 5 €."
JAPANESE = (
    "中国と中央アジア諸国の協力は近年ますます深まっている。西安で開かれた首脳会議で合意が得られた。"
)

# (name, text, codec used to write the bytes, label a correct declaration uses,
#  codec decode_html must report, wrong labels to declare instead)
LEGACY_CASES = [
    ("zh-gbk", SIMPLIFIED, "gbk", "gbk", "gb18030", ["windows-1251", "iso-8859-1", "utf-8"]),
    ("zh-gbk-as-gb2312", SIMPLIFIED, "gbk", "gb2312", "gb18030", ["koi8-r", "big5", "utf-8"]),
    (
        "zh-gb18030",
        SIMPLIFIED + "🚄",
        "gb18030",
        "gb18030",
        "gb18030",
        ["windows-1251", "shift_jis"],
    ),
    ("zh-big5", TRADITIONAL, "big5", "big5", "cp950", ["gb2312", "windows-1251", "utf-8"]),
    ("ru-cp1251", RUSSIAN, "cp1251", "windows-1251", "cp1251", ["koi8-r", "gb2312", "utf-8"]),
    ("ru-koi8r", RUSSIAN, "koi8_r", "koi8-r", "koi8-r", ["windows-1251", "iso-8859-1", "utf-8"]),
    ("fr-cp1252", WESTERN, "cp1252", "iso-8859-1", "cp1252", ["windows-1251", "koi8-r", "gb2312"]),
    ("ja-sjis", JAPANESE, "cp932", "shift_jis", "cp932", ["gb2312", "windows-1251", "utf-8"]),
]


def build_page(text: str, meta: str | None = None, form: str = "charset") -> str:
    if meta is None:
        declaration = ""
    elif form == "charset":
        declaration = f'<meta charset="{meta}">'
    else:
        declaration = f'<meta http-equiv="Content-Type" content="text/html; charset={meta}">'
    return (
        f"<!DOCTYPE html><html><head>{declaration}<title>{text[:12]}</title></head>"
        f"<body><nav><a href='/'>Home</a></nav><p>{text}</p><p>{text[::-1]}</p></body></html>"
    )


def header(label: str | None) -> str | None:
    return f"text/html; charset={label}" if label else None


def scenarios() -> list[pytest.param]:
    """Every case under right, missing, wrong and contradicting declarations.

    The expected source is given only where the labels leave no doubt.
    """
    params = []
    for name, text, codec, right, reported, wrongs in LEGACY_CASES:
        labels: list[tuple[str, str | None, str | None, str, str | None]] = [
            ("header-only", right, None, "charset", "header"),
            ("meta-only", None, right, "charset", "meta"),
            ("meta-http-equiv-only", None, right, "http-equiv", "meta"),
            ("header-and-meta", right, right, "charset", "header"),
            ("undeclared", None, None, "charset", "detected"),
        ]
        for wrong in wrongs:
            labels += [
                (f"wrong-header-{wrong}", wrong, None, "charset", None),
                (f"wrong-meta-{wrong}", None, wrong, "http-equiv", None),
                (f"wrong-header-{wrong}-right-meta", wrong, right, "charset", None),
                (f"right-header-wrong-meta-{wrong}", right, wrong, "charset", None),
                (f"header-and-meta-both-{wrong}", wrong, wrong, "charset", None),
            ]
        params += [
            pytest.param(text, codec, hdr, meta, form, reported, source, id=f"{name}-{case}")
            for case, hdr, meta, form, source in labels
        ]
    return params


@pytest.mark.parametrize(
    ("text", "codec", "hdr", "meta", "form", "reported", "source"), scenarios()
)
def test_legacy_page_decodes_exactly_whatever_the_labels_say(
    text: str,
    codec: str,
    hdr: str | None,
    meta: str | None,
    form: str,
    reported: str,
    source: str | None,
) -> None:
    page = build_page(text, meta, form)
    body = page.encode(codec)

    decoded = decode_html(body, header(hdr))

    assert decoded.html == page
    assert "\ufffd" not in decoded.html
    if source is not None:
        assert decoded.source == source
        assert decoded.encoding == reported


@pytest.mark.parametrize(
    ("declared_header", "declared_meta"),
    [
        (None, "gb2312"),
        ("gbk", None),
        ("windows-1251", "gb2312"),
        ("iso-8859-1", None),
        (None, None),
        ("utf-8", "utf-8"),
    ],
)
@pytest.mark.parametrize("text", [SIMPLIFIED, RUSSIAN, WESTERN, "Қазақстан мен Қытай келісті."])
def test_utf8_bytes_win_over_any_declaration(
    text: str, declared_header: str | None, declared_meta: str | None
) -> None:
    page = build_page(text, declared_meta)

    decoded = decode_html(page.encode("utf-8"), header(declared_header))

    assert decoded == DecodedPage(page, "utf-8", "utf-8")


def test_utf8_page_with_a_few_broken_bytes_stays_utf8() -> None:
    page = build_page(RUSSIAN * 3)
    body = page.encode("utf-8").replace(b"</nav>", b"\xd0</nav>", 1)

    decoded = decode_html(body, header("windows-1251"))

    assert decoded.encoding == "utf-8"
    assert decoded.html.count("\ufffd") == 1
    assert RUSSIAN in decoded.html


@pytest.mark.parametrize(
    ("bom", "codec", "reported"),
    [
        (b"\xef\xbb\xbf", "utf-8", "utf-8"),
        (b"\xff\xfe", "utf-16-le", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be", "utf-16-be"),
    ],
)
def test_byte_order_mark_beats_declarations(bom: bytes, codec: str, reported: str) -> None:
    page = build_page(SIMPLIFIED, "gb2312")

    decoded = decode_html(bom + page.encode(codec), header("windows-1251"))

    assert decoded == DecodedPage(page, reported, "bom")


@pytest.mark.parametrize(
    ("hdr", "meta", "encoding", "source"),
    [
        (None, None, "utf-8", "utf-8"),
        ("windows-1251", None, "cp1251", "header"),
        (None, "gb2312", "gb18030", "meta"),
        ("iso-8859-1", "koi8-r", "cp1252", "header"),
        ("utf-16", None, "utf-8", "utf-8"),
        ("no-such-charset", None, "utf-8", "utf-8"),
    ],
)
def test_pure_ascii_takes_the_declared_codec(
    hdr: str | None, meta: str | None, encoding: str, source: str
) -> None:
    page = build_page("Plain ASCII news about Astana and Beijing.", meta)

    decoded = decode_html(page.encode("ascii"), header(hdr))

    assert decoded == DecodedPage(page, encoding, source)


def test_iso_2022_jp_is_read_when_declared() -> None:
    page = build_page(JAPANESE, "iso-2022-jp")
    body = page.encode("iso2022_jp")
    assert body.isascii()

    decoded = decode_html(body)

    assert decoded.html == page
    assert decoded.encoding == "iso2022_jp"


def test_gbk_euro_byte_reads_as_euro_sign() -> None:
    body = build_page(SIMPLIFIED + " 价格 5").encode("gbk").replace(b" 5", b" 5\x80", 1)

    decoded = decode_html(body, header("gbk"))

    assert "价格 5€" in decoded.html
    assert "\ufffd" not in decoded.html


def test_big5_taiwan_kana_extension_survives() -> None:
    page = build_page(TRADITIONAL + "の")

    decoded = decode_html(page.encode("cp950"), header("big5"))

    assert decoded.html == page


def test_meta_declaration_beyond_the_prescan_window_falls_back_to_detection() -> None:
    page = build_page(RUSSIAN).replace("<head>", "<head><!--" + "x" * 5000 + "-->", 1)
    page = page.replace("<title>", '<meta charset="koi8-r"><title>', 1)

    decoded = decode_html(page.encode("koi8_r"))

    assert decoded.html == page
    assert decoded.source == "detected"


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_never_raise(seed: int) -> None:
    rng = random.Random(seed)
    body = bytes(rng.randrange(256) for _ in range(2000))

    decoded = decode_html(body, header("utf-8"))

    assert isinstance(decoded.html, str)
    assert decoded.encoding


@pytest.mark.parametrize("text", [SIMPLIFIED, RUSSIAN, WESTERN])
def test_empty_and_tiny_bodies(text: str) -> None:
    assert decode_html(b"") == DecodedPage("", "utf-8", "utf-8")
    assert decode_html(text[:1].encode("utf-8")).html == text[:1]


# Real pages, optional: the corpus lives beside the repository, never inside it.
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
CORPUS_MISSING = f"real-page corpus not found at {CORPUS} (only present in the team workspace)"


def corpus_pages() -> list[pytest.param]:
    if not CORPUS.is_dir():
        return [pytest.param(None, None, id="corpus-missing")]
    params = []
    for folder in sorted((CORPUS / "readability" / "test-pages").glob("*")):
        if (folder / "source.html").is_file():
            expected = json.loads((folder / "expected-metadata.json").read_text("utf-8"))
            titles = [expected["title"]] if expected.get("title") else []
            params.append(
                pytest.param(folder / "source.html", titles, id=f"readability-{folder.name}")
            )
    for path in sorted((CORPUS / "fundus" / "test_data").glob("*/*.html.gz")):
        publisher = path.name.rsplit("_", 3)[0]
        truth = json.loads((path.parent / f"{publisher}.json").read_text("utf-8"))
        titles = [version["title"] for version in truth.values() if version.get("title")]
        params.append(pytest.param(path, titles, id=f"fundus-{path.name}"))
    return params


def read_body(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


def folded(text: str) -> str:
    return " ".join(html.unescape(text).split())


@pytest.mark.parametrize(("path", "titles"), corpus_pages())
def test_real_pages_decode_cleanly_and_show_their_title(
    path: Path | None, titles: list[str]
) -> None:
    if path is None:
        pytest.skip(CORPUS_MISSING)
    body = read_body(path)

    decoded = decode_html(body, "text/html")

    # Some pages carry U+FFFD in their own bytes; decoding must add none.
    assert decoded.html.count("\ufffd") == body.count("\ufffd".encode())
    if titles:
        page = folded(decoded.html)
        assert any(folded(title) in page for title in titles)


LEGACY_REENCODINGS = [
    ("readability/test-pages/qq/source.html", "gbk", "utf-8"),
    ("readability/test-pages/gmw/source.html", "gb18030", None),
    ("fundus/test_data/cn/People_2024_04_24.html.gz", "gbk", "iso-8859-1"),
    ("readability/test-pages/pixnet/source.html", "big5", "gb2312"),
    ("fundus/test_data/ru/Kommersant_2025_05_14.html.gz", "cp1251", "utf-8"),
    ("fundus/test_data/ru/Kommersant_2025_05_14.html.gz", "koi8_r", "windows-1251"),
    ("fundus/test_data/ua/Pravda_2026_01_08.html.gz", "cp1251", "koi8-r"),
    ("readability/test-pages/lemonde-1/source.html", "cp1252", "windows-1251"),
]


@pytest.mark.parametrize(("relative", "codec", "wrong_header"), LEGACY_REENCODINGS)
def test_real_pages_reencoded_to_legacy_charsets(
    relative: str, codec: str, wrong_header: str | None
) -> None:
    path = CORPUS / relative
    if not path.is_file():
        pytest.skip(CORPUS_MISSING)
    # The pages' own meta tags (utf-8, gb2312) now lie about the bytes, as does the header.
    body = read_body(path).decode("utf-8").encode(codec, "xmlcharrefreplace")

    decoded = decode_html(body, header(wrong_header))

    assert decoded.html == body.decode(codec)
