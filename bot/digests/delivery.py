"""The one delivery engine for broadcast messages: paced, resumable, exactly once per (digest, chat).

Pacing. Telegram counts in sliding windows — about 30 messages a second in all, one a second to a private
chat, 20 a minute to a group or channel — and answers 429 past them. What it counts is when requests
arrive, not when they left, and requests that left evenly may arrive bunched. The engine spaces sends so
that no window can overflow as long as arrivals drift from departures by less than a margin m: at a
configured rate R (a window of R per second) consecutive sends are (1 s + m) / (R − 1) apart; chats get
the same treatment with their own limits. m is at least 20 ms and grows with the spread of recent round
trips (a bound on how unevenly requests arrive): on a busy machine or network the engine slows down rather
than overflow a window, and goes back to full rate when latency is steady again.
One dispatcher takes the pacing decisions; the requests themselves run concurrently (Telegram's latency
would otherwise cap the rate), at most one at a time per chat so that a chat's digests keep their order.

The ledger. A row is claimed (`sending`) in its own commit right before its request and settled right
after the answer, so after a crash every row is known sent, known not sent (`pending`, sent again), or in
doubt (`sending`: the request had left). The Bot API cannot tell whether an in-doubt message arrived; once
the bytes are out it almost always has, so in-doubt rows count as sent and are marked: a chat can miss a
digest only if the process dies in the instant between the claim and the write, and never gets one twice.

Errors. 429: everything pauses for retry_after, then the row goes again. 403 and "chat not found" (and
losing the right to post): the subscription is marked inactive with the reason and the chat is never tried
again. 5xx and network errors: retried with exponential backoff, then `failed`. Anything else that Telegram
refuses (a malformed message) is `failed` at once: sending it again would fail again.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardMarkup, LinkPreviewOptions
from pydantic import BaseModel, ConfigDict

from bot.app.settings import Settings
from bot.clock import Clock, SystemClock
from storage.deliveries import Delivery, DeliveryRepository, Rendered

log = logging.getLogger(__name__)

# Round trips remembered for the arrival-time allowance: about a second's worth at high rates.
ROUND_TRIPS = 256
CHAT_TURNS = 4096
FREE_BROADCAST_RATE = 30.0  # Telegram's limit for all chats together, messages per second
PAID_BROADCAST_RATE = 1000.0  # with allow_paid_broadcast (paid in Stars per message above the free rate)


@dataclass(frozen=True)
class ChatLimit:
    count: int
    period: float  # seconds

    def spacing(self, margin: float) -> float:
        """The gap between sends that keeps every sliding window of `period` at ≤ `count`, even if each
        send arrives up to `margin` seconds off schedule."""
        if self.count <= 1:
            return self.period + margin
        return (self.period + margin) / (self.count - 1)


@dataclass(frozen=True)
class DeliveryConfig:
    rate: float = 25.0  # messages per second, every broadcast together
    paid: bool = False  # set allow_paid_broadcast on requests (only worth it above the free rate)
    private_chat: ChatLimit = ChatLimit(1, 1.0)
    group_chat: ChatLimit = ChatLimit(20, 60.0)  # groups and channels
    max_attempts: int = 5  # for 5xx and network errors
    backoff: float = 1.0  # seconds before the first retry, doubling each time
    max_backoff: float = 60.0
    # Sends may arrive this much later (or earlier) than scheduled: loop lag, connection reuse, the network.
    # The least allowance; the engine raises it while round trips vary more than this.
    margin: float = 0.02
    max_margin: float = 0.5
    max_in_flight: int = 0  # 0: from the rate (enough to hide Telegram's latency at that rate)
    request_timeout: float = 30.0
    batch: int = 500  # ledger rows loaded at a time

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryConfig:
        cap = PAID_BROADCAST_RATE if settings.allow_paid_broadcast else math.inf
        rate = min(settings.broadcast_rate, cap)
        if rate > FREE_BROADCAST_RATE and not settings.allow_paid_broadcast:
            log.warning(
                "BROADCAST_RATE=%s is above Telegram's free %s/s; expect 429s unless ALLOW_PAID_BROADCAST",
                rate,
                FREE_BROADCAST_RATE,
            )
        return cls(rate=rate, paid=settings.allow_paid_broadcast and rate > FREE_BROADCAST_RATE)

    def spacing(self, margin: float) -> float:
        """Between any two sends, for the global limit, given the arrival-time allowance."""
        per_second = max(1, math.floor(self.rate))
        if per_second < 2:
            return (1.0 + margin) / self.rate
        return max(1.0 / self.rate, (1.0 + margin) / (per_second - 1))

    @property
    def in_flight(self) -> int:
        if self.max_in_flight > 0:
            return self.max_in_flight
        # Up to a quarter of a second of sends in flight; aiohttp's pool holds 100 connections.
        return max(4, min(100, math.ceil(self.rate / 4)))


class _Sent(BaseModel):
    """The one field of a sent message the ledger keeps. Validating the whole Message — chat, sender and a
    model per entity of a digest full of links — cost more than the rest of a delivery."""

    model_config = ConfigDict(extra="ignore")
    message_id: int


class _SendDigest(SendMessage):
    __returning__ = _Sent  # type: ignore[assignment]


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FLOOD = "flood"  # 429
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Attempt:
    at: float  # engine clock (monotonic) when the request was made
    chat_id: int
    delivery_id: int
    outcome: Outcome


@dataclass
class DeliveryStats:
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    cancelled: int = 0
    retries: int = 0
    flood_waits: int = 0
    flood_wait_seconds: float = 0.0
    in_doubt: int = 0  # found `sending` at start and counted as sent
    widest_margin: float = 0.0  # the largest arrival-time allowance the pacing used (seconds)
    first_send: float | None = None
    last_send: float | None = None
    trace: list[Attempt] | None = None  # every attempt, when asked for (tests, benchmarks)


@dataclass
class _Item:
    delivery: Delivery
    errors: int = 0
    not_before: float = -math.inf  # a retry's backoff
    chat_was_free_at: float = -math.inf  # the chat's turn before this send took it (given back on 429)

    @property
    def chat_id(self) -> int:
        return self.delivery.chat_id


def block_reason(description: str) -> str | None:
    """Why a chat will never take our messages again, from Telegram's error text; None if it might."""
    text = description.lower()
    for needle, reason in (
        ("blocked by the user", "blocked"),
        ("user is deactivated", "deactivated"),
        ("kicked", "kicked"),
        ("chat not found", "chat_not_found"),
        ("peer_id_invalid", "chat_not_found"),
        ("can't initiate conversation", "not_started"),
        ("not a member", "not_member"),
        ("need administrator rights", "no_rights"),
        ("not enough rights", "no_rights"),
        ("chat_write_forbidden", "no_rights"),
        ("have no rights to send", "no_rights"),
    ):
        if needle in text:
            return reason
    return None


class DeliveryEngine:
    def __init__(
        self,
        repo: DeliveryRepository,
        bot: Bot,
        config: DeliveryConfig | None = None,
        clock: Clock | None = None,
        *,
        trace: bool = False,
    ) -> None:
        self.repo = repo
        self.bot = bot
        self.config = config or DeliveryConfig()
        self.clock: Clock = clock or SystemClock()
        self.stats = DeliveryStats(trace=[] if trace else None)
        self._round_trips: deque[float] = deque(maxlen=ROUND_TRIPS)
        # Loaded rows wait in a queue per chat, in ledger order, so that a chat's digests keep their order.
        # A chat with rows is in exactly one of: `_runnable` (its turn has come), `_timers` (waiting for its
        # turn or a retry's backoff), `_busy_chats` (a request in flight; it comes back when that ends).
        self._queues: dict[int, deque[_Item]] = {}
        self._queued = 0
        self._runnable: deque[int] = deque()
        self._timers: list[tuple[float, int, int]] = []  # (monotonic time, tie-breaker, chat)
        self._seq = itertools.count()
        self._loaded_upto = 0
        self._maybe_more = True
        self._busy_chats: set[int] = set()
        self._dead_chats: set[int] = set()
        self._chat_next: dict[int, float] = {}
        self._prune_at = CHAT_TURNS
        self._next_slot = -math.inf
        self._paused_until = -math.inf
        self._slots = asyncio.Semaphore(self.config.in_flight)
        self._workers: set[asyncio.Task[None]] = set()
        self._sent: list[tuple[int, int]] = []  # (delivery id, message id) not yet marked in the ledger
        self._flusher: asyncio.Task[None] | None = None
        self._payloads: dict[int, tuple[Rendered, InlineKeyboardMarkup | None] | None] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    # -- lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Settle what a previous process left in doubt, then deliver whatever is pending, and keep going."""
        if self._task is not None:
            return
        self.stats.in_doubt += await self.repo.recover_in_doubt()
        if self.stats.in_doubt:
            log.warning(
                "%d delivery(ies) were in flight when the last process stopped; counted as sent",
                self.stats.in_doubt,
            )
        # The ledger is the truth: whatever an earlier run of this engine held in memory is read again.
        self._queues.clear()
        self._runnable.clear()
        self._timers.clear()
        self._queued = 0
        self._loaded_upto = 0
        self._stopping = False
        self._maybe_more = True
        self._idle.clear()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="delivery-engine")

    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Stop taking rows; let requests in flight finish (for up to `timeout` seconds)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._workers:
            _, pending = await asyncio.wait(self._workers, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    @property
    def stopping(self) -> bool:
        return self._stopping

    def wake(self) -> None:
        """New rows were queued."""
        self._maybe_more = True
        self._idle.clear()
        self._wake.set()

    async def wait_idle(self) -> None:
        """Until nothing is pending, delayed or in flight."""
        await self._idle.wait()

    async def run_until_idle(self) -> DeliveryStats:
        """Deliver what the ledger holds, then stop (the benchmark and the crash test's worker)."""
        await self.start()
        await self.wait_idle()
        await self.stop()
        return self.stats

    # -- dispatching --------------------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            # Cleared before looking, so that a wake-up arriving while we look is not lost.
            self._wake.clear()
            # The request slot first, then the row: whatever the dispatcher waits for afterwards (a chat's
            # turn, the global schedule), it waits for with its request ready to go.
            await self._slots.acquire()
            dispatched = False
            try:
                item = await self._next_item()
                if item is None:
                    continue
                await self._pace()
                if self.stopping:
                    break
                self._dispatch(item)
                dispatched = True
            except Exception:
                log.exception("the delivery engine could not read its ledger; trying again shortly")
                await self._sleep(1.0)
            finally:
                if not dispatched:
                    self._slots.release()

    def _dispatch(self, item: _Item) -> None:
        self._busy_chats.add(item.chat_id)
        limit = self.config.private_chat if item.chat_id > 0 else self.config.group_chat
        item.chat_was_free_at = self._chat_next.get(item.chat_id, -math.inf)
        now = self.clock.monotonic()
        if len(self._chat_next) >= self._prune_at:
            # A chat's turn matters only until it comes; without this the map would hold every chat ever
            # written to. Pruning when it doubles keeps the cost per send constant.
            self._chat_next = {chat: t for chat, t in self._chat_next.items() if t > now}
            self._prune_at = max(CHAT_TURNS, 2 * len(self._chat_next))
        self._chat_next[item.chat_id] = now + limit.spacing(self._margin())
        task = asyncio.get_running_loop().create_task(self._deliver(item))
        self._workers.add(task)
        task.add_done_callback(self._worker_done)

    async def _next_item(self) -> _Item | None:
        """The next row to send, or None after waiting for something to change."""
        if self._maybe_more and self._queued < self.config.batch // 2:
            await self._load()
        now = self.clock.monotonic()
        item = await self._take(now)
        if item is None:
            if not self._queues and not self._workers and not self._maybe_more:
                self._idle.set()
            await self._sleep(self._timers[0][0] - now if self._timers else None)
        return item

    def _worker_done(self, task: asyncio.Task[None]) -> None:
        self._workers.discard(task)
        self._wake.set()

    async def _load(self) -> None:
        rows = await self.repo.pending(self._loaded_upto, self.config.batch)
        for row in rows:
            self._enqueue(_Item(row))
            self._loaded_upto = max(self._loaded_upto, row.id)
        if len(rows) < self.config.batch:
            self._maybe_more = False

    def _enqueue(self, item: _Item, *, first: bool = False) -> None:
        chat = item.chat_id
        queue = self._queues.get(chat)
        if queue is None:
            queue = self._queues[chat] = deque()
            if chat not in self._busy_chats:
                self._runnable.append(chat)
        if first:
            queue.appendleft(item)
        else:
            queue.append(item)
        self._queued += 1

    def _reschedule(self, chat: int) -> None:
        """A chat's request ended: its next row (if any) waits for the chat's turn."""
        if chat not in self._queues or chat in self._busy_chats:
            return
        head = self._queues[chat][0]
        turn = max(self._chat_next.get(chat, -math.inf), head.not_before)
        if turn <= self.clock.monotonic():
            # Ahead of chats not yet tried: a refused or retried row keeps its place in line.
            self._runnable.appendleft(chat)
        else:
            heapq.heappush(self._timers, (turn, next(self._seq), chat))

    async def _take(self, now: float) -> _Item | None:
        """The first row whose chat may have a message now; chats whose turn has not come wait on a timer."""
        due: list[int] = []
        while self._timers and self._timers[0][0] <= now:
            due.append(heapq.heappop(self._timers)[2])
        # Chats whose turn has come were waiting longer than those never tried: they go first, in order.
        self._runnable.extendleft(reversed(due))
        while self._runnable:
            chat = self._runnable.popleft()
            queue = self._queues.get(chat)
            # A chat can be listed twice (a timer and a finished request); the second listing finds it busy
            # or empty and is dropped: the chat is always listed again when its request ends.
            if queue is None or chat in self._busy_chats:
                continue
            if chat in self._dead_chats:
                del self._queues[chat]
                self._queued -= len(queue)
                for item in queue:
                    await self.repo.mark_cancelled(item.delivery.id, "the chat refused an earlier message")
                    self._record(item, Outcome.CANCELLED)
                continue
            turn = max(self._chat_next.get(chat, -math.inf), queue[0].not_before)
            if turn > now:
                heapq.heappush(self._timers, (turn, next(self._seq), chat))
                continue
            item = queue.popleft()
            self._queued -= 1
            if not queue:
                del self._queues[chat]
            return item
        return None

    async def _pace(self) -> None:
        """Wait for this send's slot in the global schedule (and for a flood pause to end)."""
        # A send that runs late may use the slack it lost, but no more than `lateness` of it: a stall of the
        # loop must not turn into a burst. Fixed and small, and counted into the spacing (a catch-up is as
        # good as an early arrival for the window that receives it).
        lateness = self.config.margin / 2
        margin = self._margin() + lateness
        now = self.clock.monotonic()
        while not self.stopping:
            start = max(self._next_slot, now - lateness, self._paused_until)
            if start <= now:
                break
            self._wake.clear()
            await self._sleep(start - now)
            now = self.clock.monotonic()
        self._next_slot = max(self._next_slot, now - lateness) + self.config.spacing(margin)

    def _margin(self) -> float:
        """How far arrivals may drift from departures now: the spread of recent round trips, within bounds."""
        spread = max(self._round_trips) - min(self._round_trips) if len(self._round_trips) >= 8 else 0.0
        margin = min(self.config.max_margin, max(self.config.margin, spread))
        self.stats.widest_margin = max(self.stats.widest_margin, margin)
        return margin

    async def _sleep(self, seconds: float | None) -> None:
        """Until woken (new rows, a finished request, stop) or, when given, `seconds` have passed."""
        if seconds is None:
            await self._wake.wait()
            return
        sleeper = asyncio.ensure_future(self.clock.sleep(max(0.0, seconds)))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)

    # -- one delivery -------------------------------------------------------------------------------------

    async def _deliver(self, item: _Item) -> None:
        row = item.delivery
        try:
            payload = await self._payload(row.digest_id)
            if payload is None:
                await self.repo.mark_failed(row.id, "the digest is gone")
                self._record(item, Outcome.FAILED)
                return
            if not await self.repo.mark_sending(row.id):
                await self.repo.mark_cancelled(row.id, "the subscription stopped or paused")
                self._record(item, Outcome.CANCELLED)
                return
            rendered, markup = payload
            await self._send(item, rendered, markup)
        except Exception:
            # Only the ledger itself can fail here; the row stays as it was and the log has why.
            log.exception("delivery %s to chat %s could not be recorded", row.id, row.chat_id)
        finally:
            self._busy_chats.discard(row.chat_id)
            self._reschedule(row.chat_id)
            self._slots.release()

    async def _send(self, item: _Item, rendered: Rendered, markup: InlineKeyboardMarkup | None) -> None:
        row = item.delivery
        fields: dict[str, Any] = {
            "chat_id": row.chat_id,
            "text": rendered.text,
            "parse_mode": ParseMode.HTML,
            "reply_markup": markup,
            "link_preview_options": LinkPreviewOptions(is_disabled=True),
            "allow_paid_broadcast": True if self.config.paid else None,
        }
        request = _SendDigest(**fields)
        sent_at = self.clock.monotonic()
        try:
            message: _Sent = await self.bot(request, request_timeout=int(self.config.request_timeout))  # type: ignore[arg-type]
        except Exception as exc:
            if isinstance(exc, TelegramAPIError) and not isinstance(exc, TelegramNetworkError):
                self._round_trips.append(self.clock.monotonic() - sent_at)
            await self._refused(item, exc, sent_at)
        else:
            self._round_trips.append(self.clock.monotonic() - sent_at)
            self._note_sent(row.id, message.message_id)
            self._record(item, Outcome.SENT, sent_at)

    async def _refused(self, item: _Item, exc: Exception, sent_at: float) -> None:
        row = item.delivery
        if isinstance(exc, TelegramRetryAfter):
            self._flood(exc.retry_after)
            await self.repo.mark_retry(row.id, f"429: retry after {exc.retry_after}")
            # Refused, so not counted by Telegram: the chat keeps its turn, and the row is first in line
            # again once the pause is over.
            self._chat_next[row.chat_id] = item.chat_was_free_at
            self._enqueue(item, first=True)
            self._record(item, Outcome.FLOOD, sent_at)
        elif isinstance(exc, TelegramForbiddenError):
            await self._block(item, block_reason(exc.message) or "forbidden", exc.message, sent_at)
        elif isinstance(exc, TelegramBadRequest) and (reason := block_reason(exc.message)) is not None:
            await self._block(item, reason, exc.message, sent_at)
        elif isinstance(exc, TelegramBadRequest):
            log.error("Telegram refused delivery %s to %s: %s", row.id, row.chat_id, exc.message)
            await self.repo.mark_failed(row.id, f"400: {exc.message}")
            self._record(item, Outcome.FAILED, sent_at)
        elif isinstance(exc, TelegramMigrateToChat):
            await self.repo.mark_failed(row.id, f"the group moved to {exc.migrate_to_chat_id}")
            self._record(item, Outcome.FAILED, sent_at)
        else:
            # 5xx, timeouts, connection errors: Telegram or the way to it is unwell; try again later.
            await self._retry(item, f"{type(exc).__name__}: {exc}", sent_at)

    def _note_sent(self, delivery_id: int, message_id: int) -> None:
        """Sent rows are marked in batches: one write for many instead of one each. Until its batch is
        written a row stays `sending`, which a restart counts as sent: a crash meanwhile resends nothing."""
        self._sent.append((delivery_id, message_id))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_sent())
            self._workers.add(self._flusher)
            self._flusher.add_done_callback(self._worker_done)

    async def _flush_sent(self) -> None:
        while self._sent:
            batch, self._sent = self._sent, []
            try:
                await self.repo.mark_sent_many(batch)
            except Exception:
                log.exception(
                    "could not mark %d deliveries as sent; they stay in doubt, never resent", len(batch)
                )

    async def _retry(self, item: _Item, error: str, sent_at: float) -> None:
        item.errors += 1
        if item.errors >= self.config.max_attempts:
            log.warning(
                "delivery %s to %s failed %d times: %s", item.delivery.id, item.chat_id, item.errors, error
            )
            await self.repo.mark_failed(item.delivery.id, error)
            self._record(item, Outcome.FAILED, sent_at)
            return
        await self.repo.mark_retry(item.delivery.id, error)
        delay = min(self.config.max_backoff, self.config.backoff * 2 ** (item.errors - 1))
        item.not_before = self.clock.monotonic() + delay
        self._enqueue(item, first=True)
        self._record(item, Outcome.RETRY, sent_at)

    async def _block(self, item: _Item, reason: str, description: str, sent_at: float) -> None:
        log.info("chat %s refuses messages (%s): subscription made inactive", item.chat_id, description)
        self._dead_chats.add(item.chat_id)
        await self.repo.mark_blocked(item.delivery.id, item.delivery.subscription_id, reason)
        self._record(item, Outcome.BLOCKED, sent_at)

    def _flood(self, retry_after: float) -> None:
        now = self.clock.monotonic()
        until = now + retry_after
        if until > self._paused_until:
            self.stats.flood_wait_seconds += until - max(now, self._paused_until)
            self._paused_until = until
        # No catch-up after a pause: the first send after it starts a fresh schedule.
        self._next_slot = max(self._next_slot, self._paused_until)
        log.warning("Telegram asked to wait %ss; all broadcasts pause", retry_after)

    async def _payload(self, digest_id: int) -> tuple[Rendered, InlineKeyboardMarkup | None] | None:
        if digest_id not in self._payloads:
            rendered = await self.repo.payload(digest_id)
            markup = None
            if rendered is not None and rendered.reply_markup:
                markup = InlineKeyboardMarkup.model_validate_json(rendered.reply_markup)
            if len(self._payloads) >= 64:
                self._payloads.pop(next(iter(self._payloads)))
            self._payloads[digest_id] = (rendered, markup) if rendered is not None else None
        return self._payloads[digest_id]

    def _record(self, item: _Item, outcome: Outcome, at: float | None = None) -> None:
        stats = self.stats
        if outcome is Outcome.SENT:
            stats.sent += 1
        elif outcome is Outcome.FAILED:
            stats.failed += 1
        elif outcome is Outcome.BLOCKED:
            stats.blocked += 1
        elif outcome is Outcome.CANCELLED:
            stats.cancelled += 1
        elif outcome is Outcome.RETRY:
            stats.retries += 1
        elif outcome is Outcome.FLOOD:
            stats.flood_waits += 1
        if at is not None:
            stats.first_send = at if stats.first_send is None else stats.first_send
            stats.last_send = at
        if stats.trace is not None:
            stats.trace.append(
                Attempt(self.clock.monotonic() if at is None else at, item.chat_id, item.delivery.id, outcome)
            )
