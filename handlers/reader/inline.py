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

from bot.search import SearchService
from bot.summaries import SummaryService
from handlers.ui import keyboards, render
from storage.models import Document
from storage.users import QueryRepository

router = Router(name=__name__)

INLINE_PAGE = 20  # Telegram allows 50; 20 keeps each answer small and quick
MAX_OFFSET = 1000


def _offset(raw: str) -> int:
    return int(raw) if raw.isdigit() and int(raw) <= MAX_OFFSET else 0


async def _article(
    doc: Document, summaries: SummaryService, bot: Bot, locale: str
) -> InlineQueryResultArticle:
    summary = " ".join(summaries.summarize_document(doc, sentences=2, max_chars=500))
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


@router.inline_query()
async def inline_search(
    query: InlineQuery,
    bot: Bot,
    search: SearchService,
    summaries: SummaryService,
    queries: QueryRepository,
    i18n: I18n,
) -> None:
    offset = _offset(query.offset)
    text = query.query.strip()
    if text:
        result = await search.search(text, limit=INLINE_PAGE, offset=offset)
        docs = [h.document for h in result.hits]
        more = result.has_next
        if offset == 0:
            await queries.log(query.from_user.id, text, result.total, "inline")
    else:
        docs = await summaries.repo.latest(limit=INLINE_PAGE, offset=offset)
        more = len(docs) == INLINE_PAGE
    results: list[InlineQueryResultUnion] = [
        await _article(doc, summaries, bot, i18n.current_locale) for doc in docs
    ]
    next_offset = str(offset + INLINE_PAGE) if more and offset + INLINE_PAGE <= MAX_OFFSET else ""
    await query.answer(results, cache_time=30, is_personal=False, next_offset=next_offset)
