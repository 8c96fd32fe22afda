"""Inline keyboards, built by functions from callback-data classes."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import LANGUAGE_NAMES
from handlers.callbacks import (
    FullText,
    ListPage,
    Menu,
    MenuAction,
    Noop,
    OpenDoc,
    SetLanguage,
    ShowSimilar,
    Source,
)


def main_menu() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📰 Latest"), callback_data=MenuAction(action=Menu.LATEST))
    kb.button(text=_("🔎 Search"), callback_data=MenuAction(action=Menu.SEARCH))
    kb.button(text=_("🔔 Subscribe"), callback_data=MenuAction(action=Menu.SUBSCRIBE))
    kb.button(text=_("❓ Help"), callback_data=MenuAction(action=Menu.HELP))
    kb.adjust(2, 2)
    return kb.as_markup()


def list_keyboard(
    doc_ids: Sequence[int], first_number: int, source: Source, ref: int, page: int, pages: int
) -> InlineKeyboardMarkup:
    """A numbered button per item, then Prev / page / Next that edit the same message.

    Built directly rather than with InlineKeyboardBuilder: this keyboard goes with every search answer,
    and the builder's re-validation of each button was a measurable part of the reply time.
    """
    numbers = [
        _button(str(n), open_doc_data(doc_id, source, ref, page))
        for n, doc_id in enumerate(doc_ids, start=first_number)
    ]
    rows = [numbers] if numbers else []
    if pages > 1:
        nav = []
        if page > 0:
            nav.append(_button(_("◀ Prev"), list_page_data(source, ref, page - 1)))
        nav.append(_button(f"{page + 1}/{pages}", _NOOP))
        if page + 1 < pages:
            nav.append(_button(_("Next ▶"), list_page_data(source, ref, page + 1)))
        rows.append(nav)
    return InlineKeyboardMarkup(inline_keyboard=rows)


# The list's callback data packed by hand: aiogram's pack() validates and dumps a model per button (half the
# keyboard's cost). Equal to OpenDoc(...).pack() and ListPage(...).pack() (a test compares them).
_SEP = OpenDoc.__separator__
_NOOP = Noop().pack()


def open_doc_data(doc_id: int, source: Source, ref: int, page: int) -> str:
    return f"{OpenDoc.__prefix__}{_SEP}{doc_id}{_SEP}{source.value}{_SEP}{ref}{_SEP}{page}"


def list_page_data(source: Source, ref: int, page: int) -> str:
    return f"{ListPage.__prefix__}{_SEP}{source.value}{_SEP}{ref}{_SEP}{page}"


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def card_keyboard(doc_id: int, source: Source, ref: int, page: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📄 Full text"), callback_data=FullText(doc_id=doc_id))
    kb.button(text=_("🔗 Similar"), callback_data=ShowSimilar(doc_id=doc_id))
    if source is not Source.NONE:
        kb.button(text=_("⬅ Back to the list"), callback_data=ListPage(source=source, ref=ref, page=page))
    kb.adjust(2, 1)
    return kb.as_markup()


def language_keyboard(current: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code, name in LANGUAGE_NAMES.items():
        mark = "✅ " if code == current else ""
        kb.button(text=mark + name, callback_data=SetLanguage(code=code))
    kb.adjust(3)
    return kb.as_markup()


def url_button(text: str, url: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=text, url=url)]])
