"""The digest footer's deep links (t.me/<bot>?start=…): a digest's settings, and unsubscribing. A person's
digest links to the reader's own subscription; a channel's or a group topic's carries that subscription's
id, and opens only for who may change it. Registered by the reader's /start router ahead of its own deep
links."""

from __future__ import annotations

import re

from aiogram import F, html
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.app.settings import Settings
from bot.digests.subscriptions import Kind, Place, Subscription, SubscriptionService
from handlers.subscriptions import views
from handlers.subscriptions.digest_render import SETTINGS_LINK, UNSUBSCRIBE_LINK

_PAYLOAD = re.compile(rf"^({SETTINGS_LINK}|{UNSUBSCRIBE_LINK})(?:_(\d{{1,12}}))?$", re.IGNORECASE)


def deep_link_filter() -> CommandStart:
    return CommandStart(deep_link=True, magic=F.args.regexp(_PAYLOAD), ignore_case=True)


async def digest_link(
    message: Message,
    command: CommandObject,
    subscriptions: SubscriptionService,
    state: FSMContext,
    i18n: I18n,
    settings: Settings,
) -> None:
    await state.clear()
    assert message.from_user is not None
    found = _PAYLOAD.match(command.args or "")
    assert found is not None
    stop, ref = found.group(1).lower() == UNSUBSCRIBE_LINK, found.group(2)
    user = message.from_user.id
    if ref is None:
        sub = await subscriptions.get_active(Place(user))
    else:
        sub = await _shared(message, int(ref), subscriptions, user in settings.admin_ids)
        if sub is None:
            return
    if stop:
        await _stop(message, sub, subscriptions)
        return
    if sub is None:
        await message.answer(views.not_subscribed_text())
        return
    text, markup = views.settings_screen(sub, i18n.current_locale, subscriptions.now())
    await message.answer(text, reply_markup=markup)


async def _shared(
    message: Message, sub_id: int, subscriptions: SubscriptionService, bot_admin: bool
) -> Subscription | None:
    """A channel's or a group topic's subscription from its footer, if this person may change it (else
    they are told why, and None)."""
    assert message.from_user is not None
    sub = await subscriptions.by_id(sub_id)
    if sub is None or sub.kind is not Kind.CHANNEL or not sub.active:
        await message.answer(_("This digest is not sent there any more."))
        return None
    if not await subscriptions.may_manage(sub, message.from_user.id, bot_admin):
        await message.answer(
            views.not_group_admin_text()
            if sub.thread_id is not None
            else _("Only the bot's admins can change a channel's digest.")
        )
        return None
    return sub


async def _stop(message: Message, sub: Subscription | None, subscriptions: SubscriptionService) -> None:
    # One tap, as in a mail's unsubscribe link; /subscribe brings it back with the same settings.
    assert message.from_user is not None
    if sub is None:
        await message.answer(views.not_subscribed_text())
    elif sub.kind is Kind.PERSON:
        stopped = await subscriptions.unsubscribe(Place.of(sub))
        await message.answer(views.unsubscribed_text() if stopped else views.not_subscribed_text())
    elif await subscriptions.disconnect_channel(Place.of(sub), message.from_user.id) is None:
        await message.answer(_("This digest is not sent there any more."))
    else:
        await message.answer(
            _("{name} is disconnected: no more digests there.").format(
                name=html.quote(sub.title or str(sub.chat_id))
            )
        )
