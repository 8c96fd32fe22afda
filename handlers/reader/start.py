"""/start (with deep links to a document), /help and the main menu."""

from __future__ import annotations

import re

from aiogram import Bot, F, Router, html
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.admin.documents import DocumentService
from bot.app.settings import Settings
from bot.reader import ReaderService
from handlers.admin import documents as admin_documents
from handlers.callbacks import Menu, MenuAction
from handlers.filters import command
from handlers.subscriptions import links as digest_links
from handlers.ui import keyboards, views

_DOC_LINK = re.compile(r"^doc_(\d{1,12})$")


def make_router() -> Router:
    router = Router(name=__name__)
    router.message.register(digest_links.digest_link, digest_links.deep_link_filter())
    router.message.register(start_deep_link, CommandStart(deep_link=True, ignore_case=True))
    router.message.register(start, CommandStart(ignore_case=True))
    router.message.register(help_command, command("help"))
    router.callback_query.register(menu_help, MenuAction.filter(F.action == Menu.HELP))
    router.callback_query.register(menu_search, MenuAction.filter(F.action == Menu.SEARCH))
    router.callback_query.register(menu_latest, MenuAction.filter(F.action == Menu.LATEST))
    return router


def help_text(username: str, admin: bool = False) -> str:
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
            *(admin_help() if admin else []),
        ]
    )


def admin_help() -> list[str]:
    return [
        "",
        html.bold(_("For admins:")),
        _("/add — add a text (or just send files, or forward a channel post)"),
        _("/docs [words] — the texts, hidden ones too; on a card: hide, delete, edit"),
        _("/undo — restore the text you deleted last"),
        _("/stats — figures and a chart; /log — who did what"),
        _("/channel add @name, /channel list, /channel remove — digests in a channel"),
        _("/digest — preview a digest, or send one now"),
        _("/sources — feeds and channels followed; /source add URL|@channel [filter], filter, pause, poll"),
    ]


async def _username(bot: Bot) -> str:
    me = await bot.me()
    return me.username or "bot"


async def start_deep_link(
    message: Message,
    command: CommandObject,
    reader: ReaderService,
    documents: DocumentService,
    settings: Settings,
    i18n: I18n,
) -> None:
    match = _DOC_LINK.match(command.args or "")
    if match is None:
        await start(message)
        return
    doc_id, locale = int(match.group(1)), i18n.current_locale
    if message.from_user is not None and message.from_user.id in settings.admin_ids:
        # An admin's card wherever they open it: the admin buttons, hidden texts too.
        text, markup = await admin_documents.admin_card(documents, doc_id, locale)
        await message.answer(text, reply_markup=markup, disable_web_page_preview=True)
        return
    screen = views.card_screen(await reader.card(doc_id), locale)
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


async def help_command(message: Message, bot: Bot, settings: Settings) -> None:
    admin = message.from_user is not None and message.from_user.id in settings.admin_ids
    await message.answer(help_text(await _username(bot), admin))


async def menu_help(query: CallbackQuery, bot: Bot, settings: Settings) -> None:
    if query.message:
        await query.message.answer(help_text(await _username(bot), query.from_user.id in settings.admin_ids))


async def menu_search(query: CallbackQuery) -> None:
    if query.message:
        await query.message.answer(views.search_prompt())


async def menu_latest(query: CallbackQuery, reader: ReaderService, i18n: I18n) -> None:
    screen = views.latest_screen(await reader.latest(), i18n.current_locale)
    if query.message:
        await query.message.answer(screen.text, reply_markup=screen.markup)
