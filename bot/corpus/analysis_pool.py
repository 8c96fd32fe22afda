"""Text analysis in a worker process, so that a bulk ingest uses both cores: while the database stores
one batch, the worker is already analysing the next ones (normalization, morphology, fingerprints).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from types import TracebackType

from bot.corpus.ingest import BATCH_SIZE, Analysis, IngestError, TextInput, analyse
from bot.text.morph import Morphology


@dataclass
class _WorkerState:
    morph: Morphology
    min_chars: int
    max_chars: int


# The worker process's own analyser, made once by the pool's initializer (it lives only in the worker).
_worker: list[_WorkerState] = []


def _init(parent: int, min_chars: int, max_chars: int) -> None:
    # First, before the slow dictionaries load: a parent killed meanwhile must not leave this behind.
    threading.Thread(target=_exit_with_parent, args=(parent,), name="parent-watchdog", daemon=True).start()
    _worker.append(_WorkerState(Morphology(), min_chars, max_chars))


def _exit_with_parent(parent: int) -> None:
    """A worker outlives a parent killed with -9 (no shutdown tells it), and keeps the resource tracker
    alive too (it holds the tracker's pipe). Once the parent is gone the worker is re-parented, so its
    parent pid changes: then it ends, and the tracker, seeing its pipe closed, ends after it."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


# What goes back in place of the input: the parent has it already, and its text is most of the bytes.
_SENT = TextInput("")


def _analyse(item: TextInput) -> Analysis | IngestError:
    state = _worker[0]
    try:
        return replace(analyse(item, state.morph, state.min_chars, state.max_chars), input=_SENT)
    except IngestError as exc:
        return exc


class AnalysisPool:
    """`async for item, analysis in pool.map(items)`: analyses in input order, computed ahead in a worker."""

    def __init__(self, min_chars: int, max_chars: int, workers: int = 1, ahead: int = 2 * BATCH_SIZE) -> None:
        """`ahead`: texts handed out before their results are read. While the database stores one batch
        nothing is read, so with less than a batch ahead the worker would sit idle half the time. One worker
        and this process keep two cores busy; a second worker measured no faster on two cores."""
        # spawn, not fork: the parent runs an event loop and database threads that must not be copied.
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init,
            initargs=(os.getpid(), min_chars, max_chars),
        )
        self.ahead = ahead

    async def __aenter__(self) -> AnalysisPool:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    async def map(self, items: Iterable[TextInput]) -> AsyncIterator[tuple[TextInput, Analysis | Exception]]:
        pending: deque[tuple[TextInput, Future[Analysis | IngestError]]] = deque()
        source = iter(items)
        exhausted = False
        while True:
            while not exhausted and len(pending) < self.ahead:
                try:
                    item = next(source)
                except StopIteration:
                    exhausted = True
                    break
                pending.append((item, self._executor.submit(_analyse, item)))
            if not pending:
                return
            item, future = pending.popleft()
            try:
                result: Analysis | Exception = await asyncio.wrap_future(future)
            except Exception as exc:  # a crash in the worker is this item's failure, not the batch's
                result = exc
            if isinstance(result, Analysis):
                result = replace(result, input=item)
            yield item, result
