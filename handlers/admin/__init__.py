"""The admins' routers: uploads, managing the texts, figures and the log; then the refusals for everyone
else. Each admin router lets only admins in (`IsAdmin`, a router-level filter)."""

from __future__ import annotations

from aiogram import Router

from handlers.admin import documents, refusals, reports, sources, uploads


def make_router() -> Router:
    """Order matters: the dialog steps of uploads come before the catch-all step of documents, and the
    refusals come last, for whatever the admin routers did not let in."""
    router = Router(name="admin")
    router.include_routers(
        uploads.make_router(),
        documents.make_router(),
        reports.make_router(),
        sources.make_router(),
        refusals.make_router(),
    )
    return router
