"""Typed answers of the settings dialog: a time, a time zone, the topic's keywords."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Router, html
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.digests.schedule import parse_local_time, parse_timezone
from bot.digests.subscriptions import Subscription, SubscriptionService
from bot.search import parse_query
from handlers.filters import PlainText, PrivateChat
from handlers.subscriptions import views
from handlers.subscriptions.states import Step, SubscriptionInput
from handlers.ui.render import short


def make_router() -> Router:
    router = Router(name=__name__)
    # The state first (most messages are in none); StateFilter, not the bare State, which aiogram would run
    # in a worker thread as a synchronous filter.
    typed = (PlainText(), PrivateChat())
    router.message.register(typed_time, StateFilter(SubscriptionInput.time), *typed)
    router.message.register(typed_zone, StateFilter(SubscriptionInput.zone), *typed)
    router.message.register(typed_topic, StateFilter(SubscriptionInput.topic), *typed)
    return router


async def ask_typed(state: FSMContext, step: State, chat: int, wizard: bool) -> None:
    """Wait for a typed answer to `step`; `_typed_update` reads back whose settings it is for (a channel's
    only ever for an admin: only an admin's button press gets here with one)."""
    await state.set_state(step)
    await state.update_data(chat=chat, wizard=wizard)


async def _typed_update(
    message: Message,
    state: FSMContext,
    i18n: I18n,
    subscriptions: SubscriptionService,
    value: str | None,
    refusal: str,
    apply: Callable[[int, str], Awaitable[Subscription | None]],
    next_step: Step,
) -> None:
    """One typed answer of the settings flow: whose subscription, is the value usable, store it, go on."""
    data = await state.get_data()
    await state.clear()
    chat, wizard = int(data.get("chat", 0)), bool(data.get("wizard", False))
    assert message.from_user is not None
    if value is None:
        await message.answer(refusal)
        return
    sub = await apply(chat or message.from_user.id, value)
    if sub is None:
        await message.answer(_("You are not subscribed. /subscribe to start."))
        return
    locale, now = i18n.current_locale, subscriptions.now()
    if wizard and next_step is Step.DONE:
        text, markup = views.done_screen(sub, True, locale, now)
    else:
        text, markup = views.step_screen(sub, next_step, wizard, locale, now)
    await message.answer(text, reply_markup=markup)


def _typed(message: Message) -> str:
    return html.quote(short(message.text or "", 40))


async def typed_time(
    message: Message, state: FSMContext, subscriptions: SubscriptionService, i18n: I18n
) -> None:
    refusal = _(
        "«{text}» is not a time I understand; nothing changed. Press the button again and send it as HH:MM."
    ).format(text=_typed(message))
    value = parse_local_time(message.text or "")
    await _typed_update(
        message, state, i18n, subscriptions, value, refusal, subscriptions.set_time, Step.ZONE
    )


async def typed_zone(
    message: Message, state: FSMContext, subscriptions: SubscriptionService, i18n: I18n
) -> None:
    refusal = _(
        "I don't know the time zone «{text}»; nothing changed. Try a city (Almaty), Asia/Almaty or UTC+5."
    ).format(text=_typed(message))
    value = parse_timezone(message.text or "")
    await _typed_update(
        message, state, i18n, subscriptions, value, refusal, subscriptions.set_timezone, Step.TOPIC
    )


async def typed_topic(
    message: Message, state: FSMContext, subscriptions: SubscriptionService, i18n: I18n
) -> None:
    text = message.text or ""
    refusal = _("There are no words in that; nothing changed. /settings to try again.")
    value = text if parse_query(text).items else None
    await _typed_update(
        message, state, i18n, subscriptions, value, refusal, subscriptions.set_topic, Step.DONE
    )
