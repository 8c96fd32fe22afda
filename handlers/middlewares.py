"""Outer middlewares: the user's interface language, and a per-user flood throttle."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import CallbackQuery, Message, TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from aiogram.utils.i18n import gettext as _

from bot.i18n import pick_language
from storage.users import UserRepository

log = logging.getLogger(__name__)


class LanguageMiddleware(I18nMiddleware):
    """The stored /lang choice, else the Telegram client's language, else the default (Russian)."""

    def __init__(self, i18n: I18n, users: UserRepository, default: str) -> None:
        super().__init__(i18n)
        self.users = users
        self.default = default
        # user id → stored choice (None: never chose); a small cache that saves a query per update.
        self._known: dict[int, str | None] = {}

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("event_from_user")
        if user is None:
            return self.default
        if user.id not in self._known:
            stored = await self.users.get(user.id)
            if stored is None:
                await self.users.touch(user.id, user.first_name, user.username)
            self._known[user.id] = stored.language if stored else None
        return pick_language(self._known[user.id], user.language_code, self.default)

    async def set_language(self, user_id: int, code: str) -> None:
        await self.users.set_language(user_id, code)
        self._known[user_id] = code


class ThrottleMiddleware(BaseMiddleware):
    """A token bucket per user: bursts are fine, a flood gets one polite "slow down" and then silence
    until the bucket refills — never a crash, never a reply per flooded message."""

    def __init__(
        self,
        rate: float,
        burst: int = 5,
        clock: Callable[[], float] = time.monotonic,
        exempt: Iterable[int] = (),
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        # Admins are trusted, and an album of files they upload arrives as a burst of messages.
        self.exempt = frozenset(exempt)
        self._buckets: dict[int, tuple[float, float, bool]] = {}  # user → (tokens, last time, warned)

    def allow(self, user_id: int) -> tuple[bool, bool]:
        """(allowed, should_warn)."""
        now = self.clock()
        tokens, last, warned = self._buckets.get(user_id, (float(self.burst), now, False))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[user_id] = (tokens - 1, now, False)
            return True, False
        self._buckets[user_id] = (tokens, now, True)
        return False, not warned

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or user.id in self.exempt:
            return await handler(event, data)
        allowed, warn = self.allow(user.id)
        if allowed:
            return await handler(event, data)
        log.info("throttled user %s", user.id)
        if isinstance(event, CallbackQuery):
            await event.answer(_("Too fast — please wait a moment."), show_alert=warn)
        elif warn and isinstance(event, Message):
            await event.answer(_("Too fast — please wait a moment and try again."))
        return None


class AdminMenuMiddleware(BaseMiddleware):
    """Sets an admin's command menu on their first message when start-up could not (Telegram refuses a
    menu for a chat that has never talked to the bot)."""

    def __init__(
        self,
        admin_ids: frozenset[int],
        done: set[int],
        ensure: Callable[[Bot, int], Awaitable[None]],
    ) -> None:
        self.admin_ids = admin_ids
        self.done = done
        self.ensure = ensure

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is not None and user.id in self.admin_ids and user.id not in self.done:
            await self.ensure(data["bot"], user.id)
        return await handler(event, data)
