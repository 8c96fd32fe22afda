"""A person's digest, a channel's (the bot's admins) and a forum topic's (the group's administrators too):
/subscribe with its walk-through, /settings and its buttons, /pause, /resume, /unsubscribe — in a private
chat for one's own, inside a topic for that topic's; and the bot's removal from a chat."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import LEAVE_TRANSITION, ChatMemberUpdatedFilter, CommandObject, Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.app.settings import Settings
from bot.digests.subscriptions import ChannelRefused, Frequency, Kind, Place, SubscriptionService
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
from handlers.filters import MaybeCommand, PrivateChat, command
from handlers.subscriptions import keyboards as kb
from handlers.subscriptions import views
from handlers.subscriptions.states import Step, SubscriptionInput
from handlers.subscriptions.typed import ask_typed
from handlers.ui.edit import alert, edit_or_send

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
    # Every message handler here takes a command: a search skips them all at once.
    msg.filter(MaybeCommand())
    msg.register(admins_only, command("channel", "digest"))
    msg.register(subscribe_command, command("subscribe"), PrivateChat())
    msg.register(subscribe_topic, command("subscribe"), InForumTopic())
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
    msg.register(topic_command, command("settings", "pause", "resume", "unsubscribe"), InForumTopic())
    cb.register(settings_button, SubMenu.filter())
    router.my_chat_member.register(bot_removed, ChatMemberUpdatedFilter(LEAVE_TRANSITION))
    return router


async def admins_only(message: Message) -> None:
    await message.answer(_("Sorry, this command is for the bot's admins."))


async def target_place(
    query: CallbackQuery,
    ref: int,
    subscriptions: SubscriptionService,
    answer: CallbackAnswer,
    settings: Settings,
) -> Place | None:
    """The subscription a button changes: the presser's own (`ref` 0), or a channel's or a group topic's
    (by its id) when the presser may change it; None, with an alert saying why, otherwise."""
    user = query.from_user.id
    if ref == 0:
        return Place(user)
    sub = await subscriptions.by_id(ref)
    if sub is None or sub.kind is not Kind.CHANNEL:
        alert(answer, _("This button is outdated."))
        return None
    if not await subscriptions.may_manage(sub, user, user in settings.admin_ids):
        alert(
            answer,
            views.not_group_admin_text()
            if sub.thread_id is not None
            else _("Only the bot's admins can change a channel's digest."),
        )
        return None
    if not sub.active:
        alert(
            answer,
            views.topic_not_subscribed_text()
            if sub.thread_id is not None
            else _("This channel is not connected any more. /channel add connects it."),
        )
        return None
    return Place.of(sub)


def _bot_admin(user_id: int, settings: Settings) -> bool:
    return user_id in settings.admin_ids


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


def _topic(message: Message) -> Place:
    assert message.message_thread_id is not None
    return Place(message.chat.id, message.message_thread_id)


async def _topic_admin(message: Message, subscriptions: SubscriptionService, settings: Settings) -> bool:
    """May the sender manage this group's topic digests? An administrator who posts anonymously (as the group
    itself) is one by definition; anyone else is asked of Telegram."""
    assert message.from_user is not None
    if message.sender_chat is not None and message.sender_chat.id == message.chat.id:
        return True
    user = message.from_user.id
    return await subscriptions.may_manage_topic(message.chat.id, user, _bot_admin(user, settings))


async def subscribe_topic(
    message: Message, subscriptions: SubscriptionService, state: FSMContext, i18n: I18n, settings: Settings
) -> None:
    """/subscribe inside a forum topic, by the bot's admin or the group's: that topic gets the digests (the
    bot's right to write in the group checked as for a channel). Each topic has its own subscription."""
    await state.clear()
    assert message.from_user is not None
    user, place = message.from_user.id, _topic(message)
    if not await _topic_admin(message, subscriptions, settings):
        await message.answer(_("Only the administrators of this group can set up digests for its topics."))
        return
    assert place.thread_id is not None
    title = _("{group}, topic #{topic}").format(group=message.chat.title or "", topic=place.thread_id)
    try:
        _check, sub = await subscriptions.connect_topic(
            place.chat_id, place.thread_id, title, user, i18n.current_locale
        )
    except ChannelRefused as refused:
        await message.answer(views.channel_problem_text(refused.check))
        return
    text = _("✅ Digests will come into this topic. How often?")
    await message.answer(text, reply_markup=kb.frequency_keyboard(sub.id, True, sub.frequency))


async def subscribe_elsewhere(message: Message) -> None:
    await message.answer(
        _(
            "Digests for you are set up in a private chat with me. Channels: an admin uses /channel add; a "
            "topic of a forum group: an administrator of the group sends /subscribe inside that topic."
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
    settings: Settings,
) -> None:
    target = await target_place(query, callback_data.sub, subscriptions, callback_answer, settings)
    if target is None:
        return
    try:
        frequency = Frequency(callback_data.value)
    except ValueError:
        alert(callback_answer, _("This button is outdated."))
        return
    kind = Kind.PERSON if callback_data.sub == 0 else Kind.CHANNEL
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
    settings: Settings,
) -> None:
    target = await target_place(query, callback_data.sub, subscriptions, callback_answer, settings)
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
    settings: Settings,
) -> None:
    target = await target_place(query, callback_data.sub, subscriptions, callback_answer, settings)
    if target is None:
        return
    if not callback_data.value:
        await ask_typed(state, SubscriptionInput.time, callback_data.sub, callback_data.wizard)
        await edit_or_send(
            query, _("Send the time as HH:MM, for example 07:30."), kb.cancel_keyboard(callback_data.sub)
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
    settings: Settings,
) -> None:
    target = await target_place(query, callback_data.sub, subscriptions, callback_answer, settings)
    if target is None:
        return
    if not 0 <= callback_data.index < len(COMMON_ZONES):
        await ask_typed(state, SubscriptionInput.zone, callback_data.sub, callback_data.wizard)
        await edit_or_send(
            query,
            _(
                "Send a time zone: a city (Астана, Алматы, Ақтөбе, Москва), a zone name (Asia/Almaty) or an "
                "offset (UTC+5, -03:00)."
            ),
            kb.cancel_keyboard(callback_data.sub),
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
    settings: Settings,
) -> None:
    target = await target_place(query, callback_data.sub, subscriptions, callback_answer, settings)
    if target is None:
        return
    if callback_data.action is TopicAction.TYPE:
        await ask_typed(state, SubscriptionInput.topic, callback_data.sub, callback_data.wizard)
        await edit_or_send(
            query,
            _("Send the keywords, for example: криптовалюта, -реклама"),
            kb.cancel_keyboard(callback_data.sub),
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
    sub = await subscriptions.get_active(Place(message.from_user.id))
    if sub is None:
        await message.answer(views.not_subscribed_text())
        return
    text, markup = views.settings_screen(sub, i18n.current_locale, subscriptions.now())
    await message.answer(text, reply_markup=markup)


async def pause_command(message: Message, subscriptions: SubscriptionService) -> None:
    assert message.from_user is not None
    sub = await subscriptions.pause(Place(message.from_user.id))
    if sub is None:
        await message.answer(views.not_subscribed_text())
        return
    await message.answer(_("⏸ Digests paused. /resume brings them back."))


async def resume_command(message: Message, subscriptions: SubscriptionService, i18n: I18n) -> None:
    assert message.from_user is not None
    sub = await subscriptions.resume(Place(message.from_user.id))
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
    if await subscriptions.unsubscribe(Place(message.from_user.id)):
        await message.answer(views.unsubscribed_text())
    else:
        await message.answer(views.not_subscribed_text())


async def topic_command(
    message: Message,
    command: CommandObject,
    subscriptions: SubscriptionService,
    state: FSMContext,
    i18n: I18n,
    settings: Settings,
) -> None:
    """/settings, /pause, /resume, /unsubscribe inside a forum topic: that topic's digest, for the group's
    administrators (and the bot's admins)."""
    await state.clear()
    assert message.from_user is not None
    user, place = message.from_user.id, _topic(message)
    if not await _topic_admin(message, subscriptions, settings):
        await message.answer(views.not_group_admin_text())
        return
    name = command.command.lower()
    if name == "unsubscribe":
        stopped = await subscriptions.disconnect_channel(place, user)
        await message.answer(
            views.topic_unsubscribed_text() if stopped else views.topic_not_subscribed_text()
        )
        return
    if name == "pause":
        sub = await subscriptions.pause(place)
    elif name == "resume":
        sub = await subscriptions.resume(place)
    else:
        sub = await subscriptions.get_active(place)
    if sub is None:
        await message.answer(views.topic_not_subscribed_text())
        return
    if name == "pause":
        await message.answer(_("⏸ Digests paused. /resume brings them back."))
        return
    text, markup = views.settings_screen(sub, i18n.current_locale, subscriptions.now())
    if name == "resume":
        text = _("▶ Digests are back.") + "\n\n" + text
    await message.answer(text, reply_markup=markup)


async def settings_button(
    query: CallbackQuery,
    callback_data: SubMenu,
    callback_answer: CallbackAnswer,
    subscriptions: SubscriptionService,
    state: FSMContext,
    i18n: I18n,
    settings: Settings,
) -> None:
    target = await target_place(query, callback_data.sub, subscriptions, callback_answer, settings)
    if target is None:
        return
    action, ref = callback_data.action, callback_data.sub
    # Any settings button leaves a question that waited for a typed answer (it is also its "Cancel").
    if await state.get_state() in SubscriptionInput.__all_states_names__:
        await state.clear()
    if action is SubAction.UNSUBSCRIBE:
        if ref and await subscriptions.disconnect_channel(target, query.from_user.id):
            gone = (
                views.topic_unsubscribed_text()
                if target.thread_id is not None
                else _("The channel is disconnected: no more digests there.")
            )
            await edit_or_send(query, gone)
        elif not ref and await subscriptions.unsubscribe(target):
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
        await edit_or_send(query, text, kb.frequency_keyboard(ref, False, sub.frequency))
    else:
        step = _SETTING.get(action)
        screen = (
            views.setting_screen(sub, step, locale, now) if step else views.settings_screen(sub, locale, now)
        )
        await edit_or_send(query, *screen)


# -- the bot removed from a chat --------------------------------------------------------------------------


async def bot_removed(event: ChatMemberUpdated, subscriptions: SubscriptionService) -> None:
    """Blocked by a person, or removed from a group or channel: every subscription of that chat (all the
    topics of a group) stops, kept with why; /subscribe there brings one back."""
    if event.chat.type == ChatType.PRIVATE:
        reason = "blocked"
    else:
        reason = "kicked" if event.new_chat_member.status == "kicked" else "left"
    await subscriptions.chat_gone(event.chat.id, reason)
