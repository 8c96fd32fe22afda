"""A person's digest (and, for admins, a channel's): /subscribe with its walk-through, /settings and its
buttons, typed answers, /pause, /resume, /unsubscribe; and "show the rest" under a digest."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Filter, or_f
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.digests.subscriptions import ChannelRefused, Frequency, Kind, SubscriptionService
from bot.digests.times import COMMON_ZONES, parse_local_time
from handlers.callbacks import (
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
from handlers.filters import IsAdmin, PrivateChat, command
from handlers.subscriptions import keyboards as kb
from handlers.subscriptions import views
from handlers.subscriptions.option_data import SubOption
from handlers.subscriptions.states import Step, SubscriptionInput
from handlers.subscriptions.typed import ask_typed
from handlers.ui.edit import alert, edit_or_send

# A settings button about a channel (its id in `chat`) rather than the presser's own subscription.
CHANNEL_BUTTON = or_f(
    *(
        data.filter(F.chat != 0)
        for data in (SubFrequency, SubDay, SubTime, SubZone, SubTopic, SubMenu, SubOption)
    )
)
_STEP_AFTER = {Frequency.WEEKLY: Step.DAY, Frequency.DAILY: Step.TIME, Frequency.INSTANT: Step.TOPIC}
_SETTING = {
    SubAction.DAY: Step.DAY,
    SubAction.TIME: Step.TIME,
    SubAction.ZONE: Step.ZONE,
    SubAction.TOPIC: Step.TOPIC,
}


def make_router() -> Router:
    router = Router(name=__name__)
    cb, msg = router.callback_query, router.message
    # Before anything else: a channel's settings are for admins only, whatever the button says.
    cb.register(channel_button_refused, CHANNEL_BUTTON, ~IsAdmin())
    msg.register(admins_only, command("channel", "digest"))
    msg.register(subscribe_command, command("subscribe"), PrivateChat())
    msg.register(subscribe_topic, command("subscribe"), InForumTopic(), IsAdmin())
    msg.register(subscribe_topic_refused, command("subscribe"), InForumTopic())
    msg.register(subscribe_elsewhere, command("subscribe"))
    cb.register(menu_subscribe, MenuAction.filter(F.action == Menu.SUBSCRIBE))
    cb.register(choose_frequency, SubFrequency.filter())
    cb.register(choose_day, SubDay.filter())
    cb.register(choose_time, SubTime.filter())
    cb.register(choose_zone, SubZone.filter())
    cb.register(choose_topic, SubTopic.filter())
    msg.register(settings_command, command("settings"), PrivateChat())
    msg.register(pause_command, command("pause"), PrivateChat())
    msg.register(resume_command, command("resume"), PrivateChat())
    msg.register(unsubscribe_command, command("unsubscribe"), PrivateChat())
    cb.register(settings_button, SubMenu.filter())
    return router


async def channel_button_refused(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    alert(callback_answer, _("Only the bot's admins can change a channel's digest."))


async def admins_only(message: Message) -> None:
    await message.answer(_("Sorry, this command is for the bot's admins."))


async def target_chat(
    query: CallbackQuery, chat: int, subscriptions: SubscriptionService, answer: CallbackAnswer
) -> int | None:
    return await _target(query, chat, subscriptions, answer)


async def _target(
    query: CallbackQuery, chat: int, subscriptions: SubscriptionService, answer: CallbackAnswer
) -> int | None:
    """The chat a button changes: the presser's own, or (admins only got here) a connected channel."""
    if chat == 0:
        return query.from_user.id
    if await subscriptions.connected_channel(chat) is None:
        alert(answer, _("This channel is not connected any more. /channel add connects it."))
        return None
    return chat


def _not_subscribed(answer: CallbackAnswer) -> None:
    alert(answer, _("You are not subscribed. /subscribe to start."))


# -- /subscribe and its buttons -------------------------------------------------------------------------


async def subscribe_command(
    message: Message, subscriptions: SubscriptionService, state: FSMContext, i18n: I18n
) -> None:
    await state.clear()
    assert message.from_user is not None
    sub = await subscriptions.get(message.from_user.id)
    current = sub.frequency if sub is not None and sub.active else None
    await message.answer(
        views.frequency_prompt(sub, i18n.current_locale, subscriptions.now()),
        reply_markup=kb.frequency_keyboard(0, True, current),
    )


class InForumTopic(Filter):
    """A message sent inside a topic of a forum group."""

    async def __call__(self, message: Message) -> bool:
        return bool(message.chat.is_forum and message.is_topic_message and message.message_thread_id)


async def subscribe_topic(
    message: Message, subscriptions: SubscriptionService, state: FSMContext, i18n: I18n
) -> None:
    """/subscribe inside a forum topic, by an admin: that topic gets the digests (the bot's right to write in
    the group checked as for a channel)."""
    await state.clear()
    assert message.from_user is not None and message.message_thread_id is not None
    title = _("{group}, topic #{topic}").format(
        group=message.chat.title or "", topic=message.message_thread_id
    )
    try:
        _check, sub = await subscriptions.connect_topic(
            message.chat.id, message.message_thread_id, title, message.from_user.id, i18n.current_locale
        )
    except ChannelRefused as refused:
        await message.answer(views.channel_problem_text(refused.check))
        return
    text = _("✅ Digests will come into this topic. How often?")
    await message.answer(text, reply_markup=kb.frequency_keyboard(sub.chat_id, True, sub.frequency))


async def subscribe_topic_refused(message: Message) -> None:
    await message.answer(_("Only the bot's admins can set up digests for a topic of this group."))


async def subscribe_elsewhere(message: Message) -> None:
    await message.answer(
        _(
            "Digests for you are set up in a private chat with me. Channels: an admin uses /channel add; a "
            "topic of a forum group: an admin sends /subscribe inside that topic."
        )
    )


async def menu_subscribe(
    query: CallbackQuery, bot: Bot, subscriptions: SubscriptionService, state: FSMContext, i18n: I18n
) -> None:
    await state.clear()
    sub = await subscriptions.get(query.from_user.id)
    current = sub.frequency if sub is not None and sub.active else None
    await bot.send_message(
        query.from_user.id,
        views.frequency_prompt(sub, i18n.current_locale, subscriptions.now()),
        reply_markup=kb.frequency_keyboard(0, True, current),
    )


async def choose_frequency(
    query: CallbackQuery,
    callback_data: SubFrequency,
    callback_answer: CallbackAnswer,
    subscriptions: SubscriptionService,
    i18n: I18n,
) -> None:
    target = await _target(query, callback_data.chat, subscriptions, callback_answer)
    if target is None:
        return
    try:
        frequency = Frequency(callback_data.value)
    except ValueError:
        alert(callback_answer, _("This button is outdated."))
        return
    kind = Kind.PERSON if callback_data.chat == 0 else Kind.CHANNEL
    sub = await subscriptions.choose_frequency(target, kind, i18n.current_locale, frequency)
    locale, now = i18n.current_locale, subscriptions.now()
    if not callback_data.wizard and frequency is Frequency.WEEKLY:
        # Weekly needs its day even outside the walk-through.
        await edit_or_send(query, *views.setting_screen(sub, Step.DAY, locale, now))
        return
    await edit_or_send(
        query, *views.step_screen(sub, _STEP_AFTER[frequency], callback_data.wizard, locale, now)
    )


async def choose_day(
    query: CallbackQuery,
    callback_data: SubDay,
    callback_answer: CallbackAnswer,
    subscriptions: SubscriptionService,
    i18n: I18n,
) -> None:
    target = await _target(query, callback_data.chat, subscriptions, callback_answer)
    if target is None:
        return
    sub = await subscriptions.set_weekday(target, callback_data.day)
    if sub is None:
        _not_subscribed(callback_answer)
        return
    screen = views.step_screen(sub, Step.TIME, callback_data.wizard, i18n.current_locale, subscriptions.now())
    await edit_or_send(query, *screen)


async def choose_time(
    query: CallbackQuery,
    callback_data: SubTime,
    callback_answer: CallbackAnswer,
    subscriptions: SubscriptionService,
    state: FSMContext,
    i18n: I18n,
) -> None:
    target = await _target(query, callback_data.chat, subscriptions, callback_answer)
    if target is None:
        return
    if not callback_data.value:
        await ask_typed(state, SubscriptionInput.time, callback_data.chat, callback_data.wizard)
        await edit_or_send(
            query, _("Send the time as HH:MM, for example 07:30."), kb.cancel_keyboard(callback_data.chat)
        )
        return
    local_time = parse_local_time(callback_data.value[:2] + ":" + callback_data.value[2:])
    sub = await subscriptions.set_time(target, local_time) if local_time else None
    if sub is None:
        _not_subscribed(callback_answer)
        return
    screen = views.step_screen(sub, Step.ZONE, callback_data.wizard, i18n.current_locale, subscriptions.now())
    await edit_or_send(query, *screen)


async def choose_zone(
    query: CallbackQuery,
    callback_data: SubZone,
    callback_answer: CallbackAnswer,
    subscriptions: SubscriptionService,
    state: FSMContext,
    i18n: I18n,
) -> None:
    target = await _target(query, callback_data.chat, subscriptions, callback_answer)
    if target is None:
        return
    if not 0 <= callback_data.index < len(COMMON_ZONES):
        await ask_typed(state, SubscriptionInput.zone, callback_data.chat, callback_data.wizard)
        await edit_or_send(
            query,
            _(
                "Send a time zone: a city (Астана, Алматы, Ақтөбе, Москва), a zone name (Asia/Almaty) or an "
                "offset (UTC+5, -03:00)."
            ),
            kb.cancel_keyboard(callback_data.chat),
        )
        return
    sub = await subscriptions.set_timezone(target, COMMON_ZONES[callback_data.index])
    if sub is None:
        _not_subscribed(callback_answer)
        return
    screen = views.step_screen(
        sub, Step.TOPIC, callback_data.wizard, i18n.current_locale, subscriptions.now()
    )
    await edit_or_send(query, *screen)


async def choose_topic(
    query: CallbackQuery,
    callback_data: SubTopic,
    callback_answer: CallbackAnswer,
    subscriptions: SubscriptionService,
    state: FSMContext,
    i18n: I18n,
) -> None:
    target = await _target(query, callback_data.chat, subscriptions, callback_answer)
    if target is None:
        return
    if callback_data.action is TopicAction.TYPE:
        await ask_typed(state, SubscriptionInput.topic, callback_data.chat, callback_data.wizard)
        await edit_or_send(
            query,
            _("Send the keywords, for example: криптовалюта, -реклама"),
            kb.cancel_keyboard(callback_data.chat),
        )
        return
    if callback_data.action is TopicAction.ALL:
        sub = await subscriptions.set_topic(target, "")
    else:
        sub = await subscriptions.get_active(target)
    if sub is None:
        _not_subscribed(callback_answer)
        return
    screen = views.done_screen(sub, callback_data.wizard, i18n.current_locale, subscriptions.now())
    await edit_or_send(query, *screen)


# -- /settings, /pause, /resume, /unsubscribe -----------------------------------------------------------


async def settings_command(
    message: Message, subscriptions: SubscriptionService, state: FSMContext, i18n: I18n
) -> None:
    await state.clear()
    assert message.from_user is not None
    sub = await subscriptions.get_active(message.from_user.id)
    if sub is None:
        await message.answer(views.not_subscribed_text())
        return
    text, markup = views.settings_screen(sub, i18n.current_locale, subscriptions.now())
    await message.answer(text, reply_markup=markup)


async def pause_command(message: Message, subscriptions: SubscriptionService) -> None:
    assert message.from_user is not None
    sub = await subscriptions.pause(message.from_user.id)
    if sub is None:
        await message.answer(views.not_subscribed_text())
        return
    await message.answer(_("⏸ Digests paused. /resume brings them back."))


async def resume_command(message: Message, subscriptions: SubscriptionService, i18n: I18n) -> None:
    assert message.from_user is not None
    sub = await subscriptions.resume(message.from_user.id)
    if sub is None:
        await message.answer(views.not_subscribed_text())
        return
    text, markup = views.settings_screen(sub, i18n.current_locale, subscriptions.now())
    await message.answer(_("▶ Digests are back.") + "\n\n" + text, reply_markup=markup)


async def unsubscribe_command(
    message: Message, subscriptions: SubscriptionService, state: FSMContext
) -> None:
    await state.clear()
    assert message.from_user is not None
    if await subscriptions.unsubscribe(message.from_user.id):
        await message.answer(views.unsubscribed_text())
    else:
        await message.answer(views.not_subscribed_text())


async def settings_button(
    query: CallbackQuery,
    callback_data: SubMenu,
    callback_answer: CallbackAnswer,
    subscriptions: SubscriptionService,
    state: FSMContext,
    i18n: I18n,
) -> None:
    target = await _target(query, callback_data.chat, subscriptions, callback_answer)
    if target is None:
        return
    action, chat = callback_data.action, callback_data.chat
    # Any settings button leaves a question that waited for a typed answer (it is also its "Cancel").
    if await state.get_state() in SubscriptionInput.__all_states_names__:
        await state.clear()
    if action is SubAction.UNSUBSCRIBE:
        if chat and await subscriptions.disconnect_channel(target, query.from_user.id):
            await edit_or_send(query, _("The channel is disconnected: no more digests there."))
        elif not chat and await subscriptions.unsubscribe(target):
            await edit_or_send(query, views.unsubscribed_text())
        else:
            _not_subscribed(callback_answer)
        return
    if action is SubAction.PAUSE:
        sub = await subscriptions.pause(target)
    elif action is SubAction.RESUME:
        sub = await subscriptions.resume(target)
    else:
        sub = await subscriptions.get_active(target)
    if sub is None:
        _not_subscribed(callback_answer)
        return
    locale, now = i18n.current_locale, subscriptions.now()
    if action is SubAction.FREQUENCY:
        text = _("How often should I send the digest?")
        await edit_or_send(query, text, kb.frequency_keyboard(chat, False, sub.frequency))
    else:
        step = _SETTING.get(action)
        screen = (
            views.setting_screen(sub, step, locale, now) if step else views.settings_screen(sub, locale, now)
        )
        await edit_or_send(query, *screen)
