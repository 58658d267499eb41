"""Near-duplicate signatures: a repost with small edits is linked to its original.

MinHash (datasketch) over shingles of three tokens, where a token is a word in
alphabetic scripts and a single character in Chinese; Traditional characters
are folded to Simplified first, so a Traditional copy of a Simplified article
is a near-duplicate. Signatures are cut into LSH bands stored in the database,
so candidates across all past runs are found by an indexed lookup.

Signatures are made in every extraction worker, so datasketch's MinHash is
loaded without the rest of datasketch: its package imports every index it has,
and through them scipy, about 50 MB a worker for a class that needs numpy alone.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
import unicodedata
from functools import lru_cache
from typing import Any

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


def _minhash_class() -> Any:
    """``datasketch.MinHash`` from its own module, ``datasketch/__init__`` not run (it
    imports scipy); a later ``import datasketch`` runs it and finds this module loaded."""
    package = sys.modules.get("datasketch")
    if package is not None:
        return package.MinHash
    spec = importlib.util.find_spec("datasketch")
    if spec is None:
        raise ModuleNotFoundError("datasketch is not installed", name="datasketch")
    sys.modules["datasketch"] = importlib.util.module_from_spec(spec)  # its path alone
    try:
        return importlib.import_module("datasketch.minhash").MinHash
    finally:
        del sys.modules["datasketch"]


@lru_cache(maxsize=1)
def _prototype():  # type: ignore[no-untyped-def]
    return _minhash_class()(num_perm=NUM_PERM, seed=20250617, scheme=SCHEME)


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
