"""/lang: the interface language, stored per user."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InaccessibleMessage, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import LANGUAGES
from handlers.callbacks import SetLanguage
from handlers.middlewares import LanguageMiddleware
from handlers.ui import keyboards

router = Router(name=__name__)


@router.message(Command("lang"))
async def language_command(message: Message, i18n: I18n) -> None:
    await message.answer(
        _("Choose the interface language:"), reply_markup=keyboards.language_keyboard(i18n.current_locale)
    )


@router.callback_query(SetLanguage.filter())
async def set_language(
    query: CallbackQuery, callback_data: SetLanguage, i18n: I18n, i18n_middleware: LanguageMiddleware
) -> None:
    if callback_data.code not in LANGUAGES:
        await query.answer(_("This list is outdated."), show_alert=True)
        return
    await i18n_middleware.set_language(query.from_user.id, callback_data.code)
    with i18n.use_locale(callback_data.code):
        text = _("Done: I will speak English with you.")
        await query.answer()
        if query.message is not None and not isinstance(query.message, InaccessibleMessage):
            await query.message.edit_text(text, reply_markup=None)
            await query.message.answer(
                _("Send me any words to search, or choose:"), reply_markup=keyboards.main_menu()
            )
