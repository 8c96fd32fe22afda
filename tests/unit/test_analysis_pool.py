"""What the analysis worker sends back, and the shortcuts of its analysis that must not change a result."""

from __future__ import annotations

import pickle
from dataclasses import replace

import pytest

from bot.corpus import dedup
from bot.corpus.analysis_pool import _received, _to_send
from bot.corpus.ingest import TextInput, analyse
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
