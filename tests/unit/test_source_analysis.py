"""Which polls are analysed in the worker process (bot/sources/analysis.py): those with a long text; one
worker per pass, started only when needed, stopped with the pass, replaced after a failure."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from concurrent.futures.process import BrokenProcessPool
from typing import ClassVar, cast

import pytest

from bot.corpus.analysis_pool import AnalysisPool
from bot.corpus.errors import UploadError
from bot.corpus.ingest import Analysis, Corpus, TextInput, analyse
from bot.sources.analysis import PassAnalysis
from bot.text.morph import Morphology

SENTENCE = "Аким Алатау рассказал жителям о строительстве новой школы и больницы. "


class FakeCorpus:
    def __init__(self) -> None:
        self.morph = Morphology()
        self.min_chars = 20
        self.max_chars = 1_000_000


class FakePool:
    """The pool's public API, analysing here; counts what it was given and whether it was closed."""

    made: ClassVar[list[FakePool]] = []

    def __init__(self, min_chars: int, max_chars: int, *, broken: bool = False) -> None:
        self.min_chars, self.max_chars = min_chars, max_chars
        self.texts = 0
        self.closed = False
        self.broken = broken
        self.morph = Morphology()
        FakePool.made.append(self)

    async def __aenter__(self) -> FakePool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.closed = True

    async def map(self, items: Iterable[TextInput]) -> AsyncIterator[tuple[TextInput, Analysis | Exception]]:
        for item in items:
            self.texts += 1
            if self.broken:
                yield item, BrokenProcessPool("the worker died")
                continue
            try:
                yield item, analyse(item, self.morph, self.min_chars, self.max_chars)
            except UploadError as exc:
                yield item, exc


def analysis(broken_first: bool = False) -> PassAnalysis:
    FakePool.made = []

    def make(min_chars: int, max_chars: int) -> AnalysisPool:
        pool = FakePool(min_chars, max_chars, broken=broken_first and not FakePool.made)
        return cast(AnalysisPool, pool)

    return PassAnalysis(cast(Corpus, FakeCorpus()), worker_chars=2_000, make_pool=make)


async def results(pass_: PassAnalysis, texts: list[TextInput]) -> list[Analysis | Exception]:
    return [result async for _, result in pass_.analyse(texts)]


async def test_short_texts_are_analysed_in_place_however_many() -> None:
    async with analysis() as pass_:
        found = await results(pass_, [TextInput(SENTENCE * 20) for _ in range(50)] + [TextInput("кратко")])
    assert FakePool.made == [] and pass_.workers_started == 0
    assert all(isinstance(r, Analysis) for r in found[:-1]) and isinstance(found[-1], UploadError)


async def test_a_long_text_sends_the_poll_to_one_worker_for_the_whole_pass() -> None:
    async with analysis() as pass_:
        first = await results(pass_, [TextInput(SENTENCE), TextInput(SENTENCE * 40)])
        second = await results(pass_, [TextInput(SENTENCE * 50)])
        (pool,) = FakePool.made
        assert not pool.closed, "open while the pass goes on"
    assert [pool.closed, pool.texts] == [True, 3]
    assert all(isinstance(r, Analysis) for r in [*first, *second])


async def test_a_failed_worker_is_replaced_for_the_next_poll() -> None:
    async with analysis(broken_first=True) as pass_:
        (failed,) = await results(pass_, [TextInput(SENTENCE * 40)])
        assert isinstance(failed, BrokenProcessPool)
        (fine,) = await results(pass_, [TextInput(SENTENCE * 40)])
    assert isinstance(fine, Analysis)
    assert len(FakePool.made) == 2 and all(p.closed for p in FakePool.made)


@pytest.mark.parametrize("texts", [[], [TextInput("")]])
async def test_nothing_to_analyse_starts_nothing(texts: list[TextInput]) -> None:
    async with analysis() as pass_:
        await results(pass_, texts)
    assert FakePool.made == []
