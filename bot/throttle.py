"""The flood throttle's token buckets, one per user: in this process's memory, or shared by every process
of the bot (bot/app/redis_app.py) when several answer the same users."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class Buckets(Protocol):
    async def take(self, user_id: int) -> tuple[bool, bool]:
        """Takes a token from the user's bucket: (allowed, warn). `warn` is true once per flood: for the
        first refused update after an allowed one."""
        ...


class MemoryBuckets:
    """Buckets of this process: right for one process, and the fastest."""

    def __init__(self, rate: float, burst: int = 5, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[int, tuple[float, float, bool]] = {}  # user → (tokens, last time, warned)

    def allow(self, user_id: int) -> tuple[bool, bool]:
        now = self.clock()
        tokens, last, warned = self._buckets.get(user_id, (float(self.burst), now, False))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[user_id] = (tokens - 1, now, False)
            return True, False
        self._buckets[user_id] = (tokens, now, True)
        return False, not warned

    async def take(self, user_id: int) -> tuple[bool, bool]:
        return self.allow(user_id)
