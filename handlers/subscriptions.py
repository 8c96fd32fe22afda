"""Subscriptions and digests: /subscribe, /settings, /unsubscribe, /pause, /resume, channels."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from handlers.callbacks import Menu, MenuAction

router = Router(name=__name__)


@router.callback_query(MenuAction.filter(F.action == Menu.SUBSCRIBE))
async def menu_subscribe(query: CallbackQuery) -> None:
    await query.answer(_("Subscriptions are not available yet."), show_alert=True)
