"""Fault injection and Telegram-like flood control, both driven from the test side."""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from .errors import ApiError, forbidden, too_many_requests


class FaultKind(StrEnum):
    RETRY_AFTER = "retry_after"  # 429 Too Many Requests with parameters.retry_after
    BLOCKED = "blocked"  # 403 bot was blocked by the user
    KICKED = "kicked"  # 403 bot was kicked from the channel chat
    DEACTIVATED = "deactivated"  # 403 user is deactivated
    SERVER_ERROR = "server_error"  # 500 Internal Server Error
    BAD_GATEWAY = "bad_gateway"  # 502 Bad Gateway
    STALL = "stall"  # wait ``stall_seconds`` and then answer normally


@dataclass
class Fault:
    """An injected failure.  ``method``/``chat_id`` of None match any; ``times`` of None never runs out.

    A fault without a method never hits getUpdates: it would only make the bot's polling loop back off,
    which is rarely what a test means.  Name ``method="getUpdates"`` to target it.
    """

    kind: FaultKind
    method: str | None = None
    chat_id: int | str | None = None
    times: int | None = 1
    retry_after: int = 5
    stall_seconds: float = 1.0
    # Replaces the standard text, e.g. "Forbidden: bot was kicked from the group chat".
    description: str | None = None
    hits: int = 0

    def matches(self, method: str, chat_id: int | str | None) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is None:
            if method.lower() == "getupdates":
                return False
        elif self.method.lower() != method.lower():
            return False
        return self.chat_id is None or self.chat_id == chat_id

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def to_error(self) -> ApiError | None:
        error = self._standard_error()
        if error is not None and self.description is not None:
            error = ApiError(error.error_code, self.description, retry_after=error.retry_after)
        return error

    def _standard_error(self) -> ApiError | None:
        if self.kind is FaultKind.RETRY_AFTER:
            return too_many_requests(self.retry_after)
        if self.kind is FaultKind.BLOCKED:
            return forbidden("bot was blocked by the user")
        if self.kind is FaultKind.KICKED:
            return forbidden("bot was kicked from the channel chat")
        if self.kind is FaultKind.DEACTIVATED:
            return forbidden("user is deactivated")
        if self.kind is FaultKind.SERVER_ERROR:
            return ApiError(500, "Internal Server Error")
        if self.kind is FaultKind.BAD_GATEWAY:
            return ApiError(502, "Bad Gateway")
        return None


class FaultInjector:
    def __init__(self) -> None:
        self.faults: list[Fault] = []

    def add(
        self,
        kind: FaultKind | str,
        *,
        method: str | None = None,
        chat_id: int | str | None = None,
        times: int | None = 1,
        retry_after: int = 5,
        stall_seconds: float = 1.0,
        description: str | None = None,
    ) -> Fault:
        fault = Fault(
            FaultKind(kind),
            method=method,
            chat_id=chat_id,
            times=times,
            retry_after=retry_after,
            stall_seconds=stall_seconds,
            description=description,
        )
        self.faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        if fault in self.faults:
            self.faults.remove(fault)

    def clear(self) -> None:
        self.faults.clear()

    def take(self, method: str, chat_id: int | str | None) -> Fault | None:
        """The first fault that applies to this call, counted as used."""
        for fault in self.faults:
            if fault.matches(method, chat_id):
                fault.hits += 1
                return fault
        return None


@dataclass(frozen=True)
class RateLimit:
    count: int
    period: float  # seconds


@dataclass(frozen=True)
class RateLimitConfig:
    """Flood limits for sending methods; Telegram's published defaults, any of them may be None (off)."""

    global_limit: RateLimit | None = RateLimit(30, 1.0)
    private_chat: RateLimit | None = RateLimit(1, 1.0)
    group_chat: RateLimit | None = RateLimit(20, 60.0)  # groups, supergroups and channels


@dataclass
class EmulatorStats:
    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)
    injected_faults: Counter[str] = field(default_factory=Counter)
    self_inflicted_429: int = 0  # 429s produced by the flood limits, i.e. the bot sent too fast
    dropped_updates: int = 0  # driver updates not delivered because of allowed_updates


class RateLimiter:
    """Sliding-window limits; a refused send is not counted against the window."""

    def __init__(self, config: RateLimitConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self._clock = clock
        self._windows: dict[tuple[str, int], deque[float]] = {}

    def check(self, chat_id: int, chat_type: str) -> int | None:
        """Seconds to wait if this send would exceed a limit, else None (and the send is recorded)."""
        now = self._clock()
        chat_limit = self.config.private_chat if chat_type == "private" else self.config.group_chat
        keyed = [(("global", 0), self.config.global_limit), (("chat", chat_id), chat_limit)]
        wait = 0.0
        for key, limit in keyed:
            if limit is None:
                continue
            window = self._windows.setdefault(key, deque())
            while window and window[0] <= now - limit.period:
                window.popleft()
            if len(window) >= limit.count:
                wait = max(wait, window[0] + limit.period - now)
        if wait > 0:
            return max(1, math.ceil(wait))
        for key, limit in keyed:
            if limit is not None:
                self._windows[key].append(now)
        return None
