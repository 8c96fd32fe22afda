"""How fast digests may go: Telegram's limits and the engine's settings for staying within them."""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass

log = logging.getLogger(__name__)

# Round trips remembered for the arrival-time allowance: about a second's worth at high rates.
ROUND_TRIPS = 256
# Chats whose next turn is remembered before the map is pruned of turns already come.
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
    # Sends may arrive this much later (or earlier) than they leave: loop lag, connection reuse, the network.
    # The least allowance; the engine raises it while round trips vary more than this. The global window
    # needs it only for a request not answered a second later; per-chat spacing and the catch-up of the
    # even schedule use it as it is.
    margin: float = 0.02
    max_margin: float = 0.5
    max_in_flight: int = 0  # 0: from the rate (enough to hide Telegram's latency at that rate)
    request_timeout: float = 30.0
    batch: int = 500  # ledger rows loaded at a time
    # Several processes: how often an idle engine looks for rows another process queued (real seconds),
    # how often it tells the others it is alive, and after how long without that it counts as gone (its
    # claims in doubt). Generous against a busy machine: a live engine's rows must never look abandoned.
    poll_seconds: float = 1.5
    heartbeat_seconds: float = 3.0
    stale_after: float = 20.0

    @classmethod
    def for_rate(cls, broadcast_rate: float, allow_paid: bool) -> DeliveryConfig:
        """BROADCAST_RATE and ALLOW_PAID_BROADCAST as the engine applies them."""
        cap = PAID_BROADCAST_RATE if allow_paid else math.inf
        rate = min(broadcast_rate, cap)
        if rate > FREE_BROADCAST_RATE and not allow_paid:
            log.warning(
                "BROADCAST_RATE=%s is above Telegram's free %s/s; expect 429s unless ALLOW_PAID_BROADCAST",
                rate,
                FREE_BROADCAST_RATE,
            )
        return cls(rate=rate, paid=allow_paid and rate > FREE_BROADCAST_RATE)

    @property
    def spacing(self) -> float:
        """The even gap between sends at the configured rate (the global window is kept by `SendWindow`)."""
        return 1.0 / self.rate

    @property
    def per_second(self) -> int:
        """Sends any one-second window may hold: the rate's whole part (at least one)."""
        return max(1, math.floor(self.rate))

    @property
    def in_flight(self) -> int:
        if self.max_in_flight > 0:
            return self.max_in_flight
        # Up to a quarter of a second of sends in flight; aiohttp's pool holds 100 connections.
        return max(4, min(100, math.ceil(self.rate / 4)))


@dataclass(slots=True)
class Send:
    """One request as the global window sees it: Telegram counts it at some moment after `start` (when it
    left) and before `answered` (when its answer, or its failure, came back)."""

    start: float
    answered: float | None = None


class SendWindow:
    """Telegram's global limit, `count` requests in any sliding `period`, kept from what the engine knows for
    sure rather than from a schedule: a request may leave only a period after the moment the request `count`
    places before it was counted at the latest. Its answer bounds that moment (Telegram counted it before
    answering), and the new one is counted after it leaves, so any `count` + 1 consecutive requests span at
    least a period, whatever the network and the loop did meanwhile. The cost is one round trip per period,
    not a margin. An answer not back by then (a round trip longer than the period) is the one guess left:
    that request is taken as counted within `margin` of leaving."""

    def __init__(self, count: int, period: float = 1.0) -> None:
        self.count = max(1, count)
        self.period = period
        self._sends: deque[Send] = deque(maxlen=self.count)

    def opens_at(self, margin: float) -> float:
        """The earliest moment the next request may leave."""
        if len(self._sends) < self.count:
            return -math.inf
        oldest = self._sends[0]
        if oldest.answered is not None:
            return oldest.answered + self.period
        return oldest.start + margin + self.period

    @property
    def oldest(self) -> Send | None:
        """The request the next one waits for, once the window is full."""
        return self._sends[0] if len(self._sends) == self.count else None

    def leave(self, now: float) -> Send:
        send = Send(now)
        self._sends.append(send)
        return send
