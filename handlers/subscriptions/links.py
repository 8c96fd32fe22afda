"""The digest footer's deep links (t.me/<bot>?start=…): the reader's digest settings, and unsubscribing.
Registered by the reader's /start router ahead of its own deep links."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import I18n

from bot.digests.subscriptions import SubscriptionService
from handlers.subscriptions import views
from handlers.subscriptions.digest_render import SETTINGS_LINK, UNSUBSCRIBE_LINK

PAYLOADS = frozenset({SETTINGS_LINK, UNSUBSCRIBE_LINK})


def deep_link_filter() -> CommandStart:
    return CommandStart(deep_link=True, magic=F.args.in_(PAYLOADS), ignore_case=True)


async def digest_link(
    message: Message,
    command: CommandObject,
    subscriptions: SubscriptionService,
    state: FSMContext,
    i18n: I18n,
) -> None:
    await state.clear()
    assert message.from_user is not None
    if command.args == UNSUBSCRIBE_LINK:
        # One tap, as in a mail's unsubscribe link; /subscribe brings it back with the same settings.
        stopped = await subscriptions.unsubscribe(message.from_user.id)
        await message.answer(views.unsubscribed_text() if stopped else views.not_subscribed_text())
        return
    sub = await subscriptions.get_active(message.from_user.id)
    if sub is None:
        await message.answer(views.not_subscribed_text())
        return
    text, markup = views.settings_screen(sub, i18n.current_locale, subscriptions.now())
    await message.answer(text, reply_markup=markup)
