"""/lang: the interface language, stored per user."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import LANGUAGES
from bot.users import UserService
from handlers.callbacks import SetLanguage
from handlers.filters import command
from handlers.ui import keyboards
from handlers.ui.edit import alert, edit, editable


def make_router() -> Router:
    router = Router(name=__name__)
    router.message.register(language_command, command("lang"))
    router.callback_query.register(set_language, SetLanguage.filter())
    return router


async def language_command(message: Message, i18n: I18n) -> None:
    await message.answer(
        _("Choose the interface language:"), reply_markup=keyboards.language_keyboard(i18n.current_locale)
    )


async def set_language(
    query: CallbackQuery,
    callback_data: SetLanguage,
    callback_answer: CallbackAnswer,
    i18n: I18n,
    user_service: UserService,
) -> None:
    if callback_data.code not in LANGUAGES:
        alert(callback_answer, _("This list is outdated."))
        return
    await user_service.set_language(query.from_user.id, callback_data.code)
    # The rest of this update is already in the new language.
    with i18n.use_locale(callback_data.code):
        message = editable(query)
        if message is not None:
            await edit(message, _("Done: I will speak English with you."))
            await message.answer(
                _("Send me any words to search, or choose:"), reply_markup=keyboards.main_menu()
            )
