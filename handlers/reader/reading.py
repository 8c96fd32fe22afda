"""Reading: search, the latest texts, document cards, full texts, similar texts, the overview."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, InaccessibleMessage, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.reader import ReaderService
from handlers.callbacks import FullText, ListPage, Noop, OpenDoc, ShowSimilar, Source
from handlers.filters import PlainText, PrivateChat, command
from handlers.ui import render, views
from handlers.ui.edit import alert, edit_or_alert
from storage.models import Document

# Longer texts go as a .txt file rather than a wall of messages.
MAX_TEXT_MESSAGES = 3


def make_router() -> Router:
    """Reading, with the catch-all that takes any other private text as a search: include it last."""
    router = Router(name=__name__)
    # The search first: most messages are one, and no command is plain text.
    router.message.register(plain_text_search, PlainText(), PrivateChat())
    router.message.register(search_command, command("search"))
    router.message.register(latest_command, command("latest"))
    router.message.register(summary_command, command("summary"))
    router.callback_query.register(list_page, ListPage.filter())
    router.callback_query.register(open_document, OpenDoc.filter())
    router.callback_query.register(full_text, FullText.filter())
    router.callback_query.register(show_similar, ShowSimilar.filter())
    # A page number between Prev and Next: pressing it only needs the (automatic) answer.
    router.callback_query.register(noop, Noop.filter())
    return router


async def _search(message: Message, reader: ReaderService, text: str, locale: str) -> None:
    user_id = message.from_user.id if message.from_user else None
    screen = views.search_screen(await reader.search_page(user_id, text, language=locale), locale)
    await message.answer(screen.text, reply_markup=screen.markup)


async def search_command(message: Message, command: CommandObject, reader: ReaderService, i18n: I18n) -> None:
    await _search(message, reader, command.args or "", i18n.current_locale)


async def plain_text_search(message: Message, reader: ReaderService, i18n: I18n) -> None:
    await _search(message, reader, message.text or "", i18n.current_locale)


async def latest_command(message: Message, reader: ReaderService, i18n: I18n) -> None:
    screen = views.latest_screen(await reader.latest(), i18n.current_locale)
    await message.answer(screen.text, reply_markup=screen.markup)


async def summary_command(message: Message, bot: Bot, reader: ReaderService) -> None:
    items = await reader.overview()
    if not items:
        await message.answer(_("There are no texts yet."))
        return
    links = [await create_start_link(bot, f"doc_{item.doc_ids[0]}") for item in items]
    await message.answer(render.overview(items, links), disable_web_page_preview=True)


async def list_page(
    query: CallbackQuery,
    callback_data: ListPage,
    callback_answer: CallbackAnswer,
    reader: ReaderService,
    i18n: I18n,
) -> None:
    screen = await list_screen(query.from_user.id, callback_data, reader, i18n.current_locale)
    if isinstance(screen, str):
        alert(callback_answer, screen)
        return
    await edit_or_alert(query, callback_answer, screen.text, screen.markup)


async def list_screen(
    user_id: int, callback_data: ListPage, reader: ReaderService, locale: str
) -> views.Screen | str:
    """A page of a reader's list, or why it cannot be shown (an admin's list page adds to it)."""
    ref, page = callback_data.ref, callback_data.page
    if callback_data.source is Source.SEARCH:
        found = await reader.saved_search_page(user_id, ref, page, language=locale)
        if found is None:
            return _("This list is outdated. Please search again.")
        return views.search_screen(found, locale)
    if callback_data.source is Source.LATEST:
        return views.latest_screen(await reader.latest(page), locale)
    if callback_data.source is Source.SIMILAR:
        return views.similar_screen(await reader.similar(ref, page), locale)
    return _("This list is outdated.")


async def open_document(
    query: CallbackQuery,
    callback_data: OpenDoc,
    callback_answer: CallbackAnswer,
    reader: ReaderService,
    i18n: I18n,
) -> None:
    card = await reader.card(callback_data.doc_id)
    data = callback_data
    screen = views.card_screen(card, i18n.current_locale, data.source, data.ref, data.page)
    await edit_or_alert(query, callback_answer, screen.text, screen.markup)


async def full_text(
    query: CallbackQuery, callback_data: FullText, callback_answer: CallbackAnswer, reader: ReaderService
) -> None:
    doc = await reader.document(callback_data.doc_id)
    if doc is None or query.message is None:
        alert(callback_answer, _("This text is no longer available."))
        return
    await send_full_text(query.message, doc)


async def send_full_text(message: Message | InaccessibleMessage, doc: Document) -> None:
    """The whole text as messages, or as a .txt file when it would be a wall of them."""
    chunks = render.split_plain(doc.text)
    if len(chunks) > MAX_TEXT_MESSAGES:
        body = f"{doc.title}\n\n{doc.text}\n\n{doc.url or ''}".strip() + "\n"
        await message.answer_document(
            BufferedInputFile(body.encode("utf-8"), filename=f"alatau-{doc.id}.txt"),
            caption=render.short(doc.title, 200),
            parse_mode=None,
        )
        return
    for chunk in chunks:
        await message.answer(chunk, disable_web_page_preview=True)


async def show_similar(
    query: CallbackQuery, callback_data: ShowSimilar, reader: ReaderService, i18n: I18n
) -> None:
    # A new message, so that the card stays where it was.
    screen = views.similar_screen(await reader.similar(callback_data.doc_id), i18n.current_locale)
    if query.message is not None:
        await query.message.answer(screen.text, reply_markup=screen.markup)


async def noop(query: CallbackQuery) -> None:
    """Nothing to do."""
