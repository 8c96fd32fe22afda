"""The search log's batches: nothing waits for the database on the reply path, nothing is lost on a clean
stop, and a disk that refuses the batch loses only those entries."""

from __future__ import annotations

import asyncio

import pytest

from bot.clock import SystemClock
from bot.search_log import SearchLog
from storage.db import Database, StorageWriteError
from storage.users import QueryRepository


async def _rows(db: Database) -> list[tuple[object, ...]]:
    return [
        tuple(r)
        for r in await db.fetchall("SELECT user_id, query, results, via FROM search_log ORDER BY rowid")
    ]


async def test_entries_are_written_in_a_batch_when_enough_have_gathered(db: Database) -> None:
    log = SearchLog(QueryRepository(db), SystemClock(), max_entries=3, max_seconds=3600)
    log.add(1, "указ", 2, "chat")
    log.add(None, "аэропорт", 0, "inline")
    await asyncio.sleep(0)
    assert await _rows(db) == [], "two entries wait for the third (or the timer)"
    log.add(2, "x" * 600, 1, "chat")
    assert log.pending == 0
    await log.close()  # waits for the batch under way
    assert await _rows(db) == [
        (1, "указ", 2, "chat"),
        (None, "аэропорт", 0, "inline"),
        (2, "x" * 500, 1, "chat"),
    ]


async def test_a_lone_entry_is_written_by_the_timer(db: Database) -> None:
    log = SearchLog(QueryRepository(db), SystemClock(), max_entries=100, max_seconds=0.01)
    log.add(1, "указ", 2, "chat")
    for _ in range(500):  # until the timer has fired and the write is done (no time is asserted)
        if await _rows(db):
            break
        await asyncio.sleep(0.01)
    assert await _rows(db) == [(1, "указ", 2, "chat")]
    assert log.pending == 0
    await log.close()


async def test_a_clean_stop_writes_the_rest_and_later_entries_are_dropped(db: Database) -> None:
    log = SearchLog(QueryRepository(db), SystemClock(), max_entries=100, max_seconds=3600)
    for i in range(5):
        log.add(i, f"q{i}", i, "chat")
    await log.close()
    assert [r[0] for r in await _rows(db)] == [0, 1, 2, 3, 4]
    log.add(9, "after", 0, "chat")
    await log.flush()
    assert len(await _rows(db)) == 5


async def test_a_refused_batch_is_lost_alone_and_the_log_goes_on(db: Database) -> None:
    log = SearchLog(QueryRepository(db), SystemClock(), max_entries=100, max_seconds=3600)
    await db.conn.execute("PRAGMA query_only = 1")  # every write now fails: a read-only database
    log.add(1, "lost", 0, "chat")
    await log.flush()  # a warning, not an exception
    with pytest.raises(StorageWriteError):
        await QueryRepository(db).log(1, "direct", 0, "chat")
    await db.conn.execute("PRAGMA query_only = 0")
    log.add(2, "kept", 1, "chat")
    await log.close()
    assert await _rows(db) == [(2, "kept", 1, "chat")]


async def test_a_batch_does_not_join_the_callers_transaction(db: Database) -> None:
    log = SearchLog(QueryRepository(db), SystemClock(), max_entries=1, max_seconds=3600)
    with pytest.raises(RuntimeError):
        async with db.transaction():
            log.add(1, "inside", 0, "chat")  # the batch is full: written by a task of its own
            await asyncio.sleep(0.05)
            raise RuntimeError("the caller's transaction rolls back")
    await log.close()
    assert await _rows(db) == [(1, "inside", 0, "chat")]
