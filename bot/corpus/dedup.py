"""Exact and near-duplicate detection: a content hash, and MinHash over term bigrams with LSH bands."""

from __future__ import annotations

import hashlib
import itertools
import re
import zlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from bot.text.morph import fold

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
# Estimated Jaccard similarity of term-bigram sets above which a text counts as a republication.
NEAR_DUPLICATE = 0.6

_MASK32 = np.uint64((1 << 32) - 1)
_rng = np.random.default_rng(20250924)  # fixed: signatures are stored, so the permutations must never change
_A = _rng.integers(1, (1 << 32) - 1, size=NUM_PERM, dtype=np.uint64)
_B = _rng.integers(0, (1 << 32) - 1, size=NUM_PERM, dtype=np.uint64)
del _rng
_WS_RE = re.compile(r"\W+")


def content_hash(text: str) -> str:
    """Equal for texts that differ only in case, ё/е, whitespace and punctuation."""
    canon = _WS_RE.sub(" ", fold(text)).strip()
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def signature(terms: Sequence[str]) -> npt.NDArray[np.uint32]:
    shingles = {f"{a} {b}" for a, b in itertools.pairwise(terms)} or set(terms) or {""}
    # crc32 is stable across processes (unlike hash()) and several times faster than a cryptographic hash.
    crc = zlib.crc32
    hv = np.array([crc(s.encode()) for s in shingles], dtype=np.uint64)
    # Universal hashing modulo 2^32: cheap and good enough for 64 independent-looking permutations.
    permuted = (_A[:, None] * hv[None, :] + _B[:, None]) & _MASK32
    return permuted.min(axis=1).astype(np.uint32)  # type: ignore[no-any-return]


def bands(sig: npt.NDArray[np.uint32]) -> tuple[int, ...]:
    out = []
    for i in range(BANDS):
        chunk = sig[i * ROWS : (i + 1) * ROWS].tobytes()
        # Signed 63-bit so that SQLite's INTEGER holds it.
        out.append(int.from_bytes(hashlib.blake2b(chunk, digest_size=8).digest(), "little") >> 1)
    return tuple(out)


def to_blob(sig: npt.NDArray[np.uint32]) -> bytes:
    return sig.astype("<u4").tobytes()


def from_blob(blob: bytes) -> npt.NDArray[np.uint32]:
    return np.frombuffer(blob, dtype="<u4").astype(np.uint32)


def similarity(a: npt.NDArray[np.uint32], b: npt.NDArray[np.uint32]) -> float:
    return float(np.mean(a == b))
