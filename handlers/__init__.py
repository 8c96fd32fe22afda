"""aiogram routers: thin handlers that turn updates into calls of the bot's services."""

from __future__ import annotations

from aiogram import Router

from handlers import errors
from handlers.admin import uploads as admin
from handlers.reader import inline, language, reading, start
from handlers.subscriptions import settings as subscriptions


def setup_routers() -> Router:
    """All feature routers under one root. Order matters: commands and admin flows come before the
    reading router, whose catch-all treats any other text as a search query."""
    root = Router(name="root")
    root.include_routers(
        start.router,
        language.router,
        subscriptions.router,
        admin.router,
        inline.router,
        reading.router,
        errors.router,
    )
    return root


def release_routers(root: Router) -> None:
    """Detach the feature routers from a finished root, so that another Dispatcher in the same process
    (the tests, the benchmark, the playground after a restart) can include them again.

    aiogram allows a router one parent at a time and has no public detach; this resets exactly what
    `include_router` set.
    """
    for child in root.sub_routers:
        child._parent_router = None
    root.sub_routers.clear()
