"""Every callback-data shape in one place; each packs well under Telegram's 64-byte limit."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class Menu(StrEnum):
    LATEST = "latest"
    SEARCH = "search"
    SUBSCRIBE = "subscribe"
    HELP = "help"
    SUMMARY = "summary"


class MenuAction(CallbackData, prefix="m"):
    action: Menu


class Source(StrEnum):
    SEARCH = "s"
    LATEST = "l"
    SIMILAR = "r"
    NONE = "n"


class ListPage(CallbackData, prefix="p"):
    """A page of a list: search results (ref = saved query id), latest (ref = 0), similar (ref = doc id)."""

    source: Source
    ref: int
    page: int


class OpenDoc(CallbackData, prefix="d"):
    doc_id: int
    source: Source = Source.NONE
    ref: int = 0
    page: int = 0


class FullText(CallbackData, prefix="f"):
    doc_id: int


class ShowSimilar(CallbackData, prefix="sim"):
    doc_id: int


class SetLanguage(CallbackData, prefix="lang"):
    code: str


class Noop(CallbackData, prefix="x"):
    pass
