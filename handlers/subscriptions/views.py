"""Every text of the subscription dialogs and the admins' digest commands, as HTML (user and corpus text
escaped here), with the buttons that go with it. Nothing here talks to Telegram or to a service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.dates import format_datetime, get_day_names

from bot.digests.channels import ChannelCheck, ChannelProblem
from bot.digests.ledger import Unknown
from bot.digests.subscriptions import Frequency, Kind, Subscription
from bot.digests.times import zone
from handlers.subscriptions import keyboards as kb
from handlers.subscriptions.states import Step

Screen = tuple[str, InlineKeyboardMarkup | None]


def sub_ref(sub: Subscription) -> int:
    """What the buttons carry as `sub`: 0 for the presser's own subscription, else the subscription's id (a
    channel's, or a group topic's)."""
    return sub.id if sub.kind is Kind.CHANNEL else 0


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
    lines.append(options_text(sub))
    if sub.paused:
        lines.append(_("⏸ Paused. /resume to continue."))
    elif sub.next_due is not None:
        when = format_datetime(sub.next_due.astimezone(zone(sub.timezone)), "d MMMM, HH:mm", locale=locale)
        lines.append(_("Next digest: {when}").format(when=when))
    return "\n".join(lines)


def quiet_text(sub: Subscription) -> str:
    if sub.quiet_from and sub.quiet_to:
        return _("quiet hours {start}–{end}").format(start=sub.quiet_from, end=sub.quiet_to)
    return _("no quiet hours")


def options_text(sub: Subscription) -> str:
    """ "Headlines only · link previews off · silent · quiet hours 22:00–07:00" """
    parts = [
        _("headlines only") if sub.headlines_only else _("with summaries"),
        _("link previews on") if sub.link_previews else _("link previews off"),
        _("silent") if sub.silent else _("with a notification"),
        quiet_text(sub),
    ]
    return _("Delivery: {options}").format(options=" · ".join(parts))


def quiet_screen(sub: Subscription) -> Screen:
    text = "\n".join(
        [
            _("🌙 Quiet hours: a digest due during them comes when they end. Now: {now}.").format(
                now=quiet_text(sub)
            ),
            _("Choose, or type your own as 22:00-07:00."),
        ]
    )
    return text, kb.quiet_keyboard(sub, sub_ref(sub))


def settings_screen(sub: Subscription, locale: str, now: datetime) -> Screen:
    return describe(sub, locale, now), kb.settings_keyboard(sub, sub_ref(sub))


def frequency_prompt(sub: Subscription | None, locale: str, now: datetime) -> str:
    ask = _("How often should I send the digest?")
    if sub is not None and sub.active:
        return describe(sub, locale, now) + "\n\n" + ask
    return _("I will send a digest of the news: each story once, with all its sources.") + "\n\n" + ask


def zone_prompt(sub: Subscription, now: datetime) -> str:
    return _("In which time zone? Now: {zone}.").format(zone=kb.zone_label(sub.timezone, now))


def topic_prompt(sub: Subscription) -> str:
    lines = [
        _("Only news on a topic? Send keywords: a text comes when it has any of them, in any form."),
        _("For example: криптовалюта, -реклама (a minus excludes a word)."),
    ]
    if sub.filter_query:
        lines.append(_("Now: «{topic}».").format(topic=html.quote(sub.filter_query)))
    return "\n".join(lines)


def step_screen(sub: Subscription, step: Step, wizard: bool, locale: str, now: datetime) -> Screen:
    """After a choice: the walk-through's next question, or the settings again."""
    ref = sub_ref(sub)
    if not wizard or step is Step.DONE:
        return settings_screen(sub, locale, now)
    if step is Step.DAY:
        return _("On which day?"), kb.weekday_keyboard(ref, True, locale, sub.weekday)
    if step is Step.TIME:
        return _("At what time?"), kb.time_keyboard(ref, True, sub.local_time)
    if step is Step.ZONE:
        return zone_prompt(sub, now), kb.zone_keyboard(ref, True, now, sub.timezone)
    return topic_prompt(sub), kb.topic_keyboard(ref, True, sub.filter_query)


def setting_screen(sub: Subscription, step: Step, locale: str, now: datetime) -> Screen:
    """One setting to change from the settings (not the walk-through)."""
    ref = sub_ref(sub)
    if step is Step.DAY:
        return _("On which day?"), kb.weekday_keyboard(ref, False, locale, sub.weekday)
    if step is Step.TIME:
        return _("At what time?"), kb.time_keyboard(ref, False, sub.local_time)
    if step is Step.ZONE:
        return zone_prompt(sub, now), kb.zone_keyboard(ref, False, now, sub.timezone)
    if step is Step.TOPIC:
        return topic_prompt(sub), kb.topic_keyboard(ref, False, sub.filter_query)
    return settings_screen(sub, locale, now)


def done_screen(sub: Subscription, wizard: bool, locale: str, now: datetime) -> Screen:
    text, markup = settings_screen(sub, locale, now)
    if wizard:
        # A channel's (or a group topic's) digest is an admin's: /settings and /unsubscribe are a person's own.
        if sub.thread_id is not None:
            hint = _("/settings in this topic changes it, /unsubscribe there stops it.")
        elif sub.kind is Kind.CHANNEL:
            hint = _("/channel list shows it with its settings; the buttons here change it too.")
        else:
            hint = _("/settings changes it, /unsubscribe stops it.")
        text = html.bold(_("Done!")) + "\n\n" + text + "\n\n" + hint
    return text, markup


def unsubscribed_text() -> str:
    return _("You are unsubscribed: no more digests. To come back, send /subscribe — your settings are kept.")


def not_subscribed_text() -> str:
    return _("You are not subscribed to digests. /subscribe to start.")


def topic_unsubscribed_text() -> str:
    return _(
        "This topic is unsubscribed: no more digests here. /subscribe in the topic brings it back with its "
        "settings."
    )


def topic_not_subscribed_text() -> str:
    return _("This topic gets no digests. An administrator of the group sends /subscribe here to start.")


def not_group_admin_text() -> str:
    return _("Only the administrators of this group can change its digests.")


# -- channels ---------------------------------------------------------------------------------------------


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


def channel_connected_screen(check: ChannelCheck, sub: Subscription) -> Screen:
    text = _("✅ {name} is connected. How often should I post the digest there?").format(
        name=html.quote(check.name)
    )
    return text, kb.frequency_keyboard(sub.id, True, sub.frequency)


def channel_help() -> str:
    return "\n".join(
        [
            _("/channel add @name — post digests to a channel (I must be its administrator)"),
            _("/channel list — the channels and their schedules"),
            _("/channel remove @name — stop posting there"),
        ]
    )


def stop_reason_text(reason: str | None) -> str:
    """Why a subscription stopped (storage keeps a short code: from Telegram's refusals, or ours)."""
    known = {
        "unsubscribed": _("unsubscribed"),
        "removed": _("disconnected by an admin"),
        "blocked": _("the bot was blocked"),
        "kicked": _("the bot was removed from the chat"),
        "left": _("the bot left the chat"),
        "deactivated": _("the account was deleted"),
        "chat_not_found": _("the chat no longer exists"),
        "not_started": _("the bot may not write there"),
        "not_member": _("the bot may not write there"),
        "no_rights": _("the bot may not write there"),
        "forbidden": _("the bot may not write there"),
        "topic_gone": _("the topic was deleted or closed"),
    }
    return known.get(reason or "", _("for another reason"))


def channel_list_screen(channels: Sequence[Subscription], locale: str, now: datetime) -> Screen:
    if not channels:
        return _("No channels yet. /channel add @name connects one."), None
    lines = [html.bold(_("Channels"))]
    for c in channels:
        name = html.quote(c.title or str(c.chat_id))
        if not c.active:
            lines.append(
                _("• {name}: stopped ({reason})").format(
                    name=name, reason=stop_reason_text(c.inactive_reason)
                )
            )
            continue
        state = _("paused") if c.paused else schedule_text(c, locale, now)
        topic = _(", topic «{topic}»").format(topic=html.quote(c.filter_query)) if c.filter_query else ""
        lines.append(_("• {name}: {schedule}{topic}").format(name=name, schedule=state, topic=topic))
    return "\n".join(lines), kb.channels_keyboard(channels)


# -- /digest ----------------------------------------------------------------------------------------------


def nothing_to_send(sub: Subscription, who: str, *, sent: bool) -> str:
    """Why a digest would be (or was) empty. "Nothing new since the last digest" only when there was one."""
    if sub.last_digest_at is not None:
        if sent:
            return _("Nothing new for {name} since its last digest: nothing sent.").format(name=who)
        return _("Nothing new for {name} since its last digest: it would get no message.").format(name=who)
    if sub.filter_query:
        topic = html.quote(sub.filter_query)
        if sent:
            return _("Nothing matches the topic «{topic}» of {name} yet: nothing sent.").format(
                topic=topic, name=who
            )
        return _("Nothing matches the topic «{topic}» of {name} yet: it would get no message.").format(
            topic=topic, name=who
        )
    if sent:
        return _("There are no texts for {name} yet: nothing sent.").format(name=who)
    return _("There are no texts for {name} yet: it would get no message.").format(name=who)


def digest_help() -> str:
    return "\n".join(
        [
            _("/digest preview @channel — what a channel (or a chat id; none: you) would get now"),
            _("/digest send @channel — send its digest now"),
            _("/digest preview, /digest send inside a topic of a forum group — that topic's digest"),
            _("/digest unknown — chats that may have missed a digest, and a resend to them"),
        ]
    )


def unknown_screen(unknown: Unknown) -> Screen:
    if not unknown.chats:
        return _("Every digest delivery was confirmed by Telegram: no chat is in doubt."), None
    text = "\n\n".join(
        [
            ngettext(
                "⚠ {n} chat may have missed a digest.",
                "⚠ {n} chats may have missed a digest.",
                unknown.chats,
            ).format(n=unknown.chats),
            _(
                "The bot stopped while those messages were on their way, before Telegram confirmed them: "
                "some arrived, some perhaps not, and Telegram cannot tell which. They were not sent again "
                "on their own, so that nobody gets a digest twice."
            ),
            _("Resending reaches exactly these chats; those that did get it will have it twice."),
        ]
    )
    return text, kb.resend_keyboard(unknown.chats)


def resent_text(count: int) -> str:
    if not count:
        return _("Nothing to resend: no chat is in doubt any more.")
    return ngettext(
        "📤 The digest is on its way again to {n} chat.",
        "📤 The digest is on its way again to {n} chats.",
        count,
    ).format(n=count)
