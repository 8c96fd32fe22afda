"""Middlewares: who is seen, the user's interface language, a per-user flood throttle, answers to button
presses, and the admins' command menus."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.flags import get_flag
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message, TelegramObject, User
from aiogram.utils.callback_answer import CallbackAnswerMiddleware
from aiogram.utils.i18n import I18n, I18nMiddleware
from aiogram.utils.i18n import gettext as _

from bot.i18n import pick_language
from bot.throttle import Buckets, MemoryBuckets
from bot.users import UserService
from handlers.ui.edit import is_query_too_old

log = logging.getLogger(__name__)


Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class _SenderMiddleware(BaseMiddleware):
    """Does something about the person who sent an update, then lets the update through."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is not None:
            await self.before(user, data)
        return await handler(event, data)

    async def before(self, user: User, data: dict[str, Any]) -> None:
        raise NotImplementedError


class SeenUsersMiddleware(_SenderMiddleware):
    """Tells the user service who sent each update: that is where a person is registered on first contact."""

    def __init__(self, users: UserService) -> None:
        self.users = users

    async def before(self, user: User, data: dict[str, Any]) -> None:
        await self.users.seen(user.id, user.first_name, user.username)


class LanguageMiddleware(I18nMiddleware):
    """The stored /lang choice, else the Telegram client's language, else the default (Russian)."""

    def __init__(self, i18n: I18n, users: UserService, default: str) -> None:
        super().__init__(i18n)
        self.users = users
        self.default = default

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("event_from_user")
        if user is None:
            return self.default
        return pick_language(await self.users.language(user.id), user.language_code, self.default)


class CallbackAnswers(CallbackAnswerMiddleware):
    """Answers every button press after its handler (Telegram shows a spinner until then); a handler says
    something in the answer through its `callback_answer` (handlers.ui.edit.alert), never query.answer().

    Unlike aiogram's own, it leaves a press whose handler failed unanswered: the error handler answers that
    one with an apology, and a query can be answered only once.
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, CallbackQuery):
            return await handler(event, data)
        answer = data["callback_answer"] = self.construct_callback_answer(get_flag(data, "callback_answer"))
        if not answer.disabled and answer.answered:
            await self.answer(event, answer)
        result = await handler(event, data)
        if not answer.disabled and not answer.answered:
            try:
                await self.answer(event, answer)
            except TelegramBadRequest as error:
                # Too late (a slow handler) or twice: the person no longer waits for this answer.
                if not is_query_too_old(error):
                    raise
                log.info("button press %s was answered already or too late", event.id)
        return result


class ThrottleMiddleware(BaseMiddleware):
    """A token bucket per user: bursts are fine, a flood gets one polite "slow down" and then silence
    until the bucket refills — never a crash, never a reply per flooded message. The buckets are this
    process's, or shared by all the bot's processes (`buckets`, from bot/app when Redis is configured)."""

    def __init__(
        self,
        rate: float,
        burst: int = 5,
        clock: Callable[[], float] = time.monotonic,
        exempt: Iterable[int] = (),
        buckets: Buckets | None = None,
    ) -> None:
        self.buckets: Buckets = buckets or MemoryBuckets(rate, burst, clock)
        # Admins are trusted, and an album of files they upload arrives as a burst of messages.
        self.exempt = frozenset(exempt)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or user.id in self.exempt:
            return await handler(event, data)
        allowed, warn = await self.buckets.take(user.id)
        if allowed:
            return await handler(event, data)
        log.info("throttled user %s", user.id)
        if isinstance(event, CallbackQuery):
            await event.answer(_("Too fast — please wait a moment."), show_alert=warn)
        elif warn and isinstance(event, Message):
            await event.answer(_("Too fast — please wait a moment and try again."))
        return None


class AdminMenuMiddleware(_SenderMiddleware):
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

    async def before(self, user: User, data: dict[str, Any]) -> None:
        if user.id in self.admin_ids and user.id not in self.done:
            await self.ensure(data["bot"], user.id)
