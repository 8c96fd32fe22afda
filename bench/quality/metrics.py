"""Metric functions: small, pure, tested in test_metrics.py.

Definitions (the usual ones; where there is a choice it is written down here):
* nDCG@k with linear gains (gain = grade, as trec_eval), discount 1/log2(rank + 1); the ideal ranking is built
  from every judged text of the query, found or not.
* recall@k is "capped" recall (as BEIR's R_cap@k): found relevant / min(k, number relevant), so a query with
  more than k relevant texts can still reach 1.
* MRR: 1 / rank of the first relevant text (any grade) within the ranked list given (the top k), else 0.
* B-cubed precision / recall per item, averaged over the items; F1 of those averages (Amigó et al. 2009).
* ROUGE-N and ROUGE-L F1 on lowercased word tokens (letters and digits, ё = е), no stemming, no stop words;
  ROUGE-L over the whole candidate and reference token sequences (not the summary-level union LCS).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence

_WORD_RE = re.compile(r"[^\W_]+")


def tokens(text: str) -> list[str]:
    """Lowercased word tokens: runs of letters and digits; ё is е."""
    return _WORD_RE.findall(text.lower().replace("ё", "е"))


# -- search ----------------------------------------------------------------------------------------------


def dcg(gains: Sequence[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at_k(ranked: Sequence[str], rel: Mapping[str, int], k: int = 10) -> float:
    ideal = dcg(sorted(rel.values(), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg([rel.get(d, 0) for d in ranked[:k]]) / ideal


def recall_at_k(ranked: Sequence[str], rel: Mapping[str, int], k: int = 10) -> float:
    relevant = {d for d, g in rel.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant & set(ranked[:k])) / min(k, len(relevant))


def reciprocal_rank(ranked: Sequence[str], rel: Mapping[str, int]) -> float:
    for i, d in enumerate(ranked, start=1):
        if rel.get(d, 0) > 0:
            return 1.0 / i
    return 0.0


# -- clustering ------------------------------------------------------------------------------------------


def bcubed(predicted: Mapping[str, Hashable], gold: Mapping[str, Hashable]) -> tuple[float, float, float]:
    """B-cubed (precision, recall, F1) of a clustering over the items of `gold` (all must be in `predicted`)."""
    items = list(gold)
    if not items:
        return 0.0, 0.0, 0.0
    pred_members: dict[Hashable, set[str]] = {}
    gold_members: dict[Hashable, set[str]] = {}
    for item in items:
        pred_members.setdefault(predicted[item], set()).add(item)
        gold_members.setdefault(gold[item], set()).add(item)
    p = r = 0.0
    for item in items:
        mine = pred_members[predicted[item]]
        truth = gold_members[gold[item]]
        both = len(mine & truth)
        p += both / len(mine)
        r += both / len(truth)
    p /= len(items)
    r /= len(items)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


# -- summaries -------------------------------------------------------------------------------------------


def _f1(overlap: float, n_candidate: int, n_reference: int) -> float:
    if overlap == 0 or n_candidate == 0 or n_reference == 0:
        return 0.0
    p = overlap / n_candidate
    r = overlap / n_reference
    return 2 * p * r / (p + r)


def ngrams(toks: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))


def rouge_n(candidate: Sequence[str], reference: Sequence[str], n: int) -> float:
    """ROUGE-N F1 with clipped n-gram counts."""
    c, r = ngrams(candidate, n), ngrams(reference, n)
    overlap = sum((c & r).values())
    return _f1(overlap, sum(c.values()), sum(r.values()))


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, start=1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_l(candidate: Sequence[str], reference: Sequence[str]) -> float:
    return _f1(lcs_length(candidate, reference), len(candidate), len(reference))


def rouge(candidate: str, reference: str) -> dict[str, float]:
    c, r = tokens(candidate), tokens(reference)
    return {"rouge1": rouge_n(c, r, 1), "rouge2": rouge_n(c, r, 2), "rougeL": rouge_l(c, r)}


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
