"""When digests are due, and the job that queues them.

The database is the source of truth: every subscription stores its next due time in UTC, computed from
the subscriber's local time and zone. An APScheduler job ticks every few seconds and queues whatever is
due; the tick reads time from an injectable clock, so tests move time instead of waiting for it. After a
downtime each late subscription is simply due, gets one digest, and its next time is computed from now:
one catch-up digest, not one per missed slot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock
from bot.digests.builder import DigestBuilder, DigestContent, stories_to_json
from bot.digests.delivery import DeliveryEngine
from bot.digests.times import COMMON_ZONES as COMMON_ZONES
from bot.digests.times import DEFAULT_LOCAL_TIME as DEFAULT_LOCAL_TIME
from bot.digests.times import due_after as due_after
from bot.digests.times import in_quiet_hours as in_quiet_hours
from bot.digests.times import is_first as is_first
from bot.digests.times import next_due as next_due
from bot.digests.times import parse_local_time as parse_local_time
from bot.digests.times import parse_timezone as parse_timezone
from bot.digests.times import quiet_end as quiet_end
from bot.digests.times import utc_offset as utc_offset
from bot.digests.times import zone as zone
from bot.periodic import start_periodic
from storage.interfaces import DeliveryStore, SubscriptionStore
from storage.models import Kind, NewDigest, Subscription, Target
from storage.models import Rendered as Rendered

log = logging.getLogger(__name__)

# How often the job looks for due subscriptions: a digest is at most this late.
TICK_SECONDS = 15.0
# Saves that come in a burst (a bulk upload) make one instant digest, not one each.
INSTANT_DELAY_SECONDS = 3.0
# Settled digests and their ledger rows are kept this long.
KEEP_DIGESTS = timedelta(days=30)

# -- the job -----------------------------------------------------------------------------------------------


class DigestRenderer(Protocol):
    """Turns a digest into the message every recipient of it gets (the handlers' layer implements it)."""

    def __call__(
        self, digest_id: int, content: DigestContent, language: str, bot_username: str
    ) -> Rendered: ...


@dataclass(frozen=True)
class TickReport:
    due: int = 0
    queued: int = 0  # deliveries queued
    digests: int = 0
    empty: int = 0  # due subscriptions with nothing new (no message)
    failed: int = 0  # subscriptions whose digest could not be built (see the log; retried next tick)


class DigestScheduler:
    def __init__(
        self,
        subscriptions: SubscriptionStore,
        deliveries: DeliveryStore,
        builder: DigestBuilder,
        engine: DeliveryEngine,
        renderer: DigestRenderer,
        clock: Clock,
        *,
        tick_seconds: float = TICK_SECONDS,
    ) -> None:
        self.subscriptions = subscriptions
        self.deliveries = deliveries
        self.builder = builder
        self.engine = engine
        self.renderer = renderer
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.bot_username = "bot"
        self._lock = asyncio.Lock()
        self._aps: AsyncIOScheduler | None = None
        self._instant: asyncio.Task[None] | None = None
        self._instant_again = False
        self._last_purge: datetime | None = None
        self._stopped = False

    async def start(self, bot_username: str) -> None:
        self.bot_username = bot_username
        self._stopped = False
        await self.engine.start()
        self._aps = start_periodic(self._scheduled_tick, self.tick_seconds, "digests")

    async def stop(self) -> None:
        # No new tick starts from here on (a job already started finds the flag once it has the lock)...
        self._stopped = True
        # ...and one in progress finishes first: shutting APScheduler down would cancel it mid-write.
        async with self._lock:
            if self._aps is not None:
                self._aps.shutdown(wait=False)
                self._aps = None
            if self._instant is not None:
                self._instant.cancel()
                await asyncio.gather(self._instant, return_exceptions=True)
                self._instant = None
            await self.engine.stop()

    # -- triggers -----------------------------------------------------------------------------------------

    async def _scheduled_tick(self) -> None:
        if self._stopped:
            return
        try:
            await self.tick()
        except Exception:
            log.exception("digest tick failed")

    def on_saved(self, doc_ids: list[int]) -> None:
        """New documents: instant subscribers are due. A burst of saves makes one tick after it settles.
        (The application subscribes this to the corpus's saves while the bot runs.)"""
        if self._instant is not None and not self._instant.done():
            self._instant_again = True
            return
        self._instant = asyncio.get_running_loop().create_task(self._instant_ticks())

    async def _instant_ticks(self) -> None:
        while True:
            self._instant_again = False
            await self.clock.sleep(INSTANT_DELAY_SECONDS)
            await self._scheduled_tick()
            if not self._instant_again:
                return

    # -- queueing -----------------------------------------------------------------------------------------

    async def tick(self) -> TickReport:
        """Queue a digest for every subscription that is due now."""
        async with self._lock:
            if self._stopped:
                return TickReport()
            now = self.clock.now()
            latest = await self.builder.latest_id()
            due = await self.subscriptions.due(now, latest)
            # Inside its quiet hours a subscription waits: due still, it goes out when they end.
            due = [s for s in due if not in_quiet_hours(s, now)]
            report = await self._queue(due, now, manual=False)
            await self._purge(now)
        if report.due:
            log.info(
                "digest tick: %d due, %d digests, %d deliveries queued, %d empty, %d failed",
                report.due,
                report.digests,
                report.queued,
                report.empty,
                report.failed,
            )
        return report

    async def send_now(self, chat_id: int, thread_id: int | None = None) -> TickReport | None:
        """A digest for one chat (a forum topic of it) now, whatever its schedule (which stays as it is).
        None: no such active subscription."""
        async with self._lock:
            sub = await self.subscriptions.get(chat_id, thread_id)
            if sub is None or not sub.active:
                return None
            return await self._queue([sub], self.clock.now(), manual=True)

    async def preview(
        self, chat_id: int, thread_id: int | None = None
    ) -> tuple[Subscription, DigestContent] | None:
        """What the chat (a forum topic of it) would get now, without queueing anything or moving its cursor."""
        sub = await self.subscriptions.get(chat_id, thread_id)
        if sub is None:
            return None
        content = await self.builder.build(sub.cursor, sub.filter_query, sub.language, first=is_first(sub))
        return sub, replace(content, headlines_only=sub.headlines_only)

    async def _queue(self, due: Sequence[Subscription], now: datetime, *, manual: bool) -> TickReport:
        # Subscribers with the same cursor, filter, language and kind of digest get the same digest: built and
        # stored once (after a scheduled run most cursors agree, so a broadcast to thousands is one digest).
        # How it is sent (a topic, silently, with previews) is each delivery's own.
        # A channel's or a group topic's digest is its own (its footer's links address that subscription).
        groups: dict[tuple[int, str, str, bool, bool, int | None], list[Subscription]] = {}
        for sub in due:
            own = sub.id if sub.kind is Kind.CHANNEL else None
            key = (sub.cursor, sub.filter_query.strip(), sub.language, sub.headlines_only, is_first(sub), own)
            groups.setdefault(key, []).append(sub)
        queued = digests = empty = failed = 0
        for (cursor, topic, language, headlines_only, first, own), members in groups.items():
            try:
                content = await self.builder.build(cursor, topic, language, first=first)
                content = replace(content, headlines_only=headlines_only, subscription_id=own)
                targets = [
                    Target(
                        s.id,
                        s.chat_id,
                        content.cursor_to,
                        s.next_due if manual else due_after(s, now),
                        thread_id=s.thread_id,
                        silent=s.silent,
                        link_previews=s.link_previews,
                        # Queued only if no other process queued it since it was read.
                        seen=(s.cursor, s.next_due),
                    )
                    for s in members
                ]
                if content.empty:
                    await self.subscriptions.advance(
                        [(s.id, content.cursor_to, t.next_due) for s, t in zip(members, targets, strict=True)]
                    )
                    empty += len(members)
                    continue
                stored = content.stories
                if headlines_only:
                    # "Show the rest" pages of this digest are headlines too.
                    stored = tuple(replace(story, line="") for story in stored)
                stored_as = await self.deliveries.enqueue(
                    NewDigest(
                        language, topic, content.cursor_from, content.cursor_to, stories_to_json(stored)
                    ),
                    self._render_for(content, language),
                    targets,
                    now,
                )
            except Exception:
                log.exception("could not queue the digest for %d subscription(s)", len(members))
                failed += len(members)
                continue
            if len(members) > stored_as.deliveries:
                log.info(
                    "%d of %d subscription(s) were queued by another process meanwhile",
                    len(members) - stored_as.deliveries,
                    len(members),
                )
            digests += 1 if stored_as.digest_id else 0
            queued += stored_as.deliveries
        if queued:
            self.engine.wake()
        return TickReport(due=len(due), queued=queued, digests=digests, empty=empty, failed=failed)

    def _render_for(self, content: DigestContent, language: str) -> Callable[[int], Rendered]:
        return lambda digest_id: self.renderer(digest_id, content, language, self.bot_username)

    async def _purge(self, now: datetime) -> None:
        if self._last_purge is not None and now - self._last_purge < timedelta(days=1):
            return
        self._last_purge = now
        removed = await self.deliveries.purge(now - KEEP_DIGESTS)
        if removed:
            log.info("forgot %d settled digest(s) older than %s", removed, KEEP_DIGESTS)
