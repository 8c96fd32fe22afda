"""Subscriptions and digests: /subscribe, /settings, /unsubscribe, /pause, /resume; admins' /channel and
/digest; the "show the rest" button under a digest."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiogram import Bot, F, Router, html
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandObject, Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardMarkup,
    Message,
    MessageOriginChannel,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_datetime, get_day_names

from bot.app.settings import Settings
from bot.digests.builder import stories_from_json
from bot.digests.schedule import COMMON_ZONES, DigestScheduler, parse_local_time, parse_timezone, zone
from bot.digests.subscriptions import ChannelCheck, ChannelProblem, SubscriptionService
from bot.search import parse_query
from handlers.callbacks import (
    DigestMore,
    Menu,
    MenuAction,
    SubAction,
    SubDay,
    SubFrequency,
    SubMenu,
    SubTime,
    SubTopic,
    SubZone,
    TopicAction,
)
from handlers.subscriptions import keyboards as kb
from handlers.subscriptions.digest_render import preview_text, render_page
from handlers.ui.render import short
from storage.audit import AuditRepository
from storage.deliveries import DeliveryRepository
from storage.subscriptions import Frequency, Kind, Subscription

router = Router(name=__name__)
log = logging.getLogger(__name__)

_CHAT_ID = re.compile(r"^-?\d{1,20}$")


class SubscriptionInput(StatesGroup):
    time = State()
    zone = State()
    topic = State()
    channel = State()


class IsAdmin(Filter):
    async def __call__(self, event: Message | CallbackQuery, settings: Settings) -> bool:
        user = event.from_user
        return user is not None and user.id in settings.admin_ids


# -- what is shown --------------------------------------------------------------------------------------


def schedule_text(sub: Subscription, locale: str, now: datetime) -> str:
    if sub.frequency is Frequency.INSTANT:
        return _("as soon as news comes")
    where = kb.zone_label(sub.timezone, now)
    if sub.frequency is Frequency.WEEKLY:
        day = str(get_day_names("wide", locale=locale)[sub.weekday or 0])
        return _("once a week, on {day}, at {time}, {zone}").format(day=day, time=sub.local_time, zone=where)
    return _("every day at {time}, {zone}").format(time=sub.local_time, zone=where)


def describe(sub: Subscription, locale: str, now: datetime) -> str:
    if sub.kind is Kind.CHANNEL:
        head = _("🔔 Digest for {channel}").format(channel=html.quote(sub.title or str(sub.chat_id)))
    else:
        head = _("🔔 Your digest")
    lines = [html.bold(head), _("How often: {schedule}").format(schedule=schedule_text(sub, locale, now))]
    if sub.filter_query:
        lines.append(_("Topic: «{topic}»").format(topic=html.quote(sub.filter_query)))
    else:
        lines.append(_("Topic: all news"))
    if sub.paused:
        lines.append(_("⏸ Paused. /resume to continue."))
    elif sub.next_due is not None:
        when = format_datetime(sub.next_due.astimezone(zone(sub.timezone)), "d MMMM, HH:mm", locale=locale)
        lines.append(_("Next digest: {when}").format(when=when))
    return "\n".join(lines)


async def _show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace the message the button was under (a new one when that is no longer possible)."""
    await query.answer()
    message = query.message
    if message is None or isinstance(message, InaccessibleMessage):
        await query.bot.send_message(query.from_user.id, text, reply_markup=markup)  # type: ignore[union-attr]
        return
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "message is not modified" not in str(exc):
            raise


def _settings_markup(sub: Subscription) -> InlineKeyboardMarkup:
    return kb.settings_keyboard(sub, sub.chat_id if sub.kind is Kind.CHANNEL else 0)


def _chat_arg(sub: Subscription) -> int:
    return sub.chat_id if sub.kind is Kind.CHANNEL else 0


# -- whose subscription a button is about ---------------------------------------------------------------


async def _target(
    query: CallbackQuery, chat: int, settings: Settings, subscriptions: SubscriptionService
) -> int | None:
    """The chat a button changes: the presser's own, or a channel — for admins, and only a connected one."""
    if chat == 0:
        return query.from_user.id
    if query.from_user.id not in settings.admin_ids:
        await query.answer(_("Only the bot's admins can change a channel's digest."), show_alert=True)
        return None
    sub = await subscriptions.get(chat)
    if sub is None or not sub.active or sub.kind is not Kind.CHANNEL:
        await query.answer(
            _("This channel is not connected any more. /channel add connects it."), show_alert=True
        )
        return None
    return chat


async def _not_subscribed(query: CallbackQuery) -> None:
    await query.answer(_("You are not subscribed. /subscribe to start."), show_alert=True)


# -- the steps, each as a screen ------------------------------------------------------------------------


def _frequency_prompt(sub: Subscription | None, locale: str, now: datetime) -> str:
    ask = _("How often should I send the digest?")
    if sub is not None and sub.active:
        return describe(sub, locale, now) + "\n\n" + ask
    return _("I will send a digest of the news: each story once, with all its sources.") + "\n\n" + ask


async def _next_step(
    query: CallbackQuery, sub: Subscription, wizard: bool, step: str, i18n: I18n, now: datetime
) -> None:
    """After a choice: the walk-through's next question, or the settings again."""
    chat = _chat_arg(sub)
    locale = i18n.current_locale
    if not wizard or step == "done":
        await _show(query, describe(sub, locale, now), _settings_markup(sub))
    elif step == "day":
        await _show(query, _("On which day?"), kb.weekday_keyboard(chat, True, locale, sub.weekday))
    elif step == "time":
        await _show(query, _("At what time?"), kb.time_keyboard(chat, True, sub.local_time))
    elif step == "zone":
        await _show(query, _zone_prompt(sub, now), kb.zone_keyboard(chat, True, now, sub.timezone))
    else:
        await _show(query, _topic_prompt(sub), kb.topic_keyboard(chat, True, sub.filter_query))


def _zone_prompt(sub: Subscription, now: datetime) -> str:
    return _("In which time zone? Now: {zone}.").format(zone=kb.zone_label(sub.timezone, now))


def _topic_prompt(sub: Subscription) -> str:
    lines = [
        _("Only news on a topic? Send keywords: a text comes when it has any of them, in any form."),
        _("For example: криптовалюта, -реклама (a minus excludes a word)."),
    ]
    if sub.filter_query:
        lines.append(_("Now: «{topic}».").format(topic=html.quote(sub.filter_query)))
    return "\n".join(lines)


# -- /subscribe and its buttons -------------------------------------------------------------------------


@router.message(Command("subscribe"), F.chat.type == "private")
async def subscribe_command(
    message: Message, subscriptions: SubscriptionService, state: FSMContext, i18n: I18n
) -> None:
    await state.clear()
    assert message.from_user is not None
    sub = await subscriptions.get(message.from_user.id)
    now = subscriptions.clock.now()
    current = sub.frequency if sub is not None and sub.active else None
    await message.answer(
        _frequency_prompt(sub, i18n.current_locale, now), reply_markup=kb.frequency_keyboard(0, True, current)
    )


@router.message(Command("subscribe"))
async def subscribe_elsewhere(message: Message) -> None:
    await message.answer(
        _("Digests for you are set up in a private chat with me. Channels: an admin uses /channel add.")
    )


@router.callback_query(MenuAction.filter(F.action == Menu.SUBSCRIBE))
async def menu_subscribe(
    query: CallbackQuery, subscriptions: SubscriptionService, state: FSMContext, i18n: I18n
) -> None:
    await state.clear()
    await query.answer()
    sub = await subscriptions.get(query.from_user.id)
    current = sub.frequency if sub is not None and sub.active else None
    await query.bot.send_message(  # type: ignore[union-attr]
        query.from_user.id,
        _frequency_prompt(sub, i18n.current_locale, subscriptions.clock.now()),
        reply_markup=kb.frequency_keyboard(0, True, current),
    )


@router.callback_query(SubFrequency.filter())
async def choose_frequency(
    query: CallbackQuery,
    callback_data: SubFrequency,
    subscriptions: SubscriptionService,
    settings: Settings,
    i18n: I18n,
) -> None:
    target = await _target(query, callback_data.chat, settings, subscriptions)
    if target is None:
        return
    try:
        frequency = Frequency(callback_data.value)
    except ValueError:
        await query.answer(_("This button is outdated."), show_alert=True)
        return
    kind = Kind.PERSON if callback_data.chat == 0 else Kind.CHANNEL
    sub = await subscriptions.choose_frequency(target, kind, i18n.current_locale, frequency)
    step = {Frequency.WEEKLY: "day", Frequency.DAILY: "time", Frequency.INSTANT: "topic"}[frequency]
    if not callback_data.wizard and frequency is Frequency.WEEKLY:
        # Weekly needs its day even outside the walk-through.
        await _show(
            query,
            _("On which day?"),
            kb.weekday_keyboard(_chat_arg(sub), False, i18n.current_locale, sub.weekday),
        )
        return
    await _next_step(query, sub, callback_data.wizard, step, i18n, subscriptions.clock.now())


@router.callback_query(SubDay.filter())
async def choose_day(
    query: CallbackQuery,
    callback_data: SubDay,
    subscriptions: SubscriptionService,
    settings: Settings,
    i18n: I18n,
) -> None:
    target = await _target(query, callback_data.chat, settings, subscriptions)
    if target is None:
        return
    sub = await subscriptions.set_weekday(target, callback_data.day)
    if sub is None:
        await _not_subscribed(query)
        return
    await _next_step(query, sub, callback_data.wizard, "time", i18n, subscriptions.clock.now())


@router.callback_query(SubTime.filter())
async def choose_time(
    query: CallbackQuery,
    callback_data: SubTime,
    subscriptions: SubscriptionService,
    settings: Settings,
    state: FSMContext,
    i18n: I18n,
) -> None:
    target = await _target(query, callback_data.chat, settings, subscriptions)
    if target is None:
        return
    if not callback_data.value:
        await _ask_typed(state, SubscriptionInput.time, callback_data.chat, callback_data.wizard)
        await _show(query, _("Send the time as HH:MM, for example 07:30."))
        return
    local_time = parse_local_time(callback_data.value[:2] + ":" + callback_data.value[2:])
    sub = await subscriptions.set_time(target, local_time) if local_time else None
    if sub is None:
        await _not_subscribed(query)
        return
    await _next_step(query, sub, callback_data.wizard, "zone", i18n, subscriptions.clock.now())


@router.callback_query(SubZone.filter())
async def choose_zone(
    query: CallbackQuery,
    callback_data: SubZone,
    subscriptions: SubscriptionService,
    settings: Settings,
    state: FSMContext,
    i18n: I18n,
) -> None:
    target = await _target(query, callback_data.chat, settings, subscriptions)
    if target is None:
        return
    if not 0 <= callback_data.index < len(COMMON_ZONES):
        await _ask_typed(state, SubscriptionInput.zone, callback_data.chat, callback_data.wizard)
        await _show(
            query,
            _(
                "Send a time zone: a city or IANA name (Asia/Almaty, Europe/Berlin) or an offset (UTC+5, -03:00)."
            ),
        )
        return
    sub = await subscriptions.set_timezone(target, COMMON_ZONES[callback_data.index])
    if sub is None:
        await _not_subscribed(query)
        return
    await _next_step(query, sub, callback_data.wizard, "topic", i18n, subscriptions.clock.now())


@router.callback_query(SubTopic.filter())
async def choose_topic(
    query: CallbackQuery,
    callback_data: SubTopic,
    subscriptions: SubscriptionService,
    settings: Settings,
    state: FSMContext,
    i18n: I18n,
) -> None:
    target = await _target(query, callback_data.chat, settings, subscriptions)
    if target is None:
        return
    if callback_data.action is TopicAction.TYPE:
        await _ask_typed(state, SubscriptionInput.topic, callback_data.chat, callback_data.wizard)
        await _show(query, _("Send the keywords, for example: криптовалюта, -реклама"))
        return
    if callback_data.action is TopicAction.ALL:
        sub = await subscriptions.set_topic(target, "")
    else:
        sub = await subscriptions.get(target)
    if sub is None or not sub.active:
        await _not_subscribed(query)
        return
    await _done(query, sub, callback_data.wizard, i18n, subscriptions.clock.now())


async def _done(query: CallbackQuery, sub: Subscription, wizard: bool, i18n: I18n, now: datetime) -> None:
    text = describe(sub, i18n.current_locale, now)
    if wizard:
        text = (
            html.bold(_("Done!")) + "\n\n" + text + "\n\n" + _("/settings changes it, /unsubscribe stops it.")
        )
    await _show(query, text, _settings_markup(sub))


# -- typed answers --------------------------------------------------------------------------------------


async def _ask_typed(state: FSMContext, step: State, chat: int, wizard: bool) -> None:
    """Wait for a typed answer to `step`; `_typed_target` reads back whose settings it is for."""
    await state.set_state(step)
    await state.update_data(chat=chat, wizard=wizard)


async def _typed_target(message: Message, state: FSMContext, settings: Settings) -> tuple[int, bool] | None:
    data = await state.get_data()
    await state.clear()
    chat, wizard = int(data.get("chat", 0)), bool(data.get("wizard", False))
    assert message.from_user is not None
    if chat == 0:
        return message.from_user.id, wizard
    if message.from_user.id not in settings.admin_ids:
        return None
    return chat, wizard


async def _answer_next(
    message: Message, sub: Subscription, wizard: bool, step: str, i18n: I18n, now: datetime
) -> None:
    chat = _chat_arg(sub)
    if not wizard:
        await message.answer(describe(sub, i18n.current_locale, now), reply_markup=_settings_markup(sub))
    elif step == "zone":
        await message.answer(
            _zone_prompt(sub, now), reply_markup=kb.zone_keyboard(chat, True, now, sub.timezone)
        )
    elif step == "topic":
        await message.answer(_topic_prompt(sub), reply_markup=kb.topic_keyboard(chat, True, sub.filter_query))
    else:
        text = html.bold(_("Done!")) + "\n\n" + describe(sub, i18n.current_locale, now)
        await message.answer(
            text + "\n\n" + _("/settings changes it, /unsubscribe stops it."),
            reply_markup=_settings_markup(sub),
        )


_TYPED = F.text & ~F.text.startswith("/") & (F.chat.type == "private")


async def _typed_update(
    message: Message,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
    subscriptions: SubscriptionService,
    value: str | None,
    refusal: str,
    apply: Callable[[int, str], Awaitable[Subscription | None]],
    next_step: str,
) -> None:
    """One typed answer of the settings flow: whose subscription, is the value usable, store it, go on."""
    found = await _typed_target(message, state, settings)
    if found is None:
        return
    if value is None:
        await message.answer(refusal)
        return
    sub = await apply(found[0], value)
    if sub is None:
        await message.answer(_("You are not subscribed. /subscribe to start."))
        return
    await _answer_next(message, sub, found[1], next_step, i18n, subscriptions.clock.now())


def _typed(message: Message) -> str:
    return html.quote(short(message.text or "", 40))


@router.message(SubscriptionInput.time, _TYPED)
async def typed_time(
    message: Message, state: FSMContext, subscriptions: SubscriptionService, settings: Settings, i18n: I18n
) -> None:
    refusal = _(
        "«{text}» is not a time I understand; nothing changed. Press the button again and send it as HH:MM."
    ).format(text=_typed(message))
    value = parse_local_time(message.text or "")
    await _typed_update(
        message, state, settings, i18n, subscriptions, value, refusal, subscriptions.set_time, "zone"
    )


@router.message(SubscriptionInput.zone, _TYPED)
async def typed_zone(
    message: Message, state: FSMContext, subscriptions: SubscriptionService, settings: Settings, i18n: I18n
) -> None:
    refusal = _(
        "I don't know the time zone «{text}»; nothing changed. Try a city (Almaty), Asia/Almaty or UTC+5."
    ).format(text=_typed(message))
    value = parse_timezone(message.text or "")
    await _typed_update(
        message, state, settings, i18n, subscriptions, value, refusal, subscriptions.set_timezone, "topic"
    )


@router.message(SubscriptionInput.topic, _TYPED)
async def typed_topic(
    message: Message, state: FSMContext, subscriptions: SubscriptionService, settings: Settings, i18n: I18n
) -> None:
    text = message.text or ""
    refusal = _("There are no words in that; nothing changed. /settings to try again.")
    value = text if parse_query(text).items else None
    await _typed_update(
        message, state, settings, i18n, subscriptions, value, refusal, subscriptions.set_topic, "done"
    )


# -- /settings, /pause, /resume, /unsubscribe -----------------------------------------------------------


@router.message(Command("settings"), F.chat.type == "private")
async def settings_command(
    message: Message, subscriptions: SubscriptionService, state: FSMContext, i18n: I18n
) -> None:
    await state.clear()
    assert message.from_user is not None
    sub = await subscriptions.get(message.from_user.id)
    if sub is None or not sub.active:
        await message.answer(_("You are not subscribed to digests. /subscribe to start."))
        return
    await message.answer(
        describe(sub, i18n.current_locale, subscriptions.clock.now()), reply_markup=_settings_markup(sub)
    )


@router.message(Command("pause"), F.chat.type == "private")
async def pause_command(message: Message, subscriptions: SubscriptionService) -> None:
    assert message.from_user is not None
    sub = await subscriptions.pause(message.from_user.id)
    if sub is None:
        await message.answer(_("You are not subscribed to digests. /subscribe to start."))
        return
    await message.answer(_("⏸ Digests paused. /resume brings them back."))


@router.message(Command("resume"), F.chat.type == "private")
async def resume_command(message: Message, subscriptions: SubscriptionService, i18n: I18n) -> None:
    assert message.from_user is not None
    sub = await subscriptions.resume(message.from_user.id)
    if sub is None:
        await message.answer(_("You are not subscribed to digests. /subscribe to start."))
        return
    await message.answer(
        _("▶ Digests are back.") + "\n\n" + describe(sub, i18n.current_locale, subscriptions.clock.now()),
        reply_markup=_settings_markup(sub),
    )


def _unsubscribed_text() -> str:
    return _("You are unsubscribed: no more digests. To come back, send /subscribe — your settings are kept.")


@router.message(Command("unsubscribe"), F.chat.type == "private")
async def unsubscribe_command(
    message: Message, subscriptions: SubscriptionService, state: FSMContext
) -> None:
    await state.clear()
    assert message.from_user is not None
    if await subscriptions.unsubscribe(message.from_user.id):
        await message.answer(_unsubscribed_text())
    else:
        await message.answer(_("You are not subscribed to digests. /subscribe to start."))


@router.callback_query(SubMenu.filter())
async def settings_button(
    query: CallbackQuery,
    callback_data: SubMenu,
    subscriptions: SubscriptionService,
    settings: Settings,
    audit: AuditRepository,
    i18n: I18n,
) -> None:
    target = await _target(query, callback_data.chat, settings, subscriptions)
    if target is None:
        return
    action = callback_data.action
    chat, locale, now = callback_data.chat, i18n.current_locale, subscriptions.clock.now()
    if action is SubAction.UNSUBSCRIBE:
        if await subscriptions.unsubscribe(target, "removed" if chat else "unsubscribed"):
            if chat:
                await audit.record(query.from_user.id, "channel_remove", details=str(chat))
                await _show(query, _("The channel is disconnected: no more digests there."))
            else:
                await _show(query, _unsubscribed_text())
        else:
            await _not_subscribed(query)
        return
    if action is SubAction.PAUSE:
        sub = await subscriptions.pause(target)
    elif action is SubAction.RESUME:
        sub = await subscriptions.resume(target)
    else:
        sub = await subscriptions.get(target)
    if sub is None or not sub.active:
        await _not_subscribed(query)
        return
    if action is SubAction.FREQUENCY:
        await _show(
            query, _("How often should I send the digest?"), kb.frequency_keyboard(chat, False, sub.frequency)
        )
    elif action is SubAction.DAY:
        await _show(query, _("On which day?"), kb.weekday_keyboard(chat, False, locale, sub.weekday))
    elif action is SubAction.TIME:
        await _show(query, _("At what time?"), kb.time_keyboard(chat, False, sub.local_time))
    elif action is SubAction.ZONE:
        await _show(query, _zone_prompt(sub, now), kb.zone_keyboard(chat, False, now, sub.timezone))
    elif action is SubAction.TOPIC:
        await _show(query, _topic_prompt(sub), kb.topic_keyboard(chat, False, sub.filter_query))
    else:
        await _show(query, describe(sub, locale, now), _settings_markup(sub))


# -- the rest of a digest -------------------------------------------------------------------------------


@router.callback_query(DigestMore.filter())
async def digest_rest(
    query: CallbackQuery, callback_data: DigestMore, deliveries: DeliveryRepository, bot: Bot
) -> None:
    stored = await deliveries.digest(callback_data.digest_id)
    if stored is None:
        await query.answer(_("This digest is no longer available."), show_alert=True)
        return
    stories = stories_from_json(stored.stories)
    start = max(0, callback_data.start)
    if start >= len(stories):
        await query.answer()
        return
    me = await bot.me()
    text, end = render_page(stories, start, stored.filter_query, me.username or "bot")
    markup = kb.rest_keyboard(stored.id, end, len(stories))
    message = query.message
    in_private = message is not None and message.chat.type == "private"
    # Under a channel post the rest goes to the reader's private chat: the channel is not a conversation.
    chat_id = message.chat.id if in_private and message is not None else query.from_user.id
    try:
        await bot.send_message(chat_id, text, reply_markup=markup, disable_web_page_preview=True)
    except TelegramForbiddenError:
        await query.answer(
            _("Open a chat with me (@{bot}) and press the button again: I will send the rest there.").format(
                bot=me.username or "bot"
            ),
            show_alert=True,
        )
        return
    await query.answer(None if in_private else _("Sent to our private chat."))


# -- admins: /channel ------------------------------------------------------------------------------------


@router.message(Command("channel", "digest"), ~IsAdmin())
async def admins_only(message: Message) -> None:
    await message.answer(_("Sorry, this command is for the bot's admins."))


def channel_problem_text(check: ChannelCheck) -> str:
    name = html.quote(check.name)
    if check.problem is ChannelProblem.NOT_FOUND:
        return _(
            "I can't find {name}. Check the @username; for a private channel, add me to it first and forward me one of its posts."
        ).format(name=name)
    if check.problem is ChannelProblem.NOT_A_CHANNEL:
        return _("{name} is not a channel. Digests go to channels and to people's private chats.").format(
            name=name
        )
    if check.problem is ChannelProblem.NOT_ADMIN:
        return _(
            "I am not an administrator of {name}. Add me as an administrator with the right to post messages, then try again."
        ).format(name=name)
    return _(
        "I am an administrator of {name} but may not post messages. Turn on “Post messages” in my administrator rights, then try again."
    ).format(name=name)


async def _connect_channel(
    message: Message,
    ref: str | int,
    bot: Bot,
    subscriptions: SubscriptionService,
    audit: AuditRepository,
    i18n: I18n,
) -> None:
    check = await subscriptions.check_channel(bot, ref)
    if check.problem is not None:
        await message.answer(channel_problem_text(check))
        return
    assert message.from_user is not None and check.chat_id is not None
    sub = await subscriptions.add_channel(check, message.from_user.id, i18n.current_locale)
    await audit.record(message.from_user.id, "channel_add", details=f"{check.chat_id} {check.name}")
    await message.answer(
        _("✅ {name} is connected. How often should I post the digest there?").format(
            name=html.quote(check.name)
        ),
        reply_markup=kb.frequency_keyboard(sub.chat_id, True, sub.frequency),
    )


def _channel_ref(text: str) -> str | int | None:
    text = text.strip()
    m = re.match(r"^(?:https?://)?t\.me/([A-Za-z0-9_]{4,})/?$", text)
    if m:
        return "@" + m.group(1)
    if re.match(r"^@[A-Za-z0-9_]{4,}$", text):
        return text
    if _CHAT_ID.match(text):
        return int(text)
    return None


@router.message(Command("channel"), IsAdmin())
async def channel_command(
    message: Message,
    command: CommandObject,
    bot: Bot,
    subscriptions: SubscriptionService,
    audit: AuditRepository,
    state: FSMContext,
    i18n: I18n,
) -> None:
    await state.clear()
    parts = (command.args or "").split()
    action = parts[0].lower() if parts else ""
    if action == "add":
        ref = _channel_ref(parts[1]) if len(parts) > 1 else None
        if ref is None:
            await state.set_state(SubscriptionInput.channel)
            await message.answer(_("Send the channel's @username, or forward me any post from it."))
            return
        await _connect_channel(message, ref, bot, subscriptions, audit, i18n)
    elif action == "list":
        await _channel_list(message, subscriptions, i18n)
    elif action == "remove" and len(parts) > 1:
        await _channel_remove(message, parts[1], bot, subscriptions, audit)
    else:
        await message.answer(
            "\n".join(
                [
                    _("/channel add @name — post digests to a channel (I must be its administrator)"),
                    _("/channel list — the channels and their schedules"),
                    _("/channel remove @name — stop posting there"),
                ]
            )
        )


@router.message(SubscriptionInput.channel, F.forward_origin)
async def channel_forwarded(
    message: Message,
    bot: Bot,
    subscriptions: SubscriptionService,
    audit: AuditRepository,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    await state.clear()
    if message.from_user is None or message.from_user.id not in settings.admin_ids:
        return
    origin = message.forward_origin
    if not isinstance(origin, MessageOriginChannel):
        await message.answer(_("That post is not from a channel. /channel add to try again."))
        return
    await _connect_channel(message, origin.chat.id, bot, subscriptions, audit, i18n)


@router.message(SubscriptionInput.channel, _TYPED)
async def channel_typed(
    message: Message,
    bot: Bot,
    subscriptions: SubscriptionService,
    audit: AuditRepository,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    await state.clear()
    if message.from_user is None or message.from_user.id not in settings.admin_ids:
        return
    ref = _channel_ref(message.text or "")
    if ref is None:
        await message.answer(_("That is not a channel's @username. /channel add to try again."))
        return
    await _connect_channel(message, ref, bot, subscriptions, audit, i18n)


async def _channel_list(message: Message, subscriptions: SubscriptionService, i18n: I18n) -> None:
    channels = await subscriptions.channels()
    if not channels:
        await message.answer(_("No channels yet. /channel add @name connects one."))
        return
    now = subscriptions.clock.now()
    lines = [html.bold(_("Channels"))]
    for c in channels:
        name = html.quote(c.title or str(c.chat_id))
        if not c.active:
            lines.append(
                _("• {name}: stopped ({reason})").format(
                    name=name, reason=html.quote(c.inactive_reason or "?")
                )
            )
            continue
        state = _("paused") if c.paused else schedule_text(c, i18n.current_locale, now)
        topic = _(", topic «{topic}»").format(topic=html.quote(c.filter_query)) if c.filter_query else ""
        lines.append(_("• {name}: {schedule}{topic}").format(name=name, schedule=state, topic=topic))
    await message.answer("\n".join(lines), reply_markup=kb.channels_keyboard(channels))


async def _resolve(ref_text: str, bot: Bot, subscriptions: SubscriptionService) -> int | None:
    """A chat id from what an admin typed: a number, or a channel's @name (asked of Telegram, else looked up
    among the connected channels)."""
    ref = _channel_ref(ref_text)
    if isinstance(ref, int):
        return ref
    if ref is None:
        return None
    try:
        return (await bot.get_chat(ref)).id
    except (TelegramBadRequest, TelegramForbiddenError):
        wanted = ref.lower()
        return next((c.chat_id for c in await subscriptions.channels() if c.title.lower() == wanted), None)


async def _channel_remove(
    message: Message, ref_text: str, bot: Bot, subscriptions: SubscriptionService, audit: AuditRepository
) -> None:
    chat_id = await _resolve(ref_text, bot, subscriptions)
    sub = await subscriptions.get(chat_id) if chat_id is not None else None
    if sub is None or sub.kind is not Kind.CHANNEL or not sub.active:
        await message.answer(
            _("{name} is not a connected channel. /channel list shows them.").format(
                name=html.quote(ref_text)
            )
        )
        return
    assert message.from_user is not None
    await subscriptions.unsubscribe(sub.chat_id, "removed")
    await audit.record(message.from_user.id, "channel_remove", details=f"{sub.chat_id} {sub.title}")
    await message.answer(
        _("{name} is disconnected: no more digests there.").format(name=html.quote(sub.title or ref_text))
    )


# -- admins: /digest ---------------------------------------------------------------------------------------


@router.message(Command("digest"), IsAdmin())
async def digest_command(
    message: Message,
    command: CommandObject,
    bot: Bot,
    subscriptions: SubscriptionService,
    digest_scheduler: DigestScheduler,
) -> None:
    parts = (command.args or "").split()
    action = parts[0].lower() if parts else ""
    assert message.from_user is not None
    if action not in ("preview", "send") or (action == "send" and len(parts) < 2):
        await message.answer(
            "\n".join(
                [
                    _("/digest preview @channel — what a channel (or a chat id; none: you) would get now"),
                    _("/digest send @channel — send its digest now"),
                ]
            )
        )
        return
    chat_id = await _resolve(parts[1], bot, subscriptions) if len(parts) > 1 else message.from_user.id
    who = html.quote(parts[1] if len(parts) > 1 else _("you"))
    if chat_id is None:
        await message.answer(_("I don't know {name}. /channel list shows the channels.").format(name=who))
        return
    if action == "preview":
        found = await digest_scheduler.preview(chat_id)
        if found is None:
            await message.answer(_("{name} has no subscription.").format(name=who))
        elif found[1].empty:
            await message.answer(
                _("Nothing new for {name} since its last digest: it would get no message.").format(name=who)
            )
        else:
            me = await bot.me()
            await message.answer(
                preview_text(found[1], who, me.username or "bot"), disable_web_page_preview=True
            )
        return
    report = await digest_scheduler.send_now(chat_id)
    if report is None:
        await message.answer(_("{name} has no active subscription.").format(name=who))
    elif report.queued:
        await message.answer(_("📤 The digest for {name} is on its way.").format(name=who))
    else:
        await message.answer(
            _("Nothing new for {name} since its last digest: nothing sent.").format(name=who)
        )
