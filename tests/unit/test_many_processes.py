"""Several processes on one database: two schedulers ticking at once queue each digest once; an engine's
recovery settles only the claims of engines that are gone; one worker holds the lease at a time and a
standby takes over when it stops or dies. Each on SQLite (two connections to one file, as two processes
have) and on PostgreSQL (two pools on one schema).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from bot.app.container import Services
from bot.app.lease import ActiveWorker
from bot.app.settings import Settings
from bot.clock import ManualClock
from bot.corpus.ingest import TextInput
from bot.digests.builder import DigestBuilder, DigestContent
from bot.digests.delivery import DeliveryEngine
from bot.digests.schedule import DigestScheduler, TickReport
from bot.digests.sending import Outgoing
from storage.backend import Backend, open_backend
from storage.models import Frequency, Kind, NewSubscription, Rendered, State
from storage.postgres.leases import AdvisoryLeases
from storage.postgres.scratch import scratch_schema
from tests.corpus_texts import AIRPORT, CRYPTO, DECREE

pytestmark = pytest.mark.timeout(120)

NOW = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
async def location(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Where both "processes" open their database."""
    if request.param == "sqlite":
        yield str(tmp_path / "shared.db")
        return
    async with scratch_schema(request.getfixturevalue("postgres_database")) as url:
        yield url


def _settings(location: str) -> Settings:
    if location.startswith("postgresql://"):
        return Settings(database_url=location, load_sample_corpus=False, min_text_chars=20)
    return Settings(database_path=Path(location), load_sample_corpus=False, min_text_chars=20)


class _Renderer:
    def __call__(self, digest_id: int, content: DigestContent, language: str, bot_username: str) -> Rendered:
        return Rendered(f"digest {digest_id}", None)


class _NeverSends:
    async def send(self, message: Outgoing, timeout: float) -> int:  # noqa: ASYNC109
        raise AssertionError("these schedulers only queue")


def _scheduler(services: Services, clock: ManualClock) -> DigestScheduler:
    engine = DeliveryEngine(services.deliveries, _NeverSends(), clock=clock)
    builder = DigestBuilder(services.search)
    return DigestScheduler(services.subscriptions, services.deliveries, builder, engine, _Renderer(), clock)


async def test_two_schedulers_ticking_at_once_queue_each_digest_once(location: str) -> None:
    """Today's race: both read the same due subscriptions, both build and both queued — every subscriber
    got every digest twice. The enqueue is now a compare-and-set on what each read: one of them wins."""
    clock = ManualClock(NOW)
    async with AsyncExitStack() as stack:
        first = await Services.open(_settings(location), clock=clock)
        stack.push_async_callback(first.close)
        second = await Services.open(_settings(location), clock=clock)
        stack.push_async_callback(second.close)
        for text in (DECREE, CRYPTO, AIRPORT):
            await first.corpus.ingest(TextInput(text, source="t"))
        people = [
            NewSubscription(100 + i, Kind.PERSON, "ru", Frequency.DAILY, "09:00", "Asia/Almaty", 0, NOW)
            for i in range(30)
        ]
        instant = [
            NewSubscription(300 + i, Kind.PERSON, "ru", Frequency.INSTANT, "09:00", "Asia/Almaty", 0, None)
            for i in range(5)
        ]
        await first.subscriptions.add_many(people + instant)
        a, b = _scheduler(first, clock), _scheduler(second, clock)

        reports: list[TickReport] = list(await asyncio.gather(a.tick(), b.tick()))
        assert all(r.due == 35 for r in reports), "both read every subscription as due: the race is on"
        assert sum(r.queued for r in reports) == 35
        assert sum(r.failed for r in reports) == 0

        per_chat: Counter[int] = Counter()
        for chat in [s.chat_id for s in people + instant]:
            rows = await first.deliveries.for_chat(chat)
            per_chat[chat] = len(rows)
            assert {r.state for r in rows} == {State.PENDING}
        assert set(per_chat.values()) == {1}, f"digests per chat: {per_chat}"

        # And they move on together: nothing is due again for either.
        again = await asyncio.gather(a.tick(), b.tick())
        assert [r.due for r in again] == [0, 0]


async def test_an_engine_recovers_only_the_claims_of_engines_that_are_gone(location: str) -> None:
    async with AsyncExitStack() as stack:
        one = await open_backend(location)
        stack.push_async_callback(one.close)
        other = await open_backend(location)
        stack.push_async_callback(other.close)
        subs = [
            await one.subscriptions.upsert(
                NewSubscription(chat, Kind.PERSON, "ru", Frequency.DAILY, "09:00", "UTC", 0, NOW)
            )
            for chat in (1, 2, 3)
        ]
        from storage.models import NewDigest, Target

        queued = await one.deliveries.enqueue(
            NewDigest("ru", "", 0, 1, "[]"),
            lambda i: Rendered("x", None),
            [Target(s.id, s.chat_id, 1, None) for s in subs],
            NOW,
        )
        live, dead, gone = await one.deliveries.for_digest(queued.digest_id)
        # A live engine (beating now) claims one row; a dead one (last beat long ago) another; the third
        # was claimed by an engine that left no heartbeat at all.
        await one.deliveries.beat("live", NOW)
        await one.deliveries.beat("dead", NOW - timedelta(minutes=5))
        assert await one.deliveries.mark_sending(live.id, "live")
        assert await one.deliveries.mark_sending(dead.id, "dead")
        assert await one.deliveries.mark_sending(gone.id, "never-beat")
        assert not await other.deliveries.mark_sending(live.id, "another"), "claimed once"

        # Another process's engine starts: it recovers the dead one's claims, not the live one's.
        assert await other.deliveries.recover_in_doubt(NOW - timedelta(seconds=20)) == 2
        states = {r.id: r.state for r in await other.deliveries.for_digest(queued.digest_id)}
        assert states == {live.id: State.SENDING, dead.id: State.UNKNOWN, gone.id: State.UNKNOWN}
        # The dead engine is forgotten; the live one stays.
        assert set(await other.deliveries.engines_on("")) == {"live"}

        # Once the live one stops (or its heartbeat goes stale) its claim is in doubt too.
        await one.deliveries.forget_engine("live")
        assert await other.deliveries.recover_in_doubt(NOW - timedelta(seconds=20)) == 1


async def test_an_engine_starting_beside_a_live_one_leaves_its_rows_alone(location: str) -> None:
    """Two real engines: one has a request in flight (its row `sending`); a second one starts in another
    "process" and must not make that row unknown."""
    from storage.models import NewDigest, Target

    clock = ManualClock(NOW)
    held = asyncio.Event()
    release = asyncio.Event()

    class _Holds:
        async def send(self, message: Outgoing, timeout: float) -> int:  # noqa: ASYNC109
            held.set()
            await release.wait()
            return 42

    async with AsyncExitStack() as stack:
        one = await open_backend(location)
        stack.push_async_callback(one.close)
        other = await open_backend(location)
        stack.push_async_callback(other.close)
        sub = await one.subscriptions.upsert(
            NewSubscription(7, Kind.PERSON, "ru", Frequency.DAILY, "09:00", "UTC", 0, NOW)
        )
        queued = await one.deliveries.enqueue(
            NewDigest("ru", "", 0, 1, "[]"), lambda i: Rendered("x", None), [Target(sub.id, 7, 1, None)], NOW
        )
        first = DeliveryEngine(one.deliveries, _Holds(), clock=clock)
        await first.start()
        stack.push_async_callback(first.stop)
        await asyncio.wait_for(held.wait(), 30)
        second = DeliveryEngine(other.deliveries, _NeverSends(), clock=clock)
        await second.start()
        try:
            assert second.stats.unknown == 0
            (row,) = await other.deliveries.for_digest(queued.digest_id)
            assert row.state is State.SENDING, "a live engine's claim is its own"
        finally:
            await second.stop()
        release.set()
        await first.wait_idle()
        (row,) = await other.deliveries.for_digest(queued.digest_id)
        assert (row.state, row.message_id) == (State.SENT, 42)


async def test_an_idle_engine_sends_what_another_process_queues_or_resends(location: str) -> None:
    """Nothing wakes it from the other process but the database: LISTEN/NOTIFY on PostgreSQL, its own
    short poll on SQLite; a row made pending again behind its reading position (an admin's resend on
    another process) is found too."""
    from storage.models import NewDigest, Target

    sent: list[int] = []
    arrived = asyncio.Event()

    class _Records:
        async def send(self, message: Outgoing, timeout: float) -> int:  # noqa: ASYNC109
            sent.append(message.chat_id)
            arrived.set()
            return len(sent)

    async with AsyncExitStack() as stack:
        worker = await open_backend(location)
        stack.push_async_callback(worker.close)
        web = await open_backend(location)
        stack.push_async_callback(web.close)
        sub = await web.subscriptions.upsert(
            NewSubscription(5, Kind.PERSON, "ru", Frequency.DAILY, "09:00", "UTC", 0, NOW)
        )
        engine = DeliveryEngine(worker.deliveries, _Records(), clock=ManualClock(NOW))
        await engine.start()
        stack.push_async_callback(engine.stop)
        await engine.wait_idle()

        queued = await web.deliveries.enqueue(
            NewDigest("ru", "", 0, 1, "[]"), lambda i: Rendered("x", None), [Target(sub.id, 5, 1, None)], NOW
        )
        await asyncio.wait_for(arrived.wait(), 30)
        assert sent == [5]
        await engine.wait_idle()  # its answer recorded too
        (row,) = await web.deliveries.for_digest(queued.digest_id)
        assert row.state is State.SENT

        async def queue_for(chat: int) -> int:
            found = await web.subscriptions.upsert(
                NewSubscription(chat, Kind.PERSON, "ru", Frequency.DAILY, "09:00", "UTC", 0, NOW)
            )
            done = await web.deliveries.enqueue(
                NewDigest("ru", "", 0, 1, "[]"),
                lambda i: Rendered("x", None),
                [Target(found.id, chat, 1, None)],
                NOW,
            )
            (new,) = await web.deliveries.for_digest(done.digest_id)
            return new.id

        # A row left in doubt by an engine that died: unknown once this engine starts again...
        await engine.stop()
        doubtful = await queue_for(6)
        assert await web.deliveries.mark_sending(doubtful, "a-dead-engine")
        await engine.start()
        assert engine.stats.unknown == 1
        # ...then the engine reads past it (a later digest)...
        arrived.clear()
        await queue_for(7)
        await asyncio.wait_for(arrived.wait(), 30)
        # ...and an admin on the web worker resends it: behind the engine's reading position, found anyway.
        arrived.clear()
        assert [r.id for r in await web.deliveries.resend_unknown()] == [doubtful]
        await asyncio.wait_for(arrived.wait(), 30)
        assert sent == [5, 7, 6]


# -- the lease ---------------------------------------------------------------------------------------------


class _Work:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    async def start(self) -> None:
        self.log.append(f"{self.name} active")

    async def stop(self) -> None:
        self.log.append(f"{self.name} stopped")


@asynccontextmanager
async def _worker(
    location: str, name: str, log: list[str], now: Callable[[], datetime]
) -> AsyncIterator[tuple[ActiveWorker, Backend]]:
    backend = await open_backend(location)
    work = _Work(name, log)
    worker = ActiveWorker(backend.leases, work.start, work.stop, now=now, renew_every=0.05, retry_every=0.05)
    try:
        yield worker, backend
    finally:
        await worker.stop()
        await backend.close()


async def test_one_worker_is_active_and_a_standby_takes_over_when_it_stops(location: str) -> None:
    log: list[str] = []
    clock = ManualClock(NOW)
    async with (
        _worker(location, "a", log, clock.now) as (a, backend),
        _worker(location, "b", log, clock.now) as (
            b,
            _,
        ),
    ):
        await a.start()
        await b.start()
        assert (a.active, b.active) == (True, False)
        assert await backend.leases.holder("worker", clock.now()) == a.holder
        await asyncio.sleep(0.3)  # several renewals and retries later: still only one
        assert (a.active, b.active) == (True, False)
        await a.stop()
        await asyncio.wait_for(b.wait_active(), 10)
        assert log == ["a active", "a stopped", "b active"]
        assert await backend.leases.holder("worker", clock.now()) == b.holder


async def test_a_standby_takes_over_when_the_active_worker_dies(location: str) -> None:
    """Death without a goodbye: on SQLite the lease row stays until it expires (then it is taken over);
    on PostgreSQL the holder's connection ends, and the advisory lock with it."""
    log: list[str] = []
    clock = ManualClock(NOW)
    async with (
        _worker(location, "a", log, clock.now) as (a, backend),
        _worker(location, "b", log, clock.now) as (
            b,
            _,
        ),
    ):
        await a.start()
        await b.start()
        assert a.active and not b.active
        # a's process dies: its loop stops and nothing is released...
        assert a._task is not None
        a._task.cancel()
        await asyncio.gather(a._task, return_exceptions=True)
        a._task = None
        if isinstance(backend.leases, AdvisoryLeases):
            # ...and its session ends, as the server sees a dead process's connection end.
            killer = await asyncpg.connect(backend.leases.db.dsn)
            try:
                await killer.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND classid = $1::int8::oid AND pid != pg_backend_pid()",
                    0x616C6C65,
                )
            finally:
                await killer.close()
        else:
            await asyncio.sleep(0.2)
            assert not b.active, "the lease has not expired yet"
            clock.advance(timedelta(seconds=9))  # past its TTL
        await asyncio.wait_for(b.wait_active(), 10)
        assert b.active
        a.active = False  # it is dead: do not let the fixture stop its work again
