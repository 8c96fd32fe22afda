"""The "show the rest" button under a digest: the next stories, in the reader's private chat."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.exceptions import TelegramForbiddenError
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.digests.ledger import DeliveryLedger
from handlers.callbacks import DigestMore
from handlers.subscriptions import keyboards as kb
from handlers.subscriptions.digest_render import render_page
from handlers.ui.edit import alert


def make_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(digest_rest, DigestMore.filter())
    return router


async def digest_rest(
    query: CallbackQuery,
    callback_data: DigestMore,
    callback_answer: CallbackAnswer,
    digest_ledger: DeliveryLedger,
    bot: Bot,
) -> None:
    stored = await digest_ledger.digest(callback_data.digest_id)
    if stored is None:
        alert(callback_answer, _("This digest is no longer available."))
        return
    start = max(0, callback_data.start)
    if start >= len(stored.stories):
        return
    me = await bot.me()
    text, end = render_page(stored.stories, start, stored.filter_query, me.username or "bot")
    markup = kb.rest_keyboard(stored.id, end, len(stored.stories))
    message = query.message
    in_private = message is not None and message.chat.type == "private"
    # Under a channel post the rest goes to the reader's private chat: the channel is not a conversation.
    chat_id = message.chat.id if in_private and message is not None else query.from_user.id
    try:
        await bot.send_message(chat_id, text, reply_markup=markup, disable_web_page_preview=True)
    except TelegramForbiddenError:
        alert(
            callback_answer,
            _("Open a chat with me (@{bot}) and press the button again: I will send the rest there.").format(
                bot=me.username or "bot"
            ),
        )
        return
    if not in_private:
        callback_answer.text = _("Sent to our private chat.")
