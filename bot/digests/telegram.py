"""The one place where digests meet aiogram: sending a digest message and looking channels up.

`TelegramSender` turns the engine's `Outgoing` into a sendMessage request and Telegram's errors into
`SendRefused`; `TelegramChannels` asks Telegram about a channel and the bot's rights in it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.methods import SendMessage
from aiogram.types import (
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberOwner,
    ChatMemberRestricted,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
)
from pydantic import BaseModel, ConfigDict

from bot.digests.channels import ChannelCheck, ChannelProblem
from bot.digests.sending import Outgoing, Refusal, SendRefused

log = logging.getLogger(__name__)

# Parsed keyboards kept: one per digest being broadcast, and few digests go out at once.
MARKUPS = 64


class _Sent(BaseModel):
    """The one field of a sent message the ledger keeps. Validating the whole Message — chat, sender and a
    model per entity of a digest full of links — cost more than the rest of a delivery."""

    model_config = ConfigDict(extra="ignore")
    message_id: int


class _SendDigest(SendMessage):
    __returning__ = _Sent  # type: ignore[assignment]


def block_reason(description: str) -> str | None:
    """Why a chat will never take our messages again, from Telegram's error text; None if it might."""
    text = description.lower()
    for needle, reason in (
        ("blocked by the user", "blocked"),
        ("user is deactivated", "deactivated"),
        ("kicked", "kicked"),
        ("chat not found", "chat_not_found"),
        ("peer_id_invalid", "chat_not_found"),
        ("can't initiate conversation", "not_started"),
        ("not a member", "not_member"),
        ("need administrator rights", "no_rights"),
        ("not enough rights", "no_rights"),
        ("chat_write_forbidden", "no_rights"),
        ("have no rights to send", "no_rights"),
        # A forum topic that was deleted (or closed to the bot): the subscription stops, with why.
        ("message thread not found", "topic_gone"),
        ("topic_closed", "topic_gone"),
        ("topic_deleted", "topic_gone"),
    ):
        if needle in text:
            return reason
    return None


def refusal(exc: Exception) -> SendRefused:
    """What a failed request means for the engine."""
    if isinstance(exc, TelegramRetryAfter):
        return SendRefused(Refusal.FLOOD, exc.message, retry_after=exc.retry_after)
    if isinstance(exc, TelegramForbiddenError):
        return SendRefused(Refusal.GONE, exc.message, reason=block_reason(exc.message) or "forbidden")
    if isinstance(exc, TelegramBadRequest):
        reason = block_reason(exc.message)
        if reason is not None:
            return SendRefused(Refusal.GONE, exc.message, reason=reason)
        return SendRefused(Refusal.REJECTED, f"400: {exc.message}")
    if isinstance(exc, TelegramMigrateToChat):
        return SendRefused(Refusal.MOVED, f"the group moved to {exc.migrate_to_chat_id}")
    answered = isinstance(exc, TelegramAPIError) and not isinstance(exc, TelegramNetworkError)
    return SendRefused(Refusal.TRANSIENT, f"{type(exc).__name__}: {exc}", answered=answered)


class TelegramSender:
    """The delivery engine's `DigestSender` over a Bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self._markups: dict[str, InlineKeyboardMarkup] = {}

    async def send(self, message: Outgoing, timeout: float) -> int:  # noqa: ASYNC109
        fields: dict[str, Any] = {
            "chat_id": message.chat_id,
            "text": message.text,
            "parse_mode": ParseMode.HTML,
            "reply_markup": self._markup(message.reply_markup),
            "link_preview_options": LinkPreviewOptions(is_disabled=not message.link_previews),
            "allow_paid_broadcast": True if message.paid else None,
            "message_thread_id": message.thread_id,
            "disable_notification": True if message.silent else None,
        }
        try:
            sent: _Sent = await self.bot(_SendDigest(**fields), request_timeout=int(timeout))  # type: ignore[arg-type]
        except Exception as exc:
            raise refusal(exc) from exc
        return sent.message_id

    def _markup(self, raw: str | None) -> InlineKeyboardMarkup | None:
        if not raw:
            return None
        markup = self._markups.get(raw)
        if markup is None:
            if len(self._markups) >= MARKUPS:
                self._markups.pop(next(iter(self._markups)))
            markup = self._markups[raw] = InlineKeyboardMarkup.model_validate_json(raw)
        return markup


class TelegramChannels:
    """The subscription service's `ChannelDirectory` over a Bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def check(self, ref: str | int) -> ChannelCheck:
        shown = str(ref)
        try:
            chat = await self.bot.get_chat(ref)
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            log.info("channel %s not reachable: %s", ref, exc.message)
            return ChannelCheck(shown, problem=ChannelProblem.NOT_FOUND)
        found = ChannelCheck(shown, chat.id, chat.title or "", chat.username)
        if chat.type != "channel":
            return replace(found, problem=ChannelProblem.NOT_A_CHANNEL)
        try:
            member = await self.bot.get_chat_member(chat.id, self.bot.id)
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            log.info("bot membership in %s unknown: %s", ref, exc.message)
            return replace(found, problem=ChannelProblem.NOT_ADMIN)
        if isinstance(member, ChatMemberOwner):
            return found
        if not isinstance(member, ChatMemberAdministrator):
            return replace(found, problem=ChannelProblem.NOT_ADMIN)
        if not member.can_post_messages:
            return replace(found, problem=ChannelProblem.CANNOT_POST)
        return found

    async def check_group(self, chat_id: int) -> ChannelCheck:
        """Can the bot post digests into a (forum) group: is it there, and not forbidden to write."""
        try:
            chat = await self.bot.get_chat(chat_id)
            member = await self.bot.get_chat_member(chat_id, self.bot.id)
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            log.info("group %s not reachable: %s", chat_id, exc.message)
            return ChannelCheck(str(chat_id), problem=ChannelProblem.NOT_FOUND)
        found = ChannelCheck(str(chat_id), chat.id, chat.title or "", chat.username)
        if isinstance(member, (ChatMemberLeft, ChatMemberBanned)):
            return replace(found, problem=ChannelProblem.NOT_FOUND)
        if isinstance(member, ChatMemberRestricted) and not member.can_send_messages:
            return replace(found, problem=ChannelProblem.CANNOT_POST)
        return found

    async def is_chat_admin(self, chat_id: int, user_id: int) -> bool:
        try:
            member = await self.bot.get_chat_member(chat_id, user_id)
        except (TelegramBadRequest, TelegramForbiddenError):
            return False
        return isinstance(member, (ChatMemberOwner, ChatMemberAdministrator))

    async def chat_id(self, ref: str) -> int | None:
        try:
            return (await self.bot.get_chat(ref)).id
        except (TelegramBadRequest, TelegramForbiddenError):
            return None
