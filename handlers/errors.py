"""The one error handler: the traceback goes to the log with the update id; the user gets a short apology."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import pick_language

router = Router(name=__name__)
log = logging.getLogger(__name__)


@router.errors()
async def on_error(event: ErrorEvent, i18n: I18n) -> bool:
    update = event.update
    log.error("update %s failed", update.update_id, exc_info=event.exception)
    user = update.event.from_user if hasattr(update.event, "from_user") else None
    with i18n.context(), i18n.use_locale(pick_language(None, user.language_code if user else None)):
        text = _("Sorry, something went wrong. Please try again a bit later.")
        try:
            if update.message is not None:
                await update.message.answer(text)
            elif update.callback_query is not None:
                await update.callback_query.answer(text, show_alert=True)
        except TelegramAPIError:
            # Telegram itself may be the failure; the log already has the original error.
            log.warning("could not tell the user about the failure of update %s", update.update_id)
    return True
