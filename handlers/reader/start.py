"""/start (with deep links to a document), /help and the main menu."""

from __future__ import annotations

import re

from aiogram import Bot, F, Router, html
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.reader import ReaderService
from handlers.callbacks import Menu, MenuAction
from handlers.ui import keyboards, views

_DOC_LINK = re.compile(r"^doc_(\d{1,12})$")


def make_router() -> Router:
    router = Router(name=__name__)
    router.message.register(start_deep_link, CommandStart(deep_link=True))
    router.message.register(start, CommandStart())
    router.message.register(help_command, Command("help"))
    router.callback_query.register(menu_help, MenuAction.filter(F.action == Menu.HELP))
    router.callback_query.register(menu_search, MenuAction.filter(F.action == Menu.SEARCH))
    router.callback_query.register(menu_latest, MenuAction.filter(F.action == Menu.LATEST))
    return router


def help_text(username: str) -> str:
    return "\n".join(
        [
            _(
                "I follow the news about Alatau City: its special status, laws, council meetings and projects."
            ),
            "",
            _("/latest — the newest texts"),
            _("/summary — the latest news in brief, one line per story"),
            _("/search words — search (or just send me the words)"),
            _("/subscribe — digests on your schedule"),
            _("/settings, /pause, /resume, /unsubscribe — manage your digests"),
            _("/lang — interface language"),
            "",
            _("How to search:"),
            _("• криптовалюта — every form of the word: криптовалютой, криптовалюты…"),
            _("• указ президента — texts with all the words"),
            _('• "специальный правовой режим" — the exact phrase'),
            _("• Алатау -аэропорт — exclude a word"),
            _("• крипто* — words that start so"),
            _("In any chat, type @{bot} and a query to share a text.").format(bot=html.quote(username)),
        ]
    )


async def _username(bot: Bot) -> str:
    me = await bot.me()
    return me.username or "bot"


async def start_deep_link(
    message: Message, command: CommandObject, reader: ReaderService, i18n: I18n
) -> None:
    match = _DOC_LINK.match(command.args or "")
    if match is None:
        await start(message)
        return
    screen = views.card_screen(await reader.card(int(match.group(1))), i18n.current_locale)
    await message.answer(screen.text, reply_markup=screen.markup)


async def start(message: Message) -> None:
    name = message.from_user.first_name if message.from_user else ""
    text = _(
        "Hello, {name}! I collect the news about Alatau City from many outlets and make it easy to follow."
    )
    await message.answer(
        text.format(name=html.quote(name)) + "\n\n" + _("Send me any words to search, or choose:"),
        reply_markup=keyboards.main_menu(),
    )


async def help_command(message: Message, bot: Bot) -> None:
    await message.answer(help_text(await _username(bot)))


async def menu_help(query: CallbackQuery, bot: Bot) -> None:
    if query.message:
        await query.message.answer(help_text(await _username(bot)))


async def menu_search(query: CallbackQuery) -> None:
    if query.message:
        await query.message.answer(views.search_prompt())


async def menu_latest(query: CallbackQuery, reader: ReaderService, i18n: I18n) -> None:
    screen = views.latest_screen(await reader.latest(), i18n.current_locale)
    if query.message:
        await query.message.answer(screen.text, reply_markup=screen.markup)
