"""The analysis of polled items (normalization, morphology, fingerprints) off the event loop that answers
readers: in the analysis worker process of bulk uploads (`bot.corpus.analysis_pool`).

The loop is held only while one text is analysed: between two texts a poll waits on the database, and
readers are answered. So what matters is the longest text, not how many there are: a poll with a text of
`WORKER_CHARS` or more (~30 ms of the loop's time, measured: ~1.3 ms per 1,000 characters) is analysed in
the worker; polls of ordinary articles (a few thousand characters each, however many) and channel posts are
analysed in place. A worker costs a process start, its dictionaries and cold caches (a 10-article poll of
150,000 characters each took 5 s instead of 1.6 s, with 4.6 s of CPU on the other core, but held the loop
at most 36 ms instead of 267 ms), so it is started only when needed; one worker serves a whole pass (its
polls run at once) and stops with it: between passes it would only hold memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import BrokenExecutor

from bot.corpus.analysis_pool import AnalysisPool
from bot.corpus.errors import UploadError
from bot.corpus.ingest import Analysis, Corpus, TextInput, analyse

log = logging.getLogger(__name__)

# A poll with a text at least this long is analysed in the worker.
WORKER_CHARS = 20_000

PoolFactory = Callable[[int, int], AnalysisPool]


class PassAnalysis:
    """The analysis of one pass (or one admin's `/source poll`): `async with analysis:` around the pass,
    `analysis.analyse(texts)` in each of its polls."""

    def __init__(
        self, corpus: Corpus, *, worker_chars: int = WORKER_CHARS, make_pool: PoolFactory = AnalysisPool
    ) -> None:
        self._corpus = corpus
        self._worker_chars = worker_chars
        self._make_pool = make_pool
        self._pool: AnalysisPool | None = None
        self._started: list[AnalysisPool] = []
        self.workers_started = 0

    async def __aenter__(self) -> PassAnalysis:
        return self

    async def __aexit__(self, *exc: object) -> None:
        pools, self._started, self._pool = self._started, [], None
        for pool in pools:
            # Joining a worker takes a few hundred milliseconds: waited for in a thread, not on the loop.
            await asyncio.to_thread(_shut, pool)

    async def analyse(
        self, texts: Sequence[TextInput]
    ) -> AsyncIterator[tuple[TextInput, Analysis | Exception]]:
        """Each text with its analysis or the error that refused it (UploadError, or the worker's failure),
        in order."""
        if max((len(t.text) for t in texts), default=0) < self._worker_chars:
            c = self._corpus
            for text in texts:
                try:
                    yield text, analyse(text, c.morph, c.min_chars, c.max_chars)
                except UploadError as exc:
                    yield text, exc
            return
        pool = self._pool or await self._start()
        pairs = pool.map(texts)
        try:
            async for text, result in pairs:
                if isinstance(result, BrokenExecutor):  # the worker died: every text it had fails so
                    self._forget(pool)
                yield text, result
        except BrokenExecutor:
            self._forget(pool)
            raise
        finally:
            aclose = getattr(pairs, "aclose", None)
            if aclose is not None:
                await aclose()

    async def _start(self) -> AnalysisPool:
        pool = await self._make_pool(self._corpus.min_chars, self._corpus.max_chars).__aenter__()
        self._pool = pool
        self._started.append(pool)
        self.workers_started += 1
        return pool

    def _forget(self, pool: AnalysisPool) -> None:
        """A worker that failed (crashed, killed) is not used again: the pass's next poll starts another."""
        if self._pool is pool:
            log.warning("the analysis worker of the sources failed; the next poll starts another")
            self._pool = None


def _shut(pool: AnalysisPool) -> None:
    # The pool's exit is a coroutine that awaits nothing: run to its end here, in this thread.
    asyncio.run(pool.__aexit__(None, None, None))
