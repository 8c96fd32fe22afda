"""Unit tests of the evaluation's metrics and baselines on tiny hand-computed examples (no bot code).

Run: .venv/bin/python -m pytest bench/quality/test_metrics.py
"""

from __future__ import annotations

import math

import pytest

from bench.quality import baselines
from bench.quality.dataset import SPLITS, load
from bench.quality.metrics import (
    bcubed,
    lcs_length,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank,
    rouge,
    rouge_l,
    rouge_n,
    tokens,
)


def test_tokens_fold_case_and_yo() -> None:
    assert tokens("Ёлка, 2025 г. — «Алатау»!") == ["елка", "2025", "г", "алатау"]


def test_ndcg_hand_computed() -> None:
    rel = {"a": 3, "c": 2, "d": 1}
    # DCG = 3/log2(2) + 0 + 2/log2(4) = 4; IDCG = 3 + 2/log2(3) + 1/log2(4)
    ideal = 3 + 2 / math.log2(3) + 0.5
    assert ndcg_at_k(["a", "b", "c"], rel) == pytest.approx(4 / ideal)
    assert ndcg_at_k(["a", "c", "d"], rel) == pytest.approx(1.0)
    assert ndcg_at_k([], rel) == 0.0
    assert ndcg_at_k(["x"], {}) == 0.0


def test_ndcg_cuts_at_k() -> None:
    assert ndcg_at_k(["x", "a"], {"a": 1}, k=1) == 0.0
    assert ndcg_at_k(["x", "a"], {"a": 1}, k=2) == pytest.approx(1 / math.log2(3))


def test_recall_is_capped_at_k() -> None:
    many = {f"d{i}": 1 for i in range(12)}
    assert recall_at_k([f"d{i}" for i in range(5)] + ["x"] * 5, many, k=10) == pytest.approx(0.5)
    assert recall_at_k([f"d{i}" for i in range(10)], many, k=10) == pytest.approx(1.0)
    assert recall_at_k(["a", "x", "y"], {"a": 1, "b": 2, "c": 1, "d": 3}, k=10) == pytest.approx(0.25)


def test_reciprocal_rank() -> None:
    assert reciprocal_rank(["x", "y", "a"], {"a": 1}) == pytest.approx(1 / 3)
    assert reciprocal_rank(["x", "y"], {"a": 1}) == 0.0
    assert reciprocal_rank(["a"], {"a": 2}) == 1.0


def test_bcubed_hand_computed() -> None:
    gold = {"a": 1, "b": 1, "c": 2}
    pred = {"a": "x", "b": "y", "c": "y"}
    # a: P 1, R 1/2; b: P 1/2, R 1/2; c: P 1/2, R 1 → P = R = 2/3
    assert bcubed(pred, gold) == pytest.approx((2 / 3, 2 / 3, 2 / 3))


def test_bcubed_extremes() -> None:
    gold = {"a": 1, "b": 1, "c": 2, "d": 2}
    assert bcubed(gold, gold) == (1.0, 1.0, 1.0)
    assert bcubed({k: k for k in gold}, gold)[:2] == pytest.approx((1.0, 0.5))  # every item alone
    assert bcubed(dict.fromkeys(gold, 0), gold)[:2] == pytest.approx((0.5, 1.0))  # all in one cluster


def test_bcubed_counts_only_gold_items() -> None:
    # Items outside `gold` (the other split) do not count, but their presence in a cluster does not either.
    p, r, f = bcubed({"a": 0, "b": 0, "z": 0}, {"a": 1, "b": 1})
    assert (p, r, f) == (1.0, 1.0, 1.0)


def test_rouge_hand_computed() -> None:
    cand = tokens("the cat sat on the mat")
    ref = tokens("the cat is on the mat")
    assert rouge_n(cand, ref, 1) == pytest.approx(5 / 6)  # the×2, cat, on, mat
    assert rouge_n(cand, ref, 2) == pytest.approx(3 / 5)  # the cat, on the, the mat
    assert lcs_length(cand, ref) == 5
    assert rouge_l(cand, ref) == pytest.approx(5 / 6)


def test_rouge_clips_repeats_and_handles_empty() -> None:
    assert rouge_n(["a", "a", "a"], ["a"], 1) == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))
    assert rouge("", "что-то") == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    assert rouge("Указ подписан.", "указ ПОДПИСАН") == {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0}


def test_sentences_and_lead() -> None:
    text = "Первое предложение. Второе — короче! «Третье» здесь.\nЧетвертое, новый абзац"
    assert baselines.sentences(text) == [
        "Первое предложение.",
        "Второе — короче!",
        "«Третье» здесь.",
        "Четвертое, новый абзац",
    ]
    assert baselines.lead(text, 2) == ["Первое предложение.", "Второе — короче!"]


def test_textrank_keeps_text_order() -> None:
    text = (
        "Пожар на полигоне продолжается. Погода была хорошей. "
        "Полигон горит пятые сутки, пожар тушат пеной. Пожар на полигоне тушат спасатели."
    )
    top = baselines.textrank(text, 2)
    assert len(top) == 2
    assert "Погода была хорошей." not in top
    order = baselines.sentences(text)
    assert [order.index(s) for s in top] == sorted(order.index(s) for s in top)


def test_single_link_is_transitive() -> None:
    pairs = [(0.9, "a", "b"), (0.6, "b", "c"), (0.2, "c", "d")]
    clusters = baselines.single_link(["a", "b", "c", "d"], pairs, 0.5)
    assert clusters["a"] == clusters["b"] == clusters["c"] != clusters["d"]
    assert len(set(baselines.single_link(["a", "b", "c", "d"], pairs, 0.95).values())) == 4


def test_plain_fts_ors_words() -> None:
    fts = baselines.PlainFts([("1", "Указ", "Токаев подписал указ"), ("2", "", "Пожар на полигоне")])
    try:
        assert fts.search("указ пожар") == ["1", "2"] or fts.search("указ пожар") == ["2", "1"]
        assert fts.search("полигон") == []  # no morphology: полигоне is another word
        assert fts.search("NEAR( :") == []
    finally:
        fts.close()


def test_the_evaluation_set_is_consistent() -> None:
    ds = load()  # raises DataError on any inconsistency (ids, splits, grades, extracts)
    assert len(ds.texts) >= 150
    assert len(ds.queries) >= 55
    assert len(ds.summaries) >= 50
    for split in SPLITS:
        assert any(q.split == split for q in ds.queries)
        assert any(t.split == split for t in ds.texts.values())
    multi = {t.story for t in ds.texts.values()}
    outlets = {s: sum(1 for t in ds.texts.values() if t.story == s) for s in multi}
    assert sum(1 for n in outlets.values() if n >= 3) >= 21
