"""Exact and near-duplicate detection: a content hash, and MinHash over term bigrams with LSH bands."""

from __future__ import annotations

import functools
import hashlib
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
    """MinHash of the text's term bigrams ("a b"), each hashed by crc32: stable across processes (unlike
    hash()) and several times faster than a cryptographic hash."""
    import numpy as np

    if len(terms) >= 2:
        # crc32 of "a b" continued from the one of "a ", which is kept per term: one C call per bigram and no
        # string built. A bigram met twice gives the same hash, which the minimum ignores.
        crc = zlib.crc32
        hashes = list(map(crc, map(_encoded, terms[1:]), map(_prefix_crc, terms[:-1])))
    else:
        hashes = [zlib.crc32(s.encode()) for s in set(terms) or {""}]
    mul, add = _permutations32()
    hv = np.array(hashes, dtype=np.uint32)
    # Universal hashing modulo 2^32: cheap and good enough for 64 independent-looking permutations. uint32
    # arithmetic wraps modulo 2^32 by itself: the same values as in 64 bits masked, with half the memory.
    permuted = mul[:, None] * hv[None, :] + add[:, None]
    return permuted.min(axis=1)  # type: ignore[no-any-return]


@functools.cache
def _permutations32() -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    import numpy as np

    mul, add, _ = _permutations()
    return mul.astype(np.uint32), add.astype(np.uint32)


# Per distinct term (the common ones: a corpus has some hundred thousand): what `signature` hashes of it.
@functools.lru_cache(maxsize=50_000)
def _encoded(term: str) -> bytes:
    return term.encode()


@functools.lru_cache(maxsize=50_000)
def _prefix_crc(term: str) -> int:
    return zlib.crc32(f"{term} ".encode())


def bands(sig: npt.NDArray[np.uint32]) -> tuple[int, ...]:
    raw = sig.tobytes()
    step = ROWS * sig.itemsize
    # Signed 63-bit so that SQLite's INTEGER holds it.
    blake = hashlib.blake2b
    return tuple(
        int.from_bytes(blake(raw[i : i + step], digest_size=8).digest(), "little") >> 1
        for i in range(0, BANDS * step, step)
    )


def to_blob(sig: npt.NDArray[np.uint32]) -> bytes:
    return sig.astype("<u4").tobytes()


def from_blob(blob: bytes) -> npt.NDArray[np.uint32]:
    import numpy as np

    return np.frombuffer(blob, dtype="<u4").astype(np.uint32)


def similarity(a: npt.NDArray[np.uint32], b: npt.NDArray[np.uint32]) -> float:
    return float((a == b).mean())
