"""Exact and near-duplicate detection: a content hash, and MinHash over term bigrams with LSH bands."""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.text.morph import fold

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
# Estimated Jaccard similarity of term-bigram sets above which a text counts as a republication.
NEAR_DUPLICATE = 0.6


@functools.cache
def _permutations() -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], np.uint64]:
    # numpy is imported on the first signature: a bot process that only searches never loads it (16 MB).
    import numpy as np

    # Fixed: signatures are stored, so the permutations must never change.
    rng = np.random.default_rng(20250924)
    a = rng.integers(1, (1 << 32) - 1, size=NUM_PERM, dtype=np.uint64)
    b = rng.integers(0, (1 << 32) - 1, size=NUM_PERM, dtype=np.uint64)
    return a, b, np.uint64((1 << 32) - 1)


_WORD_RE = re.compile(r"\w+")


def content_hash(text: str) -> str:
    """Equal for texts that differ only in case, ё/е, whitespace and punctuation."""
    # The words joined by single spaces: what replacing each run of \W by a space and stripping gives (the
    # stored hashes were made so), without a replacement per run.
    canon = " ".join(_WORD_RE.findall(fold(text)))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def signature(terms: Sequence[str]) -> npt.NDArray[np.uint32]:
    shingles = {f"{a} {b}" for a, b in itertools.pairwise(terms)} or set(terms) or {""}
    # crc32 is stable across processes (unlike hash()) and several times faster than a cryptographic hash.
    crc = zlib.crc32
    import numpy as np

    mul, add, mask = _permutations()
    hv = np.array([crc(s.encode()) for s in shingles], dtype=np.uint64)
    # Universal hashing modulo 2^32: cheap and good enough for 64 independent-looking permutations.
    permuted = (mul[:, None] * hv[None, :] + add[:, None]) & mask
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
    import numpy as np

    return np.frombuffer(blob, dtype="<u4").astype(np.uint32)


def similarity(a: npt.NDArray[np.uint32], b: npt.NDArray[np.uint32]) -> float:
    return float((a == b).mean())
