"""Stored MinHash signatures stay comparable: the same bytes as datasketch made them when
the archive's first signatures were stored, however datasketch is loaded."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from crawler.analysis.near_duplicates import NUM_PERM, signature, similarity
from tests.support import REPO

# sha256 of each signature, as `from datasketch import MinHash` made them (datasketch 2.0.0).
PINNED = {
    "Kazakhstan and China signed a rail freight deal at Khorgos on Monday, officials said.":
        "16880a4351c73749ce177fc8c68d7b88110d7158ce849e14ee1d4365702de949",
    "中國與哈薩克斯坦簽署鐵路貨運協議，霍爾果斯口岸通關效率提升。":
        "dbc416e45a1fc95c66bf627cb827a4caf7699b03ccdb32c268a1c6919e1b9b9e",
    "Казахстан и Китай подписали соглашение о грузовых железнодорожных перевозках.":
        "28d4c8b28d614b4bb9c1096ee42565b4d348d53aa0bf9b961d5cfa2064d80eb2",
    "one": "7afe24c4f6fa63ec3b4298a31c681f8933d1da59fd477d48c4775d486c74134f",
}


@pytest.mark.parametrize(("text", "digest"), PINNED.items())
def test_signatures_are_byte_identical_to_the_stored_ones(text: str, digest: str) -> None:
    made = signature(text)
    assert len(made) == NUM_PERM * 4
    assert hashlib.sha256(made).hexdigest() == digest


def test_signing_imports_no_scipy_and_datasketch_still_imports_whole() -> None:
    probe = (
        "import sys\n"
        "from crawler.analysis.near_duplicates import signature\n"
        "made = signature('Khorgos dry port')\n"
        "assert 'scipy' not in sys.modules and 'datasketch' not in sys.modules\n"
        "import datasketch\n"
        "m = datasketch.MinHash(num_perm=128, seed=20250617, scheme='affine32')\n"
        "from crawler.analysis.near_duplicates import tokens\n"
        "words = tokens('Khorgos dry port')\n"
        "m.update_batch([' '.join(words).encode()])\n"
        "assert m.hashvalues.astype('<u4').tobytes() == made\n"
        "assert datasketch.MinHashLSH is not None and 'scipy' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_near_copy_is_similar_and_another_story_is_not() -> None:
    base = " ".join(f"word{i}" for i in range(200))
    edited = base.replace("word100", "changed")
    assert similarity(signature(base), signature(edited)) > 0.8
    assert similarity(signature(base), signature("an unrelated story entirely")) < 0.2
