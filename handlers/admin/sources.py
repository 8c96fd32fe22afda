"""Admins' sources: /sources (the list with each one's state) and /source add|filter|pause|resume|remove|poll;
and the posts of channels that are sources. A refused action raises SourceError, which the error router
puts into words (handlers/errors.py)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.app.settings import Settings
from bot.sources.service import SourceService
from handlers.admin import source_views as views
from handlers.filters import IsAdmin, PrivateChat, command

_CHANGES = ("filter", "pause", "resume", "remove", "poll")


def make_router() -> Router:
    router = Router(name=__name__)
    admins = Router(name=f"{__name__}.admins")
    admins.message.filter(IsAdmin())
    admins.message.register(sources_command, command("sources"))
    admins.message.register(source_command, command("source"))
    refusals = Router(name=f"{__name__}.refusals")
    refusals.message.filter(PrivateChat())
    refusals.message.register(refuse, command("sources", "source"))
    posts = Router(name=f"{__name__}.posts")
    posts.channel_post.register(channel_post)
    posts.edited_channel_post.register(channel_edit)
    router.include_routers(admins, refusals, posts)
    return router


async def refuse(message: Message) -> None:
    await message.answer(_("This command is for the bot's admins only. /help lists what I can do."))


async def sources_command(message: Message, sources: SourceService, settings: Settings, i18n: I18n) -> None:
    listed = await sources.sources()
    for page in views.sources_pages(listed, ZoneInfo(settings.default_timezone), i18n):
        await message.answer(page, disable_web_page_preview=True)


async def source_command(
    message: Message, command: CommandObject, sources: SourceService, settings: Settings, i18n: I18n
) -> None:
    action, _sep, rest = (command.args or "").strip().partition(" ")
    action, rest = action.lower(), rest.strip()
    zone = ZoneInfo(settings.default_timezone)
    by = message.from_user.id if message.from_user else None
    if action == "add" and rest:
        ref, _sep, query = rest.partition(" ")
        added = await sources.add(ref, query, by)
        await message.answer(views.added_text(added), disable_web_page_preview=True)
        return
    number, _sep, query = rest.partition(" ")
    if action not in _CHANGES or not number.lstrip("#").isdigit():
        await message.answer(views.source_help())
        return
    source_id = int(number.lstrip("#"))
    if action == "poll":
        await message.answer(_("⏳ Polling source #{id}…").format(id=source_id))
        report = await sources.poll_one(source_id)
        await message.answer(views.poll_text(report, zone, i18n), disable_web_page_preview=True)
        return
    if action == "filter":
        changed = await sources.set_filter(source_id, query, by)
    elif action == "pause":
        changed = await sources.pause(source_id, by)
    elif action == "resume":
        changed = await sources.resume(source_id, by)
    else:
        changed = await sources.remove(source_id, by)
    await message.answer(views.changed_text(changed, action), disable_web_page_preview=True)


async def channel_post(message: Message, sources: SourceService) -> None:
    """A new post in a channel where the bot is an admin: taken in when the channel is a source."""
    text = message.text or message.caption or ""
    chat = message.chat
    # A post's signature (channels that sign posts) is its author.
    await sources.channel_post(
        chat.id, chat.username, message.message_id, text, message.date, message.author_signature
    )


async def channel_edit(message: Message, sources: SourceService) -> None:
    """An edited post of a source channel: its stored text is replaced (SourceService.channel_edit)."""
    text = message.text or message.caption or ""
    chat = message.chat
    await sources.channel_edit(
        chat.id, chat.username, message.message_id, text, message.date, message.author_signature
    )
