"""Screens (text + keyboard) built from what the reader service returned; the handlers just send them."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.reader import PAGE_SIZE, Card, Listing, SearchPage, Similar, pages
from handlers.callbacks import Source
from handlers.ui import keyboards, render


@dataclass(frozen=True)
class Screen:
    text: str
    markup: InlineKeyboardMarkup | None = None


def outdated() -> Screen:
    return Screen(_("This list is outdated. Please search again."))


def unavailable() -> Screen:
    return Screen(_("This text is no longer available."))


def search_prompt() -> str:
    return _("Send me some words to search for, for example: «указ о статусе Алатау».")


def search_screen(found: SearchPage, locale: str) -> Screen:
    result = found.result
    if result.problem is not None:
        return Screen(search_prompt())
    if not result.hits:
        return outdated() if found.page > 0 else Screen(render.nothing_found(result))
    # Not saved (one page, or a full disk): its cards get no way back rather than one that says outdated.
    source = Source.SEARCH if found.query_id is not None else Source.NONE
    markup = keyboards.list_keyboard(
        [h.document.id for h in result.hits],
        found.page * PAGE_SIZE + 1,
        source,
        found.query_id or 0,  # 0 (never saved: a full disk): its paging buttons answer that it is outdated
        found.page,
        pages(result.total),
    )
    return Screen(render.search_results(result, found.page, locale), markup)


def latest_screen(listing: Listing, locale: str) -> Screen:
    if not listing.items:
        return Screen(_("There are no texts yet.") if listing.page == 0 else _("This list is outdated."))
    return _listing_screen(_("📰 Latest news"), listing, Source.LATEST, 0, locale)


def similar_screen(similar: Similar | None, locale: str) -> Screen:
    if similar is None:
        return unavailable()
    listing = similar.listing
    if listing.total == 0:
        return Screen(_("No similar texts yet."))
    if not listing.items:
        return Screen(_("This list is outdated."))
    title = _("🔗 Similar to «{title}»").format(title=render.short(similar.document.title, 60))
    return _listing_screen(title, listing, Source.SIMILAR, similar.document.id, locale)


def _listing_screen(title: str, listing: Listing, source: Source, ref: int, locale: str) -> Screen:
    text = render.document_list(title, listing.items, listing.first_number, locale)
    markup = keyboards.list_keyboard(
        [item.document.id for item in listing.items],
        listing.first_number,
        source,
        ref,
        listing.page,
        listing.pages,
    )
    return Screen(text, markup)


def card_screen(
    card: Card | None, locale: str, source: Source = Source.NONE, ref: int = 0, page: int = 0
) -> Screen:
    if card is None:
        return unavailable()
    text = render.card(card.document, card.summary, card.story_size, locale)
    return Screen(text, keyboards.card_keyboard(card.document.id, source, ref, page))
