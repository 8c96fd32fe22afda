"""Admins' figures: /stats (with its chart) and the audit log, /log. Only admins get in (`IsAdmin`)."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bot.admin.audit import AuditLog
from bot.admin.stats import StatsService
from bot.app.settings import Settings
from handlers.admin import keyboards as kb
from handlers.admin import render
from handlers.callbacks import AuditLogPage
from handlers.filters import IsAdmin, PrivateChat, command
from handlers.ui.edit import edit, editable


async def log_command(message: Message, audit_log: AuditLog, settings: Settings) -> None:
    log = await audit_log.page(0, render.LOG_PAGE)
    await message.answer(
        render.log_text(log, settings.default_timezone), reply_markup=kb.log_keyboard(log.page, log.pages)
    )


async def log_page(
    query: CallbackQuery, callback_data: AuditLogPage, audit_log: AuditLog, settings: Settings
) -> None:
    log = await audit_log.page(callback_data.page, render.LOG_PAGE)
    if (message := editable(query)) is not None:
        text = render.log_text(log, settings.default_timezone)
        await edit(message, text, kb.log_keyboard(log.page, log.pages), disable_web_page_preview=True)


async def stats_command(message: Message, stats: StatsService) -> None:
    figures = await stats.stats()
    await message.answer(render.stats_text(figures))
    png = await stats.chart(figures, render.chart_labels())
    await message.answer_photo(BufferedInputFile(png, filename="stats.png"))


def make_router() -> Router:
    """/stats and /log: only admins, in private chats."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat(), IsAdmin())
    router.callback_query.filter(IsAdmin())
    router.message.register(log_command, command("log"))
    router.callback_query.register(log_page, AuditLogPage.filter())
    router.message.register(stats_command, command("stats"))
    return router
