"""Typed answers of the settings dialog: a time, a time zone, the topic's keywords, quiet hours.

A wrong answer is explained and the dialog stays where it is, so the next message is taken as the answer
(never as a search); /cancel or the button under the question leaves it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiogram import Router, html
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.digests.subscriptions import Place, Subscription, SubscriptionService
from bot.digests.times import parse_local_time, parse_timezone
from bot.search import parse_query
from handlers.filters import PlainText, command
from handlers.subscriptions import keyboards as kb
from handlers.subscriptions import views
from handlers.subscriptions.states import Step, SubscriptionInput
from handlers.ui.render import short

_RANGE = re.compile(r"^\s*(.+?)\s*(?:[-–—]|до|to)\s*(.+?)\s*$", re.IGNORECASE)
_TYPED_STATES = (
    SubscriptionInput.time,
    SubscriptionInput.zone,
    SubscriptionInput.topic,
    SubscriptionInput.quiet,
    SubscriptionInput.channel,
)


def make_router() -> Router:
    router = Router(name=__name__)
    # The state first (most messages are in none); StateFilter, not the bare State, which aiogram would run
    # in a worker thread as a synchronous filter. Not only in private chats: a forum topic's digest is set up
    # in the group (the state belongs to that person in that chat).
    # Every handler here is for one of these states: a message in none skips them all at once.
    router.message.filter(StateFilter(*_TYPED_STATES))
    router.message.register(cancel_typed, StateFilter(*_TYPED_STATES), command("cancel"))
    router.message.register(typed_time, StateFilter(SubscriptionInput.time), PlainText())
    router.message.register(typed_zone, StateFilter(SubscriptionInput.zone), PlainText())
    router.message.register(typed_topic, StateFilter(SubscriptionInput.topic), PlainText())
    router.message.register(typed_quiet, StateFilter(SubscriptionInput.quiet), PlainText())
    return router


async def ask_typed(state: FSMContext, step: State, ref: int, wizard: bool) -> None:
    """Wait for a typed answer to `step`; `_typed_update` reads back whose settings it is for (`ref`: 0 for
    one's own, else a channel's or topic's subscription id — stored only after a button press of someone
    who may change it, and the state is that person's alone)."""
    await state.set_state(step)
    await state.update_data(sub=ref, wizard=wizard)


async def _whose(message: Message, ref: int, subscriptions: SubscriptionService) -> Place | None:
    assert message.from_user is not None
    if not ref:
        return Place(message.from_user.id)
    sub = await subscriptions.by_id(ref)
    return Place.of(sub) if sub is not None else None


async def _typed_update(
    message: Message,
    state: FSMContext,
    i18n: I18n,
    subscriptions: SubscriptionService,
    value: str | None,
    refusal: str,
    apply: Callable[[Place, str], Awaitable[Subscription | None]],
    next_step: Step,
) -> None:
    """One typed answer of the settings flow: whose subscription, is the value usable, store it, go on. A
    value that is not usable is explained and the question stays open."""
    data = await state.get_data()
    ref, wizard = int(data.get("sub", 0)), bool(data.get("wizard", False))
    if value is None:
        await message.answer(refusal, reply_markup=kb.cancel_keyboard(ref))
        return
    await state.clear()
    place = await _whose(message, ref, subscriptions)
    sub = await apply(place, value) if place is not None else None
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


def _or_cancel(text: str) -> str:
    return text + "\n" + _("Send it again, or /cancel to leave this step.")


async def typed_time(
    message: Message, state: FSMContext, subscriptions: SubscriptionService, i18n: I18n
) -> None:
    refusal = _or_cancel(
        _(
            "«{text}» is not a time I understand: hours 0–23 and minutes 00–59, as HH:MM — for example 07:30."
        ).format(text=_typed(message))
    )
    value = parse_local_time(message.text or "")
    await _typed_update(
        message, state, i18n, subscriptions, value, refusal, subscriptions.set_time, Step.ZONE
    )


async def typed_zone(
    message: Message, state: FSMContext, subscriptions: SubscriptionService, i18n: I18n
) -> None:
    refusal = _or_cancel(
        _(
            "I don't know the time zone «{text}». Send a city (Астана, Алматы, Ақтөбе, Moscow), a zone name "
            "(Asia/Almaty) or an offset (UTC+5, +6, GMT+5:30)."
        ).format(text=_typed(message))
    )
    value = parse_timezone(message.text or "")
    await _typed_update(
        message, state, i18n, subscriptions, value, refusal, subscriptions.set_timezone, Step.TOPIC
    )


async def typed_topic(
    message: Message, state: FSMContext, subscriptions: SubscriptionService, i18n: I18n
) -> None:
    text = message.text or ""
    refusal = _or_cancel(_("There are no words in that: send keywords, for example: криптовалюта, -реклама."))
    value = text if parse_query(text).items else None
    await _typed_update(
        message, state, i18n, subscriptions, value, refusal, subscriptions.set_topic, Step.DONE
    )


def parse_quiet_hours(text: str) -> tuple[str, str] | None:
    """ "22:00-07:00", "22–7", "23 до 8" → ("22:00", "07:00"); None for anything else."""
    m = _RANGE.match(text)
    if m is None:
        return None
    start, end = parse_local_time(m.group(1)), parse_local_time(m.group(2))
    if start is None or end is None or start == end:
        return None
    return start, end


async def typed_quiet(
    message: Message, state: FSMContext, subscriptions: SubscriptionService, i18n: I18n
) -> None:
    data = await state.get_data()
    ref = int(data.get("sub", 0))
    hours = parse_quiet_hours(message.text or "")
    if hours is None:
        refusal = _or_cancel(
            _("«{text}» is not a span of hours I understand: send it as 22:00-07:00.").format(
                text=_typed(message)
            )
        )
        await message.answer(refusal, reply_markup=kb.cancel_keyboard(ref))
        return
    await state.clear()
    place = await _whose(message, ref, subscriptions)
    sub = await subscriptions.set_quiet_hours(place, *hours) if place is not None else None
    if sub is None:
        await message.answer(_("You are not subscribed. /subscribe to start."))
        return
    text, markup = views.settings_screen(sub, i18n.current_locale, subscriptions.now())
    await message.answer(text, reply_markup=markup)


async def cancel_typed(
    message: Message, state: FSMContext, subscriptions: SubscriptionService, i18n: I18n
) -> None:
    data = await state.get_data()
    await state.clear()
    place = await _whose(message, int(data.get("sub", 0)), subscriptions)
    sub = await subscriptions.get_active(place) if place is not None else None
    if sub is None:
        await message.answer(_("Cancelled: nothing changed."))
        return
    text, markup = views.settings_screen(sub, i18n.current_locale, subscriptions.now())
    await message.answer(_("Cancelled: nothing changed.") + "\n\n" + text, reply_markup=markup)
