"""Phrase queries: any inflection of the phrase's words, ranked over a bounded window of the newest matches
(a count above it is a lower bound, "N+"), with no partial matches, which of one phrase would be the same
texts again."""

from __future__ import annotations

import pytest

from bot.corpus.ingest import Corpus
from bot.search import SearchService
from tests.conftest import text_input
from tests.corpus_texts import AIRPORT, COUNCIL, CRYPTO, DECREE

_SHORT = [
    f"Строительство аэропорта в городе Алатау: этап {n}. Подрядчик {name} сообщил о сроках работ."
    for n, name in enumerate(("Касымов", "Беков", "Нуров", "Сапаров", "Ермеков", "Жанов"), start=1)
]


async def _add(corpus: Corpus, text: str, source: str) -> int:
    result = await corpus.ingest(text_input(text, source=source))
    assert result.id is not None, result
    return result.id


async def test_a_phrase_matches_its_words_in_any_inflection(corpus: Corpus, search: SearchService) -> None:
    council = await _add(corpus, COUNCIL, "council")  # «специальный статус»
    for text, source in ((DECREE, "decree"), (CRYPTO, "crypto"), (AIRPORT, "airport")):
        await _add(corpus, text, source)
    for query in ('"специальный статус"', '"специального статуса"', '"специальным статусом"'):
        found = await search.search(query)
        assert [h.document.id for h in found.hits] == [council], query
        assert (found.total, found.total_capped, found.partial) == (1, False, False)
    # The words apart, or in the other order, are no match of the phrase.
    assert not (await search.search('"статус специальный"')).hits


async def test_a_phrase_in_more_texts_than_the_window_says_at_least(
    corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [await _add(corpus, text, f"t{n}") for n, text in enumerate(_SHORT)]
    exact = await SearchService(corpus).search('"строительство аэропорта"', limit=2)
    assert (exact.total, exact.total_capped) == (len(ids), False)

    monkeypatch.setattr("bot.search.RANK_WINDOW", 3)
    monkeypatch.setattr("bot.search.CANDIDATES", 2)
    bounded = await SearchService(corpus).search('"строительства аэропортов"', limit=2)
    # Only the newest three are ranked: "3+", and the two shown are among them.
    assert (bounded.total, bounded.total_capped) == (3, True)
    assert {h.document.id for h in bounded.hits} <= set(ids[-3:])
    assert not bounded.partial
