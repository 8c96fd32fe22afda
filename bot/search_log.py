"""The search log (/stats counts searches per day), written off the reply path.

A reply should not wait for a commit that only feeds a chart: entries are kept in memory and written as one
statement when `max_entries` have gathered or `max_seconds` after the first of them, and whatever is left
when the bot stops (`close`, before the database closes). A clean stop loses nothing; a crash (kill -9, a
power cut) loses what was not yet written: at most `max_entries` entries, at most `max_seconds` of searches.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging

from bot.clock import Clock
from storage.db import StorageWriteError
from storage.interfaces import QueryStore
from storage.models import LoggedSearch

log = logging.getLogger(__name__)

MAX_ENTRIES = 200
MAX_SECONDS = 2.0


class SearchLog:
    def __init__(
        self,
        store: QueryStore,
        clock: Clock,
        max_entries: int = MAX_ENTRIES,
        max_seconds: float = MAX_SECONDS,
    ) -> None:
        self._store = store
        self._clock = clock
        self.max_entries = max_entries
        self.max_seconds = max_seconds
        self._pending: list[LoggedSearch] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writing: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()  # batches reach the database in the order they were made
        self._closed = False

    @property
    def pending(self) -> int:
        """Entries not yet handed to the database."""
        return len(self._pending)

    def add(self, user_id: int | None, query: str, results: int, via: str) -> None:
        """Never waits: the entry is written with the next batch."""
        if self._closed:
            log.warning("search log closed: search not logged")
            return
        self._pending.append(LoggedSearch(self._clock.now(), user_id, query[:500], results, via))
        if len(self._pending) >= self.max_entries:
            self._write_soon()
        elif self._timer is None:
            # A fresh context: the write must not join a transaction the caller happens to be in.
            self._timer = asyncio.get_running_loop().call_later(
                self.max_seconds, self._write_soon, context=contextvars.Context()
            )

    def _write_soon(self) -> None:
        batch = self._take()
        task = asyncio.get_running_loop().create_task(self._write(batch), context=contextvars.Context())
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    async def flush(self) -> None:
        """Everything added so far is written (or refused) when this returns; a full or read-only disk loses
        those entries only (a warning)."""
        batch = self._take()
        if self._writing:
            await asyncio.gather(*self._writing)
        await self._write(batch)

    def _take(self) -> list[LoggedSearch]:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        return batch

    async def _write(self, batch: list[LoggedSearch]) -> None:
        if not batch:
            return
        async with self._lock:
            try:
                await self._store.log_many(batch)
            except StorageWriteError as exc:
                log.warning("%d search(es) not logged (%s)", len(batch), exc.reason)
            except Exception:
                # The log feeds /stats only: it must never take a reply or the shutdown down with it.
                log.exception("%d search(es) not logged", len(batch))

    async def close(self) -> None:
        """Writes the rest; later entries are dropped (with a warning). Call before the database closes."""
        self._closed = True
        await self.flush()
