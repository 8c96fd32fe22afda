"""Inline mode: `@bot query` in any chat lists matching texts (the latest when the query is empty)."""

from __future__ import annotations

from aiogram import Bot, Router, html
from aiogram.types import (
    InlineQuery,
    InlineQueryResultArticle,
    InlineQueryResultUnion,
    InputTextMessageContent,
)
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.reader import ReaderService
from bot.summaries import DocumentSummary
from handlers.ui import keyboards, render

INLINE_PAGE = 20  # Telegram allows 50; 20 keeps each answer small and quick
MAX_OFFSET = 1000


def make_router() -> Router:
    router = Router(name=__name__)
    router.inline_query.register(inline_search)
    return router


def _offset(raw: str) -> int:
    return int(raw) if raw.isdigit() and int(raw) <= MAX_OFFSET else 0


async def _article(item: DocumentSummary, bot: Bot, locale: str) -> InlineQueryResultArticle:
    doc = item.document
    summary = " ".join(item.sentences)
    text = "\n\n".join(
        part
        for part in (
            html.bold(html.quote(doc.title)),
            html.quote(summary),
            render.source_line(doc, locale),
        )
        if part
    )
    link = await create_start_link(bot, f"doc_{doc.id}")
    return InlineQueryResultArticle(
        id=str(doc.id),
        title=render.short(doc.title, 100),
        description=render.short(f"{render.fmt_date(doc.published, locale)} · {summary}", 200),
        input_message_content=InputTextMessageContent(
            message_text=render.fit(text), disable_web_page_preview=True
        ),
        reply_markup=keyboards.url_button(_("Open in the bot"), link),
    )


async def inline_search(query: InlineQuery, bot: Bot, reader: ReaderService, i18n: I18n) -> None:
    offset = _offset(query.offset)
    found = await reader.inline_page(query.from_user.id, query.query, offset, INLINE_PAGE)
    results: list[InlineQueryResultUnion] = [
        await _article(item, bot, i18n.current_locale) for item in found.items
    ]
    more = found.has_more and offset + INLINE_PAGE <= MAX_OFFSET
    await query.answer(
        results, cache_time=30, is_personal=False, next_offset=str(offset + INLINE_PAGE) if more else ""
    )
