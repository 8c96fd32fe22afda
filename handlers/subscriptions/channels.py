"""Admins' digest commands: /channel (connect, list, disconnect channels) and /digest (preview, send now,
and the deliveries of unknown outcome with their resend). Only admins get in (`IsAdmin`, router-level);
everyone else's /channel and /digest are refused by the settings router."""

from __future__ import annotations

import re

from aiogram import Bot, Router, html
from aiogram.filters import CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, MessageOriginChannel
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.digests.ledger import DeliveryLedger
from bot.digests.schedule import DigestScheduler
from bot.digests.subscriptions import ChannelRefused, Place, SubscriptionService
from handlers.callbacks import DigestResend
from handlers.filters import Forwarded, IsAdmin, PlainText, PrivateChat, command
from handlers.subscriptions import views
from handlers.subscriptions.digest_render import preview_text
from handlers.subscriptions.states import SubscriptionInput
from handlers.ui.edit import edit_or_send

_CHAT_ID = re.compile(r"^-?\d{1,20}$")
_LINK = re.compile(r"^(?:https?://)?t\.me/([A-Za-z0-9_]{4,})/?$")
_USERNAME = re.compile(r"^@[A-Za-z0-9_]{4,}$")


def make_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsAdmin())
    router.callback_query.filter(IsAdmin())
    router.message.register(channel_command, command("channel"))
    router.message.register(channel_forwarded, StateFilter(SubscriptionInput.channel), Forwarded())
    router.message.register(channel_typed, StateFilter(SubscriptionInput.channel), PlainText(), PrivateChat())
    router.message.register(digest_command, command("digest"))
    router.callback_query.register(resend_unknown, DigestResend.filter())
    return router


def channel_ref(text: str) -> str | int | None:
    """A channel as an admin wrote it: a t.me link or an @name (→ "@name"), or a chat id."""
    text = text.strip()
    m = _LINK.match(text)
    if m:
        return "@" + m.group(1)
    if _USERNAME.match(text):
        return text
    if _CHAT_ID.match(text):
        return int(text)
    return None


async def _connect(message: Message, ref: str | int, subscriptions: SubscriptionService, i18n: I18n) -> None:
    assert message.from_user is not None
    try:
        check, sub = await subscriptions.connect_channel(ref, message.from_user.id, i18n.current_locale)
    except ChannelRefused as refused:
        await message.answer(views.channel_problem_text(refused.check))
        return
    text, markup = views.channel_connected_screen(check, sub)
    await message.answer(text, reply_markup=markup)


# -- /channel ---------------------------------------------------------------------------------------------


async def channel_command(
    message: Message,
    command: CommandObject,
    subscriptions: SubscriptionService,
    state: FSMContext,
    i18n: I18n,
) -> None:
    await state.clear()
    parts = (command.args or "").split()
    action = parts[0].lower() if parts else ""
    if action == "add":
        ref = channel_ref(parts[1]) if len(parts) > 1 else None
        if ref is None:
            await state.set_state(SubscriptionInput.channel)
            await message.answer(_("Send the channel's @username, or forward me any post from it."))
            return
        await _connect(message, ref, subscriptions, i18n)
    elif action == "list":
        channels = await subscriptions.channels()
        text, markup = views.channel_list_screen(channels, i18n.current_locale, subscriptions.now())
        await message.answer(text, reply_markup=markup)
    elif action == "remove" and len(parts) > 1:
        await _disconnect(message, parts[1], subscriptions)
    else:
        await message.answer(views.channel_help())


async def channel_forwarded(
    message: Message, subscriptions: SubscriptionService, state: FSMContext, i18n: I18n
) -> None:
    await state.clear()
    origin = message.forward_origin
    if not isinstance(origin, MessageOriginChannel):
        await message.answer(_("That post is not from a channel. /channel add to try again."))
        return
    await _connect(message, origin.chat.id, subscriptions, i18n)


async def channel_typed(
    message: Message, subscriptions: SubscriptionService, state: FSMContext, i18n: I18n
) -> None:
    ref = channel_ref(message.text or "")
    if ref is None:
        # The question stays open: the next message is the answer (or /cancel).
        await message.answer(
            _("That is not a channel's @username. Send it again (@name or a t.me link), or /cancel.")
        )
        return
    await state.clear()
    await _connect(message, ref, subscriptions, i18n)


async def _resolve(ref_text: str, subscriptions: SubscriptionService) -> int | None:
    ref = channel_ref(ref_text)
    return None if ref is None else await subscriptions.resolve(ref)


async def _disconnect(message: Message, ref_text: str, subscriptions: SubscriptionService) -> None:
    assert message.from_user is not None
    chat_id = await _resolve(ref_text, subscriptions)
    sub = (
        await subscriptions.disconnect_channel(Place(chat_id), message.from_user.id)
        if chat_id is not None
        else None
    )
    if sub is None:
        await message.answer(
            _("{name} is not a connected channel. /channel list shows them.").format(
                name=html.quote(ref_text)
            )
        )
        return
    await message.answer(
        _("{name} is disconnected: no more digests there.").format(name=html.quote(sub.title or ref_text))
    )


# -- /digest ----------------------------------------------------------------------------------------------


async def digest_command(
    message: Message,
    command: CommandObject,
    bot: Bot,
    subscriptions: SubscriptionService,
    digest_scheduler: DigestScheduler,
    digest_ledger: DeliveryLedger,
) -> None:
    parts = (command.args or "").split()
    action = parts[0].lower() if parts else ""
    assert message.from_user is not None
    if action == "unknown":
        text, markup = views.unknown_screen(await digest_ledger.unknown())
        await message.answer(text, reply_markup=markup)
        return
    # Inside a forum topic, without a target: that topic's subscription (each topic has its own).
    topic = _topic_of(message) if len(parts) < 2 else None
    if action not in ("preview", "send") or (action == "send" and len(parts) < 2 and topic is None):
        await message.answer(views.digest_help())
        return
    if len(parts) > 1:
        chat_id = await _resolve(parts[1], subscriptions)
        who = html.quote(parts[1])
    elif topic is not None:
        chat_id, who = message.chat.id, _("this topic")
    else:
        chat_id, who = message.from_user.id, _("you")
    if chat_id is None:
        await message.answer(_("I don't know {name}. /channel list shows the channels.").format(name=who))
        return
    if action == "preview":
        found = await digest_scheduler.preview(chat_id, topic)
        if found is None:
            await message.answer(_("{name} has no subscription.").format(name=who))
        elif found[1].empty:
            await message.answer(views.nothing_to_send(found[0], who, sent=False))
        else:
            me = await bot.me()
            await message.answer(
                preview_text(found[1], who, me.username or "bot"), disable_web_page_preview=True
            )
        return
    before = await subscriptions.get_active(Place(chat_id, topic))
    report = await digest_scheduler.send_now(chat_id, topic)
    if report is None or before is None:
        await message.answer(_("{name} has no active subscription.").format(name=who))
    elif report.queued:
        await message.answer(_("📤 The digest for {name} is on its way.").format(name=who))
    else:
        await message.answer(views.nothing_to_send(before, who, sent=True))


def _topic_of(message: Message) -> int | None:
    """The forum topic the message was sent in (None: not in a topic of a forum group)."""
    if message.chat.is_forum and message.is_topic_message and message.message_thread_id:
        return message.message_thread_id
    return None


async def resend_unknown(query: CallbackQuery, digest_ledger: DeliveryLedger) -> None:
    count = await digest_ledger.resend_unknown(query.from_user.id)
    await edit_or_send(query, views.resent_text(count))
