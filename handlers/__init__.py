"""aiogram routers: thin handlers that turn updates into calls of the bot's services.

Every feature package builds its routers in a factory (`make_router()`), so each Dispatcher gets routers of
its own: the tests, the benchmarks and the playground start many in one process, and aiogram lets a router
belong to one parent only.
"""

from __future__ import annotations

from aiogram import Router

from handlers import admin, errors, reader, subscriptions


def get_routers() -> list[Router]:
    """Fresh routers for one Dispatcher, in the order an update tries them: commands, then the admins' and
    subscribers' dialogs, then reading, whose catch-all takes any other private text as a search; the
    error router last."""
    return [
        reader.make_commands_router(),
        subscriptions.make_router(),
        admin.make_router(),
        reader.make_reading_router(),
        errors.make_router(),
    ]
