"""Time for the scheduler and the delivery engine, injectable so that tests move it instead of sleeping."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (pacing and pauses)."""

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ManualClock:
    """Time that moves only when told: `set`/`advance` by the test, or `sleep`, which jumps ahead at once.

    A sleeper is the only thing waiting on this clock, so jumping is what real time would do, minus the wait;
    pass `monotonic` to the emulator (BotAPIEmulator(clock=...)) and both sides of a rate limit agree.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the start time must be timezone-aware")
        self._now = start.astimezone(UTC)
        self._mono = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def set(self, when: datetime) -> None:
        """Jump the wall clock (either way, like a clock being corrected); the monotonic one only goes on."""
        if when.tzinfo is None:
            raise ValueError("the time must be timezone-aware")
        when = when.astimezone(UTC)
        if when > self._now:
            self._mono += (when - self._now).total_seconds()
        self._now = when

    def advance(self, delta: timedelta | float) -> None:
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        if seconds < 0:
            raise ValueError("time does not go back")
        self._mono += seconds
        self._now += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)
        # Still a suspension point, as a real sleep is: other tasks get their turn.
        await asyncio.sleep(0)
