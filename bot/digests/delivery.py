"""The one delivery engine for broadcast messages: paced, resumable, and never `sent` without Telegram's
word for it.

Pacing. Telegram counts in sliding windows — about 30 messages a second in all, one a second to a private
chat, 20 a minute to a group or channel — and answers 429 past them. What it counts is when requests
arrive, not when they left, and requests that left evenly may arrive bunched. For the global window at a
configured rate R (R per second) the engine relies on what it knows rather than on a schedule: request i
was counted before its answer came back (r_i), and request i + R is counted after it leaves, so request
i + R leaves no earlier than r_i + 1 s (`SendWindow`, checked when the request is ready to leave, after its
row's claim). Then no window can overflow whatever the network, the database and the loop do, and it costs
one round trip a second: R / (1 s + round trip), about 0.99 R on a local network. Only a request whose
answer is not back a second later is guessed, as counted within a margin m of leaving. Upstream of that,
the dispatcher spaces sends evenly, 1/R apart, and one held back may catch up by m, so that delays that
vary do not add up into a slower rate. A private chat (one message a second) gets the same reasoning: its
next turn is a second after the answer to its last message, which it waits for anyway; groups and channels
(20 a minute) are spaced (period + m) / (count − 1) apart, seconds of slack for a slow claim. m is at
least 20 ms and grows with the spread of recent round trips (a bound on how unevenly requests arrive).
One dispatcher takes the pacing decisions; the requests themselves run concurrently (Telegram's latency
would otherwise cap the rate), at most one at a time per chat so that a chat's digests keep their order.

The ledger. A row is claimed (`sending`) in its own commit right before its request and is marked `sent`
only with Telegram's answer (its message id), so after a crash every row is known sent, known not sent
(`pending`, sent again), or in doubt (`sending`: the request may have left). The Bot API cannot tell whether
an in-doubt message arrived, so the next start makes such rows `unknown`: never counted as sent, never sent
again on their own (that could be a duplicate), and reported, so that an admin can resend to exactly those
chats. Exactly once therefore means, at every rate: a chat never gets a digest twice unless an admin
resends an unknown one, and a chat that got none is either still due it or counted as unknown. How many
rows a crash can leave unknown is bounded by the requests in flight (a quarter of a second of sends).

Several processes. Each start of an engine gets an id; a claimed row carries it, and the engine beats a
heartbeat in the database. "The next start" is then precisely: any engine that starts, or runs, settles the
`sending` rows of engines that are gone (no heartbeat for a while, or a process of this machine that no
longer runs), never those of a live one. An idle engine looks at the ledger every couple of seconds (and is
woken by PostgreSQL's NOTIFY), so rows queued by another process go out. Only the active worker runs an
engine (bot/app/lease.py), which is what keeps BROADCAST_RATE a limit for the whole bot.

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
import os
import socket
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Protocol

from bot.clock import Clock, SystemClock
from bot.digests.pacing import CHAT_TURNS, ROUND_TRIPS, ChatLimit, DeliveryConfig, Send, SendWindow
from bot.digests.sending import DigestSender, Outgoing, Refusal, SendRefused
from storage.interfaces import DeliveryStore
from storage.models import Delivery, Rendered

__all__ = [
    "Attempt",
    "ChatLimit",
    "DeliveryConfig",
    "DeliveryEngine",
    "DeliveryObserver",
    "DeliveryStats",
    "Outcome",
]

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FLOOD = "flood"  # 429
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"


class DeliveryObserver(Protocol):
    """Told every outcome as it is recorded (the application's metrics); must return at once."""

    def delivered(self, outcome: Outcome) -> None: ...
    def in_doubt(self, count: int) -> None: ...


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
    unknown: int = 0  # found `sending` at start: whether they arrived is unknown (not sent again)
    widest_margin: float = 0.0  # the largest arrival-time allowance the pacing used (seconds)
    first_send: float | None = None
    last_send: float | None = None
    trace: list[Attempt] | None = None  # every attempt, when asked for (tests, benchmarks)


_HOST = socket.gethostname()


def _runs(pid: int) -> bool:
    """Whether process `pid` of this machine still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    return True


@dataclass
class _Item:
    delivery: Delivery
    errors: int = 0
    not_before: float = -math.inf  # a retry's backoff
    chat_was_free_at: float = -math.inf  # the chat's turn before this send took it (given back on 429)
    send: Send | None = None  # its latest attempt, in the global window

    @property
    def chat_id(self) -> int:
        return self.delivery.chat_id


class DeliveryEngine:
    def __init__(
        self,
        repo: DeliveryStore,
        sender: DigestSender,
        config: DeliveryConfig | None = None,
        clock: Clock | None = None,
        *,
        trace: bool = False,
        observer: DeliveryObserver | None = None,
    ) -> None:
        self.repo = repo
        self.sender = sender
        self.observer = observer
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
        self._window = SendWindow(self.config.per_second)
        # Requests pass it one at a time, in the order they are ready to leave.
        self._gate = asyncio.Lock()
        self._waiting_on: Send | None = None  # the request whose answer the one at the gate waits for
        self._answer = asyncio.Event()  # that answer came
        self._paused_until = -math.inf
        self._slots = asyncio.Semaphore(self.config.in_flight)
        self._workers: set[asyncio.Task[None]] = set()
        self._sent: list[tuple[int, int]] = []  # (delivery id, message id) not yet marked in the ledger
        self._flusher: asyncio.Task[None] | None = None
        self._payloads: dict[int, Rendered | None] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._alive: asyncio.Task[None] | None = None
        self._unwatch: Callable[[], Awaitable[None]] | None = None
        self._stopping = False
        # A new id each start: the ledger rows this run claims carry it, and its heartbeat says it lives.
        self.engine_id = ""

    # -- lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Settle what a previous process left in doubt, then deliver whatever is pending, and keep going."""
        if self._task is not None:
            return
        self.engine_id = uuid.uuid4().hex
        await self._beat()
        # Only the claims of engines that are gone: another process's live engine keeps its own. An
        # engine of a process of this machine that no longer runs (kill -9) is gone now, not once its
        # heartbeat is stale.
        for engine_id, pid in (await self.repo.engines_on(_HOST)).items():
            if pid != os.getpid() and not _runs(pid):
                await self.repo.forget_engine(engine_id)
        await self._recover_gone()
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
        self._alive = asyncio.get_running_loop().create_task(self._keep_alive(), name="delivery-heartbeat")
        try:
            # Woken at once by another process's enqueue where the database can tell (PostgreSQL).
            self._unwatch = await self.repo.watch(self.wake)
        except Exception:
            log.warning(
                "cannot listen for new deliveries; looking every %ss instead", self.config.poll_seconds
            )

    async def _beat(self) -> None:
        await self.repo.beat(self.engine_id, self.clock.now(), _HOST, os.getpid())

    async def _recover_gone(self) -> None:
        stale_before = self.clock.now() - timedelta(seconds=self.config.stale_after)
        unknown = await self.repo.recover_in_doubt(stale_before)
        self.stats.unknown += unknown
        if unknown and self.observer is not None:
            self.observer.in_doubt(unknown)
        if unknown:
            log.warning(
                "%d delivery(ies) were in flight when their engine stopped: whether they arrived is "
                "unknown; not sent again (an admin sees them with /digest unknown and may resend)",
                unknown,
            )

    async def _keep_alive(self) -> None:
        """The heartbeat; and the claims of engines that died meanwhile (the worker's before this one took
        over) settled once they are stale. In real time, not the engine's clock: a manual clock would jump
        instead of waiting."""
        loop = asyncio.get_running_loop()
        recovered_at = loop.time()
        while True:
            await asyncio.sleep(self.config.heartbeat_seconds)
            try:
                await self._beat()
                # An engine goes stale only after `stale_after`: looking more often finds nothing new, and
                # every look is a write that the sends' claims would queue behind.
                if loop.time() - recovered_at >= self.config.stale_after:
                    recovered_at = loop.time()
                    await self._recover_gone()
            except Exception:
                log.exception("the delivery engine could not beat its heartbeat; trying again")

    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Stop taking rows; let requests in flight finish (for up to `timeout` seconds)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._unwatch is not None:
            await self._unwatch()
            self._unwatch = None
        if self._alive is not None:
            self._alive.cancel()
            await asyncio.gather(self._alive, return_exceptions=True)
            self._alive = None
        if self._workers:
            _, pending = await asyncio.wait(self._workers, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._sent:
            # Answers already in hand are recorded even when the requests still in flight were abandoned
            # (those stay `sending`, unknown at the next start).
            await self._flush_sent()
        if self.engine_id:
            # Gone from now on: what it left `sending` is in doubt for the next engine that starts.
            await self.repo.forget_engine(self.engine_id)

    @property
    def stopping(self) -> bool:
        return self._stopping

    def _poll(self) -> None:
        if not self._queues and not self._workers:
            # Nothing in hand: read the ledger from its start, so that rows made pending again behind the
            # reading position by another process (an admin's resend there) are found too.
            self._loaded_upto = 0
        self._maybe_more = True

    def wake(self) -> None:
        """New rows were queued."""
        self._maybe_more = True
        self._idle.clear()
        self._wake.set()

    def requeue(self, rows: Sequence[Delivery]) -> None:
        """Rows made pending again behind the engine's reading position (an admin's resend): it reads the
        ledger forward only, so they are handed to it. Rows ahead of that position it reads as usual, and a
        stopped engine reads everything again when it starts."""
        if self._task is None:
            return
        for row in rows:
            if row.id <= self._loaded_upto:
                self._enqueue(_Item(row))
        self.wake()

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
        limit = self._limit(item.chat_id)
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
        if rows:
            self._idle.clear()
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
        """Wait for this send's slot in the even schedule (and for a flood pause to end). The global window
        itself is kept where the request leaves (`_leave`)."""
        now = self.clock.monotonic()
        while not self.stopping:
            start = max(self._next_slot, self._paused_until)
            if start <= now:
                break
            self._wake.clear()
            await self._sleep(start - now)
            now = self.clock.monotonic()
        # A send held back (by the window, through the requests in flight, or by a slow loop) may take back
        # up to m of the schedule: what holds sends back varies by about m, and losing that slack each time
        # would add up to a slower rate. No more than m, so that a stall does not come out as one burst.
        self._next_slot = max(self._next_slot, now - self._margin()) + self.config.spacing

    async def _leave(self, item: _Item) -> None:
        """Wait for the request's turn in the global window, taken when it is ready to leave: claiming its
        row before takes a varying while (the database), which a turn taken at dispatch would have to
        allow for."""
        async with self._gate:
            while True:
                now = self.clock.monotonic()
                opens = self._window.opens_at(self._margin())
                if opens <= now:
                    break
                self._waiting_on = self._window.oldest
                self._answer.clear()
                await self._sleep(opens - now, self._answer)
            self._waiting_on = None
            item.send = self._window.leave(now)

    def _margin(self) -> float:
        """How far arrivals may drift from departures now: the spread of recent round trips, within bounds."""
        spread = max(self._round_trips) - min(self._round_trips) if len(self._round_trips) >= 8 else 0.0
        margin = min(self.config.max_margin, max(self.config.margin, spread))
        self.stats.widest_margin = max(self.stats.widest_margin, margin)
        return margin

    async def _sleep(self, seconds: float | None, wake: asyncio.Event | None = None) -> None:
        """Until woken (new rows, a finished request, stop; or `wake`, when given) or, when given, `seconds`
        have passed."""
        if seconds is None:
            # Another process (a web worker's "send now", the CLI, another scheduler) may queue rows and
            # cannot wake this one: look again after a short while, in real time.
            try:
                await asyncio.wait_for(self._wake.wait(), self.config.poll_seconds)
            except TimeoutError:
                self._poll()
            return
        sleeper = asyncio.ensure_future(self.clock.sleep(max(0.0, seconds)))
        waker = asyncio.ensure_future((wake or self._wake).wait())
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
            if not await self.repo.mark_sending(row.id, self.engine_id):
                await self.repo.mark_cancelled(row.id, "the subscription stopped or paused")
                self._record(item, Outcome.CANCELLED)
                return
            await self._send(item, payload)
        except Exception:
            # Only the ledger itself can fail here; the row stays as it was and the log has why.
            log.exception("delivery %s to chat %s could not be recorded", row.id, row.chat_id)
        finally:
            self._answered(item)
            self._busy_chats.discard(row.chat_id)
            self._reschedule(row.chat_id)
            self._slots.release()

    async def _send(self, item: _Item, rendered: Rendered) -> None:
        row = item.delivery
        message = Outgoing(
            row.chat_id,
            rendered.text,
            rendered.reply_markup,
            self.config.paid,
            thread_id=row.thread_id,
            silent=row.silent,
            link_previews=row.link_previews,
        )
        await self._leave(item)
        sent_at = self.clock.monotonic()
        try:
            message_id = await self.sender.send(message, self.config.request_timeout)
        except SendRefused as refused:
            self._answered(item)
            self._chat_answered(item)
            if refused.answered:
                self._round_trips.append(self.clock.monotonic() - sent_at)
            await self._refused(item, refused, sent_at)
        else:
            self._answered(item)
            self._chat_answered(item)
            self._round_trips.append(self.clock.monotonic() - sent_at)
            self._note_sent(row.id, message_id)
            self._record(item, Outcome.SENT, sent_at)

    def _answered(self, item: _Item) -> None:
        """The request is over (answered, refused, failed, or given up): Telegram counted it by now if at
        all, which is what the request `per_second` places later waits for."""
        send = item.send
        if send is not None and send.answered is None:
            send.answered = self.clock.monotonic()
            if send is self._waiting_on:
                self._answer.set()

    def _limit(self, chat_id: int) -> ChatLimit:
        return self.config.private_chat if chat_id > 0 else self.config.group_chat

    def _chat_answered(self, item: _Item) -> None:
        """A chat that may have one message a period: its next turn is a period after this answer, the latest
        moment Telegram counted this message. The chat waits for the answer anyway (one request at a time per
        chat), so this needs no margin and holds however long the claim and the network took; the turn taken
        at dispatch stands only for requests never answered."""
        limit = self._limit(item.chat_id)
        if limit.count == 1:
            self._chat_next[item.chat_id] = self.clock.monotonic() + limit.period

    async def _refused(self, item: _Item, refused: SendRefused, sent_at: float) -> None:
        row = item.delivery
        kind = refused.refusal
        if kind is Refusal.FLOOD:
            self._flood(refused.retry_after)
            await self.repo.mark_retry(row.id, f"429: retry after {refused.retry_after}")
            # Refused, so not counted by Telegram: the chat keeps its turn, and the row is first in line
            # again once the pause is over.
            self._chat_next[row.chat_id] = item.chat_was_free_at
            self._enqueue(item, first=True)
            self._record(item, Outcome.FLOOD, sent_at)
        elif kind is Refusal.GONE:
            await self._block(item, refused.reason, refused.description, sent_at)
        elif kind is Refusal.REJECTED:
            log.error("Telegram refused delivery %s to %s: %s", row.id, row.chat_id, refused.description)
            await self.repo.mark_failed(row.id, refused.description)
            self._record(item, Outcome.FAILED, sent_at)
        elif kind is Refusal.MOVED:
            await self.repo.mark_failed(row.id, refused.description)
            self._record(item, Outcome.FAILED, sent_at)
        else:
            # 5xx, timeouts, connection errors: Telegram or the way to it is unwell; try again later.
            await self._retry(item, refused.description, sent_at)

    def _note_sent(self, delivery_id: int, message_id: int) -> None:
        """Sent rows are marked in batches: one write for many instead of one each. Until its batch is
        written a row stays `sending`, which a restart makes `unknown`: a crash meanwhile resends nothing."""
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
                    "could not mark %d deliveries as sent; they stay in doubt (unknown after a restart), "
                    "never resent on their own",
                    len(batch),
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

    async def _payload(self, digest_id: int) -> Rendered | None:
        if digest_id not in self._payloads:
            if len(self._payloads) >= 64:
                self._payloads.pop(next(iter(self._payloads)))
            self._payloads[digest_id] = await self.repo.payload(digest_id)
        return self._payloads[digest_id]

    def _record(self, item: _Item, outcome: Outcome, at: float | None = None) -> None:
        if self.observer is not None:
            self.observer.delivered(outcome)
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
