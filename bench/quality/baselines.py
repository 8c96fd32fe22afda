"""Baselines computed in the same run, on the same texts, without any of the bot's code.

* search: a plain SQLite FTS5 table (unicode61, remove_diacritics 2) over title + text, the query's words
  quoted and OR-ed, ranked by bm25;
* summaries: Lead-2, Lead-3 and TextRank (cosine graph of sentences, PageRank, top 2 in text order);
* stories: every text alone, and tf-idf single-link clustering with a threshold tuned on the tune split;
* dates: only the date the upload carries;
* titles: the first line of the text.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from bench.quality.metrics import tokens

# -- search ----------------------------------------------------------------------------------------------


class PlainFts:
    """What one gets from SQLite alone: words as written, no morphology, no synonyms, no typo tolerance."""

    def __init__(self, docs: Iterable[tuple[str, str, str]]) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.execute(
            "CREATE VIRTUAL TABLE plain USING fts5(key UNINDEXED, title, body, "
            "tokenize = 'unicode61 remove_diacritics 2')"
        )
        self.db.executemany("INSERT INTO plain (key, title, body) VALUES (?, ?, ?)", list(docs))

    def search(self, query: str, k: int = 10) -> list[str]:
        words = list(dict.fromkeys(tokens(query)))
        if not words:
            return []
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
        rows = self.db.execute(
            "SELECT key FROM plain WHERE plain MATCH ? ORDER BY bm25(plain) LIMIT ?", (match, k)
        ).fetchall()
        return [str(r[0]) for r in rows]

    def close(self) -> None:
        self.db.close()


# -- sentences and summaries -----------------------------------------------------------------------------

# A sentence ends at . ! ? … (and closing quotes/brackets) followed by space and a capital, a digit, a dash
# or an opening quote; a paragraph always ends one. Initials and «г.» may split wrongly: a baseline's lot.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[»\"”)]*\s+(?=[«\"“(—–-]?\s*[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ0-9])")


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for para in text.split("\n"):
        para = para.strip()
        if not para:
            continue
        start = 0
        for m in _SENTENCE_END.finditer(para):
            piece = para[start : m.start() + len(m.group(0).rstrip())].strip()
            if piece:
                out.append(piece)
            start = m.end()
        if para[start:].strip():
            out.append(para[start:].strip())
    return [s for s in out if any(ch.isalnum() for ch in s)]


def lead(text: str, n: int) -> list[str]:
    return sentences(text)[:n]


def _stem(tok: str) -> str:
    return tok[:5]


def textrank(text: str, n: int = 2, damping: float = 0.85, iterations: int = 50) -> list[str]:
    """TextRank (Mihalcea & Tarau 2004) with cosine similarity of term counts (words cut to 5 letters)."""
    sents = sentences(text)
    if len(sents) <= n:
        return sents
    vecs = [Counter(_stem(t) for t in tokens(s) if len(t) > 2) for s in sents]
    norms = [math.sqrt(sum(v * v for v in c.values())) for c in vecs]
    m = len(sents)
    weights = [[0.0] * m for _ in range(m)]
    for i in range(m):
        for j in range(i + 1, m):
            if norms[i] and norms[j]:
                w = sum(c * vecs[j].get(t, 0) for t, c in vecs[i].items()) / (norms[i] * norms[j])
                weights[i][j] = weights[j][i] = w
    out_sum = [sum(row) for row in weights]
    score = [1.0 / m] * m
    for _ in range(iterations):
        score = [
            (1 - damping) / m
            + damping * sum(weights[j][i] / out_sum[j] * score[j] for j in range(m) if out_sum[j])
            for i in range(m)
        ]
    top = sorted(range(m), key=lambda i: (-score[i], i))[:n]
    return [sents[i] for i in sorted(top)]


# -- stories ---------------------------------------------------------------------------------------------


def tfidf_vectors(docs: Mapping[str, str]) -> dict[str, dict[str, float]]:
    """Sublinear tf × idf over words cut to 5 letters (a crude stemmer for three languages), L2-normalised."""
    counts = {key: Counter(_stem(t) for t in tokens(text) if len(t) > 2) for key, text in docs.items()}
    df: Counter[str] = Counter()
    for c in counts.values():
        df.update(c.keys())
    n = len(docs)
    vectors: dict[str, dict[str, float]] = {}
    for key, c in counts.items():
        v = {t: (1 + math.log(tf)) * math.log(n / df[t]) for t, tf in c.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        vectors[key] = {t: x / norm for t, x in v.items() if x > 0}
    return vectors


def cosine_pairs(vectors: Mapping[str, Mapping[str, float]]) -> list[tuple[float, str, str]]:
    keys = sorted(vectors)
    pairs = []
    for i, a in enumerate(keys):
        va = vectors[a]
        for b in keys[i + 1 :]:
            vb = vectors[b]
            small, big = (va, vb) if len(va) < len(vb) else (vb, va)
            s = sum(x * big.get(t, 0.0) for t, x in small.items())
            if s > 0:
                pairs.append((s, a, b))
    pairs.sort(reverse=True)
    return pairs


def single_link(
    keys: Sequence[str], pairs: Sequence[tuple[float, str, str]], threshold: float
) -> dict[str, str]:
    """Clusters joining every pair at or above `threshold` (union-find); each key maps to its cluster's root."""
    parent = {k: k for k in keys}

    def root(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for s, a, b in pairs:
        if s < threshold:
            break
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {k: root(k) for k in keys}


# -- titles ----------------------------------------------------------------------------------------------


def first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip()
