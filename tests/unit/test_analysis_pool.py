"""What the analysis worker sends back, and the shortcuts of its analysis that must not change a result."""

from __future__ import annotations

import pickle
from dataclasses import replace

import pytest

from bot.corpus import dedup
from bot.corpus.analysis_pool import _received, _to_send
from bot.corpus.ingest import IngestError, TextInput, analyse
from bot.text.morph import TOKEN_RE, Morphology, fold
from bot.text.normalize import quick_sentences
from bot.text.story_features import DocFeatures, features
from tests.corpus_texts import COUNCIL, DECREE, ENGLISH, KAZAKH


@pytest.mark.parametrize(
    "raw", [DECREE, COUNCIL, ENGLISH, KAZAKH, "date 2026-01-05\n" + DECREE.replace("\n", "\r\n")]
)
def test_received_is_the_analysis_less_what_the_parent_does_not_read(raw: str, morph: Morphology) -> None:
    item = TextInput(text=raw, title=None, date=None)
    a = analyse(item, morph, 20, 200_000)
    got = _received(item, pickle.loads(pickle.dumps(_to_send(item, a))))
    f = a.features
    assert got == replace(a, features=DocFeatures(f.terms, f.title_terms, (), (), (), f.words))
    assert got.input is item


@pytest.mark.parametrize(
    "text",
    [
        DECREE,
        KAZAKH,
        "snake_case and__double _edge",
        "İstanbul Forum. Бүгін Астанада",  # İ lower-cases to two characters
        "ΟΔΟΣ.Α και ΣΟΦΟΣ",  # Σ lower-cases by what follows
        "Ёлка, ЁЖ и ёж — «Алатау» № 5",
    ],
)
def test_content_hash_from_tokens_is_the_same(text: str, morph: Morphology) -> None:
    tokens = features(text, None, morph).tokens
    assert list(tokens) == [fold(w) for w in TOKEN_RE.findall(text)]
    assert dedup.content_hash(text, tokens) == dedup.content_hash(text)


def test_quick_sentences_end_at_marks_before_capitals_and_at_line_breaks() -> None:
    text = "Первое. второе! Третье?» Четвёртое…\n\n— Пятое. 6 марта.\nA b"
    assert [s for _, _, s in quick_sentences(text)] == [
        "Первое. второе!",
        "Третье?",
        "Четвёртое…",
        "— Пятое.",
        "6 марта.",
        "A b",
    ]


async def test_the_parent_analyses_while_the_worker_starts_and_results_do_not_change(
    morph: Morphology,
) -> None:
    from pathlib import Path

    from bot.corpus.analysis_pool import AnalysisPool

    root = Path(__file__).parents[2]
    texts = [p.read_text(encoding="utf-8") for p in sorted((root / "bench/quality/data/texts").glob("*.txt"))]
    items = [TextInput(t, source=f"t{i}") for i, t in enumerate(texts)] + [
        TextInput("коротко", source="short")
    ]
    # The worker takes a while to start (a new interpreter, the dictionaries): this process does not wait.
    async with AnalysisPool(20, 200_000, chunk=8, local=morph) as pool:
        got = [pair async for pair in pool.map(items)]
    assert pool.analysed_here > 0
    assert pool.analysed_here < len(items), "the worker took its share"
    assert [item for item, _ in got] == items
    for item, analysis in got[:-1]:
        assert not isinstance(analysis, Exception)
        expected = _received(item, _to_send(item, analyse(item, morph, 20, 200_000)))
        # The worker's sets iterate in another order (its own hash seed): the story basis lists its terms so.
        assert replace(analysis, basis=expected.basis) == expected
        assert sorted(analysis.basis.terms) == sorted(expected.basis.terms)
    assert isinstance(got[-1][1], IngestError)
