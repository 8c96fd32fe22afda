"""Changing the message a button was under: the one place that knows Telegram's quirks about it.

Pressing a button twice, or a button that leads to the screen already shown, asks Telegram for an edit
that changes nothing, which it refuses with "message is not modified": for the user that is no error. A
message older than 48 hours (or from a chat the bot has left) comes as an InaccessibleMessage and cannot
be edited at all.

Button presses are answered by the CallbackAnswers middleware once the handler returns; a handler that
wants the answer to say something sets it here through `alert` rather than calling `query.answer()`.
"""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InaccessibleMessage, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

# Telegram's descriptions of two refusals (after "Bad Request: "), compared case-insensitively.
_NOT_MODIFIED = "message is not modified"
_QUERY_TOO_OLD = "query is too old"


def is_not_modified(error: TelegramBadRequest) -> bool:
    return _NOT_MODIFIED in error.message.lower()


def is_query_too_old(error: TelegramBadRequest) -> bool:
    """A button press answered already, or after Telegram stopped waiting (15 seconds)."""
    return _QUERY_TOO_OLD in error.message.lower()


def editable(query: CallbackQuery) -> Message | None:
    """The message under the pressed button, if the bot can still change it."""
    message = query.message
    return None if message is None or isinstance(message, InaccessibleMessage) else message


def alert(answer: CallbackAnswer, text: str) -> None:
    """Answer the button press with `text` in a dialog the user must close."""
    answer.text = text
    answer.show_alert = True


async def edit(
    message: Message,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    disable_web_page_preview: bool | None = None,
) -> None:
    """Replace the text and buttons of `message`; the same text and buttons again are not an error."""
    try:
        await message.edit_text(text, reply_markup=markup, disable_web_page_preview=disable_web_page_preview)
    except TelegramBadRequest as error:
        if not is_not_modified(error):
            raise


async def edit_or_alert(
    query: CallbackQuery,
    answer: CallbackAnswer,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    outdated: str | None = None,
    disable_web_page_preview: bool | None = None,
) -> None:
    """Show a new screen in place of the pressed one; a message that can no longer change gets the
    `outdated` alert instead (by default: the list is outdated, search again)."""
    message = editable(query)
    if message is None:
        alert(answer, outdated or _("This list is outdated. Please search again."))
        return
    await edit(message, text, markup, disable_web_page_preview=disable_web_page_preview)


async def edit_or_send(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Show a new screen in place of the pressed one, or as a new message in the presser's private chat
    when the old one can no longer change (settings stay reachable however old the message)."""
    message = editable(query)
    if message is None:
        if query.bot is None:
            raise RuntimeError("a callback query outside a Dispatcher has no bot to send with")
        await query.bot.send_message(query.from_user.id, text, reply_markup=markup)
        return
    await edit(message, text, markup)
