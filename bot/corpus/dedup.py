"""Exact and near-duplicate detection: a content hash, and MinHash over term bigrams with LSH bands."""

from __future__ import annotations

import functools
import hashlib
import re
import zlib
from array import array
from collections.abc import Sequence
from operator import itemgetter
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


# Outside the characters that lower-case one at a time, each to one character that is a word character
# exactly when it was one (checked over all of them): ASCII, Latin-1, the Cyrillic block with the Kazakh
# letters, general punctuation, №. Elsewhere not so: İ gives two characters, Σ depends on the next letter.
_FOLDS_ALONE_RE = re.compile(r"[^\x00-\xff\u0400-\u04ff\u2000-\u206f\u2116]")


def content_hash(text: str, tokens: Sequence[str] | None = None) -> str:
    """Equal for texts that differ only in case, ё/е, whitespace and punctuation.

    `tokens`: the text's tokens folded, in order (`DocFeatures.tokens`), if known: in a text without "_" (which
    they leave out) and with only characters that fold alone, they are its words, and its scan is spared."""
    # The words joined by single spaces: what replacing each run of \W by a space and stripping gives (the
    # stored hashes were made so), without a replacement per run.
    if tokens is not None and "_" not in text and not _FOLDS_ALONE_RE.search(text):
        canon = " ".join(tokens)
    else:
        canon = " ".join(_WORD_RE.findall(fold(text)))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def signature(terms: Sequence[str]) -> npt.NDArray[np.uint32]:
    """MinHash of the text's term bigrams ("a b"), each hashed by crc32: stable across processes (unlike
    hash()) and several times faster than a cryptographic hash."""
    import numpy as np

    if len(terms) >= 2:
        # crc32 of "a b" continued from the one of "a ", which is kept per term: one C call per bigram and no
        # string built. A bigram met twice gives the same hash, which the minimum ignores.
        encoded, prefix = _term_hashes(terms)
        hashes = array("I", map(zlib.crc32, encoded[1:], prefix[:-1]))
    else:
        hashes = array("I", [zlib.crc32(s.encode()) for s in set(terms) or {""}])
    mul, add = _permutations32()
    # An array of C unsigned ints is numpy's uintc, uint32 on every platform we run on: no copy made.
    hv = np.frombuffer(hashes, dtype=np.uintc).astype(np.uint32, copy=False)
    # Universal hashing modulo 2^32: cheap and good enough for 64 independent-looking permutations. uint32
    # arithmetic wraps modulo 2^32 by itself: the same values as in 64 bits masked, with half the memory.
    permuted = np.multiply.outer(mul, hv)
    permuted += add
    return permuted.min(axis=1)  # type: ignore[no-any-return]


@functools.cache
def _permutations32() -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    import numpy as np

    mul, add, _ = _permutations()
    return mul.astype(np.uint32), add.astype(np.uint32)[:, None].copy()


# Per distinct term (a corpus has some hundred thousand; dropped wholesale past this many): what `signature`
# hashes of it, its UTF-8 and the crc32 of it followed by a space. Plain dicts read by one C call per text
# cost less than a cached function per term.
_TERM_CACHE = 100_000
_encoded: dict[str, bytes] = {}
_prefix_crc: dict[str, int] = {}


def _term_hashes(terms: Sequence[str]) -> tuple[tuple[bytes, ...], tuple[int, ...]]:
    lookup = itemgetter(*terms)  # len(terms) >= 2: a tuple
    try:
        return lookup(_encoded), lookup(_prefix_crc)
    except KeyError:
        if len(_encoded) > _TERM_CACHE:
            _encoded.clear()
            _prefix_crc.clear()
        for term in set(terms).difference(_encoded):
            _encoded[term] = term.encode()
            _prefix_crc[term] = zlib.crc32(f"{term} ".encode())
        return lookup(_encoded), lookup(_prefix_crc)


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
