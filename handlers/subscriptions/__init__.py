"""Subscriptions and digests: the admins' /channel and /digest first (a router only admins get into), then
everyone's /subscribe, settings and "show the rest"."""

from __future__ import annotations

from aiogram import Router

from handlers.subscriptions import channels, options, rest, settings, typed


def make_router() -> Router:
    router = Router(name="subscriptions")
    router.include_routers(
        channels.make_router(),
        settings.make_router(),
        options.make_router(),
        typed.make_router(),
        rest.make_router(),
    )
    return router
