"""Keyboards of /subscribe, /settings and /channel, and the "show the rest" button under a digest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import get_day_names

from bot.digests.subscriptions import Frequency, Subscription
from bot.digests.times import COMMON_ZONES, utc_offset
from bot.digests.zones import city_name
from handlers.callbacks import (
    DigestMore,
    DigestResend,
    SubAction,
    SubDay,
    SubFrequency,
    SubMenu,
    SubTime,
    SubTopic,
    SubZone,
    TopicAction,
)
from handlers.subscriptions.option_data import Option, SubOption

TIMES = ("07:00", "08:00", "09:00", "12:00", "18:00", "21:00")


def _mark(selected: bool, text: str) -> str:
    return f"✅ {text}" if selected else text


def frequency_keyboard(ref: int, wizard: bool, current: Frequency | None = None) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for value, text in (
        (Frequency.DAILY, _("Every day")),
        (Frequency.WEEKLY, _("Once a week")),
        (Frequency.INSTANT, _("As soon as news comes")),
    ):
        kb.button(
            text=_mark(value is current, text),
            callback_data=SubFrequency(value=value, sub=ref, wizard=wizard),
        )
    kb.adjust(2, 1)
    return kb.as_markup()


def weekday_keyboard(ref: int, wizard: bool, locale: str, current: int | None = None) -> InlineKeyboardMarkup:
    names = get_day_names("wide", locale=locale)
    kb = InlineKeyboardBuilder()
    for day in range(7):
        kb.button(
            text=_mark(day == current, str(names[day]).capitalize()),
            callback_data=SubDay(day=day, sub=ref, wizard=wizard),
        )
    kb.adjust(3, 3, 1)
    return kb.as_markup()


def time_keyboard(ref: int, wizard: bool, current: str | None = None) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for value in TIMES:
        kb.button(
            text=_mark(value == current, value),
            callback_data=SubTime(value=value.replace(":", ""), sub=ref, wizard=wizard),
        )
    kb.button(text=_("⌨ Another time…"), callback_data=SubTime(value="", sub=ref, wizard=wizard))
    kb.adjust(3, 3, 1)
    return kb.as_markup()


def zone_label(name: str, now: datetime) -> str:
    """ "Алматы (UTC+5)" in the reader's language; an offset alone is just "UTC+6"."""
    offset = utc_offset(name, now)
    if name == "UTC" or name.startswith(("UTC+", "UTC-")):
        return offset
    city = city_name(name, get_i18n().current_locale) or name.rsplit("/", 1)[-1].replace("_", " ")
    return f"{city} ({offset})"


def zone_keyboard(ref: int, wizard: bool, now: datetime, current: str | None = None) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for index, name in enumerate(COMMON_ZONES):
        kb.button(
            text=_mark(name == current, zone_label(name, now)),
            callback_data=SubZone(index=index, sub=ref, wizard=wizard),
        )
    kb.button(
        text=_("⌨ Another zone or UTC offset…"), callback_data=SubZone(index=-1, sub=ref, wizard=wizard)
    )
    kb.adjust(2)
    return kb.as_markup()


def topic_keyboard(ref: int, wizard: bool, current: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_mark(not current, _("All news")),
        callback_data=SubTopic(action=TopicAction.ALL, sub=ref, wizard=wizard),
    )
    if current:
        kb.button(
            text=_("Keep «{topic}»").format(topic=current[:30]),
            callback_data=SubTopic(action=TopicAction.KEEP, sub=ref, wizard=wizard),
        )
    kb.button(
        text=_("⌨ Type keywords…"), callback_data=SubTopic(action=TopicAction.TYPE, sub=ref, wizard=wizard)
    )
    kb.adjust(1)
    return kb.as_markup()


def settings_keyboard(sub: Subscription, ref: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🗓 How often"), callback_data=SubMenu(action=SubAction.FREQUENCY, sub=ref))
    sizes = [1]
    timed: list[tuple[str, SubAction]] = []
    if sub.frequency is Frequency.WEEKLY:
        timed.append((_("📅 Day"), SubAction.DAY))
    if sub.frequency is not Frequency.INSTANT:
        timed += [(_("⏰ Time"), SubAction.TIME), (_("🌍 Time zone"), SubAction.ZONE)]
    for text, action in timed:
        kb.button(text=text, callback_data=SubMenu(action=action, sub=ref))
    if timed:
        sizes.append(len(timed))
    kb.button(text=_("🔎 Topic"), callback_data=SubMenu(action=SubAction.TOPIC, sub=ref))
    kb.button(
        text=_("📝 With summaries") if sub.headlines_only else _("📝 Headlines only"),
        callback_data=SubOption(action=Option.HEADLINES, sub=ref),
    )
    kb.button(
        text=_("🔗 Link previews: on") if sub.link_previews else _("🔗 Link previews: off"),
        callback_data=SubOption(action=Option.PREVIEWS, sub=ref),
    )
    kb.button(
        text=_("🔕 Silent: on") if sub.silent else _("🔔 Silent: off"),
        callback_data=SubOption(action=Option.SILENT, sub=ref),
    )
    kb.button(text=_("🌙 Quiet hours"), callback_data=SubOption(action=Option.QUIET, sub=ref))
    sizes += [1, 2, 2]
    if sub.paused:
        kb.button(text=_("▶ Resume"), callback_data=SubMenu(action=SubAction.RESUME, sub=ref))
    else:
        kb.button(text=_("⏸ Pause"), callback_data=SubMenu(action=SubAction.PAUSE, sub=ref))
    kb.button(text=_("🚫 Unsubscribe"), callback_data=SubMenu(action=SubAction.UNSUBSCRIBE, sub=ref))
    sizes += [2]
    kb.adjust(*sizes)
    return kb.as_markup()


QUIET_PRESETS = (("22:00", "07:00"), ("23:00", "08:00"), ("21:00", "09:00"), ("00:00", "07:00"))


def quiet_keyboard(sub: Subscription, ref: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    current = (sub.quiet_from, sub.quiet_to)
    for start, end in QUIET_PRESETS:
        kb.button(
            text=_mark(current == (start, end), f"{start}–{end}"),
            callback_data=SubOption(
                action=Option.QUIET, value=f"{start.replace(':', '')}-{end.replace(':', '')}", sub=ref
            ),
        )
    kb.button(text=_("⌨ Other hours…"), callback_data=SubOption(action=Option.QUIET, value="type", sub=ref))
    kb.button(
        text=_mark(sub.quiet_from is None, _("No quiet hours")),
        callback_data=SubOption(action=Option.QUIET, value="off", sub=ref),
    )
    kb.button(text=_("⬅ Back"), callback_data=SubMenu(action=SubAction.SHOW, sub=ref))
    kb.adjust(2, 2, 1, 1, 1)
    return kb.as_markup()


def cancel_keyboard(ref: int) -> InlineKeyboardMarkup:
    """Under a question waiting for a typed answer: leave it (back to the settings)."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✖ Cancel"), callback_data=SubMenu(action=SubAction.SHOW, sub=ref))
    return kb.as_markup()


def channels_keyboard(channels: Sequence[Subscription]) -> InlineKeyboardMarkup | None:
    active = [c for c in channels if c.active]
    if not active:
        return None
    kb = InlineKeyboardBuilder()
    for channel in active:
        kb.button(
            text=_("⚙ {channel}").format(channel=channel.title or str(channel.chat_id)),
            callback_data=SubMenu(action=SubAction.SHOW, sub=channel.id),
        )
    kb.adjust(1)
    return kb.as_markup()


def rest_keyboard(digest_id: int, start: int, total: int) -> InlineKeyboardMarkup | None:
    rest = total - start
    if rest <= 0:
        return None
    kb = InlineKeyboardBuilder()
    kb.button(
        text=ngettext("Show the other {n} story", "Show the other {n} stories", rest).format(n=rest),
        callback_data=DigestMore(digest_id=digest_id, start=start),
    )
    return kb.as_markup()


def resend_keyboard(chats: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=ngettext("📤 Resend to this {n} chat", "📤 Resend to these {n} chats", chats).format(n=chats),
        callback_data=DigestResend(),
    )
    return kb.as_markup()
