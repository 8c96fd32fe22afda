"""Reading: search, the latest texts, document cards, full texts, similar texts, the overview."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, InaccessibleMessage, Message
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.search import SearchService
from bot.summaries import SummaryService
from handlers.callbacks import FullText, ListPage, Noop, OpenDoc, ShowSimilar, Source
from handlers.ui import render, views
from storage.users import QueryRepository

router = Router(name=__name__)
log = logging.getLogger(__name__)

# Longer texts go as a .txt file rather than a wall of messages.
MAX_TEXT_MESSAGES = 3


async def _edit(query: CallbackQuery, screen: views.Screen) -> None:
    """Replace the list in place; an old or identical message is not an error for the user."""
    message = query.message
    if message is None or isinstance(message, InaccessibleMessage):
        await query.answer(_("This list is outdated. Please search again."), show_alert=True)
        return
    try:
        await message.edit_text(screen.text, reply_markup=screen.markup)
    except TelegramBadRequest as exc:
        if "message is not modified" not in str(exc):
            raise
    await query.answer()


@router.message(Command("search"))
async def search_command(
    message: Message, command: CommandObject, search: SearchService, queries: QueryRepository, i18n: I18n
) -> None:
    user_id = message.from_user.id if message.from_user else None
    screen = await views.search_screen(search, queries, command.args or "", 0, i18n.current_locale, user_id)
    await message.answer(screen.text, reply_markup=screen.markup)


@router.message(Command("latest"))
async def latest_command(message: Message, summaries: SummaryService, i18n: I18n) -> None:
    screen = await views.latest_screen(summaries, 0, i18n.current_locale)
    await message.answer(screen.text, reply_markup=screen.markup)


@router.message(Command("summary"))
async def summary_command(message: Message, bot: Bot, summaries: SummaryService) -> None:
    items = await summaries.latest_overview(8)
    if not items:
        await message.answer(_("There are no texts yet."))
        return
    links = [await create_start_link(bot, f"doc_{item.doc_ids[0]}") for item in items]
    await message.answer(render.overview(items, links), disable_web_page_preview=True)


@router.message(F.text & ~F.text.startswith("/") & (F.chat.type == "private"))
async def plain_text_search(
    message: Message, search: SearchService, queries: QueryRepository, i18n: I18n
) -> None:
    user_id = message.from_user.id if message.from_user else None
    screen = await views.search_screen(search, queries, message.text or "", 0, i18n.current_locale, user_id)
    await message.answer(screen.text, reply_markup=screen.markup)


@router.callback_query(ListPage.filter())
async def list_page(
    query: CallbackQuery,
    callback_data: ListPage,
    search: SearchService,
    summaries: SummaryService,
    queries: QueryRepository,
    i18n: I18n,
) -> None:
    locale = i18n.current_locale
    page = max(0, callback_data.page)
    if callback_data.source is Source.SEARCH:
        text = await queries.get(callback_data.ref)
        if text is None:
            await query.answer(_("This list is outdated. Please search again."), show_alert=True)
            return
        screen = await views.search_screen(search, queries, text, page, locale, None)
    elif callback_data.source is Source.LATEST:
        screen = await views.latest_screen(summaries, page, locale)
    elif callback_data.source is Source.SIMILAR:
        screen = await views.similar_screen(search, summaries, callback_data.ref, page, locale)
    else:
        await query.answer(_("This list is outdated."), show_alert=True)
        return
    await _edit(query, screen)


@router.callback_query(OpenDoc.filter())
async def open_document(
    query: CallbackQuery, callback_data: OpenDoc, summaries: SummaryService, i18n: I18n
) -> None:
    screen = await views.card_screen(
        summaries,
        callback_data.doc_id,
        i18n.current_locale,
        callback_data.source,
        callback_data.ref,
        callback_data.page,
    )
    await _edit(query, screen)


@router.callback_query(FullText.filter())
async def full_text(query: CallbackQuery, callback_data: FullText, summaries: SummaryService) -> None:
    doc = await views.visible_document(summaries, callback_data.doc_id)
    if doc is None or query.message is None:
        await query.answer(_("This text is no longer available."), show_alert=True)
        return
    await query.answer()
    chunks = render.split_plain(doc.text)
    if len(chunks) > MAX_TEXT_MESSAGES:
        body = f"{doc.title}\n\n{doc.text}\n\n{doc.url or ''}".strip() + "\n"
        await query.message.answer_document(
            BufferedInputFile(body.encode("utf-8"), filename=f"alatau-{doc.id}.txt"),
            caption=render.short(doc.title, 200),
            parse_mode=None,
        )
        return
    for chunk in chunks:
        await query.message.answer(chunk, disable_web_page_preview=True)


@router.callback_query(ShowSimilar.filter())
async def show_similar(
    query: CallbackQuery,
    callback_data: ShowSimilar,
    search: SearchService,
    summaries: SummaryService,
    i18n: I18n,
) -> None:
    # A new message, so that the card stays where it was.
    screen = await views.similar_screen(search, summaries, callback_data.doc_id, 0, i18n.current_locale)
    await query.answer()
    if query.message is not None:
        await query.message.answer(screen.text, reply_markup=screen.markup)


@router.callback_query(Noop.filter())
async def noop(query: CallbackQuery) -> None:
    await query.answer()
