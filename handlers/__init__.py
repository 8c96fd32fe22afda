"""aiogram routers: thin handlers that turn updates into calls of the bot's services."""

from __future__ import annotations

from aiogram import Router

from handlers import admin, errors, inline, language, reading, start, subscriptions


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
