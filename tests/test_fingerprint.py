from __future__ import annotations

from crawler.analysis.fingerprint import body_digest, content_hash, normalise_text


def test_whitespace_and_compatibility_forms_do_not_change_the_hash() -> None:
    a = "China and Kazakhstan\n\n signed   a deal.\tＡＢＣ"
    b = "China and Kazakhstan signed a deal. ABC"
    assert normalise_text(a) == b
    assert content_hash(a) == content_hash(b)


def test_different_text_different_hash() -> None:
    assert content_hash("中亚 合作") != content_hash("中亚 合做")


def test_hash_is_sha256_hex() -> None:
    digest = content_hash("x")
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert body_digest(b"x") == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
