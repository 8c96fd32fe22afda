"""The bot's command menus: the reader commands for everyone (per language), the admin commands per admin."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from aiogram.utils.i18n import I18n

from bot.i18n import LANGUAGES, N_

log = logging.getLogger(__name__)

# (command, description msgid); descriptions are translated per language for setMyCommands.
READER_COMMANDS = [
    ("start", N_("Start and main menu")),
    ("latest", N_("The newest texts")),
    ("summary", N_("The latest news in brief")),
    ("search", N_("Search the texts")),
    ("subscribe", N_("Digests on your schedule")),
    ("settings", N_("Your digest settings")),
    ("pause", N_("Pause digests")),
    ("resume", N_("Resume digests")),
    ("unsubscribe", N_("Stop digests")),
    ("lang", N_("Interface language")),
    ("help", N_("What I can do")),
]
# Shown only to admins (a chat scope per admin), after the reader commands.
ADMIN_COMMANDS = [
    ("add", N_("Add a text")),
    ("docs", N_("Manage the texts")),
    ("undo", N_("Restore the text deleted last")),
    ("stats", N_("Statistics")),
    ("log", N_("Audit log")),
    ("channel", N_("Channels: add, list, remove")),
    ("digest", N_("Digest preview or send")),
    ("sources", N_("Feeds and channels followed")),
    ("source", N_("A source: add, filter, pause, poll")),
]


async def set_commands(bot: Bot, i18n: I18n) -> None:
    for lang in LANGUAGES:
        commands = [
            BotCommand(command=c, description=i18n.gettext(d, locale=lang)) for c, d in READER_COMMANDS
        ]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=lang)
    default = [BotCommand(command=c, description=i18n.gettext(d, locale="ru")) for c, d in READER_COMMANDS]
    await bot.set_my_commands(default, scope=BotCommandScopeDefault())


async def set_admin_commands(bot: Bot, i18n: I18n, admin_id: int) -> bool:
    """The admin's own command menu (a chat scope: nobody else sees these commands). False when Telegram
    refuses, as it does for an admin who has never opened the bot."""
    for lang in (None, *LANGUAGES):
        locale = lang or "ru"
        commands = [
            BotCommand(command=c, description=i18n.gettext(d, locale=locale))
            for c, d in [*READER_COMMANDS, *ADMIN_COMMANDS]
        ]
        try:
            await bot.set_my_commands(
                commands, scope=BotCommandScopeChat(chat_id=admin_id), language_code=lang
            )
        except TelegramAPIError as exc:
            log.warning("could not set the admin command menu for %s yet: %s", admin_id, exc)
            return False
    return True


class AdminMenus:
    """Admin menus are set at start-up; one Telegram refused then is set on that admin's first update."""

    def __init__(self, i18n: I18n, admin_ids: frozenset[int]) -> None:
        self.i18n = i18n
        self.admin_ids = admin_ids
        self.done: set[int] = set()

    async def set_all(self, bot: Bot) -> None:
        for admin_id in sorted(self.admin_ids):
            await self.ensure(bot, admin_id)

    async def ensure(self, bot: Bot, admin_id: int) -> None:
        if (
            admin_id in self.admin_ids
            and admin_id not in self.done
            and await set_admin_commands(bot, self.i18n, admin_id)
        ):
            self.done.add(admin_id)
