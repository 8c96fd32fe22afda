"""The readers' routers. Two, because the admins' and subscribers' dialogs go between them: the commands
first, and reading last, whose catch-all takes any other private text as a search."""

from __future__ import annotations

from aiogram import Router

from handlers.filters import MaybeCommand
from handlers.reader import dialogs, inline, language, reading, start


def make_commands_router() -> Router:
    """/start, /help, /lang and the main menu."""
    router = Router(name="reader.commands")
    # Every message handler below takes a command.
    router.message.filter(MaybeCommand())
    router.include_routers(start.make_router(), language.make_router())
    return router


def make_reading_router() -> Router:
    """Search, lists, cards and inline mode. The dialog guard comes before the catch-all search (a typed
    answer is never a search), the unknown-command hint after everything."""
    router = Router(name="reader.reading")
    router.include_routers(
        dialogs.make_guard_router(),
        inline.make_router(),
        reading.make_router(),
        dialogs.make_unknown_router(),
    )
    return router
