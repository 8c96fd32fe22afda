"""Plain functions that build a screen (text + keyboard) from the services; the handlers just send them."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.search import SearchService, similar_documents
from bot.summaries import SummaryService
from handlers.callbacks import Source
from handlers.ui import keyboards, render
from storage.models import Document
from storage.users import QueryRepository

PAGE = render.PAGE_SIZE
LATEST_PAGES = 10


@dataclass(frozen=True)
class Screen:
    text: str
    markup: InlineKeyboardMarkup | None = None


def _pages(total: int) -> int:
    return max(1, -(-total // PAGE))


async def search_screen(
    search: SearchService, queries: QueryRepository, query: str, page: int, locale: str, user_id: int | None
) -> Screen:
    result = await search.search(query, limit=PAGE, offset=page * PAGE)
    if page == 0:
        await queries.log(user_id, query, result.total, "chat")
    if result.problem is not None:
        return Screen(_("Send me some words to search for, for example: «указ о статусе Алатау»."))
    if not result.hits:
        if page > 0:
            return Screen(_("This list is outdated. Please search again."))
        return Screen(render.nothing_found(result))
    qid = await queries.save(query)
    markup = keyboards.list_keyboard(
        [h.document.id for h in result.hits], page * PAGE + 1, Source.SEARCH, qid, page, _pages(result.total)
    )
    return Screen(render.search_results(result, page, locale), markup)


async def latest_screen(summaries: SummaryService, page: int, locale: str) -> Screen:
    repo = summaries.repo
    total = min(await repo.count(), PAGE * LATEST_PAGES)
    docs = await repo.latest(limit=PAGE, offset=page * PAGE)
    if not docs:
        return Screen(_("There are no texts yet.") if page == 0 else _("This list is outdated."))
    lines = [" ".join(summaries.summarize_document(d, sentences=1, max_chars=220)) for d in docs]
    text = render.document_list(_("📰 Latest news"), docs, lines, page * PAGE + 1, locale)
    markup = keyboards.list_keyboard(
        [d.id for d in docs], page * PAGE + 1, Source.LATEST, 0, page, _pages(total)
    )
    return Screen(text, markup)


async def similar_screen(
    search: SearchService, summaries: SummaryService, doc_id: int, page: int, locale: str
) -> Screen:
    doc = await search.repo.get(doc_id)
    if doc is None or doc.hidden:
        return Screen(_("This text is no longer available."))
    found = await similar_documents(search, doc)
    if not found:
        return Screen(_("No similar texts yet."))
    chunk = found[page * PAGE : (page + 1) * PAGE]
    if not chunk:
        return Screen(_("This list is outdated."))
    lines = [" ".join(summaries.summarize_document(d, sentences=1, max_chars=220)) for d in chunk]
    title = _("🔗 Similar to «{title}»").format(title=render.short(doc.title, 60))
    text = render.document_list(title, chunk, lines, page * PAGE + 1, locale)
    markup = keyboards.list_keyboard(
        [d.id for d in chunk], page * PAGE + 1, Source.SIMILAR, doc_id, page, _pages(len(found))
    )
    return Screen(text, markup)


async def card_screen(
    summaries: SummaryService,
    doc_id: int,
    locale: str,
    source: Source = Source.NONE,
    ref: int = 0,
    page: int = 0,
) -> Screen:
    doc = await summaries.repo.get(doc_id)
    if doc is None or doc.hidden:
        return Screen(_("This text is no longer available."))
    story = await summaries.repo.story_members(doc.story_id or doc.id)
    summary = summaries.summarize_document(doc)
    text = render.card(doc, summary, len(story), locale)
    return Screen(text, keyboards.card_keyboard(doc.id, source, ref, page))


async def visible_document(summaries: SummaryService, doc_id: int) -> Document | None:
    doc = await summaries.repo.get(doc_id)
    return None if doc is None or doc.hidden else doc
