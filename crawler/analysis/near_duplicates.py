"""Near-duplicate signatures: a repost with small edits is linked to its original.

MinHash (datasketch) over shingles of three tokens, where a token is a word in
alphabetic scripts and a single character in Chinese; Traditional characters
are folded to Simplified first, so a Traditional copy of a Simplified article
is a near-duplicate. Signatures are cut into LSH bands stored in the database,
so candidates across all past runs are found by an indexed lookup.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

import numpy as np

from crawler.analysis.script import SIGNATURE_HAN_RANGES

NUM_PERM = 128
BANDS = 32
ROWS = NUM_PERM // BANDS
SIMILARITY_THRESHOLD = 0.6  # estimated Jaccard of shingles at which two texts are one story
SHINGLE = 3
SCHEME = "affine32"  # pinned: stored signatures must stay comparable across upgrades

_TOKENS = re.compile(f"[{SIGNATURE_HAN_RANGES}]|[^\\W_]+", re.UNICODE)
_HAN = re.compile(f"[{SIGNATURE_HAN_RANGES}]")


@lru_cache(maxsize=1)
def _to_simplified():  # type: ignore[no-untyped-def]
    from opencc import OpenCC

    return OpenCC("t2s")


@lru_cache(maxsize=1)
def _prototype():  # type: ignore[no-untyped-def]
    from datasketch import MinHash  # imports scipy: only where signatures are made

    return MinHash(num_perm=NUM_PERM, seed=20250617, scheme=SCHEME)


def tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower()
    if _HAN.search(text):
        text = _to_simplified().convert(text)
    return _TOKENS.findall(text)


def signature(text: str) -> bytes:
    """The MinHash of the text as bytes (NUM_PERM little-endian uint32)."""
    words = tokens(text)
    shingles = {
        " ".join(words[i : i + SHINGLE]).encode("utf-8")
        for i in range(max(1, len(words) - SHINGLE + 1))
    }
    proto = _prototype()
    minhash = type(proto)(
        num_perm=NUM_PERM, seed=proto.seed, permutations=proto.permutations, scheme=SCHEME
    )
    minhash.update_batch(list(shingles))
    return minhash.hashvalues.astype("<u4").tobytes()


def band_keys(sig: bytes) -> list[tuple[int, int]]:
    """(band, bucket) pairs: texts sharing any pair are candidates."""
    keys = []
    for band in range(BANDS):
        chunk = sig[band * ROWS * 4 : (band + 1) * ROWS * 4]
        digest = hashlib.blake2b(chunk, digest_size=8).digest()
        bucket = int.from_bytes(digest, "little", signed=True)
        keys.append((band, bucket))
    return keys


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two signatures."""
    va = np.frombuffer(a, dtype="<u4")
    vb = np.frombuffer(b, dtype="<u4")
    if va.shape != vb.shape or not len(va):
        return 0.0
    return float(np.count_nonzero(va == vb)) / len(va)
