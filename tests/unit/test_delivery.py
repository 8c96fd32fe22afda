"""The delivery engine over the Bot API emulator: pacing within Telegram's limits, 429 pauses, chats that
refuse us, retries, and what a restart does with a delivery in doubt (the kill -9 tests, with a real
process, are in tests/e2e/test_delivery_kill.py).

The engine and the emulator's flood control share one manual clock: pacing and pauses cost no real time,
and both sides agree on what "one second" is. With one request in flight at a time, a request reaches the
emulator at the very (virtual) moment the engine sent it, so the emulator's 429 counter judges the pacing
itself.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession

from bot.clock import Clock, ManualClock
from bot.digests.delivery import ChatLimit, DeliveryConfig, DeliveryEngine, DeliveryStats, Outcome
from bot.digests.telegram import TelegramSender
from emulator import BotAPIEmulator, FaultKind, RateLimit, RateLimitConfig
from storage.db import Database
from storage.deliveries import DeliveryRepository, NewDigest, Rendered, State, Target
from storage.subscriptions import Frequency, Kind, NewSubscription, SubscriptionRepository

pytestmark = pytest.mark.timeout(60)

LIMITS = RateLimitConfig(
    global_limit=RateLimit(20, 1.0), private_chat=RateLimit(1, 1.0), group_chat=RateLimit(20, 60.0)
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2025, 11, 24, 4, 0, tzinfo=UTC))


@pytest.fixture
async def emulator(clock: ManualClock) -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator(clock=clock.monotonic, rate_limits=LIMITS) as emu:
        yield emu


@pytest.fixture
async def bot(emulator: BotAPIEmulator) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=emulator.api_server())
    yield Bot(emulator.token, session=session)
    await session.close()


@pytest.fixture
def deliveries(db: Database) -> DeliveryRepository:
    return DeliveryRepository(db)


async def queue(db: Database, chats: Sequence[int], clock: Clock, label: str = "Digest") -> int:
    """A digest for these chats (subscribing them first if needed), as the scheduler would queue it."""
    subs = SubscriptionRepository(db)
    await subs.add_many(
        [
            NewSubscription(
                c, Kind.PERSON if c > 0 else Kind.CHANNEL, "ru", Frequency.DAILY, "09:00", "UTC", 0, None
            )
            for c in chats
        ]
    )
    found = {s.chat_id: s for s in await subs.get_many(chats)}
    queued = await DeliveryRepository(db).enqueue(
        NewDigest("ru", "", 0, 1, "[]"),
        lambda digest_id: Rendered(f"<b>{label}</b> #{digest_id}", None),
        [Target(found[c].id, c, 1, None) for c in chats],
        clock.now(),
    )
    return queued.digest_id


def received(emulator: BotAPIEmulator, chat_id: int, label: str = "Digest") -> int:
    return sum(1 for m in emulator.chat(chat_id).bot_messages if (m.text or "").startswith(label))


def engine_for(
    deliveries: DeliveryRepository, bot: Bot, clock: Clock, rate: float = 20, **config: object
) -> DeliveryEngine:
    settings = DeliveryConfig(rate=rate, max_in_flight=1, **config)  # type: ignore[arg-type]
    return DeliveryEngine(deliveries, TelegramSender(bot), settings, clock, trace=True)


def sends(stats: DeliveryStats) -> list[float]:
    assert stats.trace is not None
    return [a.at for a in stats.trace]


def busiest_window(times: Sequence[float], period: float) -> int:
    ordered = sorted(times)
    return max((sum(1 for t in ordered if s <= t < s + period) for s in ordered), default=0)


async def test_a_broadcast_stays_within_the_limits(
    emulator: BotAPIEmulator, bot: Bot, db: Database, deliveries: DeliveryRepository, clock: ManualClock
) -> None:
    users = [emulator.create_user(f"U{i}", started=True) for i in range(60)]
    await queue(db, [u.id for u in users], clock)
    started = clock.monotonic()
    stats = await engine_for(deliveries, bot, clock, rate=20).run_until_idle()
    assert stats.sent == 60
    assert all(received(emulator, u.id) == 1 for u in users)
    assert emulator.stats.self_inflicted_429 == 0
    assert busiest_window(sends(stats), 1.0) <= 20
    # And not needlessly slow: close to the configured rate.
    assert 60 / (clock.monotonic() - started) >= 0.9 * 20
    assert (await deliveries.counts()) == {State.SENT: 60}


async def test_429_pauses_everything_for_retry_after_then_resumes(
    emulator: BotAPIEmulator, bot: Bot, db: Database, deliveries: DeliveryRepository, clock: ManualClock
) -> None:
    users = [emulator.create_user(f"U{i}", started=True) for i in range(12)]
    await queue(db, [u.id for u in users], clock)
    emulator.inject(FaultKind.RETRY_AFTER, method="sendMessage", chat=users[4], retry_after=7)
    stats = await engine_for(deliveries, bot, clock).run_until_idle()
    assert all(received(emulator, u.id) == 1 for u in users)
    assert (stats.sent, stats.flood_waits, stats.flood_wait_seconds) == (12, 1, 7)
    assert stats.trace is not None
    at = next(i for i, a in enumerate(stats.trace) if a.outcome is Outcome.FLOOD)
    flood, after = stats.trace[at], stats.trace[at + 1 :]
    # Nothing at all went out during the pause; the refused message went first after it.
    assert after and min(a.at for a in after) >= flood.at + 7
    assert (after[0].chat_id, after[0].outcome) == (users[4].id, Outcome.SENT)
    assert emulator.stats.self_inflicted_429 == 0


async def test_chats_that_refuse_are_marked_inactive_and_never_retried(
    emulator: BotAPIEmulator, bot: Bot, db: Database, deliveries: DeliveryRepository, clock: ManualClock
) -> None:
    fine = emulator.create_user("Fine", started=True)
    blocked = emulator.create_user("Blocked", started=True)
    blocked.block_bot()
    gone = emulator.create_user("Gone", started=True)
    gone.deactivate()
    never = emulator.create_user("Never", started=False)
    kicked = emulator.create_channel("Kicked", bot_status="kicked")
    mute = emulator.create_channel("No rights", can_post_messages=False)
    nowhere = 987_654_321
    chats = [fine.id, blocked.id, gone.id, never.id, kicked.id, mute.id, nowhere]
    await queue(db, chats, clock)
    stats = await engine_for(deliveries, bot, clock).run_until_idle()
    assert (stats.sent, stats.blocked, stats.failed) == (1, 6, 0)
    reasons = {
        s.chat_id: s.inactive_reason for s in await SubscriptionRepository(db).get_many(chats) if not s.active
    }
    assert reasons == {
        blocked.id: "blocked",
        gone.id: "deactivated",
        never.id: "not_started",
        kicked.id: "kicked",
        mute.id: "no_rights",
        nowhere: "chat_not_found",
    }
    calls = Counter(c.params.get("chat_id") for c in emulator.calls_to("sendMessage"))
    assert all(calls[c] == 1 for c in chats)
    # The next digest, the next day: only the chat that still takes messages is tried.
    clock.advance(86_400)
    await queue(db, chats, clock, label="Second")
    second = await engine_for(deliveries, bot, clock).run_until_idle()
    assert (second.sent, second.cancelled) == (1, 6)
    calls = Counter(c.params.get("chat_id") for c in emulator.calls_to("sendMessage"))
    assert calls[fine.id] == 2 and all(calls[c] == 1 for c in chats[1:])


async def test_server_errors_are_retried_with_backoff_then_given_up(
    emulator: BotAPIEmulator, bot: Bot, db: Database, deliveries: DeliveryRepository, clock: ManualClock
) -> None:
    flaky, broken, fine = (emulator.create_user(n, started=True) for n in ("Flaky", "Broken", "Fine"))
    await queue(db, [flaky.id, broken.id, fine.id], clock)
    emulator.inject(FaultKind.SERVER_ERROR, method="sendMessage", chat=flaky, times=2)
    emulator.inject(FaultKind.BAD_GATEWAY, method="sendMessage", chat=broken, times=None)
    stats = await engine_for(deliveries, bot, clock, max_attempts=4, backoff=1.0).run_until_idle()
    assert (received(emulator, flaky.id), received(emulator, broken.id), received(emulator, fine.id)) == (
        1,
        0,
        1,
    )
    rows = {d.chat_id: d for d in await deliveries.for_chat(flaky.id) + await deliveries.for_chat(broken.id)}
    assert (rows[flaky.id].state, rows[flaky.id].attempts) == (State.SENT, 3)
    assert (rows[broken.id].state, rows[broken.id].attempts) == (State.FAILED, 4)
    assert "502" in (rows[broken.id].last_error or "") or "Bad Gateway" in (rows[broken.id].last_error or "")
    assert stats.trace is not None
    tries = [a.at for a in stats.trace if a.chat_id == broken.id]
    gaps = [b - a for a, b in itertools.pairwise(tries)]
    assert gaps == pytest.approx([1.0, 2.0, 4.0], abs=0.1)  # exponential backoff
    # A failure is recorded, not retried forever; the subscription stays active (Telegram may recover).
    sub = await SubscriptionRepository(db).get(broken.id)
    assert sub is not None and sub.active


async def test_a_network_timeout_is_retried(
    emulator: BotAPIEmulator, bot: Bot, db: Database, deliveries: DeliveryRepository, clock: ManualClock
) -> None:
    slow = emulator.create_user("Slow", started=True)
    await queue(db, [slow.id], clock)
    # The emulator holds the request longer than the client waits (real seconds: a timeout is real time).
    emulator.inject(FaultKind.STALL, method="sendMessage", chat=slow, stall_seconds=5)
    stats = await engine_for(deliveries, bot, clock, request_timeout=1).run_until_idle()
    assert (stats.sent, stats.retries) == (1, 1)
    await emulator.wait_idle(timeout=5)
    assert received(emulator, slow.id) == 1


async def test_per_chat_limits(
    emulator: BotAPIEmulator, bot: Bot, db: Database, deliveries: DeliveryRepository, clock: ManualClock
) -> None:
    emulator.set_rate_limits(
        RateLimitConfig(
            global_limit=RateLimit(20, 1.0), private_chat=RateLimit(1, 1.0), group_chat=RateLimit(3, 10.0)
        )
    )
    person = emulator.create_user("Reader", started=True)
    channel = emulator.create_channel("News")
    for n in range(5):
        await queue(db, [person.id, channel.id], clock, label=f"D{n}")
    stats = await engine_for(deliveries, bot, clock, group_chat=ChatLimit(3, 10.0)).run_until_idle()
    assert stats.sent == 10 and emulator.stats.self_inflicted_429 == 0
    assert stats.trace is not None
    to_person = [a.at for a in stats.trace if a.chat_id == person.id]
    to_channel = [a.at for a in stats.trace if a.chat_id == channel.id]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(to_person))
    assert busiest_window(to_channel, 10.0) <= 3
    # A chat's digests arrive in the order they were queued.
    texts = [m.text or "" for m in emulator.chat(channel.id).bot_messages]
    assert [t.split()[0] for t in texts] == ["D0", "D1", "D2", "D3", "D4"]


async def test_paid_broadcast_is_asked_for_only_when_allowed(
    emulator: BotAPIEmulator, bot: Bot, db: Database, deliveries: DeliveryRepository, clock: ManualClock
) -> None:
    emulator.set_rate_limits(None)
    users = [emulator.create_user(f"U{i}", started=True) for i in range(3)]
    await queue(db, [u.id for u in users], clock)
    await engine_for(deliveries, bot, clock, rate=200, paid=True).run_until_idle()
    clock.advance(60)
    await queue(db, [u.id for u in users], clock, label="Free")
    await engine_for(deliveries, bot, clock, rate=20).run_until_idle()
    flags = [c.params.get("allow_paid_broadcast") for c in emulator.calls_to("sendMessage")]
    assert flags == [True] * 3 + [None] * 3


async def test_a_restart_makes_what_was_in_flight_unknown_and_sends_the_rest_once(
    emulator: BotAPIEmulator, bot: Bot, db: Database, deliveries: DeliveryRepository, clock: ManualClock
) -> None:
    users = [emulator.create_user(f"U{i}", started=True) for i in range(6)]
    digest = await queue(db, [u.id for u in users], clock)
    rows = await deliveries.for_digest(digest)
    # As a killed process leaves it: two sent, one whose request was in flight, three not yet tried.
    await deliveries.mark_sending(rows[0].id)
    await deliveries.mark_sent(rows[0].id, 1)
    await deliveries.mark_sending(rows[1].id)
    await deliveries.mark_sent(rows[1].id, 1)
    await deliveries.mark_sending(rows[2].id)
    stats = await engine_for(deliveries, bot, clock).run_until_idle()
    # The one in flight is neither sent nor sent again: Telegram never answered for it.
    assert (stats.unknown, stats.sent) == (1, 3)
    assert [received(emulator, u.id) for u in users] == [0, 0, 0, 1, 1, 1]
    assert await deliveries.in_doubt_count() == 1
    assert await deliveries.unknown_count() == (1, 1)
    assert (await deliveries.counts()) == {State.SENT: 5, State.UNKNOWN: 1}
    # Another restart changes nothing: unknown stays unknown until an admin decides.
    again = await engine_for(deliveries, bot, clock).run_until_idle()
    assert (again.unknown, again.sent) == (0, 0)

    # The admin resends: exactly that chat gets the digest, nobody else gets anything.
    assert len(await deliveries.resend_unknown()) == 1
    resent = await engine_for(deliveries, bot, clock).run_until_idle()
    assert resent.sent == 1
    assert [received(emulator, u.id) for u in users] == [0, 0, 1, 1, 1, 1]
    assert (await deliveries.counts()) == {State.SENT: 6}
    assert await deliveries.unknown_count() == (0, 0)


async def test_an_unsubscribe_during_a_broadcast_cancels_the_pending_row(
    emulator: BotAPIEmulator, bot: Bot, db: Database, deliveries: DeliveryRepository, clock: ManualClock
) -> None:
    users = [emulator.create_user(f"U{i}", started=True) for i in range(3)]
    await queue(db, [u.id for u in users], clock)
    await SubscriptionRepository(db).deactivate(users[1].id, "unsubscribed")
    stats = await engine_for(deliveries, bot, clock).run_until_idle()
    assert (stats.sent, stats.cancelled) == (2, 1)
    assert received(emulator, users[1].id) == 0
