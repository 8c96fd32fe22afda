"""aiogram routers: thin handlers that turn updates into calls of the bot's services."""

from __future__ import annotations

from aiogram import Router

from handlers import errors, inline, language, reading, start


def setup_routers() -> Router:
    """All feature routers under one root; order matters: commands before the catch-all text search."""
    root = Router(name="root")
    root.include_routers(start.router, language.router, inline.router, reading.router, errors.router)
    return root
