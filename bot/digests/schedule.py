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
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo, available_timezones

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import Clock
from bot.digests.builder import DigestBuilder, DigestContent, stories_to_json
from bot.digests.delivery import DeliveryEngine
from storage.interfaces import DeliveryStore, SubscriptionStore
from storage.models import Frequency, NewDigest, Subscription, Target
from storage.models import Rendered as Rendered

log = logging.getLogger(__name__)

# How often the job looks for due subscriptions: a digest is at most this late.
TICK_SECONDS = 15.0
# Saves that come in a burst (a bulk upload) make one instant digest, not one each.
INSTANT_DELAY_SECONDS = 3.0
# Settled digests and their ledger rows are kept this long.
KEEP_DIGESTS = timedelta(days=30)

# Offered as buttons; anything else can be typed.
COMMON_ZONES = (
    "Asia/Almaty",
    "Asia/Tashkent",
    "Asia/Bishkek",
    "Europe/Moscow",
    "Europe/Istanbul",
    "Asia/Dubai",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "UTC",
)
DEFAULT_LOCAL_TIME = "09:00"

_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+\-−])\s*(\d{1,2})(?:[:.]?(\d{2}))?$", re.IGNORECASE)
_UTC_NAMES = {"utc", "gmt", "z", "utc+0", "utc-0", "gmt+0", "+0", "-0", "0"}
_TIME = re.compile(r"^(\d{1,2})(?:\s*[:.]\s*(\d{2})|\s*[hч]\s*(\d{2})?)?$", re.IGNORECASE)


# -- zones and times ---------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    """Lower-case name → IANA name, plus each zone's last part ("almaty" → "Asia/Almaty") when unique."""
    names = {z.lower(): z for z in available_timezones()}
    by_city: dict[str, list[str]] = {}
    for z in available_timezones():
        if "/" in z and not z.startswith(("Etc/", "SystemV/")):
            by_city.setdefault(z.rsplit("/", 1)[1].lower().replace("_", " "), []).append(z)
    for city, zones in by_city.items():
        if len(zones) == 1:
            names.setdefault(city, zones[0])
            names.setdefault(city.replace(" ", "_"), zones[0])
    return names


def parse_timezone(text: str) -> str | None:
    """What a person typed as a zone: an IANA name in any case, a city ("Almaty"), or a UTC offset
    ("+5", "UTC+05:30", "GMT-3"). Returns the stored form (the IANA name, or "UTC+05:30"), or None."""
    raw = " ".join(text.strip().split())
    if not raw or len(raw) > 64:
        return None
    if raw.lower() in _UTC_NAMES:
        return "UTC"
    m = _OFFSET.match(raw)
    if m:
        sign = -1 if m.group(1) in "-−" else 1
        hours, minutes = int(m.group(2)), int(m.group(3) or 0)
        total = sign * (hours * 60 + minutes)
        if minutes >= 60 or not -12 * 60 <= total <= 14 * 60:
            return None
        if total == 0:
            return "UTC"
        return f"UTC{'+' if total > 0 else '-'}{abs(total) // 60:02d}:{abs(total) % 60:02d}"
    return _zone_names().get(raw.lower()) or _zone_names().get(raw.lower().replace(" ", "_"))


def zone(name: str) -> tzinfo:
    """The tzinfo of a stored zone name; raises ValueError for one that is not (a corrupted row)."""
    if name == "UTC":
        return UTC
    if name.startswith("UTC") and len(name) == 9:
        sign = -1 if name[3] == "-" else 1
        return timezone(sign * timedelta(hours=int(name[4:6]), minutes=int(name[7:9])))
    if name not in _zone_names().values():
        raise ValueError(f"unknown time zone {name!r}")
    return ZoneInfo(name)


def utc_offset(name: str, at: datetime) -> str:
    """ "UTC+5", "UTC-3:30": the zone's offset at that moment, for buttons and confirmations."""
    offset = at.astimezone(zone(name)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    h, m = divmod(abs(minutes), 60)
    return f"UTC{sign}{h}" + (f":{m:02d}" if m else "")


def parse_local_time(text: str) -> str | None:
    """ "9", "9:30", "09.30", "21h" → "HH:MM"; None for anything else."""
    m = _TIME.match(text.strip())
    if not m:
        return None
    hours, minutes = int(m.group(1)), int(m.group(2) or m.group(3) or 0)
    if hours > 23 or minutes > 59:
        return None
    return f"{hours:02d}:{minutes:02d}"


def next_due(
    frequency: Frequency, local_time: str, zone_name: str, weekday: int | None, after: datetime
) -> datetime | None:
    """The first moment strictly after `after` (UTC) when the digest is due; None for instant digests.

    Computed in the subscriber's zone, a day at a time, so that a DST change moves nothing: 09:00 stays
    09:00 local. A time that does not exist that day (a spring-forward gap) happens as the clock jumps
    over it (02:30 → 03:30, Python's fold=0 reading); one that exists twice (autumn) happens once, the
    first time.
    """
    if frequency is Frequency.INSTANT:
        return None
    tz = zone(zone_name)
    at = time.fromisoformat(local_time)
    day = after.astimezone(tz).date()
    # Eight days cover a weekly slot; the ninth covers a local date that lags `after` by a gap day.
    for offset in range(9):
        candidate_day = day + timedelta(days=offset)
        if frequency is Frequency.WEEKLY and candidate_day.weekday() != (weekday or 0):
            continue
        candidate = datetime.combine(candidate_day, at, tzinfo=tz).astimezone(UTC)
        if candidate > after:
            return candidate
    raise AssertionError("a slot exists in every week")  # pragma: no cover


def due_after(sub: Subscription, after: datetime) -> datetime | None:
    return next_due(sub.frequency, sub.local_time, sub.timezone, sub.weekday, after)


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
        self._aps = AsyncIOScheduler(timezone=UTC)
        # First run right away: after a downtime, what fell due meanwhile goes out now.
        self._aps.add_job(
            self._scheduled_tick,
            IntervalTrigger(seconds=self.tick_seconds),
            id="digests",
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        self._aps.start()

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

    async def send_now(self, chat_id: int) -> TickReport | None:
        """A digest for one chat now, whatever its schedule (which stays as it is). None: no such active
        subscription."""
        async with self._lock:
            sub = await self.subscriptions.get(chat_id)
            if sub is None or not sub.active:
                return None
            return await self._queue([sub], self.clock.now(), manual=True)

    async def preview(self, chat_id: int) -> tuple[Subscription, DigestContent] | None:
        """What the chat would get now, without queueing anything or moving its cursor."""
        sub = await self.subscriptions.get(chat_id)
        if sub is None:
            return None
        return sub, await self.builder.build(sub.cursor, sub.filter_query, sub.language)

    async def _queue(self, due: Sequence[Subscription], now: datetime, *, manual: bool) -> TickReport:
        # Subscribers with the same cursor, filter and language get the same digest: built and stored once
        # (after a scheduled run most cursors agree, so a broadcast to thousands is one digest).
        groups: dict[tuple[int, str, str], list[Subscription]] = {}
        for sub in due:
            groups.setdefault((sub.cursor, sub.filter_query.strip(), sub.language), []).append(sub)
        queued = digests = empty = failed = 0
        for (cursor, topic, language), members in groups.items():
            try:
                content = await self.builder.build(cursor, topic, language)
                targets = [
                    Target(s.id, s.chat_id, content.cursor_to, s.next_due if manual else due_after(s, now))
                    for s in members
                ]
                if content.empty:
                    await self.subscriptions.advance(
                        [(s.id, content.cursor_to, t.next_due) for s, t in zip(members, targets, strict=True)]
                    )
                    empty += len(members)
                    continue
                await self.deliveries.enqueue(
                    NewDigest(
                        language,
                        topic,
                        content.cursor_from,
                        content.cursor_to,
                        stories_to_json(content.stories),
                    ),
                    self._render_for(content, language),
                    targets,
                    now,
                )
            except Exception:
                log.exception("could not queue the digest for %d subscription(s)", len(members))
                failed += len(members)
                continue
            digests += 1
            queued += len(members)
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
