"""Filters shared by the routers.

`IsAdmin` is the one place that decides who is an admin: it is set as a router-level filter on every admin
router, so no command, forged callback data, file or forwarded post from anyone else reaches an admin
handler. It is async on purpose: aiogram runs synchronous filters in a worker thread, one hop per update —
magic filters (`F.text`) and bare `State`s included; every filter here is async, and a test checks that no
router uses any other kind.
"""

from __future__ import annotations

from aiogram.enums import ChatType
from aiogram.filters import Command, Filter
from aiogram.types import Message, TelegramObject, User

from bot.app.settings import Settings


class IsAdmin(Filter):
    """True when the update comes from a user listed in ADMIN_IDS (`settings.admin_ids`)."""

    async def __call__(
        self, event: TelegramObject, settings: Settings, event_from_user: User | None = None
    ) -> bool:
        return event_from_user is not None and event_from_user.id in settings.admin_ids


class PrivateChat(Filter):
    """A message in a private chat with the bot (not a group, not a channel)."""

    async def __call__(self, message: Message) -> bool:
        return message.chat.type == ChatType.PRIVATE


class PlainText(Filter):
    """A text message that is not a command: what a person types as an answer or a search."""

    async def __call__(self, message: Message) -> bool:
        text = message.text
        return bool(text and not text.startswith("/"))


class SlashCommand(Filter):
    """A text that starts with "/" (`~SlashCommand()`: anything else, a photo or a sticker included).
    Written out rather than as `F.text.startswith("/")`: aiogram runs a magic filter in a worker thread."""

    async def __call__(self, message: Message) -> bool:
        text = message.text
        return text is not None and text.startswith("/")


class MaybeCommand(Filter):
    """What aiogram's Command filter could take: a text or a caption that starts with "/". As a router's
    filter in front of command handlers, a search skips them all at once rather than failing each in turn."""

    async def __call__(self, message: Message) -> bool:
        text = message.text or message.caption
        return text is not None and text.startswith("/")


class HasDocument(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.document is not None


class Forwarded(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.forward_origin is not None


class CarriesUpload(Filter):
    """A message that would be an upload from an admin: a file, or a forwarded post."""

    async def __call__(self, message: Message) -> bool:
        return message.document is not None or message.forward_origin is not None


def command(*names: str) -> Command:
    """A command filter that ignores case: people type /ADD or /Docs too (phone keyboards capitalise)."""
    return Command(*names, ignore_case=True)
