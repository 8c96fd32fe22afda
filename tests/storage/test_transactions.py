"""Transactions: carried by the task's context, nested as savepoints, writes of other tasks wait."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from storage.backend import Backend
from tests.storage.conftest import new_document


async def _actions(backend: Backend) -> list[str]:
    return [e.action for e in reversed(await backend.audit.recent(limit=100))]


async def test_a_transaction_commits_every_repository_call_made_inside_it(backend: Backend) -> None:
    async with backend.transactions.transaction():
        assert backend.transactions.in_transaction
        doc_id = await backend.documents.add(new_document(1))
        await backend.audit.record(7, "add", doc_id, "Заголовок 1")
        # Inside the transaction its own writes are visible.
        assert (await backend.documents.get(doc_id)) is not None
    assert not backend.transactions.in_transaction
    assert await backend.documents.count() == 1
    assert await _actions(backend) == ["add"]


async def test_rollback_leaves_nothing_behind(backend: Backend) -> None:
    with pytest.raises(ZeroDivisionError):
        async with backend.transactions.transaction():
            doc_id = await backend.documents.add(new_document(1, words=("слово",), story_keys=("k",)))
            await backend.audit.record(7, "add", doc_id)
            await backend.pending.add(7, text="текст", source="s")
            await backend.users.touch(7, "Имя", None)
            _ = 1 / 0
    assert await backend.documents.count(include_hidden=True) == 0
    assert await backend.documents.by_hash("hash-1") is None
    assert await backend.documents.indexed_count() == 0
    assert await backend.documents.vocabulary() == []
    assert await backend.documents.band_candidates((1, 1001)) == []
    assert await backend.audit.count() == 0
    assert await backend.pending.get(1) is None
    assert await backend.users.get(7) is None
    # The database is usable after it.
    await backend.documents.add(new_document(2))
    assert await backend.documents.count() == 1


async def test_a_nested_transaction_joins_as_a_savepoint(backend: Backend) -> None:
    async with backend.transactions.transaction():
        await backend.audit.record(1, "outer")
        async with backend.transactions.transaction():
            await backend.audit.record(1, "inner")
        with pytest.raises(ValueError):
            async with backend.transactions.transaction():
                await backend.audit.record(1, "undone")
                await backend.documents.add(new_document(1))
                raise ValueError
        await backend.audit.record(1, "after")
    # The failed inner block was undone alone; the rest committed together.
    assert await _actions(backend) == ["outer", "inner", "after"]
    assert await backend.documents.count() == 0


async def test_a_write_refused_inside_a_transaction_leaves_nothing_and_it_goes_on(backend: Backend) -> None:
    async with backend.transactions.transaction():
        await backend.documents.add(new_document(1))
        with pytest.raises(Exception):  # noqa: B017 (each backend has its own integrity error)
            await backend.documents.add(new_document(1))  # the same content hash: refused
        await backend.audit.record(1, "kept")
    assert await backend.documents.count() == 1
    assert await backend.documents.indexed_count() == 1
    assert await _actions(backend) == ["kept"]


async def test_a_write_that_fails_half_way_is_undone_by_a_nested_transaction(backend: Backend) -> None:
    async with backend.transactions.transaction():
        await backend.audit.record(1, "kept")
        with pytest.raises(Exception):  # noqa: B017 (each backend has its own integrity error)
            async with backend.transactions.transaction():
                await backend.documents.add(new_document(2))
                await backend.documents.add(new_document(2))
    assert await backend.documents.count() == 0
    assert await backend.documents.indexed_count() == 0
    assert await _actions(backend) == ["kept"]


async def test_an_outer_rollback_undoes_committed_inner_blocks(backend: Backend) -> None:
    with pytest.raises(RuntimeError):
        async with backend.transactions.transaction():
            async with backend.transactions.transaction():
                await backend.audit.record(1, "inner")
            raise RuntimeError
    assert await backend.audit.count() == 0


async def test_a_write_of_another_task_waits_for_the_transaction(backend: Backend) -> None:
    opened, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with backend.transactions.transaction():
            await backend.audit.record(1, "first")
            opened.set()
            await release.wait()
            await backend.audit.record(1, "second")

    async def other() -> None:
        await opened.wait()
        assert not backend.transactions.in_transaction, "another task is not inside the transaction"
        await backend.audit.record(2, "other")

    first, second = asyncio.create_task(holder()), asyncio.create_task(other())
    await opened.wait()
    await asyncio.sleep(0.05)
    assert not second.done(), "the other task's write waits for the transaction to end"
    release.set()
    await asyncio.wait_for(asyncio.gather(first, second), timeout=10)
    assert await _actions(backend) == ["first", "second", "other"]


async def test_a_write_that_waited_survives_the_transaction_rolling_back(backend: Backend) -> None:
    opened = asyncio.Event()

    async def holder() -> None:
        async with backend.transactions.transaction():
            await backend.audit.record(1, "rolled back")
            opened.set()
            await asyncio.sleep(0.05)
            raise RuntimeError

    async def other() -> None:
        await opened.wait()
        await backend.audit.record(2, "kept")

    results = await asyncio.wait_for(asyncio.gather(holder(), other(), return_exceptions=True), timeout=10)
    assert isinstance(results[0], RuntimeError)
    assert await _actions(backend) == ["kept"]


async def test_transactions_of_many_tasks_never_deadlock_or_mix(backend: Backend) -> None:
    async def worker(n: int) -> None:
        for i in range(5):
            try:
                async with backend.transactions.transaction():
                    await backend.audit.record(n, f"{n}-{i}-a")
                    await asyncio.sleep(0)
                    await backend.audit.record(n, f"{n}-{i}-b")
                    if i == 2:
                        raise LookupError
            except LookupError:
                pass
            await backend.users.touch(n, None, None)  # a one-statement write between transactions

    await asyncio.wait_for(asyncio.gather(*(worker(n) for n in range(8))), timeout=30)
    actions = await _actions(backend)
    assert len(actions) == 8 * 4 * 2
    # Each transaction's two entries are next to each other: no other task's write came in between.
    for a, b in zip(actions[::2], actions[1::2], strict=True):
        assert a.endswith("-a") and b == a[:-1] + "b"
    assert not any(a.split("-")[1] == "2" for a in actions)
    assert await backend.users.count() == 8


async def test_a_task_started_inside_a_transaction_is_outside_it(backend: Backend) -> None:
    async with backend.transactions.transaction():
        await backend.audit.record(1, "inside")
        # Not awaited here: its write waits for this transaction to end, and is not part of it.
        spawned = asyncio.create_task(backend.audit.record(2, "spawned"))
        await asyncio.sleep(0.05)
        assert not spawned.done()
    await asyncio.wait_for(spawned, timeout=10)
    assert await _actions(backend) == ["inside", "spawned"]


async def test_writes_outside_a_transaction_are_atomic_one_by_one(backend: Backend) -> None:
    doc_id = await backend.documents.add(new_document(1, words=("альфа", "бета")))
    assert await backend.documents.get(doc_id) is not None
    assert dict(await backend.documents.vocabulary()) == {"альфа": 1, "бета": 1}
    with pytest.raises(Exception):  # noqa: B017 (each backend has its own integrity error)
        await backend.documents.add(new_document(1))
    assert await backend.documents.count() == 1
    assert await backend.documents.indexed_count() == 1


async def test_a_cancelled_transaction_rolls_back_and_frees_the_lock(backend: Backend) -> None:
    inside = asyncio.Event()

    async def stuck() -> None:
        async with backend.transactions.transaction():
            await backend.audit.record(1, "never")
            inside.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(stuck())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    async def short(n: int) -> None:
        async with backend.transactions.transaction():
            await backend.audit.record(n, "cancelled early")

    # Cancelled at every step of the way in, BEGIN included: no transaction is left open behind.
    for steps in range(6):
        task = asyncio.create_task(short(steps))
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await asyncio.wait_for(backend.audit.record(9, "after"), timeout=10)
    async with asyncio.timeout(10), backend.transactions.transaction():
        await backend.audit.record(9, "in a transaction")
    assert (await _actions(backend))[-2:] == ["after", "in a transaction"]
    assert "never" not in await _actions(backend)
