"""A subscription's delivery options from its settings: headlines only, link previews, silent delivery and
quiet hours (each a button; quiet hours from presets or typed)."""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.app.settings import Settings
from bot.digests.subscriptions import SubscriptionService
from handlers.subscriptions import keyboards as kb
from handlers.subscriptions import views
from handlers.subscriptions.option_data import Option, SubOption
from handlers.subscriptions.settings import target_place
from handlers.subscriptions.states import SubscriptionInput
from handlers.subscriptions.typed import ask_typed
from handlers.ui.edit import alert, edit_or_send


def make_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(option_button, SubOption.filter())
    return router


def _preset(value: str) -> tuple[str, str] | None:
    """ "2200-0700" → ("22:00", "07:00"); only the presets' shape."""
    parts = value.split("-")
    if len(parts) != 2 or not all(len(p) == 4 and p.isdigit() for p in parts):
        return None
    start, end = (f"{p[:2]}:{p[2:]}" for p in parts)
    if int(parts[0][:2]) > 23 or int(parts[1][:2]) > 23 or start == end:
        return None
    return start, end


async def option_button(
    query: CallbackQuery,
    callback_data: SubOption,
    callback_answer: CallbackAnswer,
    subscriptions: SubscriptionService,
    state: FSMContext,
    i18n: I18n,
    settings: Settings,
) -> None:
    target = await target_place(query, callback_data.sub, subscriptions, callback_answer, settings)
    if target is None:
        return
    sub = await subscriptions.get_active(target)
    if sub is None:
        alert(callback_answer, _("You are not subscribed. /subscribe to start."))
        return
    action, value = callback_data.action, callback_data.value
    if action is Option.HEADLINES:
        sub = await subscriptions.set_headlines_only(target, not sub.headlines_only)
    elif action is Option.PREVIEWS:
        sub = await subscriptions.set_link_previews(target, not sub.link_previews)
    elif action is Option.SILENT:
        sub = await subscriptions.set_silent(target, not sub.silent)
    elif value == "":
        await edit_or_send(query, *views.quiet_screen(sub))
        return
    elif value == "type":
        await ask_typed(state, SubscriptionInput.quiet, callback_data.sub, False)
        await edit_or_send(
            query,
            _("Send the quiet hours as 22:00-07:00 (from — to, your local time)."),
            kb.cancel_keyboard(callback_data.sub),
        )
        return
    elif value == "off":
        sub = await subscriptions.set_quiet_hours(target, None, None)
    else:
        hours = _preset(value)
        if hours is None:
            alert(callback_answer, _("This button is outdated."))
            return
        sub = await subscriptions.set_quiet_hours(target, *hours)
    if sub is None:
        alert(callback_answer, _("You are not subscribed. /subscribe to start."))
        return
    await edit_or_send(query, *views.settings_screen(sub, i18n.current_locale, subscriptions.now()))
